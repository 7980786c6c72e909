"""A calibratable world for the scaling tests: the personas' regions and schools, the shipped current cycle, a
12-item test (ten 0/1 items, two worth 2 points) in three rotated booklets, and 400 synthetic test takers with
scored responses drawn with known truth (naeq.scaling.demo)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from naeq.delivery.models import ItemType
from tests.personas import World

ITEMS = [{"code": f"T{k:02d}", "block": f"B{(k - 1) // 4 + 1}", "screen": k, "type": ItemType.SINGLE,
          "stem": "（示例题）", "options": [{"value": "A", "label": "甲"}, {"value": "B", "label": "乙"}],
          "key": "A", "max_score": 1} for k in range(1, 11)]
ITEMS += [{"code": f"T{k:02d}", "block": "B3" if k == 11 else "B1", "screen": k, "type": ItemType.OPEN,
           "stem": "（示例开放题）", "max_score": 2} for k in (11, 12)]
BOOKLETS = {1: ["B1", "B2"], 2: ["B2", "B3"], 3: ["B3", "B1"]}
N_PERSONS = 400


@dataclass
class ScalingWorld:
    world: World
    cycle: Any
    instrument: Any
    truth: dict[str, Any]

    @property
    def analyst(self) -> Any:
        return self.world.users["national_analyst@A"]


@pytest.fixture
def cycle(db: None) -> Any:
    from naeq.cycles.services import load_shipped_cycles

    return next(c for c in load_shipped_cycles() if c.is_current)


@pytest.fixture
def sw(world: World, cycle: Any) -> ScalingWorld:
    from naeq.registry.models import School
    from naeq.scaling.demo import demo_responses
    from tests.delivery.factories import make_instrument

    School.objects.filter(code__in=[s.code for k, s in world.schools.items() if k[2] == "b"]).update(urban_rural="220")
    inst = make_instrument(cycle, "scaltest", items=ITEMS, booklets=BOOKLETS)
    truth = demo_responses(cycle, seed=11, instrument_code="scaltest", n_persons=N_PERSONS)
    return ScalingWorld(world=world, cycle=cycle, instrument=inst, truth=truth)
