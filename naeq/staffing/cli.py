"""``naeq staff``: check staff lists against the role catalogue, print badges, export staff lists.

The command line is the national centre's own tool: it reads every county (no account, like ``naeq items``).
``check`` exits 1 when it finds violations (or on bad input), so it can gate a script; usage errors exit 2.
"""

from __future__ import annotations

from typing import Any

import click

from naeq.core.clitools import django_setup as _django_setup


def _cycle(year: int | None) -> Any:
    from naeq.core.errors import ApplicationError
    from naeq.staffing.selectors import cycle_for

    try:
        return cycle_for(year)
    except ApplicationError as exc:
        raise click.ClickException(exc.message) from exc


def _county(code: str) -> Any:
    from naeq.registry.models import Region

    county = Region.objects.filter(code=code, level="county").first()
    if county is None:
        raise click.ClickException(f"没有行政区划代码为 {code} 的县（区）。")
    return county


def _lines(cycle: Any, county: Any, school_code: str | None) -> tuple[list[Any], str]:
    from naeq.registry.models import School
    from naeq.staffing.config import catalogue_for
    from naeq.staffing.models import StaffAssignment
    from naeq.staffing.selectors import staff_lines

    qs = StaffAssignment.objects.filter(cycle=cycle, county=county)
    unit = county.name
    if school_code:
        school = School.objects.filter(code=school_code, county=county).first()
        if school is None:
            raise click.ClickException(f"{county.name}没有学校标识码为 {school_code} 的学校。")
        qs = qs.filter(school=school)
        unit = school.name
    rows = list(qs.select_related("person", "school", "county", "person__home_school"))
    return staff_lines(rows, catalogue_for(cycle.year)), unit


@click.group()
def staff() -> None:
    """实施人员: check staff lists against the role catalogue, print badges (胸牌), export staff lists."""


@staff.command("check")
@click.option("--county", "county_code", default=None,
              help="County division code (6 digits); default: every sample county of the cycle.")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="Cycle year; default: the current cycle.")
def check_cmd(county_code: str | None, year: int | None) -> None:
    """Print every rule violation (rule, unit, post, person, message, seed source); exit 1 if there are any."""
    _django_setup()
    from naeq.sampling.models import RunStatus, SampledCounty, Stage
    from naeq.staffing.rules import violations

    cycle = _cycle(year)
    if county_code:
        counties = [_county(county_code)]
    else:
        counties = [c.county for c in SampledCounty.objects.filter(
            run__cycle=cycle, run__stage=Stage.COUNTY, run__status=RunStatus.DONE).select_related("county")
            .order_by("county__code")]
    total = 0
    for county in counties:
        found = violations(cycle, county)
        total += len(found)
        click.echo(f"{county.code} {county.name}: {len(found)} 项问题")
        for v in found:
            who = f" · {v.person}" if v.person else ""
            post = f" · {v.post}" if v.post else ""
            click.echo(f"  [{v.rule_code}] {v.unit}{post}{who}: {v.message_zh}")
            click.echo(f"      依据：{v.seed_source}")
    if total:
        raise SystemExit(1)


@staff.command("badges")
@click.option("--county", "county_code", required=True, help="County division code (6 digits).")
@click.option("--school", "school_code", default=None, help="Only this school (10-digit school code).")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="Cycle year; default: the current cycle.")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def badges_cmd(county_code: str, school_code: str | None, year: int | None, out: str) -> None:
    """Write the badges (胸牌, eight per A4 page) of a county or one school to OUT.pdf."""
    _django_setup()
    from naeq.staffing.documents import badges_pdf

    cycle = _cycle(year)
    lines, unit = _lines(cycle, _county(county_code), school_code)
    with open(out, "wb") as fh:
        fh.write(badges_pdf(lines, cycle_name=cycle.name))
    click.echo(f"{unit}: {len(lines)} badges written to {out}")


@staff.command("export")
@click.option("--county", "county_code", required=True, help="County division code (6 digits).")
@click.option("--school", "school_code", default=None, help="Only this school (10-digit school code).")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="Cycle year; default: the current cycle.")
@click.option("--format", "fmt", type=click.Choice(("xlsx", "pdf")), default=None,
              help="Default: from OUT's extension.")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def export_cmd(county_code: str, school_code: str | None, year: int | None, fmt: str | None, out: str) -> None:
    """Write the staff list (实施人员名单) of a county or one school to OUT (.xlsx or .pdf)."""
    _django_setup()
    from naeq.staffing.documents import staff_list_pdf, staff_list_xlsx

    fmt = fmt or ("pdf" if out.lower().endswith(".pdf") else "xlsx")
    cycle = _cycle(year)
    lines, unit = _lines(cycle, _county(county_code), school_code)
    title = f"{unit} {cycle.name} 实施人员名单"
    data = staff_list_pdf(lines, title=title) if fmt == "pdf" else staff_list_xlsx(lines, title=title)
    with open(out, "wb") as fh:
        fh.write(data)
    click.echo(f"{unit}: {len(lines)} rows written to {out}")


@staff.command("template")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="Cycle year; default: the current cycle.")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def template_cmd(year: int | None, out: str) -> None:
    """Write the staff-list import template (with its 说明 sheet and the list of posts) to OUT.xlsx."""
    _django_setup()
    from naeq.staffing.config import catalogue_for
    from naeq.staffing.documents import import_template

    cycle = _cycle(year)
    with open(out, "wb") as fh:
        fh.write(import_template(post_names=[p.name for p in catalogue_for(cycle.year).posts]))
    click.echo(f"template written to {out}")
