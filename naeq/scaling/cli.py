"""``naeq scaling``: calibration runs on the platform's database (run, list, show, export).

``run`` starts a recorded run as the named national account (``--as``) and follows its progress; in the embedded
default the job runs in this process, with REDIS_URL a Celery worker runs it and the bar follows the run's stored
progress.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from naeq.core.clitools import account as _actor
from naeq.core.clitools import django_setup as _django_setup


@click.group(name="scaling")
def scaling_group() -> None:
    """Calibration runs: IRT scaling, plausible values, linking and proficiency levels on the platform."""


@scaling_group.command(name="run")
@click.option("--as", "username", required=True, help="National account that starts the run (audited).")
@click.option("--year", type=int, required=True, help="Cycle year.")
@click.option("--instrument", "instrument_code", required=True, help="Instrument (test) code of the cycle.")
@click.option("--seed", type=click.IntRange(min=0), required=True,
              help="Random seed of the plausible values (the same seed and scores give the same numbers).")
@click.option("--model", type=click.Choice(("rasch", "2pl", "3pl")), default="2pl", show_default=True,
              help="Model of the 0/1 items.")
@click.option("--poly-model", type=click.Choice(("pcm", "gpcm")), default="gpcm", show_default=True,
              help="Model of the items worth more than one point.")
@click.option("--quad", "n_quad", type=click.IntRange(11, 201), default=41, show_default=True,
              help="Quadrature points on [-6, 6].")
@click.option("--pvs", "n_pv", type=click.IntRange(0, 20), default=5, show_default=True,
              help="Plausible values per test taker.")
@click.option("--dif", default="sex,urban_rural", show_default=True, help="DIF variables: sex, urban_rural.")
@click.option("--by-grade", is_flag=True, help="Multiple-group calibration by grade.")
@click.option("--cuts", default="", help="Three cut scores on the reporting scale.")
@click.option("--rater-z", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Rater effects: flag a rater when |severity| / SE exceeds this ...")
@click.option("--rater-logit", type=click.FloatRange(min=0), default=0.3, show_default=True,
              help="... and |severity| exceeds this many logits (many-facet model on the ratings).")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Follow the run to its end (with a Celery worker: --no-wait returns once it is queued).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run_cmd(username: str, year: int, instrument_code: str, seed: int, model: str, poly_model: str, n_quad: int,
            n_pv: int, dif: str, by_grade: bool, cuts: str, rater_z: float, rater_logit: float, wait: bool,
            quiet: bool) -> None:
    """Start a calibration run of an instrument's scores and follow it to the end."""
    _django_setup()
    from django.db import transaction

    from naeq.cycles.selectors import cycle_of_year
    from naeq.scaling.cli_calibrate import ProgressBar
    from naeq.scaling.models import CalibrationRun
    from naeq.scaling.services import calibration_start

    actor = _actor(username)
    cycle = cycle_of_year(year)
    options = {"model": model, "poly_model": poly_model, "n_quad": n_quad, "n_pv": n_pv, "cuts": cuts,
               "dif": [d for d in dif.split(",") if d], "group_by": "grade" if by_grade else "",
               "rater_z": rater_z, "rater_logit": rater_logit}
    with transaction.atomic():
        run = calibration_start(actor=actor, cycle=cycle, instrument_code=instrument_code, seed=seed,
                                options=options)
    # the bar only once the run is accepted: a refused start prints its problems and no empty bar
    bar = ProgressBar(enabled=not quiet, desc=f"{instrument_code}")
    try:
        run.refresh_from_db()
        while wait and not run.finished:
            bar(run.stage or "queued", run.progress)
            time.sleep(1.0)
            run.refresh_from_db()
        bar(run.stage, run.progress)
    finally:
        bar.close()
    _show(CalibrationRun.objects.get(pk=run.pk))
    if run.status == "failed":
        raise click.exceptions.Exit(1)


def _show(run: Any) -> None:
    s = run.summary or {}
    click.echo(f"#{run.pk} {run.cycle.year} {run.instrument_code} {run.model_spec} seed={run.seed} {run.status}")
    click.echo(f"  inputs sha256 {run.inputs_hash or '-'}; {run.code_version}")
    if s:
        click.echo(f"  {s.get('n_items')} items, {s.get('n_persons')} persons, {s.get('n_responses')} responses; "
                   f"{'converged' if s.get('converged') else 'not converged'} after {s.get('iterations')} cycles; "
                   f"fit flagged {s.get('fit_flagged')}, DIF (C) {s.get('dif_flagged')}")
    block = s.get("raters")
    if block:
        th = block["thresholds"]
        click.echo(f"  raters (many-facet partial credit model, MML; severity > 0 = harsher; flagged when "
                   f"|severity|/SE > {th['z']} and |severity| > {th['logit']} logits): {block['n_raters']} raters, "
                   f"{block['n_ratings']} ratings of {block['n_persons']} test takers, "
                   f"{'converged' if block['converged'] else 'not converged'}")
        click.echo("    rater\tn\tseverity\tse\tz\tinfit\toutfit\tflag")
        for r in block["raters"]:
            click.echo(f"    {r['name']}\t{r['n']}\t{_num(r['severity'])}\t{_num(r['se'])}\t{_num(r['z'], 2)}\t"
                       f"{_num(r['infit'], 2)}\t{_num(r['outfit'], 2)}\t{_flag(r)}")
    for w in run.warnings:
        click.echo(f"  warning: {w}")
    if run.error:
        click.echo(f"  error: {run.error}")


def _num(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _flag(row: dict[str, Any]) -> str:
    if not row["flagged"]:
        return ""
    return "harsh" if (row["severity"] or 0) > 0 else "lenient"


@scaling_group.command(name="list")
@click.option("--as", "username", required=True, help="National account that reads the runs.")
@click.option("--year", type=int, default=None, help="Only the runs of this cycle year.")
def list_cmd(username: str, year: int | None) -> None:
    """The calibration runs (newest first)."""
    _django_setup()
    from naeq.scaling.selectors import run_list

    qs = run_list(actor=_actor(username))
    if year is not None:
        qs = qs.filter(cycle__year=year)
    for run in qs[:200]:
        click.echo(f"#{run.pk}\t{run.cycle.year}\t{run.instrument_code}\t{run.model_spec}\tseed={run.seed}\t"
                   f"{run.status}\t{round(100 * run.progress)}%\t{run.inputs_hash[:12]}")


@scaling_group.command(name="show")
@click.option("--as", "username", required=True, help="National account that reads the run.")
@click.argument("run_id", type=int)
def show_cmd(username: str, run_id: int) -> None:
    """One run's record and summary."""
    _django_setup()
    from naeq.scaling.selectors import run_get

    _show(run_get(actor=_actor(username), run_id=run_id))


@scaling_group.command(name="export")
@click.option("--as", "username", required=True, help="National account that exports the run (audited).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Directory to write items.csv, persons.csv and run.json into.")
@click.argument("run_id", type=int)
def export_cmd(username: str, out_dir: str, run_id: int) -> None:
    """Write a run's items.csv, persons.csv (test IDs, no names) and run.json."""
    _django_setup()
    from naeq.scaling.exports import export_run

    names = export_run(actor=_actor(username), run_id=run_id, out_dir=Path(out_dir))
    click.echo(f"written: {', '.join(names)} → {out_dir}")
