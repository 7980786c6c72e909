"""``naeq quality cases``: investigation cases (调查取证) from the command line, as the named account (``--as``).

The verbs are thin: reads go through :mod:`naeq.quality.case_selectors` and :mod:`naeq.quality.access` (a case the
account may not see is reported exactly like one that does not exist), writes through :mod:`naeq.quality.cases`
(so the national-only decision, the investigator rules, the audit trail, the case log and the DataMark rows are the
pages' own). An error exits 1 with the service's message and changes nothing; a bad option value exits 2 (click).

A case is named by its id or its number (``ZL2026-0001``). Test takers in ``decide --persons`` and ``open
--persons`` are named by their test IDs (测试编号), never by names.
"""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

import click

from naeq.core.clitools import account as _actor
from naeq.core.clitools import django_setup as _django_setup

STATES = ("open", "investigating", "cleared", "data_flagged", "data_excluded")
DECISIONS = ("cleared", "data_flagged", "data_excluded")
FORMATS = ("table", "csv", "json")
COLUMNS = ("id", "number", "year", "instrument", "level", "county_code", "county", "school_code", "school",
           "title", "state", "state_label", "investigator", "opened_at", "decided_at", "decision_reason")

AS = click.option("--as", "username", required=True,
                  help="Account the verb acts as (audited); what it may see and do follows its role and area.")


def _case_id(actor: Any, ref: str) -> int:
    """The id of a case named by id or number, among the cases the actor may see (else NotFound, as for a case
    that does not exist)."""
    from django.utils.translation import gettext as _

    from naeq.core.errors import NotFound
    from naeq.quality.access import cases_visible

    text = str(ref).strip()
    if text.isdigit():
        return int(text)
    pk = cases_visible(actor=actor).filter(number=text.upper()).values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound(_("没有找到该案件。"))
    return int(pk)


def _when(value: Any) -> str:
    if value is None:
        return ""
    from django.utils import timezone

    return str(timezone.localtime(value).strftime("%Y-%m-%d %H:%M"))


def _who(user: Any) -> str:
    return str(getattr(user, "username", "") or "-")


