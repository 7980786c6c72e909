"""Demo data for the incidents app: ``demo_incidents(cycle, seed=...)``, called by ``naeq demo``.

In the demo province: two grade-1 session incidents in the first county with formal sessions (a power cut fixed in
ten minutes, a student taken ill); one grade-2 (network loss moving a session) and one grade-3 (impersonation found,
escalated at once to the city and the province) in other sample counties, recorded as cases of a school; hotline
calls on the first test day; incident report forms filed by every school of the first county except one (flagged
missing once the day is over). Idempotent: does nothing when the cycle already has cases. Names are generated, never
real people's.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction

from naeq.core.audit import audit_record
from naeq.cycles.models import Cycle
from naeq.delivery.models import Incident, SessionKind, TestSession
from naeq.incidents import services
from naeq.incidents.models import (
    CallerType,
    CallTopic,
    CaseSource,
    CaseState,
    EntryKind,
    HandlingEntry,
    HotlineCall,
    IncidentCase,
    IncidentReport,
)
from naeq.incidents.selectors import school_test_days
from naeq.registry.models import Region, School


def _other_schools(cycle: Cycle, province: str, *, exclude: int) -> list[tuple[Region, School]]:
    """(county, school) of the first participating sample school of every other sample county of the province."""
    from naeq.sampling.models import SampledSchool
    from naeq.sampling.selectors import ACTIVE

    out: dict[int, tuple[Region, School]] = {}
    for row in (SampledSchool.objects.filter(run__cycle=cycle, run__status__in=ACTIVE, role="sampled",
                                             path__startswith=province + "/")
                .exclude(participation="refused").exclude(county_id=exclude)
                .select_related("county", "school").order_by("county__code", "school__code")):
        out.setdefault(row.county_id, (row.county, row.school))
    return list(out.values())


@transaction.atomic
def demo_incidents(cycle: Cycle, *, seed: int) -> None:
    if IncidentCase.objects.filter(cycle=cycle).exists():
        return
    rng = random.Random(seed)  # noqa: S311 - demo data, not a secret
    sessions = list(TestSession.objects.filter(cycle=cycle, kind=SessionKind.FORMAL, school__isnull=False)
                    .select_related("school", "county").order_by("path", "starts_at", "id"))
    if not sessions:
        return
    province = sessions[0].path.split("/")[0]
    sessions = [s for s in sessions if s.path.startswith(province + "/")]
    counties = sorted({s.county_id for s in sessions})
    first = [s for s in sessions if s.county_id == counties[0]]
    plan = [
        (first[0], "power", 1, 25,
         "测试开始25分钟时教学楼停电，10分钟后恢复供电；纸笔测试照常进行，网络问卷延后10分钟。"),
        (first[min(1, len(first) - 1)], "illness", 1, 40,
         "一名学生测试中腹痛，医护人员临场处置后由家长接回，该生按缺考处理。"),
    ]
    cases = []
    for session, category, grade, minutes, text in plan:
        incident = Incident.objects.create(session=session, category=category, grade=grade, description=text,
                                           at=session.starts_at + dt.timedelta(minutes=minutes))
        cases.append(IncidentCase.objects.get(incident=incident))
    # The grade-2 and grade-3 cases happen in other sample counties of the province (first those with sessions,
    # then those where no students were drawn for the demo, so there is no session to attach them to): recorded
    # as cases of the school at the times of the first test day. With a single county, they stay in it.
    elsewhere = list({s.county_id: (s.county, s.school) for s in reversed(sessions)
                      if s.county_id != counties[0]}.values())[::-1]
    with_sessions = {c.pk for c, _s in elsewhere}
    elsewhere += [cs for cs in _other_schools(cycle, province, exclude=counties[0]) if cs[0].pk not in with_sessions]
    day0 = first[0].starts_at
    for (county, school), category, grade, minutes, text in (
            (elsewhere[0] if elsewhere else (first[0].county, first[0].school), "network", 2, 15,
             "网络中断约40分钟，经县级同意，该校中学生网络问卷场次改至下午进行。"),
            (elsewhere[-1] if elsewhere else (first[-1].county, first[-1].school), "impersonation", 3, 5,
             "检录时发现一名考生与测试学生名单照片不符，疑似替考；已停止其测试并封存相关材料。")):
        cases.append(services._create_case(actor=None, cycle=cycle, county=county, school=school,
                                           source=CaseSource.MANUAL, category=category, grade=grade,
                                           occurred_at=day0 + dt.timedelta(minutes=minutes), description=text))
    power, ill, network, impersonation = cases
    services.case_log_system(case_id=network.pk, text="县级同意改时，网络问卷场次改至当日下午。")
    services.case_log_system(case_id=impersonation.pk, text="省级已指示县级调查，相关材料封存待查。")
    for case, summary in ((power, "供电恢复，测试按时完成。"), (ill, "学生已由家长接回，身体无碍。")):
        HandlingEntry.objects.create(case=case, by_label="系统（演示）", kind=EntryKind.CLOSE, text=summary)
        case.state, case.closed_at, case.closing_summary = CaseState.CLOSED, case.occurred_at + dt.timedelta(
            hours=1), summary
        case.save(update_fields=["state", "closed_at", "closing_summary"])
    # Hotline calls on the first test day of the county with the grade-3 case.
    day = day0
    hot_county, hot_school = impersonation.county, impersonation.school
    calls = [
        (CallerType.PARENT, CallTopic.QUESTION, "家长询问孩子未被抽中是否需要到校。", "已解释抽样规则，无需到校。",
         True),
        (CallerType.ANONYMOUS, CallTopic.VIOLATION, "匿名举报某校测试前组织学生集中复习。", "", False),
        (CallerType.TEACHER, CallTopic.COMPLAINT, "教师反映测试当天非测试年级被安排放假。", "已责成学校恢复正常教学。",
         True),
    ]
    for i, (who, topic, summary, result, closed) in enumerate(calls):
        at = day + dt.timedelta(minutes=30 + 40 * i + rng.randint(0, 10))
        HotlineCall.objects.create(cycle=cycle, county=hot_county, path=hot_county.path,
                                   school=hot_school if topic != CallTopic.QUESTION else None,
                                   received_at=at, caller_type=who, topic=topic, summary=summary, result=result,
                                   caller_phone="" if who == CallerType.ANONYMOUS
                                   else f"139{rng.randint(0, 10**8 - 1):08d}",
                                   closed_at=at + dt.timedelta(minutes=20) if closed else None)
    # Report forms: every school of the first county files, except the last one (missing).
    school_ids = sorted({s.school_id for s in first if s.school_id is not None})
    days = school_test_days(cycle, school_ids)
    for sid in school_ids[:-1] if len(school_ids) > 1 else []:
        for d in days.get(sid, []):
            day_cases = list(IncidentCase.objects.filter(cycle=cycle, school_id=sid, occurred_at__date=d))
            s = next(x for x in first if x.school_id == sid)
            report = IncidentReport.objects.create(
                cycle=cycle, school_id=sid, county=s.county, path=s.path, test_date=d, no_incident=not day_cases,
                handling="；".join(c.closing_summary or c.description for c in day_cases),
                signed_by=f"校长{rng.choice('甲乙丙丁戊')}{rng.choice('一二三四五')}")
            report.cases.set(day_cases)
    audit_record(actor=None, action="incidents.demo", object_type="cycle", object_id=cycle.pk,
                 after={"cases": len(cases), "calls": len(calls), "seed": seed})
