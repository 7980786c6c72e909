"""``naeq analysis``: estimation runs on the platform's database (run, list, show), the balanced-county evaluation
and analysts' data exports (SPSS, Stata, CSV, Parquet with a codebook). See docs/analysis.md and docs/exports.md.

``run`` starts a recorded estimation run as the named national account (``--as``) and follows its stored progress
(in the embedded default the job runs in this process); ``list`` and ``show`` read runs and estimates through the
same access rules as the pages (a province coordinator sees its province and counties, a county liaison its
county); ``balanced`` evaluates the application counties against the 优质均衡 rule.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from naeq.core.clitools import account as _actor
from naeq.core.clitools import django_setup as _django_setup


def _cycle(year: int) -> Any:
    from naeq.cycles.selectors import cycle_of_year

    return cycle_of_year(year)


@click.group(name="analysis")
def analysis_group() -> None:
    """Analysis: design-based estimates from recorded runs, balanced-county evaluation, data exports."""


def _options(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for text in pairs:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--option")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value.strip()
    return out


@analysis_group.command(name="run")
@click.option("--as", "username", required=True, help="National account that starts the run (audited).")
@click.option("--cycle", "year", type=int, required=True, help="Cycle year.")
@click.option("--instrument", "instrument_code", required=True, help="Test (subject) code of the cycle.")
@click.option("--calibration-run", type=int, default=None, help="Finished calibration run (default: the latest).")
@click.option("--previous-run", type=int, default=None,
              help="Finished estimation run of the same subject in an earlier cycle, for the trend.")
@click.option("--option", "option_pairs", multiple=True, metavar="KEY=VALUE",
              help="An estimation option, repeatable, VALUE as JSON: min_n (62), min_schools (5), max_cv (0.5), "
                   "alpha (0.05), quantiles ([0.1,0.25,0.5,0.75,0.9]), diff_rate_definition (variance_share), "
                   "link_error (0), factors ({\"name\": \"ITEM\"}), groups ({\"migrant\": {\"item\": \"ITEM\", "
                   "\"codes\": {\"1\": [2, 3], \"0\": [1]}}}). See docs/analysis.md.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run_cmd(username: str, year: int, instrument_code: str, calibration_run: int | None, previous_run: int | None,
            option_pairs: tuple[str, ...], quiet: bool) -> None:
    """Start an estimation run of one subject and follow it to the end."""
    options = _options(option_pairs)
    _django_setup()
    from django.db import transaction

    from naeq.analysis.models import EstimationRun
    from naeq.analysis.services import estimation_start
    from naeq.scaling.cli_calibrate import ProgressBar

    actor = _actor(username)
    cycle = _cycle(year)
    with transaction.atomic():
        run = estimation_start(actor=actor, cycle=cycle, instrument_code=instrument_code,
                               calibration_run=calibration_run, previous_run=previous_run, options=options)
    bar = ProgressBar(enabled=not quiet, desc=f"estimate {instrument_code}")
    try:
        run.refresh_from_db()
        while not run.finished:
            bar(run.stage or "queued", run.progress)
            time.sleep(1.0)
            run.refresh_from_db()
        bar(run.stage, run.progress)
    finally:
        bar.close()
    _show_run(EstimationRun.objects.select_related("cycle").get(pk=run.pk))
    if run.status == "failed":
        raise click.exceptions.Exit(1)


def _show_run(run: Any) -> None:
    s = run.summary or {}
    click.echo(f"#{run.pk} {run.cycle.year} {run.instrument_code} {run.status} {round(100 * run.progress)}% "
               f"calibration #{run.calibration_run_id or '-'} previous #{run.previous_run_id or '-'}")
    click.echo(f"  inputs sha256 {run.inputs_hash or '-'}; {run.code_version}")
    click.echo("  options " + ", ".join(f"{k}={v}" for k, v in sorted(run.options.items())))
    if s:
        click.echo(f"  {s.get('n_students')} students ({s.get('n_pv')} PVs), {s.get('n_schools')} schools, "
                   f"{s.get('n_counties')} counties, {s.get('n_provinces')} provinces; excluded "
                   f"{s.get('n_excluded')}, flagged {s.get('n_flagged')}, dropped {s.get('n_dropped')}; "
                   f"{s.get('n_estimates')} estimates, {s.get('n_suppressed')} suppressed")
    for w in run.warnings:
        click.echo(f"  warning: {w}")
    if run.error:
        click.echo(f"  error: {run.error}")


def _num(v: float | None, digits: int = 1) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _mark(e: Any) -> str:
    return {1: " ▲", -1: " ▼"}.get(e.sign or 0, "")


@analysis_group.command(name="list")
@click.option("--as", "username", required=True, help="Account that reads the runs.")
@click.option("--cycle", "year", type=int, default=None, help="Only the runs of this cycle year.")
@click.option("--limit", type=click.IntRange(1, 1000), default=200, show_default=True, help="At most this many.")
def list_cmd(username: str, year: int | None, limit: int) -> None:
    """The estimation runs (newest first): id, year, subject, status, progress, students, estimates, hash."""
    _django_setup()
    from naeq.analysis.access import runs_visible

    qs = runs_visible(actor=_actor(username)).select_related("cycle").order_by("-created_at", "-id")
    if year is not None:
        qs = qs.filter(cycle__year=year)
    for run in qs[:limit]:
        s = run.summary or {}
        click.echo(f"#{run.pk}\t{run.cycle.year}\t{run.instrument_code}\t{run.status}\t{round(100 * run.progress)}%"
                   f"\tstudents={s.get('n_students', '-')}\testimates={s.get('n_estimates', '-')}"
                   f"\t{run.inputs_hash[:12]}")


@analysis_group.command(name="show")
@click.option("--as", "username", required=True, help="Account that reads the run (its jurisdiction applies).")
@click.option("--level", type=click.Choice(["nation", "province", "county"]), default=None,
              help="Print this level's estimates (default: the record only).")
@click.option("--region", "region_code", default=None,
              help="Division code of one province or county (with --level; default: every unit you may see).")
@click.argument("run_id", type=int)
def show_cmd(username: str, level: str | None, region_code: str | None, run_id: int) -> None:
    """One run's record and, with --level, its estimates: mean, SE, levels, differences with ▲▼ marks;
    suppressed numbers print as —."""
    _django_setup()
    from django.utils.translation import gettext as _

    from naeq.analysis import access
    from naeq.core.errors import NotFound
    from naeq.registry.models import Region

    actor = _actor(username)
    run = access.run_access(actor=actor, run_id=run_id)
    _show_run(run)
    if level is None:
        return
    qs = access.estimates_visible(actor=actor, run=run).filter(level=level, group_var="")
    if region_code:
        reg = Region.objects.filter(code=region_code.strip()).first()
        if reg is None or not access.may_see_unit(actor=actor, level=level, path=reg.path):
            raise NotFound(_("没有找到该地区，或该地区不在您的管辖范围内。"))
        qs = qs.filter(path=reg.path)
    rows: dict[str, dict[tuple[str, str], Any]] = {}
    for e in qs.order_by("path"):
        rows.setdefault(e.path, {})[(e.statistic, e.key)] = e
    if not rows:
        click.echo("  (no estimates)")
    names = dict(Region.objects.filter(path__in=list(rows)).values_list("path", "name"))
    suppressed = False
    for path, by in rows.items():
        def cell(stat: str, key: str = "", digits: int = 1, se: bool = True,
                 by: dict[tuple[str, str], Any] = by) -> str:
            nonlocal suppressed
            e = by.get((stat, key))
            if e is None:
                return "-"
            if e.suppressed:
                suppressed = True
                return "—"
            text = _num(e.value, digits) + (f" ({_num(e.se, digits)})" if se else "")
            return text + (_mark(e) if stat == "difference" else "")

        label = names.get(path, "全国" if level == "nation" else path)
        m = by.get(("mean", ""))
        click.echo(f"  {label} {path}  n={m.n if m else '-'}  mean {cell('mean')}  sd {cell('sd', se=False)}  "
                   f"≥II {cell('at_or_above', 'II', 3)}  ≥III {cell('at_or_above', 'III', 3)}  "
                   f"校际差异率 {cell('diff_rate', '', 3)}  vs_province {cell('difference', 'vs_province')}  "
                   f"vs_nation {cell('difference', 'vs_nation')}  F-M {cell('difference', 'F-M')}  "
                   f"trend {cell('difference', 'trend')}"
                   + "".join(f"  {k} {cell('difference', k)}" for k in ("migrant-nonmigrant", "disadvantaged-other")
                             if ("difference", k) in by))
    if suppressed:
        click.echo("  — 样本量不足或估计不稳定，不予报告。 ▲▼ 与比较对象差异显著（p < alpha）。")


@analysis_group.command(name="balanced")
@click.option("--as", "username", required=True, help="National account that evaluates (audited).")
@click.option("--cycle", "year", type=int, required=True, help="Cycle year.")
@click.option("--county", "counties", multiple=True,
              help="Division code of a county to evaluate, repeatable (default: the cycle's application counties).")
@click.option("--min-level", default="III", show_default=True, help="Lowest county level that passes (I–IV).")
@click.option("--max-rate", type=float, default=0.15, show_default=True, help="校际差异率 must be below this.")
@click.option("--definition", default="variance_share", show_default=True,
              help="校际差异率 definition: variance_share, eta_squared or cv (docs/estimation.md).")
def balanced_cmd(username: str, year: int, counties: tuple[str, ...], min_level: str, max_rate: float,
                 definition: str) -> None:
    """High-quality balanced county evaluation of application counties on every subject's latest run."""
    _django_setup()
    from naeq.analysis.balanced import evaluate
    from naeq.registry.models import Region

    actor = _actor(username)
    cycle = _cycle(year)
    paths = None
    if counties:
        paths = list(Region.objects.filter(code__in=[c.strip() for c in counties]).values_list("path", flat=True))
    res = evaluate(actor=actor, cycle=cycle, counties=paths,
                   rule={"min_level": min_level, "max_rate": max_rate, "definition": definition})
    for r in res:
        parts = []
        for code, s in sorted(r.evidence.get("subjects", {}).items()):
            if s.get("evaluable"):
                parts.append(f"{code}: level {s['level']} rate {s['rate']:.3f}"
                             f"{'' if s['passed'] else ' ✗'}")
            else:
                parts.append(f"{code}: {s.get('reason') or 'suppressed'}")
        click.echo(f"{r.region.code} {r.region.name}\t{r.status}\t" + "; ".join(parts))


