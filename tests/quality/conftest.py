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


# ------------------------------------------------------------------------------------------------ adapters_*


@dataclass
class AdaptersWorld:
    """A small platform for :func:`naeq.quality.adapters.gather`: test ``adpt`` (three keyed single-choice items
    S1 A/B/C key B, S2 A–D key D, S3 A/B/C key A, a multiple-choice and an open item), questionnaire ``adptq`` in
    the same sessions, two closed formal sessions (school ``A1a-1`` urban, school ``B1a-1`` rural) whose first
    test day is two days ahead, and test takers ``t1``…``t8``:

    * t1, t2, t5 online at A1a-1; t3 online at B1a-1; t4 on paper only (B1a-1); t5 also on paper (online wins);
    * t6 answered nothing (all 99: dropped); t7 only in a practice session, t8 with an unsubmitted attempt.
    """

    world: World
    cycle: Any
    instrument: Any
    takers: dict[str, Any]
    sessions: dict[str, Any]
    attempts: dict[str, Any]
    close: Any


def adapters_build(world: World, cycle: Any) -> AdaptersWorld:
    import datetime as dt

    from django.utils import timezone

    from naeq.delivery.models import Attempt, AttemptStatus, InstrumentKind, ItemScore, SessionKind, SessionStatus
    from naeq.papercapture.models import BatchStatus, PaperResponse, ScanBatch
    from tests.delivery.factories import make_instrument, make_session, make_taker

    def single(code: str, values: str, key: str) -> dict[str, Any]:
        return {"code": code, "block": "B1", "screen": 1, "type": "single", "stem": "（示例题）",
                "options": [{"value": v, "label": f"选项{v}"} for v in values], "key": key, "max_score": 1}

    items = [single("S1", "ABC", "B"), single("S2", "ABCD", "D"),
             {"code": "M1", "block": "B1", "screen": 2, "type": "multiple", "stem": "（多选）",
              "options": [{"value": v, "label": v} for v in "AB"], "key": ["A", "B"], "max_score": 1},
             single("S3", "ABC", "A"),
             {"code": "O1", "block": "B1", "screen": 3, "type": "open", "stem": "（开放题）", "max_score": 2}]
    inst = make_instrument(cycle, "adpt", items=items)
    q_items = [{"code": f"Q{k}", "block": "QA", "screen": 1, "type": "likert", "stem": "（问卷题）",
                "options": [{"value": str(v), "label": str(v)} for v in (1, 2, 3, 4)]} for k in (1, 2, 3, 4)]
    make_instrument(cycle, "adptq", kind=InstrumentKind.QUESTIONNAIRE, items=q_items)
    a_school, b_school = world.schools["A1a-1"], world.schools["B1a-1"]
    a_school.urban_rural, b_school.urban_rural = "111", "220"
    a_school.save(update_fields=["urban_rural"])
    b_school.save(update_fields=["urban_rural"])
    start = timezone.now() + dt.timedelta(days=2)
    close = start + dt.timedelta(minutes=60)
    sessions = {}
    for name, school in (("a", a_school), ("b", b_school)):
        s = make_session(cycle, school, instruments=["adpt", "adptq"], status=SessionStatus.CLOSED,
                         starts_at=start, minutes=60)
        s.closed_at = close
        s.save(update_fields=["closed_at"])
        sessions[name] = s
    sessions["practice"] = make_session(cycle, a_school, instruments=["adpt"], kind=SessionKind.PRACTICE,
                                        starts_at=start)
    where = {"t1": "a", "t2": "a", "t3": "b", "t4": "b", "t5": "a", "t6": "a", "t7": "a", "t8": "a"}
    takers = {k: make_taker(cycle, a_school if v == "a" else b_school, f"AD{k}") for k, v in where.items()}
    codes: dict[str, dict[str, str]] = {
        "t1": {"S1": "B", "S2": "99", "S3": "97", "M1": '["A","B"]'},
        "t2": {"S1": "A", "S2": "D", "S3": "C"},
        "t3": {"S1": "C", "S2": "A"},                 # S3 not administered
        "t5": {"S1": "B", "S2": "B", "S3": "A"},
        "t6": {"S1": "99", "S2": "99", "S3": "99"},
        "t7": {"S1": "A", "S2": "A", "S3": "A"},
        "t8": {"S1": "A", "S2": "A", "S3": "A"}}
    attempts = {}
    for name, by_item in codes.items():
        session = sessions["practice"] if name == "t7" else sessions[where[name]]
        submitted = name != "t8"
        att = Attempt.objects.create(session=session, test_taker=takers[name], instrument=inst, booklet=1,
                                     status=AttemptStatus.SUBMITTED if submitted else AttemptStatus.IN_PROGRESS,
                                     started_at=start, submitted_at=start + dt.timedelta(minutes=50)
                                     if submitted else None)
        attempts[name] = att
        ItemScore.objects.bulk_create([ItemScore(attempt=att, item=i, code=c, score=None) for i, c in by_item.items()])
    batch = ScanBatch.objects.create(cycle=cycle, instrument=inst, label="批次1", source="scan.csv", sha256="0" * 64,
                                     status=BatchStatus.RELEASED, released_at=timezone.now())
    for name, by_item in (("t4", {"S1": "A", "S2": "97", "S3": "B", "O1": ""}), ("t5", {"S1": "C"})):
        for i, c in by_item.items():
            PaperResponse.objects.create(cycle=cycle, test_taker=takers[name], instrument=inst,
                                         path=takers[name].path, booklet=1, item=i, code=c, score=None,
                                         source=PaperResponse.Source.SCAN, batch=batch)
    return AdaptersWorld(world=world, cycle=cycle, instrument=inst, takers=takers, sessions=sessions,
                         attempts=attempts, close=close)


@pytest.fixture
def adapters_world(world: World) -> AdaptersWorld:
    from naeq.cycles.services import load_shipped_cycles

    cycle = next(c for c in load_shipped_cycles() if c.is_current)
    return adapters_build(world, cycle)
