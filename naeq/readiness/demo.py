"""Demo data for 准备就绪: trainings with attendance and self-checks in a realistic mix.

``demo_readiness(cycle, seed=...)`` works on the cycle's drawn sample (sampled counties and their active sample
schools): most counties held their training (one school misses its PE proctors' training, one county held none),
most self-checks are approved, a few are submitted, one is returned because its secure cabinet lacks two locks
(2024-nanchang-city-plan.txt (8)："双人双锁"), one school has not started, one county has not started its own.
People's names are generated from syllables, never real persons. Writes are audited as the system. Idempotent:
a cycle that already has readiness data is left as it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from typing import Any

from django.db import transaction
from django.utils import timezone

from naeq.core.audit import audit_record
from naeq.readiness.config import config_for
from naeq.readiness.evidence import evidence_store
from naeq.readiness.models import (
    CheckStatus,
    Evidence,
    SelfCheck,
    TrainingAttendance,
    TrainingEvent,
    TrainingLevel,
    UnitKind,
)
from naeq.readiness.services import minimums_for, students_of
from naeq.registry.models import Region, School
from naeq.sampling.models import RunStatus, SampledCounty, SampledSchool, SchoolParticipation

_SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦许何吕施张孔曹严华金魏陶姜"
_GIVEN = "文华明志建国玉兰春晓海燕子涵思雨嘉欣浩然俊杰雅静梓轩"
#: A 1×1 PNG: evidence photos of the demo (real PNG bytes, so the type check accepts them).
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005fe02fea35c8e640000000049454e44ae426082")


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))


def _answers(cycle: Any, kind: str, unit: School | Region, *, bad_item: str | None = None) -> dict[str, Any]:
    checklist = config_for(cycle.year).checklists[kind]
    minimums = minimums_for(cycle, checklist, unit)
    students = students_of(cycle, unit) if isinstance(unit, School) else 0
    out: dict[str, Any] = {}
    for item in checklist.items:
        if item.type == "yesno":
            out[item.id] = {"value": "no" if item.id == bad_item else "yes", "remedy": "", "remedy_date": ""}
        elif item.type == "number":
            value = minimums.get(item.id, 0) + (max(1, students // 2) if item.id == "online_computers" else 1)
            out[item.id] = {"value": value, "remedy": "", "remedy_date": ""}
        elif item.type == "text":
            hotline = getattr(unit, "supervision_hotline", "") or f"0{unit.code[:3]}-12345{unit.code[-3:]}"
            out[item.id] = {"value": hotline if item.id == "hotline" else "", "remedy": "", "remedy_date": ""}
    return out


def _check(cycle: Any, kind: str, unit: School | Region, status: str, *, when: dt.datetime,
           bad_item: str | None = None, reason: str = "") -> SelfCheck:
    county = unit.county if isinstance(unit, School) else unit
    check = SelfCheck.objects.create(
        cycle=cycle, kind=kind, county=county, school=unit if isinstance(unit, School) else None, path=unit.path,
        status=status, answers=_answers(cycle, kind, unit, bad_item=bad_item), updated_at=when,
        submitted_at=when if status != CheckStatus.DRAFT else None,
        reviewed_at=when + dt.timedelta(days=1) if status in (CheckStatus.APPROVED, CheckStatus.RETURNED) else None,
        return_reason=reason)
    for item in config_for(cycle.year).checklists[kind].items:
        if item.type == "evidence" and (item.required or status == CheckStatus.APPROVED):
            stored = evidence_store(check.pk, "png", _PNG)
            Evidence.objects.create(selfcheck=check, item_id=item.id, stored_name=stored,
                                    original_name=f"{item.id}.png", content_type="image/png", size=len(_PNG),
                                    sha256=hashlib.sha256(_PNG).hexdigest(), uploaded_at=when)
    audit_record(actor=None, action="readiness.demo_check", object_type="readiness.SelfCheck", object_id=check.pk,
                 after={"status": status, "unit": unit.code, "return_reason": reason})
    return check


@transaction.atomic
def demo_readiness(cycle: Any, *, seed: int) -> None:
    """Fill trainings, attendance and self-checks for the cycle's drawn sample (see the module docstring)."""
    if SelfCheck.objects.filter(cycle=cycle).exists() or TrainingEvent.objects.filter(cycle=cycle).exists():
        return
    rng = random.Random(seed)  # noqa: S311 - demo data, reproducible by seed
    config = config_for(cycle.year)
    counties = list(SampledCounty.objects.filter(run__cycle=cycle, run__status=RunStatus.DONE)
                    .select_related("county").order_by("county__code"))
    school_ids = (SampledSchool.objects.filter(run__cycle=cycle, run__status=RunStatus.DONE)
                  .exclude(participation__in=[SchoolParticipation.RESERVE, SchoolParticipation.REFUSED])
                  .values_list("school_id", flat=True))
    schools_by_county: dict[int, list[School]] = {}
    for s in School.objects.filter(pk__in=school_ids).select_related("county").order_by("code"):
        schools_by_county.setdefault(s.county_id, []).append(s)
    # Dated from the cycle's first school test day (the demo cycle's days lie around today): county training
    # 10–20 days before it, self-checks 10 to 5 days before it.
    test_day = min((d.date for sched in cycle.config.schedules.values() for level, days in sched.items()
                    if level in ("primary", "middle") for d in days), default=dt.date(cycle.year, 5, 22))
    base = timezone.make_aware(dt.datetime.combine(test_day - dt.timedelta(days=10), dt.time(9, 0)))
    returned_done = not_started_done = False
    for ci, sc in enumerate(counties):
        county = sc.county
        schools = schools_by_county.get(county.pk, [])
        trained = not (len(counties) > 2 and ci == len(counties) - 1)  # the last county has not trained yet
        if trained:
            event = TrainingEvent.objects.create(
                cycle=cycle, level=TrainingLevel.COUNTY, region=county, path=county.path,
                title=f"{county.name}测试程序与工作规范培训", topics=[t.code for t in config.topics],
                date=test_day - dt.timedelta(days=rng.randint(10, 20)), place=f"{county.name}教育局会议室",
                trainer=f"{county.name}教育督导室", materials="现场操作手册、组织工作手册、胸牌")
            rows = []
            for si, school in enumerate(schools):
                for post in config.required_posts:
                    if ci == 0 and si == 0 and post.code == "pe_proctor":
                        continue  # one school's PE proctors missed the training: a gap in the coverage table
                    for _n in range(2 if post.code in ("proctor", "pe_proctor", "custodian") else 1):
                        rows.append(TrainingAttendance(event=event, person_name=_name(rng), post=post.code,
                                                       school=school, attended=rng.random() > 0.05))
            for _n in range(2):
                rows.append(TrainingAttendance(event=event, person_name=_name(rng), post="info_officer", school=None,
                                               attended=True, note="县级信息员"))
            unique = {(r.person_name, r.post, r.school_id): r for r in rows}
            TrainingAttendance.objects.bulk_create(unique.values())
            audit_record(actor=None, action="readiness.demo_training", object_type="readiness.TrainingEvent",
                         object_id=event.pk, after={"county": county.code, "rows": len(unique)})
        for si, school in enumerate(schools):
            when = base + dt.timedelta(days=rng.randint(0, 5), hours=rng.randint(0, 8))
            if not trained:
                if si == 0:
                    _check(cycle, UnitKind.SCHOOL, school, CheckStatus.DRAFT, when=when)
                continue
            if not returned_done and ci == 0 and si == len(schools) - 1 and si > 0:
                _check(cycle, UnitKind.SCHOOL, school, CheckStatus.RETURNED, when=when, bad_item="two_locks",
                       reason="保密柜未做到双人双锁，请配齐第二把锁并分别由两人保管后重新提交。")
                returned_done = True
            elif not not_started_done and ci == min(1, len(counties) - 1) and si == len(schools) - 1 and si > 0:
                not_started_done = True  # this school has not started its self-check
            elif rng.random() < 0.2:
                _check(cycle, UnitKind.SCHOOL, school, CheckStatus.SUBMITTED, when=when)
            else:
                _check(cycle, UnitKind.SCHOOL, school, CheckStatus.APPROVED, when=when)
        when = base + dt.timedelta(days=6)
        if trained and ci % 4 != 3:
            _check(cycle, UnitKind.COUNTY, county, CheckStatus.APPROVED if ci % 3 else CheckStatus.SUBMITTED,
                   when=when)
