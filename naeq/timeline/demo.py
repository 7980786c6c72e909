"""Demo data for the timeline: a realistic mix in the demo's province (the first province of the world).

Most units did every manual milestone on time (submitted a few days before the deadline, approved a day later); a
few schools and counties are late (submitted after the deadline) or still owe a milestone (overdue); one county's
implementation summary was returned for revision with a reason; the province's summary waits for the national
centre. Nothing is dated after ``today``: a milestone due later is still open (a few units submitted early and wait
for review), a summary not yet due is a draft (the returned county submitted early and was returned). Derived
milestones (registry, rosters, sessions, test-taker information) come from the data the other demo steps created.
Names are the generated names of the synthetic world.

Written as rows with back-dated times (a service stamps "now"), each audited as the system, in one transaction.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from naeq.core.audit import audit_record
from naeq.cycles.models import Cycle
from naeq.registry.models import Region, RegionLevel
from naeq.timeline.config import milestones_for
from naeq.timeline.models import REPORT_KIND_OF_LEVEL, MilestoneStatus, Report, State
from naeq.timeline.reports import SECTIONS
from naeq.timeline.units import Unit, sample_units

RETURN_REASON = "请补充监测工具回邮情况和应急事件处置情况，并附测试情况记录表汇总。"

_TEXT = {
    "conduct": "各场次均按时开考、按时结束；应测学生全部到场，缺席与体育免测学生已在系统中登记。",
    "incidents": "无。",
    "problems": "网络问卷作答室计算机数量偏紧，建议下次提前一周完成调试。",
    "overview": "本县样本校均按要求完成学生测试、问卷填答和体育现场测试，测试过程规范有序。",
    "practice": ("成立县级实施工作领导小组，开展测试程序与工作规范培训，逐校核查测前准备，"
                 "监测工具双人双锁保管并按时回邮。"),
}


def _at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def _status(cycle: Cycle, unit: Unit, code: str, state: str, submitted: dt.date | None,
            reviewed: dt.date | None, reason: str = "") -> None:
    st, _created = MilestoneStatus.objects.update_or_create(
        cycle=cycle, milestone=code, region=unit.region, school=unit.school,
        defaults={"level": unit.level, "path": unit.path, "state": state, "reason": reason,
                  "submitted_at": _at(submitted, 10) if submitted else None,
                  "reviewed_at": _at(reviewed, 16) if reviewed else None})
    audit_record(actor=None, action="timeline.demo_status", object_type="timeline.MilestoneStatus",
                 object_id=st.pk, before=None, after={"milestone": code, "unit": unit.code, "state": state})


def _report(cycle: Cycle, unit: Unit, state: str, submitted: dt.date | None, reason: str = "",
            today: dt.date | None = None) -> None:
    kind = REPORT_KIND_OF_LEVEL[unit.level]
    sections = {s.code: _TEXT.get(s.code, "—") for s in SECTIONS[kind]}
    rep, _created = Report.objects.update_or_create(
        cycle=cycle, kind=kind, region=unit.region, school=unit.school,
        defaults={"level": unit.level, "path": unit.path, "state": state, "reason": reason, "sections": sections,
                  "submitted_at": _at(submitted, 11) if submitted else None,
                  "reviewed_at": _at(min(submitted + dt.timedelta(days=2), today or dt.date.max), 15)
                  if submitted and state in (
                      State.APPROVED, State.RETURNED) else None})
    audit_record(actor=None, action="timeline.demo_report", object_type="timeline.Report", object_id=rep.pk,
                 before=None, after={"kind": kind, "unit": unit.code, "state": state})


def demo_timeline(cycle: Cycle, *, seed: int) -> None:
    """Fill the demo province's timeline (idempotent: rows are updated in place)."""
    demo_fill(cycle, seed=seed)


@transaction.atomic
def demo_fill(cycle: Cycle, *, seed: int, today: dt.date | None = None) -> dict[str, int]:
    """:func:`demo_timeline`, returning the number of manual milestones on time, late, owed (overdue) and still
    upcoming, and of returned reports. ``today`` (default: the local date) bounds every date written."""
    today = today or timezone.localdate()
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    province = Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code").first()
    if province is None:
        return {}
    units = sample_units(cycle, path=province.path)
    milestones = milestones_for(cycle)
    counts = {"on_time": 0, "late": 0, "owed": 0, "upcoming": 0, "returned": 0}
    returned_county = units.counties[rng.randrange(len(units.counties))].code if units.counties else ""
    # About one unit in eight (at least one county and one school) is a "problem" unit: one milestone submitted
    # late and one still owed, both among the milestones already due.
    problems: set[str] = set()
    for group in (units.counties, units.schools):
        pool = [u.code for u in group if u.code != returned_county]
        if pool:
            problems.update(rng.sample(pool, max(1, -(-len(pool) // 8))))
    for unit in [*units.counties, *units.schools]:
        problem = unit.code in problems
        manual = [m for m in milestones if m.level == unit.level and m.manual]
        due = [m for m in manual if m.due < today]
        late_code = rng.choice(due[:len(due) // 2]).code if problem and len(due) > 1 else ""
        owed_code = rng.choice(due[len(due) // 2:]).code if problem and due else ""
        for m in manual:
            if m.due >= today:  # not due yet: open, or (one unit in four) submitted early, waiting for review
                counts["upcoming"] += 1
                if rng.random() < 0.25:
                    sub = max(today - dt.timedelta(days=rng.randint(0, 2)), m.due - dt.timedelta(days=5))
                    _status(cycle, unit, m.code, State.SUBMITTED, min(sub, today), None)
                continue
            if m.code == owed_code:
                counts["owed"] += 1
                continue
            if m.code == late_code:
                sub = min(m.due + dt.timedelta(days=rng.randint(1, 4)), today)
                _status(cycle, unit, m.code, State.APPROVED, sub, min(sub + dt.timedelta(days=1), today))
                counts["late"] += 1
                continue
            sub = m.due - dt.timedelta(days=rng.randint(0, 4))
            _status(cycle, unit, m.code, State.APPROVED, sub, min(sub + dt.timedelta(days=1), today))
            counts["on_time"] += 1
        report_due = next((m.due for m in milestones if m.level == unit.level and m.derived == "report"), None)
        if report_due is None:
            continue
        upcoming = report_due >= today
        if unit.code == returned_county:
            sub = min(report_due - dt.timedelta(days=1), today - dt.timedelta(days=2))
            _report(cycle, unit, State.RETURNED, sub, reason=RETURN_REASON, today=today)
            counts["returned"] += 1
        elif problem or (upcoming and rng.random() < 0.7):
            _report(cycle, unit, State.DRAFT, None)
        elif upcoming:
            _report(cycle, unit, State.SUBMITTED, today - dt.timedelta(days=rng.randint(0, 2)))
        else:
            _report(cycle, unit, State.APPROVED, report_due - dt.timedelta(days=rng.randint(0, 2)), today=today)
    for unit in units.provinces:
        due_p = next((m.due for m in milestones if m.level == "province" and m.derived == "report"), None)
        if due_p is not None:
            if due_p < today:
                _report(cycle, unit, State.SUBMITTED, due_p)
            else:
                _report(cycle, unit, State.DRAFT, None)
    return counts
