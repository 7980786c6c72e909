"""Every verb and subcommand of the scoring CLI (``naeq paper``, ``naeq marking``, ``naeq pe``, ``naeq scaling``,
``naeq calibrate``) says what it does: it has help text, ``--help`` exits 0 and prints it, and every option
carries its own help line."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from naeq.cli import main

VERBS = ("paper", "marking", "pe", "scaling", "calibrate")


def _walk(cmd: click.Command, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.commands):
            yield from _walk(cmd.commands[name], (*path, name))


def _commands() -> list[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(main)
    out: list[tuple[tuple[str, ...], click.Command]] = []
    for verb in VERBS:
        cmd = main.get_command(ctx, verb)
        assert cmd is not None, verb
        out.extend(_walk(cmd, (verb,)))
    return out


COMMANDS = _commands()


def test_the_tree_is_walked() -> None:
    # the groups have subcommands: a walk that found only the five verbs would prove nothing
    assert len(COMMANDS) > 20
    assert ("paper", "import") in dict(COMMANDS) and ("scaling", "run") in dict(COMMANDS)


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[" ".join(p) for p, _c in COMMANDS])
def test_every_command_has_help(path: tuple[str, ...], cmd: click.Command) -> None:
    text = (cmd.help or cmd.short_help or "").strip()
    assert text, f"naeq {' '.join(path)} has no help text"
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and text.split("\n")[0][:20] in result.output
    bare = [p.name for p in cmd.params if isinstance(p, click.Option) and not p.help and p.name != "help"]
    assert not bare, f"naeq {' '.join(path)}: options without help: {bare}"


def test_acting_as_an_account_is_spelled_the_same_everywhere() -> None:
    # ``naeq pe import`` took only --user while every other verb says --as: now both
    # (``marking rater-add --username`` names the account it creates: not the acting one)
    acting = {path: [o for p in cmd.params if p.name == "username" and "--username" not in p.opts for o in p.opts]
              for path, cmd in COMMANDS}
    acting = {path: opts for path, opts in acting.items() if opts}
    assert ("pe", "import") in acting
    assert [path for path, opts in acting.items() if "--as" not in opts] == []