def _num(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def _takers(case_cycle: Any, refs: tuple[str, ...]) -> list[int] | None:
    """Test IDs (repeatable or comma-separated; ``all`` = the whole unit) → test-taker ids of the cycle; unknown
    IDs are refused naming each one."""
    from django.utils.translation import gettext as _

    from naeq.core.errors import InvalidInput, Problem
    from naeq.delivery.models import TestTaker

    codes = [c.strip() for ref in refs for c in ref.split(",") if c.strip()]
    if not codes or codes == ["all"]:
        return None
    if "all" in codes:
        raise InvalidInput(_("“all”不能与测试编号同时使用。"), code="bad_persons",
                           problems=[Problem(reason=_("“all”表示全部考生，请单独使用。"), field="persons",
                                             value="all")])
    ids = dict(TestTaker.objects.filter(cycle=case_cycle, code__in=codes).values_list("code", "pk"))
    unknown = [c for c in dict.fromkeys(codes) if c not in ids]
    if unknown:
        raise InvalidInput(_("有%(n)d个测试编号在该周期中不存在。") % {"n": len(unknown)}, code="bad_persons",
                           problems=[Problem(reason=_("没有测试编号“%(code)s”。") % {"code": c}, field="persons",
                                             value=c) for c in unknown[:20]])
    return [ids[c] for c in dict.fromkeys(codes)]


@click.group(name="cases")
def cases_group() -> None:
    """Investigation cases (调查取证): list, show, open, assign, start, note, collect evidence, decide, reopen."""


# ------------------------------------------------------------------------------------------------ read


def _county(code: str | None) -> int | None:
    if not code:
        return None
    from django.utils.translation import gettext as _

    from naeq.core.errors import InvalidInput, Problem
    from naeq.registry.models import Region, RegionLevel

    pk = Region.objects.filter(code=code.strip(), level=RegionLevel.COUNTY).values_list("pk", flat=True).first()
    if pk is None:
        raise InvalidInput(_("没有代码为“%(code)s”的区县。") % {"code": code}, code="unknown_county",
                           problems=[Problem(reason=_("没有该区县。"), field="county", value=code)])
    return int(pk)


def _row(case: Any) -> dict[str, Any]:
    return {"id": case.pk, "number": case.number, "year": case.cycle.year, "instrument": case.instrument_code,
            "level": case.level, "county_code": case.county.code, "county": case.county.name,
            "school_code": getattr(case.school, "code", "") or "", "school": getattr(case.school, "name", "") or "",
            "title": case.title, "state": case.state, "state_label": str(case.get_state_display()),
            "investigator": getattr(case.investigator, "username", "") or "",
            "opened_at": case.opened_at.isoformat(), "decided_at": case.decided_at.isoformat()
            if case.decided_at else "", "decision_reason": case.decision_reason}


@cases_group.command(name="list")
@AS
@click.option("--state", type=click.Choice(STATES), default=None, help="Only the cases in this state.")
@click.option("--cycle", "year", type=click.IntRange(2000, 2100), default=None, help="Only the cases of this cycle "
              "year.")
@click.option("--county", "county_code", default=None, metavar="CODE", help="Only the cases of this county "
              "(region code).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table (tab-separated, for reading), csv or json (every column, for tools).")
def list_cmd(username: str, state: str | None, year: int | None, county_code: str | None, fmt: str) -> None:
    """The investigation cases (调查案件) the account may see, newest first: id, number, unit, state,
    investigator."""
    _django_setup()
    from naeq.quality.case_selectors import cases_filtered

    actor = _actor(username)
    qs = cases_filtered(actor=actor, state=state or "", county_id=_county(county_code))
    if year is not None:
        qs = qs.filter(cycle__year=year)
    rows = [_row(c) for c in qs.select_related("cycle", "county", "school", "investigator").order_by("-id")]
    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
    elif fmt == "csv":
        out = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
        out.writeheader()
        out.writerows(rows)
    else:
        click.echo("\t".join(("id", "number", "instrument", "unit", "state", "investigator", "opened")))
        for r in rows:
            unit = f"{r['school_code']} {r['school']}" if r["school_code"] else f"{r['county_code']} {r['county']}"
            click.echo(f"#{r['id']}\t{r['number']}\t{r['instrument']}\t{unit}\t{r['state']}\t"
                       f"{r['investigator'] or '-'}\t{r['opened_at'][:10]}")


def _show(actor: Any, case_id: int) -> None:
    from naeq.quality import case_selectors, cases, meanings
    from naeq.quality.effects import case_effect

    d = case_selectors.case_detail(actor=actor, case_id=case_id)
    c = d.case
    unit = f"{c.school.code} {c.school.name} ({c.county.code} {c.county.name})" if c.school else \
        f"{c.county.code} {c.county.name}"
    click.echo(f"{c.number} (#{c.pk})  {c.title}")
    click.echo(f"  state: {c.state} ({c.get_state_display()})")
    click.echo(f"  cycle {c.cycle.year}, instrument {c.instrument_code}, {c.level} {unit}")
    if d.unit is not None:
        click.echo(f"  from screening run #{c.run_id}, rank {d.unit.rank}, q={_num(d.unit.combined_q)}, "
                   f"drivers: {', '.join(d.unit.drivers) or '-'}")
    persons = cases.case_persons(c)
    click.echo(f"  test takers concerned: {len(persons)} ({'chosen' if c.persons else 'the whole unit'})")
    click.echo(f"  investigator: {_who(c.investigator)}; opened {_when(c.opened_at)} by {_who(c.opened_by)}")
    if c.decided:
        click.echo(f"  decision: {c.state} ({c.get_state_display()}) {_when(c.decided_at)} by "
                   f"{_who(c.decided_by)}: {c.decision_reason}")
    else:
        click.echo("  decision: none yet")
    rows = sorted(((name, v or {}) for name, v in (c.indicators or {}).items()),
                  key=lambda r: (r[1].get("q") is None, r[1].get("q") if r[1].get("q") is not None else 1.0))
    click.echo("indicators (snapshot of the screening run, most significant first):" if rows else
               "indicators: none (a case opened by hand)")
    for name, v in rows:
        n = f" n={v['n']}" if v.get("n") is not None else ""
        click.echo(f"  {name}  {meanings.label(name)}  stat={_num(v.get('stat'))} "
                   f"expected={_num(v.get('expected'))} p={_num(v.get('p'))} q={_num(v.get('q'))}{n}")
    click.echo(f"evidence ({len(d.evidence)}):")
    for ev in d.evidence:
        extra = f"  {ev.size} bytes sha256 {ev.sha256[:12]}" if ev.stored_name else ""
        click.echo(f"  #{ev.pk} {ev.kind} {ev.title}  {_when(ev.added_at)} {_who(ev.added_by)}{extra}")
    click.echo(f"log ({len(d.events)}):")
    for e in d.events:
        move = f" {e.from_state or '·'} → {e.to_state}" if e.to_state else ""
        text = f": {e.text}" if e.text else ""
        click.echo(f"  {_when(e.at)} {_who(e.actor)} {e.kind}{move}{text}")
    effect = case_effect(c, persons)
    if effect.before_run is None:
        click.echo("effect on the estimates: no finished calibration run of the instrument yet")
        return
    rerun = f", re-run #{effect.rerun.pk}" if effect.rerun else ", no re-run yet"
    click.echo(f"effect on the estimates (weighted mean scale score; calibration run #{effect.before_run.pk}"
               f"{rerun}; {effect.excluded} test takers left out in 'after'):")
    click.echo("  level\tbefore (n)\tafter (n)\tchange\tre-run (n)")
    for r in effect.rows():
        def cell(col: str, row: dict[str, Any] = r) -> str:
            return f"{_num(row[f'{col}_mean'], 5)} ({_num(row[f'{col}_n'])})"

        click.echo(f"  {r['level']}\t{cell('before')}\t{cell('after')}\t{_num(r['change'], 3)}\t"
                   f"{cell('rerun') if effect.rerun else '-'}")


@cases_group.command(name="show")
@AS
@click.argument("case_ref", metavar="ID")
def show_cmd(username: str, case_ref: str) -> None:
    """One case (案件详情): indicator snapshot, evidence, log, decision and its effect on the estimates."""
    _django_setup()
    actor = _actor(username)
    _show(actor, _case_id(actor, case_ref))


# ------------------------------------------------------------------------------------------------ write


@cases_group.command(name="open")
@AS
@click.option("--unit", "unit_id", type=int, required=True,
              help="Screened county or school (unit id of a finished screening run, as on its page).")
@click.option("--title", default=None, help="Title (default: the unit's name, instrument and 数据异常调查).")
@click.option("--persons", "person_refs", multiple=True, metavar="TEST_ID",
              help="Restrict the case to these test takers (test IDs; repeatable or comma-separated). Default: "
                   "every test taker of the unit.")
def open_cmd(username: str, unit_id: int, title: str | None, person_refs: tuple[str, ...]) -> None:
    """Open a case (立案) on a screened unit, with its indicator snapshot (national staff)."""
    _django_setup()
    from naeq.quality import cases
    from naeq.quality.access import require_screener
    from naeq.quality.models import ScreenedUnit

    actor = _actor(username)
    require_screener(actor=actor)  # before test IDs are looked up: others learn nothing
    persons = None
    if person_refs:
        cycle_id = ScreenedUnit.objects.filter(pk=unit_id).values_list("run__cycle_id", flat=True).first()
        persons = _takers(cycle_id, person_refs) if cycle_id is not None else None
    case = cases.case_open(actor=actor, unit_id=unit_id, persons=persons, title=title)
    click.echo(f"opened {case.number} (#{case.pk}): {case.title}")


@cases_group.command(name="assign")
@AS
@click.option("--to", "investigator", required=True, metavar="USER",
              help="Investigator: national staff, or a province coordinator of the case's province.")
@click.argument("case_ref", metavar="ID")
def assign_cmd(username: str, investigator: str, case_ref: str) -> None:
    """Assign the case's investigator (指派调查人; national staff)."""
    _django_setup()
    from naeq.quality import cases

    actor = _actor(username)
    case_id = _case_id(actor, case_ref)
    case = cases.case_assign(actor=actor, case_id=case_id, investigator=_actor(investigator))
    click.echo(f"{case.number}: investigator {investigator}")


@cases_group.command(name="start")
@AS
@click.argument("case_ref", metavar="ID")
def start_cmd(username: str, case_ref: str) -> None:
    """Start the investigation (开始调查): open → investigating (national staff or the investigator)."""
    _django_setup()
    from naeq.quality import cases

    actor = _actor(username)
    case = cases.case_start(actor=actor, case_id=_case_id(actor, case_ref))
    click.echo(f"{case.number}: {case.state}")


@cases_group.command(name="note")
@AS
@click.option("--text", required=True, help="The note (at most 5000 characters).")
@click.argument("case_ref", metavar="ID")
def note_cmd(username: str, text: str, case_ref: str) -> None:
    """Add a note to the case's log (调查记录; national staff or the investigator, while undecided)."""
    _django_setup()
    from naeq.quality import cases

    actor = _actor(username)
    case_id = _case_id(actor, case_ref)
    ev = cases.case_note(actor=actor, case_id=case_id, text=text)
    click.echo(f"{ev.case.number}: note #{ev.pk} added")


@cases_group.command(name="collect")
@AS
@click.argument("case_ref", metavar="ID")
def collect_cmd(username: str, case_ref: str) -> None:
    """Attach the unit's incident reports and session records (收集证据; idempotent)."""
    _django_setup()
    from naeq.quality import cases

    actor = _actor(username)
    case_id = _case_id(actor, case_ref)
    new = cases.evidence_collect(actor=actor, case_id=case_id)
    click.echo(f"evidence added: {len(new)}")
    for ev in new:
        click.echo(f"  #{ev.pk} {ev.kind} {ev.title}")


@cases_group.command(name="decide")
@AS
@click.option("--decision", type=click.Choice(DECISIONS), required=True,
              help="cleared (排除异常), data_flagged (数据标记: kept, marked) or data_excluded (数据剔除: out of "
                   "calibration and estimation).")
@click.option("--reason", required=True, help="The reason, kept with the decision and in the audit trail.")
@click.option("--persons", "person_refs", multiple=True, metavar="all|TEST_ID",
              help="Whom the decision applies to: all (default: the case's test takers, else the whole unit) or "
                   "test IDs (repeatable or comma-separated).")
@click.argument("case_ref", metavar="ID")
def decide_cmd(username: str, decision: str, reason: str, person_refs: tuple[str, ...], case_ref: str) -> None:
    """Decide the case (作出决定; national staff only): writes the data marks of the decision."""
    _django_setup()
    from naeq.quality import cases
    from naeq.quality.access import case_access, may_decide
    from naeq.quality.models import CaseEvent, EventKind

    actor = _actor(username)
    case_id = _case_id(actor, case_ref)
    persons = None
    if person_refs and may_decide(actor=actor):  # others are refused by case_decide before any test ID is read
        persons = _takers(case_access(actor=actor, case_id=case_id).cycle, person_refs)
    case = cases.case_decide(actor=actor, case_id=case_id, state=decision, reason=reason, persons=persons)
    ev = CaseEvent.objects.filter(case=case, kind=EventKind.DECIDED).order_by("-id").first()
    data = ev.data if ev else {}
    click.echo(f"{case.number}: {case.state} ({case.get_state_display()}); test takers {data.get('persons', 0)}, "
               f"marks written {data.get('written', 0)}, kept {data.get('kept', 0)}")


@cases_group.command(name="reopen")
@AS
@click.option("--reason", required=True, help="Why the investigation continues.")
@click.argument("case_ref", metavar="ID")
def reopen_cmd(username: str, reason: str, case_ref: str) -> None:
    """Reopen a decided case (重新调查; national staff): removes its marks, back to investigating."""
    _django_setup()
    from naeq.quality import cases
    from naeq.quality.models import CaseEvent, EventKind

    actor = _actor(username)
    case = cases.case_reopen(actor=actor, case_id=_case_id(actor, case_ref), reason=reason)
    ev = CaseEvent.objects.filter(case=case, kind=EventKind.REOPENED).order_by("-id").first()
    click.echo(f"{case.number}: {case.state}; marks removed {(ev.data if ev else {}).get('marks_removed', 0)}")