from naeq.analysis.cli_export import export_cmd  # noqa: E402  (naeq analysis export: docs/exports.md)

analysis_group.add_command(export_cmd)


@analysis_group.command(name="pe-run")
@click.option("--as", "username", required=True, help="National account that starts the run (audited).")
@click.option("--cycle", "year", type=int, required=True, help="Cycle year.")
@click.option("--option", "option_pairs", multiple=True, metavar="KEY=VALUE",
              help="min_n (62), min_schools (5), max_cv (0.5), alpha (0.05). See docs/analysis.md.")
def pe_run_cmd(username: str, year: int, option_pairs: tuple[str, ...]) -> None:
    """Start a PE indicator run (obesity, vision, fitness rates from the confirmed PE records) and show it."""
    options = _options(option_pairs)
    _django_setup()
    from django.db import transaction

    from naeq.analysis.models import EstimationRun
    from naeq.analysis.pe import pe_start

    with transaction.atomic():
        run = pe_start(actor=_actor(username), cycle=_cycle(year), options=options)
    run = EstimationRun.objects.select_related("cycle").get(pk=run.pk)
    while not run.finished:
        time.sleep(1.0)
        run.refresh_from_db()
    _show_run(run)
    if run.status == "failed":
        raise click.exceptions.Exit(1)
