from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.personas import World


@dataclass
class ReportsWorld:
    world: World
    cycle: Any
    runs: list[Any]

    @property
    def analyst(self) -> Any:
        return self.world.users["national_analyst@A"]


@pytest.fixture
def cycle(db: None) -> Any:
    from naeq.cycles.services import load_shipped_cycles

    return next(c for c in load_shipped_cycles() if c.is_current)


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"


@pytest.fixture
def rw(world: World, cycle: Any) -> ReportsWorld:
    """Synthetic done estimation runs (math, mental health, PE) over the personas' four counties."""
    from naeq.reports.synthetic import make_runs

    counties = [world.regions[k] for k in ("A1a", "A1b", "B1a", "B1b")]
    runs = make_runs(cycle, counties, subjects=("math", "mental_health"), pe=True, seed=7, small_rural_every=4)
    return ReportsWorld(world=world, cycle=cycle, runs=runs)
