"""Shared fixtures of the quality tests. H1a's fixtures are named ``adapters_*``, H1b's ``runs_*``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from tests.personas import World

# ------------------------------------------------------------------------------------------------ runs_*

RUNS_ITEMS = 40
RUNS_PER_SCHOOL = 25
RUNS_LETTERS = "ABCD"


@dataclass
class RunsWorld:
    """The personas' 8 schools in 4 counties, the current cycle, a 40-item single-choice test ``runstest`` and
    25 test takers per school, with hand-built :class:`ScreenInputs` (the contract H1a's adapters fill from the
    database) in which a proctor's answers were copied in school A1a-1: one source, eight copies of 70 % of the
    items. The school's last item was not administered (−1) and some answers are omitted (option "")."""

    world: World
    cycle: Any
    instrument: Any
    inputs: Any
    school: Any                    # the school with the copied answers
    source: int                    # TestTaker id of the source
    copiers: list[int]             # TestTaker ids of the eight copies
    rows: dict[int, int] = field(default_factory=dict)  # TestTaker id -> row of inputs

    @property
    def analyst(self) -> Any:
        return self.world.users["national_analyst@A"]

    def labels(self, taker_id: int) -> list[str | None]:
        """The answer string of a test taker as the pair rows must store it."""
        x = self.inputs.options[self.rows[taker_id]]
        return [None if k < 0 else self.inputs.option_labels[j][k] for j, k in enumerate(x.tolist())]


def runs_build_inputs(world: World, cycle: Any, *, seed: int = 5) -> RunsWorld:
    from naeq.delivery.models import Respondent, TestTaker
    from naeq.quality.demo import inject_copies, simulate_options
    from naeq.quality.inputs import ScreenInputs
    from tests.delivery.factories import make_instrument

    items = [{"code": f"R{k:02d}", "block": "B1", "screen": k, "type": "single", "stem": "（示例题）",
              "options": [{"value": v, "label": v} for v in RUNS_LETTERS], "key": RUNS_LETTERS[k % 4],
              "max_score": 1} for k in range(1, RUNS_ITEMS + 1)]
    inst = make_instrument(cycle, "runstest", items=items)
    schools = sorted(world.schools.values(), key=lambda s: s.pk)
    TestTaker.objects.bulk_create([TestTaker(cycle=cycle, kind=Respondent.STUDENT, code=f"RT{s.pk:03d}{i:03d}",
                                             county=s.county, school=s, path=s.path, grade=8)
                                   for s in schools for i in range(RUNS_PER_SCHOOL)])
    takers = list(TestTaker.objects.filter(cycle=cycle, code__startswith="RT").order_by("pk")
                  .values_list("pk", "school_id"))
    rng = np.random.default_rng(seed)
    key = np.array([(k % 4) for k in range(1, RUNS_ITEMS + 1)], dtype=np.int64)
    sim = simulate_options(len(takers), RUNS_ITEMS, rng=rng, key=key)
    x = sim.x.copy()
    school_ids = np.array(sorted({s for _t, s in takers}), dtype=np.int64)
    scode = {int(s): k for k, s in enumerate(school_ids)}
    school = np.array([scode[s] for _t, s in takers], dtype=np.int64)
    county_of = {s.pk: s.county for s in schools}
    county_ids = np.array(sorted({c.pk for c in county_of.values()}), dtype=np.int64)
    ccode = {int(c): k for k, c in enumerate(county_ids)}
    county = np.array([ccode[county_of[s].pk] for _t, s in takers], dtype=np.int64)
    paths = {c.pk: c.path for c in county_of.values()}
    target = world.schools["A1a-1"]
    rows = np.flatnonzero(school == scode[target.pk])
    x[rows, -1] = -1  # the last item is not in this school's booklet
    inject_copies(x, int(rows[0]), [int(r) for r in rows[1:9]], fraction=0.7, rng=rng)
    ids = np.array([t for t, _s in takers], dtype=np.int64)
    inputs = ScreenInputs(
        test_takers=ids, items=[f"R{k:02d}" for k in range(1, RUNS_ITEMS + 1)], options=x,
        option_labels=[[*RUNS_LETTERS, ""] for _ in range(RUNS_ITEMS)], keys=key, school=school, county=county,
        school_ids=school_ids, county_ids=county_ids, county_paths=[paths[int(c)] for c in county_ids],
        room=np.array([f"S{school_ids[s]}" for s in school]), warnings=["（测试）一条读取警告"],
        counts={"online": len(ids), "paper": 0})
    return RunsWorld(world=world, cycle=cycle, instrument=inst, inputs=inputs, school=target,
                     source=int(ids[rows[0]]), copiers=[int(ids[r]) for r in rows[1:9]],
                     rows={int(t): i for i, t in enumerate(ids)})


@pytest.fixture
def runs_world(world: World) -> RunsWorld:
    from naeq.cycles.services import load_shipped_cycles

    cycle = next(c for c in load_shipped_cycles() if c.is_current)
    return runs_build_inputs(world, cycle)


@pytest.fixture
def runs_gather(runs_world: RunsWorld, monkeypatch: pytest.MonkeyPatch) -> RunsWorld:
    """``services._gather`` returns the hand-built inputs (the database → arrays step is H1a's, tested there)."""
    from naeq.quality import services

    monkeypatch.setattr(services, "_gather", lambda run: runs_world.inputs)
    return runs_world
