"""A paper test in the persona world: instrument ``psci`` (科学, paper) with two booklets over three blocks, and
test takers in schools A1a-1 (six), A1b-1 (one) and B1a-1 (one).

Card layout (positions = item order): 1 P01 single A–D (B1), 2 P02 multiple A–D (B1), 3 P03 true/false A/B (B1),
4 P04 single A–D (B2), 5 P05 open, writing box (B2), 6 P06 single A–C (B3), 7 P07 numeric, writing box (B3).
Booklet 1 = B1, B2; booklet 2 = B2, B3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from naeq.delivery.models import Instrument, ItemType, TestTaker
from tests.delivery.factories import make_instrument, make_taker
from tests.personas import World


def _opts(*values: str) -> list[dict[str, str]]:
    return [{"value": v, "label": f"选项{v}"} for v in values]


PAPER_ITEMS: list[dict[str, Any]] = [
    {"code": "P01", "block": "B1", "type": ItemType.SINGLE, "stem": "植物通过什么吸收水分？",
     "options": _opts("A", "B", "C", "D"), "key": "B", "max_score": 1},
    {"code": "P02", "block": "B1", "type": ItemType.MULTIPLE, "stem": "哪些是哺乳动物？",
     "options": _opts("A", "B", "C", "D"), "key": ["A", "C"], "max_score": 2},
    {"code": "P03", "block": "B1", "type": ItemType.TRUE_FALSE, "stem": "水在0℃时结冰。",
     "options": _opts("A", "B"), "key": "A", "max_score": 1},
    {"code": "P04", "block": "B2", "type": ItemType.SINGLE, "stem": "月亮本身会发光吗？",
     "options": _opts("A", "B", "C", "D"), "key": "D", "max_score": 1},
    {"code": "P05", "block": "B2", "type": ItemType.OPEN, "stem": "请写出你的实验设计。", "max_score": 2},
    {"code": "P06", "block": "B3", "type": ItemType.SINGLE, "stem": "下列哪个是导体？",
     "options": _opts("A", "B", "C"), "key": "C", "max_score": 1},
    {"code": "P07", "block": "B3", "type": ItemType.NUMERIC, "stem": "一周有几天？", "key": "7", "max_score": 1,
     "constraints": {"min": 0, "max": 100, "decimals": 0}},
]

HEADER = "batch,sheet,test_id,booklet,P01,P02,P03,P04,P06\n"


@dataclass
class PaperWorld:
    world: World
    cycle: Any
    instrument: Instrument
    takers: dict[str, TestTaker]

    def user(self, persona: str) -> Any:
        return self.world.users[persona]


@pytest.fixture
def cycle(db: None) -> Any:
    from naeq.cycles.services import load_shipped_cycles

    return next(c for c in load_shipped_cycles() if c.is_current)


def build_paper_world(world: World, cycle: Any) -> PaperWorld:
    inst = make_instrument(cycle, "psci", items=PAPER_ITEMS, booklets={1: ["B1", "B2"], 2: ["B2", "B3"]})
    takers = {}
    for n in range(1, 7):
        code = f"A000{n}"
        takers[code] = make_taker(cycle, world.schools["A1a-1"], code, grade=4, booklets={"psci": 1 if n % 2 else 2})
    takers["A1B01"] = make_taker(cycle, world.schools["A1b-1"], "A1B01", grade=4, booklets={"psci": 1})
    takers["B0001"] = make_taker(cycle, world.schools["B1a-1"], "B0001", grade=4, booklets={"psci": 1})
    return PaperWorld(world=world, cycle=cycle, instrument=inst, takers=takers)


@pytest.fixture
def pw(world: World, cycle: Any) -> PaperWorld:
    return build_paper_world(world, cycle)
