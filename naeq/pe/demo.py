"""Demo data for the PE field test: exam rooms and plausible values for the demo county's sample schools.

The mix (``seed`` draws the values):

* every sample school of the demo county (the first county with sampled student test takers) gets rooms of at most
  20 students by grade and test ID, with a recorder and a reviewer: the school's information officer and head where
  the demo has those accounts, else the county's information officer and liaison;
* the province's entry window is open from yesterday for two weeks;
* the demo school: its first room submitted and awaiting the head's review, its last room in draft with one
  out-of-bounds value flagged (a height typed as 1352 for 135.2), the others confirmed;
* the other schools' rooms confirmed (locked), except the last room of the first of them, submitted; the first
  confirmed room misses the 15 m shuttle for the whole room (timer failure);
* one PE-exempt student (体育免测生, with a reason) and one absent student per school.

Values are drawn per grade and sex around plausible means, kept inside the bounds of ``configs/items.yaml`` and
rounded to the item's precision. Idempotent: a county that already has rooms is left alone. Written through
:mod:`naeq.pe.services` (validated and audited, as the system).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from naeq.accounts.roles import Role
from naeq.cycles.models import Cycle
from naeq.delivery.models import TestTaker
from naeq.pe import access, services
from naeq.pe.config import items_config
from naeq.pe.models import ExamRoom, RoomStatus
from naeq.registry.models import Region, School

ROOM_SIZE = 20
#: (grade, sex) -> field -> (mean, sd): plausible field-test values of Chinese grade-4 and grade-8 students.
MEANS: dict[tuple[int, str], dict[str, tuple[float, float]]] = {
    (4, "M"): {"height": (138, 6), "weight": (34, 7), "grip": (13, 3), "vc": (1700, 350), "run50": (9.8, 0.9),
               "jump": (140, 16), "shuttle": (22, 7)},
    (4, "F"): {"height": (137, 6), "weight": (31, 6), "grip": (11.5, 2.6), "vc": (1450, 300), "run50": (10.2, 0.9),
               "jump": (130, 14), "shuttle": (18, 6)},
    (8, "M"): {"height": (166, 7), "weight": (56, 11), "grip": (32, 6), "vc": (3200, 600), "run50": (8.2, 0.7),
               "jump": (205, 20), "shuttle": (45, 12)},
    (8, "F"): {"height": (158, 5), "weight": (49, 8), "grip": (24, 4), "vc": (2400, 400), "run50": (9.3, 0.7),
               "jump": (165, 15), "shuttle": (30, 8)},
}
VISION = np.array([5.3, 5.2, 5.1, 5.0, 4.9, 4.8, 4.7, 4.6, 4.5, 4.3, 4.1])
VISION_P = np.array([0.04, 0.12, 0.16, 0.2, 0.12, 0.1, 0.08, 0.06, 0.05, 0.04, 0.03])


def _values(rng: np.random.Generator, grade: int, sex: str) -> dict[str, Any]:
    cfg = items_config()
    m = MEANS[(grade, sex)]
    out: dict[str, Any] = {}
    for item in cfg.items:
        lo, hi = item.bounds[(grade, sex)]
        if item.code == "vision":
            base = float(rng.choice(VISION, p=VISION_P / VISION_P.sum()))
            out["vision_l"] = base
            out["vision_r"] = round(float(np.clip(base + rng.choice([-0.1, 0.0, 0.0, 0.1]), lo, hi)), 1)
            continue
        mean, sd = m[item.code]
        first = float(np.clip(rng.normal(mean, sd), lo, hi))
        trials = 1 if item.code == "jump" and rng.random() < 0.1 else len(item.fields)
        for k, f in enumerate(item.fields):
            if k >= trials:
                out[f.code] = None
                continue
            v = first if k == 0 else float(np.clip(first + rng.normal(0, sd * 0.15), lo, hi))
            value = round(v, item.decimals) if item.decimals else round(v)
            if k and value == out[item.fields[0].code]:  # a second trial rarely equals the first exactly
                value = round(value + 10 ** -item.decimals * (1 if value < hi else -1), item.decimals)
            out[f.code] = value
    return out


def _account(school: School, *roles: str) -> Any:
    accounts = list(access.entry_accounts(school=school))
    for role in roles:
        hit = next((a for a in accounts if a.role == role and a.username.startswith("demo")), None) or next(
            (a for a in accounts if a.role == role), None)
        if hit is not None:
            return hit
    return None


def _demo_county(cycle: Cycle) -> Region | None:
    county_id = (TestTaker.objects.filter(cycle=cycle, kind="student", school__isnull=False)
                 .order_by("county__code").values_list("county_id", flat=True).first())
    return Region.objects.filter(pk=county_id).first() if county_id else None


@transaction.atomic
def demo_pe(cycle: Cycle, *, seed: int) -> dict[str, int]:
    """Rooms and values for the demo county (see the module docstring). Returns counts by room status."""
    county = _demo_county(cycle)
    if county is None or ExamRoom.objects.filter(cycle=cycle, path=county.path).exists():
        return {}
    rng = np.random.default_rng(seed)
    province = services.province_of(county.path)
    if province is not None:
        now = timezone.now()
        services.window_set_system(cycle=cycle, province=province, opens_at=now - dt.timedelta(days=1),
                                   closes_at=now + dt.timedelta(days=14))
    school_ids = (TestTaker.objects.filter(cycle=cycle, kind="student", county=county, school__isnull=False)
                  .values_list("school_id", flat=True).distinct())
    schools = list(School.objects.filter(pk__in=list(school_ids)).order_by("code"))
    demo_school = next((s for s in schools if _account(s, Role.SCHOOL_HEAD) is not None
                        and _account(s, Role.SCHOOL_HEAD).username.startswith("demo")), schools[0] if schools else None)
    counts = {"draft": 0, "submitted": 0, "confirmed": 0}
    submitted_elsewhere = False
    missing_done = False
    for school in schools:
        rooms = services.rooms_generate_system(cycle=cycle, school=school, size=ROOM_SIZE)
        recorder = _account(school, Role.SCHOOL_INFO_OFFICER, Role.COUNTY_INFO_OFFICER)
        reviewer = _account(school, Role.SCHOOL_HEAD, Role.COUNTY_LIAISON)
        if reviewer is not None and recorder is not None and reviewer.pk == recorder.pk:
            reviewer = None
        exempt_done = absent_done = False
        for k, room in enumerate(rooms):
            room.recorder, room.reviewer = recorder, reviewer
            room.save(update_fields=["recorder", "reviewer"])
            data: dict[str, dict[str, Any]] = {}
            for rec in services.room_records(room):
                ss = rec.test_taker.sampled_student
                sex = ss.student.sex if ss is not None else "M"
                if rec.attendance != "present":
                    continue
                if not exempt_done:
                    data[rec.test_taker.code] = {"attendance": "exempt", "exempt_reason": "因病免测（医院证明）"}
                    exempt_done = True
                    continue
                if not absent_done:
                    data[rec.test_taker.code] = {"attendance": "absent"}
                    absent_done = True
                    continue
                data[rec.test_taker.code] = {"attendance": "present", **_values(rng, room.grade, sex)}
            is_demo = school == demo_school
            last = k == len(rooms) - 1
            if is_demo and last:
                code = next((c for c, v in data.items() if v.get("attendance") == "present"), None)
                if code is not None:
                    data[code]["height"] = round(float(data[code]["height"]) * 10)  # 135.2 typed as 1352
            services.entry_save_system(room=room, data=data)
            room.refresh_from_db()
            if is_demo:
                status = RoomStatus.DRAFT if last else RoomStatus.SUBMITTED if k == 0 else RoomStatus.CONFIRMED
            elif not submitted_elsewhere and last:
                status, submitted_elsewhere = RoomStatus.SUBMITTED, True
            else:
                status = RoomStatus.CONFIRMED
            if status == RoomStatus.CONFIRMED and not missing_done:
                _mark_missing(room, "shuttle", "计时器故障，本场15米折返跑未测")
                missing_done = True
            if status != RoomStatus.DRAFT and reviewer is not None and recorder is not None:
                services.room_set_status_system(room=room, status=status, by=reviewer)
            else:
                status = RoomStatus.DRAFT
            counts[status] += 1
    return counts


def _mark_missing(room: ExamRoom, item: str, reason: str) -> None:
    spec = items_config().item(item)
    if spec is None:
        return
    room.missing_items = {**room.missing_items, item: reason}
    for rec in room.records.all():
        for f in spec.fields:
            setattr(rec, f.code, -1.0)
        rec.save(update_fields=[f.code for f in spec.fields])
    room.save(update_fields=["missing_items"])
