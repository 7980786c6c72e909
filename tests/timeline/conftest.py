from __future__ import annotations

from typing import Any

import pytest

from tests.personas import World
from tests.timeline.sample import build_sample


@pytest.fixture
def cycle(db: None) -> Any:
    """The current shipped cycle (2024): test days 2024-05-22 and 2024-05-23 (2024-nanchang-city-plan.txt)."""
    from naeq.cycles.services import load_shipped_cycles

    return next(c for c in load_shipped_cycles() if c.is_current)


@pytest.fixture
def sample(world: World, cycle: Any) -> World:
    build_sample(world, cycle)
    return world
