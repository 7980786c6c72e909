"""Demo data for custody: the chain of custody of the demo province's sample counties and some session records.

A realistic mix (``seed`` picks which county gets which trouble):

* most counties: receipt matching the manifest, storage, issue at 07:10 and return at 17:20 on every test day,
  mail-back the day after the last test day;
* one county: a school returns its boxes the next morning (→ ``late_return``) and the county has not mailed back
  yet (→ ``not_mailed``);
* one county: a school returns one box fewer than it was issued (→ ``return_mismatch``);
* one county: a school more than two hours away keeps two days of instruments under an approved request.

The demo writes as the system (no account): rows are built here and validated with ``full_clean`` and audited,
without the access checks of :mod:`naeq.custody.services` (no demo account stands in every county). Custody
events are append-only, so a second run leaves a province that already has events alone.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from typing import Any

from django.db import transaction
from django.utils import timezone

from naeq.core.audit import audit_record
from naeq.custody.models import CustodyEvent, EventKind, KeepStatus, SessionRecord, TwoDayKeep
from naeq.custody.services import event_state, local_date, local_tz, record_state
from naeq.cycles.models import Cycle
from naeq.delivery.models import Respondent, SessionKind, TestSession, TestTaker
from naeq.registry.models import Region, RegionLevel, School

BOXES_PER_ISSUE = 2
MAX_COUNTIES = 8
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
GIVEN = "明华文军平安宁静涛波强磊敏丽芳燕红霞建国志勇晓东"


def _name(rng: random.Random) -> str:
    """A generated name (never a real person's): one surname and two given characters."""
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)


def _schools_by_county(cycle: Cycle, province: Region) -> dict[Region, list[School]]:
    from naeq.sampling.models import SampledSchool
    from naeq.sampling.selectors import ACTIVE

    out: dict[Region, list[School]] = defaultdict(list)
    rows = (SampledSchool.objects.filter(run__cycle=cycle, run__status__in=ACTIVE, path__startswith=province.path,
                                         role="sampled")
            .exclude(participation="refused").select_related("school", "county").order_by("path", "school__code"))
    for row in rows:
        if row.school not in out[row.county]:
            out[row.county].append(row.school)
    if not out:  # no sample drawn yet: two schools of each of the first counties
        for county in Region.objects.filter(level=RegionLevel.COUNTY, path__startswith=province.path).order_by(
                "code")[:MAX_COUNTIES]:
            schools = list(School.objects.filter(county=county).order_by("code")[:2])
            if schools:
                out[county] = schools
    return dict(sorted(out.items(), key=lambda kv: kv[0].code)[:MAX_COUNTIES])


def _test_days(cycle: Cycle, county: Region, today: dt.date) -> list[dt.date]:
    days = sorted({local_date(s) for s in TestSession.objects.filter(
        cycle=cycle, county=county, school__isnull=False, kind=SessionKind.FORMAL).values_list("starts_at",
                                                                                             flat=True)})
    if not days:  # no sessions generated there (no students drawn): the school days of the cycle's schedule
        days = sorted({d.date for sched in cycle.config.schedules.values() for level, level_days in sched.items()
                       if level in ("primary", "middle") for d in level_days})[:2]
    past = [d for d in days if d < today][:2]
    return past or [today - dt.timedelta(days=3), today - dt.timedelta(days=2)]


def _at(day: dt.date, hh: int, mm: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm), tzinfo=local_tz())


def _event(**fields: Any) -> CustodyEvent:
    county: Region = fields["county"]
    fields["at"] = min(fields["at"], timezone.now())  # never an event in the future
    e = CustodyEvent(path=county.path, recorded_by=None, recorded_at=fields["at"], **fields)
    e.full_clean()
    e.save()
    audit_record(actor=None, action=f"custody.event_{e.kind}", object_type="custody.CustodyEvent", object_id=e.pk,
                 after={**event_state(e), "reason": "demo"})
    return e


