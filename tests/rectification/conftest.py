"""Shared set-up of the rectification tests: the personas' world, the 2023 and 2024 cycles, and a 2023 math run in
which province A (甲省) has problems and province B (乙省) has none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.personas import World
from tests.rectification import factories as f


@dataclass
class Rect:
    world: World
    cycle: Any          # 2023
    later: Any          # 2024
    run: Any

    def user(self, name: str) -> Any:
        return self.world.users[name]

    @property
    def admin(self) -> Any:
        return self.world.users["national_admin@A"]


@pytest.fixture
def rect(world: World, settings: Any, tmp_path: Any) -> Rect:
    from naeq.cycles.services import load_shipped_cycles

    settings.DATA_DIR = tmp_path
    cycles = {c.year: c for c in load_shipped_cycles()}
    r = f.run(cycles[2023])
    a, b = world.regions["A"], world.regions["B"]
    f.weak_province(r, None, a, [world.regions["A1a"], world.regions["A1b"]])
    f.strong_province(r, b, [world.regions["B1a"], world.regions["B1b"]])
    return Rect(world=world, cycle=cycles[2023], later=cycles[2024], run=r)
