"""Shared set-up of the marking tests: the personas' world, the shipped current cycle, a published test with two
rater-scored items (E01: text, 2 points; E02: extended text, 4 points) next to an objective item, submitted online
attempts of test takers at school A1a-1, and rater accounts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone

from naeq.delivery.models import Answer, Attempt, AttemptStatus, ItemType
from naeq.marking import services
from tests.delivery.factories import make_instrument, make_session, make_taker
from tests.personas import World

ITEMS: list[dict[str, Any]] = [
    {"code": "M01", "block": "B1", "screen": 1, "type": ItemType.SINGLE, "stem": "3 + 4 = ?",
     "options": [{"value": "A", "label": "6"}, {"value": "B", "label": "7"}], "key": "B", "max_score": 1},
    {"code": "E01", "block": "B1", "screen": 2, "type": ItemType.TEXT, "stem": "写出一个比10大的偶数并说明理由。",
     "max_score": 2, "constraints": {"max_length": 500}},
    {"code": "E02", "block": "B1", "screen": 3, "type": ItemType.TEXT, "stem": "说明你是怎样比较四个小组人数的。",
     "max_score": 4, "constraints": {"max_length": 2000}},
]

POINTS_E01 = {0: "答案错误或未说明理由", 1: "答案正确但理由不完整", 2: "答案正确且理由完整"}
POINTS_E02 = {0: "无关作答", 1: "只写出一组人数", 2: "比较了两组", 3: "比较了全部四组但有错误", 4: "完整正确"}


@pytest.fixture
def cycle(db: None) -> Any:
    from naeq.cycles.services import load_shipped_cycles

    cycles = load_shipped_cycles()
    return next(c for c in cycles if c.is_current) if any(c.is_current for c in cycles) else cycles[-1]


@dataclass
class Marking:
    world: World
    cycle: Any
    instrument: Any
    takers: list[Any]
    admin: Any


def submit(cycle: Any, session: Any, instrument: Any, taker: Any, answers: dict[str, Any]) -> Attempt:
    now = timezone.now()
    attempt = Attempt.objects.create(session=session, test_taker=taker, instrument=instrument, booklet=1,
                                     status=AttemptStatus.SUBMITTED, submitted_at=now)
    for i, (item, value) in enumerate(answers.items(), start=1):
        Answer.objects.create(attempt=attempt, item=item, value=json.dumps(value, ensure_ascii=False), seq=i,
                              saved_at=now)
    return attempt


def build_marking(world: World, cycle: Any, *, n: int = 12) -> Marking:
    instrument = make_instrument(cycle, "mtest", items=ITEMS)
    school = world.schools["A1a-1"]
    session = make_session(cycle, school, instruments=["mtest"])
    takers = []
    for i in range(n):
        taker = make_taker(cycle, school, f"T{i + 1:05d}")
        takers.append(taker)
        answers: dict[str, Any] = {"M01": "B", "E01": f"答案{i}：12，因为它能被2整除。"}
        # Every fourth test taker left E02 blank: final at 0 without a rater.
        answers["E02"] = "" if i % 4 == 3 else f"第{i}份：第一组最多，第二组其次。"
        submit(cycle, session, instrument, taker, answers)
    admin = world.users["national_admin@A"]
    return Marking(world=world, cycle=cycle, instrument=instrument, takers=takers, admin=admin)


def add_raters(m: Marking, names: tuple[str, ...] = ("rater_x", "rater_y"), *, items: tuple[str, ...] = ("E01",),
               senior: bool = False) -> list[Any]:
    return [services.rater_add(actor=m.admin, cycle=m.cycle, username=name, password="rater-pass-2026",
                               region=m.world.regions["A"], display_name=f"评分员{name[-1].upper()}",
                               items=[("mtest", code) for code in items], senior=senior) for name in names]


@pytest.fixture
def marking(world: World, cycle: Any) -> Marking:
    return build_marking(world, cycle)
