"""``naeq cycle ...``: validate and load cycle configuration files, list cycles, show a schedule.

Only click is imported at module level (``naeq --help`` stays fast); Django is set up inside each verb.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

EXIT_BAD_INPUT = 1


def _setup() -> None:
    # naeq.cli is a higher layer than naeq.cycles, so Django is set up here rather than through it.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naeq.settings")
    import django

    django.setup()


def _problem_line(p: Any) -> str:
    return f"{p.file}:{p.row if p.row is not None else '?'}: {p.field or '-'}: {p.reason}"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cycle() -> None:
    """Cycle configuration: validate, load, list, show."""


@cycle.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate(files: tuple[str, ...]) -> None:
    """Check cycle configuration FILES without loading them.

    Prints "FILE: OK" or every problem as "FILE:LINE: field: reason"; exit code 1 when any file has problems.
    """
    _setup()
    from naeq.core.errors import InvalidInput
    from naeq.cycles.config import parse_file

    bad = False
    for f in files:
        try:
            config = parse_file(f)
        except InvalidInput as exc:
            bad = True
            for p in exc.problems:
                click.echo(_problem_line(p))
            continue
        click.echo(f"{f}: OK ({config.year} {config.name}, {len(config.subjects)} subjects, "
                   f"{len(config.instruments)} instruments)")
    if bad:
        sys.exit(EXIT_BAD_INPUT)


@cycle.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--no-current", is_flag=True, help="Load without making it the current cycle.")
def load(file: str, no_current: bool) -> None:
    """Validate FILE and load it as the cycle of its year (replacing an earlier load of that year).

    Nothing is written when the file has a problem; every problem is printed as "FILE:LINE: field: reason".
    """
    _setup()
    from naeq.core.errors import InvalidInput
    from naeq.cycles.services import cycle_load

    try:
        c = cycle_load(actor=None, path_or_text=file, make_current=not no_current)
    except InvalidInput as exc:
        click.echo(f"error [{exc.code}]: {exc.message}", err=True)
        for p in exc.problems:
            click.echo(_problem_line(p), err=True)
        sys.exit(EXIT_BAD_INPUT)
    click.echo(f"loaded {c.year} {c.name}{' (current)' if c.is_current else ''} sha256 {c.config_hash[:12]}")


@cycle.command(name="list")
def list_() -> None:
    """List the loaded cycles, newest first; the current one is marked with *."""
    _setup()
    from naeq.cycles.selectors import cycle_list

    rows = list(cycle_list())
    if not rows:
        click.echo("no cycles loaded")
        return
    for c in rows:
        click.echo(f"{'*' if c.is_current else ' '} {c.year}  {c.name}  {c.source_name}  "
                   f"{c.config_hash[:12]}  {c.loaded_at:%Y-%m-%d %H:%M}")


@cycle.command()
@click.argument("year", type=int)
@click.option("--participation", default=None, help="sample, agreement or application (default: all configured).")
@click.option("--level", default=None,
              help="A school level (primary, junior, nine_year, twelve_year, complete_middle) or county; "
                   "default: primary, junior and county.")
@click.option("--province", default=None, help="Province division code, to mark local-time regions.")
def show(year: int, participation: str | None, level: str | None, province: str | None) -> None:
    """Print the schedule of the cycle of YEAR."""
    _setup()
    from naeq.cycles.selectors import SCHEDULE_LEVELS, cycle_get, schedule_for

    c = cycle_get(year=year)
    if c is None:
        raise click.ClickException(f"no cycle loaded for {year}")
    config = c.config
    if level is not None and level not in SCHEDULE_LEVELS:
        raise click.BadParameter(f"unknown level {level!r}", param_hint="--level")
    codes = [p.code for p in config.participations]
    if participation is not None and participation not in codes:
        raise click.BadParameter(f"{participation!r} is not configured for {year}: {', '.join(codes)}",
                                 param_hint="--participation")
    click.echo(f"{c.year} {c.name}")
    for pcode in [participation] if participation else codes:
        p = config.participation(pcode)
        click.echo(f"\n[{pcode}] {p.name}")
        for lv in [level] if level else ["primary", "junior", "county"]:
            entries = schedule_for(c, school_level=lv, participation=pcode, province_code=province)
            if not entries:
                continue
            click.echo(f"  {lv}:")
            for e in entries:
                if e.end_date is not None:
                    when = f"{e.date:%m-%d} – {e.end_date:%m-%d}"
                else:
                    end = f"{e.end:%H:%M}" if e.end else "至全部完成"
                    when = f"{e.date:%m-%d} {e.start:%H:%M}–{end}" if e.start else f"{e.date:%m-%d}"
                local = " (当地时间)" if e.local_time else ""
                click.echo(f"    {when}{local}  {e.title}  [{e.mode}]  {'/'.join(e.respondents)}")