@transaction.atomic
def demo_custody(cycle: Cycle, *, seed: int) -> None:
    """Fill the demo province's custody ledgers and some 测试情况记录表 (see the module docstring)."""
    province = Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code").first()
    if province is None or CustodyEvent.objects.filter(cycle=cycle, path__startswith=province.path).exists():
        return
    rng = random.Random(seed)  # noqa: S311 - demo data, reproducible by seed
    by_county = _schools_by_county(cycle, province)
    if not by_county:
        return
    counties = list(by_county)
    roles = list(range(len(counties)))
    rng.shuffle(roles)
    # With fewer than three counties, one county carries several of the troubles.
    late, mismatch, keeper = (roles[k % len(roles)] for k in range(3))
    today = local_date(timezone.now())
    for i, county in enumerate(counties):
        schools = by_county[county]
        days = _test_days(cycle, county, today)
        custodian, witness = _name(rng), _name(rng)
        total = BOXES_PER_ISSUE * len(schools) * len(days)
        arrive = days[0] - dt.timedelta(days=3)
        _event(cycle=cycle, county=county, kind=EventKind.RECEIVED, at=_at(arrive, 10, 5), boxes=total,
               expected_boxes=total, seal_numbers=f"JY{county.code}-{1:03d}–{total:03d}", seals_intact=True,
               signatory_1=custodian, signatory_2=witness, note="机要局送达")
        _event(cycle=cycle, county=county, kind=EventKind.STORED, at=_at(arrive, 11, 0), boxes=total,
               location="县教育局保密室1号铁皮柜（双人双锁）", signatory_1=custodian, signatory_2=witness)
        keep = None
        if i == keeper and len(schools) >= 2:
            keep = TwoDayKeep(cycle=cycle, county=county, path=county.path, school=schools[-1], first_day=days[0],
                              travel_minutes=150, reason="山区学校，单程车程约2.5小时", status=KeepStatus.APPROVED,
                              requested_at=_at(arrive, 15, 0), decided_at=_at(arrive, 16, 30),
                              decision_note="经县级实施工作领导小组审查同意")
            keep.full_clean()
            keep.save()
            audit_record(actor=None, action="custody.keep_decide", object_type="custody.TwoDayKeep",
                         object_id=keep.pk, after={"school": keep.school.code, "status": keep.status,
                                                   "reason": "demo"})
        for d, day in enumerate(days):
            for s, school in enumerate(schools):
                if keep is not None and school == keep.school and day == keep.first_day + dt.timedelta(days=1):
                    continue  # the second day is covered by the two-day issue
                receiver = _name(rng)
                two_day = keep is not None and school == keep.school and d == 0
                issue = _event(cycle=cycle, county=county, school=school, kind=EventKind.ISSUED,
                               at=_at(day, 7, 10 + s % 40), boxes=BOXES_PER_ISSUE, test_day=day,
                               keep=keep if two_day else None, signatory_1=custodian, signatory_2=receiver)
                back_day = day + dt.timedelta(days=1) if two_day else day
                when, boxes, note = _at(back_day, 17, 20 + s % 30), BOXES_PER_ISSUE, ""
                if i == late and d == 0 and s == 0:
                    when, note = _at(day + dt.timedelta(days=1), 8, 30), "当晚车辆故障，次日早晨送回"
                if i == mismatch and d == len(days) - 1 and s == 0:
                    boxes, note = BOXES_PER_ISSUE - 1, "送回时少一箱，正在核查"
                _event(cycle=cycle, county=county, school=school, kind=EventKind.RETURNED, at=when, boxes=boxes,
                       issue=issue, seals_intact=True, signatory_1=custodian, signatory_2=receiver, note=note)
        if i != late:
            mailed = total - (1 if i == mismatch else 0)
            _event(cycle=cycle, county=county, kind=EventKind.MAILED, at=_at(days[-1] + dt.timedelta(days=1), 9, 30),
                   boxes=mailed, tracking_no=f"KY{county.code}{rng.randrange(10**6):06d}",
                   note="原监测工具箱，专人专车办理回邮")
    _demo_records(cycle, by_county[counties[0]], rng)


def _demo_records(cycle: Cycle, schools: list[School], rng: random.Random) -> None:
    """One room's 测试情况记录表 for each formal student session (with test takers) of the first county."""
    reasons = ["病假", "事假", "转学"]
    for session in TestSession.objects.filter(cycle=cycle, school__in=schools, kind=SessionKind.FORMAL,
                                              respondent=Respondent.STUDENT).select_related("school"):
        codes = list(TestTaker.objects.filter(cycle=cycle, school=session.school, kind=Respondent.STUDENT,
                                              grade=session.grade).order_by("code").values_list("code", flat=True))
        if not codes or session.starts_at > timezone.now():
            continue
        absent = rng.sample(codes, k=min(len(codes) - 1, rng.choice([0, 1, 1, 2])))
        start = session.starts_at + dt.timedelta(minutes=rng.choice([0, 0, 5]))
        end = session.ends_at or start + dt.timedelta(minutes=80)
        r = SessionRecord(session=session, path=session.path, room="第1测试室", actual_start=start,
                          actual_end=max(end, start + dt.timedelta(minutes=1)), expected=len(codes),
                          present=len(codes) - len(absent),
                          absentees=[{"code": c, "reason": rng.choice(reasons)} for c in absent],
                          pe_exempt=[], deviations=[], recorded_by=None)
        r.full_clean(validate_constraints=False)
        r.save()
        audit_record(actor=None, action="custody.record_save", object_type="custody.SessionRecord",
                     object_id=r.pk, after={**record_state(r), "reason": "demo"})
