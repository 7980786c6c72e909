"""``naeq quality``: data-quality screening runs and investigation cases on the platform's database.

``run`` starts a recorded screening run as the named national account (``--as``) and follows its stored progress
(in the embedded default the job runs in this process; with REDIS_URL a Celery worker runs it and the bar follows
the run's row); ``list``, ``show`` and ``export`` read runs through the same access rules as the pages.
``naeq quality cases …`` (investigation cases) is registered by :mod:`naeq.quality.cli_cases`.
"""

from __future__ import annotations

import time
from typing import Any

import click

from naeq.core.clitools import account as _actor
from naeq.core.clitools import django_setup as _django_setup
from naeq.quality.cli_cases import cases_group


def _cycle(year: int) -> Any:
    from naeq.cycles.selectors import cycle_of_year

    return cycle_of_year(year)


@click.group(name="quality")
def quality_group() -> None:
    """Data quality: screening runs (three-stage screen) and investigation cases on the platform."""


def _parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for text in pairs:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--option")
        out[key.strip()] = value.strip()
    return out


@quality_group.command(name="run")
@click.option("--as", "username", required=True, help="National account that starts the run (audited).")
@click.option("--cycle", "year", type=int, required=True, help="Cycle year.")
@click.option("--instrument", "instrument_code", required=True, help="Test (instrument) code of the cycle.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed recorded with the run (the screen itself is deterministic).")
@click.option("--option", "option_pairs", multiple=True, metavar="KEY=VALUE",
              help="A screening option, repeatable: alpha_pairs (0.01), fdr (0.05), pair_scope (school|room), "
                   "exact_tests (true), pair_report_p (0.001), pe_tests (comma list; empty = none), "
                   "roster_days (14). See docs/quality.md.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Follow the run to its end (with a Celery worker: --no-wait returns once it is queued).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run_cmd(username: str, year: int, instrument_code: str, seed: int, option_pairs: tuple[str, ...], wait: bool,
            quiet: bool) -> None:
    """Start a screening run of an instrument's responses and follow it to the end."""
    options = _parse_options(option_pairs)
    _django_setup()
    from django.db import transaction

    from naeq.quality.models import ScreeningRun
    from naeq.quality.services import screening_start
    from naeq.scaling.cli_calibrate import ProgressBar

    actor = _actor(username)
    cycle = _cycle(year)
    with transaction.atomic():
        run = screening_start(actor=actor, cycle=cycle, instrument_code=instrument_code, seed=seed, options=options)
    bar = ProgressBar(enabled=not quiet, desc=f"screen {instrument_code}")
    try:
        run.refresh_from_db()
        while wait and not run.finished:
            bar(run.stage or "queued", run.progress)
            time.sleep(1.0)
            run.refresh_from_db()
        bar(run.stage, run.progress)
    finally:
        bar.close()
    _show(ScreeningRun.objects.select_related("cycle").get(pk=run.pk), top=5)
    if run.status == "failed":
        raise click.exceptions.Exit(1)


def _show(run: Any, *, top: int) -> None:
    from naeq.quality.models import ScreenedUnit

    s = run.summary or {}
    click.echo(f"#{run.pk} {run.cycle.year} {run.instrument_code} seed={run.seed} {run.status} "
               f"{round(100 * run.progress)}%")
    click.echo(f"  inputs sha256 {run.inputs_hash or '-'}; {run.code_version}")
    click.echo("  options " + ", ".join(f"{k}={v}" for k, v in sorted(run.options.items())))
    if s:
        click.echo(f"  {s.get('n_persons')} persons, {s.get('n_items')} items, {s.get('n_schools')} schools, "
                   f"{s.get('n_counties')} counties, {s.get('n_pairs')} pairs; flagged "
                   f"{s.get('counties_flagged')} counties, {s.get('schools_flagged')} schools, "
                   f"{s.get('pairs_flagged')} pairs, {s.get('clusters')} clusters")
    for w in run.warnings:
        click.echo(f"  warning: {w}")
    if run.error:
        click.echo(f"  error: {run.error}")
    if run.status != "done" or top <= 0:
        return
    for level, title in (("county", "counties"), ("school", "schools")):
        units = list(ScreenedUnit.objects.filter(run=run, level=level, flag=True).select_related("county", "school")
                     .order_by("rank")[:top])
        if not units:
            click.echo(f"  flagged {title}: none")
            continue
        click.echo(f"  flagged {title} (most suspect first):")
        for u in units:
            where = f"{u.county.code} {u.county.name}" if u.school is None else \
                f"{u.school.code} {u.school.name} ({u.county.name})"
            click.echo(f"    {u.rank:>4}. {where}  n={u.n_persons}  q={u.combined_q:.3g}  "
                       f"drivers: {', '.join(u.drivers) or '-'}")


@quality_group.command(name="list")
@click.option("--as", "username", required=True, help="National account that reads the runs.")
@click.option("--cycle", "year", type=int, default=None, help="Only the runs of this cycle year.")
@click.option("--limit", type=click.IntRange(1, 1000), default=200, show_default=True, help="At most this many.")
def list_cmd(username: str, year: int | None, limit: int) -> None:
    """The screening runs (newest first): id, year, instrument, status, progress, flagged counts, hash."""
    _django_setup()
    from naeq.quality.access import runs_visible

    qs = runs_visible(actor=_actor(username)).select_related("cycle").order_by("-created_at", "-id")
    if year is not None:
        qs = qs.filter(cycle__year=year)
    for run in qs[:limit]:
        s = run.summary or {}
        click.echo(f"#{run.pk}\t{run.cycle.year}\t{run.instrument_code}\t{run.status}\t{round(100 * run.progress)}%"
                   f"\tcounties={s.get('counties_flagged', '-')}\tschools={s.get('schools_flagged', '-')}"
                   f"\tpairs={s.get('pairs_flagged', '-')}\t{run.inputs_hash[:12]}")


@quality_group.command(name="show")
@click.option("--as", "username", required=True, help="National account that reads the run.")
@click.option("--top", type=click.IntRange(0, 500), default=10, show_default=True,
              help="How many flagged counties and schools to list.")
@click.argument("run_id", type=int)
def show_cmd(username: str, top: int, run_id: int) -> None:
    """One run's record, summary and its most suspect flagged counties and schools with their drivers."""
    _django_setup()
    from naeq.quality.access import run_access

    _show(run_access(actor=_actor(username), run_id=run_id), top=top)


@quality_group.command(name="export")
@click.option("--as", "username", required=True, help="National account that exports the run (audited).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Directory to write counties.csv, schools.csv, pairs.csv, persons.csv, clusters.csv, run.json.")
@click.argument("run_id", type=int)
def export_cmd(username: str, out_dir: str, run_id: int) -> None:
    """Write a finished run's files in the columns of `naeq screen` (test IDs, no names)."""
    _django_setup()
    from naeq.quality.services import screening_export

    names = screening_export(actor=_actor(username), run_id=run_id, out_dir=out_dir)
    click.echo(f"written: {', '.join(names)} → {out_dir}")


quality_group.add_command(cases_group)
