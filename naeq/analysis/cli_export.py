"""``naeq analysis export``: one subject's student file for analysts (SPSS, Stata, CSV or Parquet) with its
codebook, written into a directory, as a named account (``--as``), within that account's jurisdiction and audited.
See docs/exports.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from naeq.core.clitools import account as _actor
from naeq.core.clitools import django_setup as _django_setup


@click.command(name="export")
@click.option("--as", "username", required=True,
              help="Account that exports (national staff, a province coordinator or a county liaison; audited).")
@click.option("--cycle", "year", type=int, required=True, help="Cycle year.")
@click.option("--instrument", "instrument_code", required=True, help="Subject (test instrument) code.")
@click.option("--format", "fmt", type=click.Choice(("sav", "dta", "csv", "parquet")), default="sav",
              show_default=True, help="File format of the student file.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for the student file, codebook.xlsx and codebook.csv (created if missing).")
@click.option("--region", default="", help="Division code of a province, city or county inside the account's "
                                           "jurisdiction (default: the whole jurisdiction).")
@click.option("--run", "run_id", type=int, default=None,
              help="Calibration run id (default: the subject's latest finished run).")
@click.option("--identified", is_flag=True,
              help="Real test IDs and school codes instead of pseudonyms (national administrator only; audited).")
@click.option("--factors", "factors_json", default=None,
              help="Background factors as JSON, as the run's factors option, e.g. "
                   '\'{"sleep": {"item": "S2Q10", "codes": {"1": [1], "0": [2, 3, 4]}}}\' '
                   "(default: those of the subject's latest finished estimation run).")
@click.option("--groups", "groups_json", default=None,
              help="The migrant / disadvantaged groups as JSON, as the run's groups option (default: those of the "
                   "subject's latest finished estimation run).")
@click.option("--quiet", is_flag=True, help="No progress line.")
def export_cmd(username: str, year: int, instrument_code: str, fmt: str, out_dir: Path, region: str,
               run_id: int | None, identified: bool, factors_json: str | None, groups_json: str | None,
               quiet: bool) -> None:
    """Export one subject's student file with plausible values, weights, replicate weights and a codebook."""
    _django_setup()

    from naeq.analysis import exports
    from naeq.cycles.selectors import cycle_of_year

    specs: dict[str, Any] = {}
    for name, raw in (("factors", factors_json), ("groups", groups_json)):
        if raw is not None:
            try:
                specs[name] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise click.BadParameter(f"not JSON: {exc}", param_hint=f"--{name}") from None
    actor = _actor(username)
    cycle = cycle_of_year(year)

    def progress(stage: str, fraction: float) -> None:
        if not quiet:
            click.echo(f"\r{instrument_code} {stage:<14} {round(100 * fraction):3d}%", nl=False, err=True)

    result = exports.build(actor, cycle, instrument_code, out_dir=out_dir, calibration_run=run_id, fmt=fmt,
                           pseudonymise=not identified, region=region or None, progress=progress,
                           factors=specs.get("factors"), groups=specs.get("groups"))
    if not quiet:
        click.echo("", err=True)
    click.echo(f"{result.rows} rows, scope {result.scope.code}, "
               f"{'pseudonymised' if result.pseudonymised else 'IDENTIFIED'}, audit #{result.audit_id}")
    for name in result.files:
        click.echo(f"{out_dir / name}\t{result.sha256[name]}")
