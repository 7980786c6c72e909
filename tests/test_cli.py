"""The command line: --help on every verb, precise errors with exit code 1, nothing written on bad input."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from naeq.accounts.models import User
from naeq.cli import EXIT_BAD_INPUT, main
from naeq.core.models import AuditEvent
from tests.personas import World


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        found.append(path)
        if isinstance(cmd, click.Group):
            found.extend(_all_commands(cmd, path))
    return found


def test_every_verb_has_help() -> None:
    commands = _all_commands(main)
    assert {("demo",), ("synth",), ("cycle",), ("user", "create"), ("audit", "verify")} <= set(commands)
    runner = CliRunner()
    for path in commands:
        result = runner.invoke(main, [*path, "--help"], prog_name="naeq")
        assert result.exit_code == 0, (path, result.output)
        assert "Usage: naeq " + " ".join(path) in result.output
        assert len(result.output.splitlines()) > 3, path  # says more than the usage line


@pytest.mark.django_db(transaction=True)
def test_user_create_bad_anchor_is_precise_and_writes_nothing(world: World) -> None:
    before = (User.objects.count(), AuditEvent.objects.count())
    result = CliRunner().invoke(
        main, ["user", "create", "newcoord", "--role", "province_coordinator", "--region", "310100"],
        env={"NAEQ_NEW_PASSWORD": "a-good-long-passphrase"},
    )
    assert result.exit_code == EXIT_BAD_INPUT
    assert "region" in result.output and "区域层级与角色不符" in result.output
    assert (User.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.django_db(transaction=True)
def test_user_create_unknown_school(world: World) -> None:
    result = CliRunner().invoke(
        main, ["user", "create", "newhead", "--role", "school_head", "--school", "1999999999"],
        env={"NAEQ_NEW_PASSWORD": "a-good-long-passphrase"},
    )
    assert result.exit_code == EXIT_BAD_INPUT
    assert "school" in result.output and "1999999999" not in User.objects.values_list("username", flat=True)


@pytest.mark.django_db(transaction=True)
def test_user_create_then_audit_verify(world: World) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main, ["user", "create", "newcoord", "--role", "province_coordinator", "--region", "310000"],
        env={"NAEQ_NEW_PASSWORD": "a-good-long-passphrase"},
    )
    assert result.exit_code == 0, result.output
    u = User.objects.get(username="newcoord")
    assert u.scope_path == "310000/" and u.check_password("a-good-long-passphrase")
    verify = runner.invoke(main, ["audit", "verify"])
    assert verify.exit_code == 0 and "intact" in verify.output


@pytest.mark.django_db(transaction=True)
def test_user_create_weak_password_refused(world: World) -> None:
    result = CliRunner().invoke(
        main, ["user", "create", "weak", "--role", "national_analyst"], env={"NAEQ_NEW_PASSWORD": "12345678"},
    )
    assert result.exit_code == EXIT_BAD_INPUT and "password" in result.output
    assert not User.objects.filter(username="weak").exists()
