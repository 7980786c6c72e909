"""Scale check of :func:`naeq.quality.adapters.gather` (not a test of time: skipped unless ``NAEQ_BENCH=1``).

Writes 20,000 test takers × 40 single-choice items (800,000 ItemScore and 800,000 Answer rows) in 40 closed formal
sessions at the personas' schools, then gathers and prints the seconds. Run:

    NAEQ_BENCH=1 .venv/bin/pytest tests/quality/test_adapters_bench.py -q -s -p no:cacheprovider

Recorded (SQLite, shared two-core machine): see docs/quality-inputs.md ("Scale")."""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

pytestmark = pytest.mark.skipif(os.environ.get("NAEQ_BENCH") != "1", reason="bench: set NAEQ_BENCH=1")

N_PERSONS = 20_000
N_ITEMS = 40


def test_gather_at_scale(world: Any) -> None:
    from naeq.cycles.services import load_shipped_cycles
    from naeq.delivery.models import Answer, Attempt, AttemptStatus, ItemScore, SessionStatus, TestTaker
    from naeq.quality import adapters
    from tests.delivery.factories import make_instrument, make_session

    cycle = next(c for c in load_shipped_cycles() if c.is_current)
    items = [{"code": f"B{k:02d}", "block": "B1", "screen": k, "type": "single", "stem": "（示例）",
              "options": [{"value": v, "label": v} for v in "ABCD"], "key": "ABCD"[k % 4], "max_score": 1}
             for k in range(N_ITEMS)]
    inst = make_instrument(cycle, "bench", items=items)
    schools = sorted(world.schools.values(), key=lambda s: s.pk)
    start = timezone.now() - dt.timedelta(days=3)
    sessions = []
    for k in range(40):
        s = make_session(cycle, schools[k % len(schools)], instruments=["bench"], status=SessionStatus.CLOSED,
                         starts_at=start, minutes=60)
        sessions.append(s)
    TestTaker.objects.bulk_create([TestTaker(cycle=cycle, kind="student", code=f"BN{i:06d}",
                                             county=sessions[i % 40].county, school=sessions[i % 40].school,
                                             path=sessions[i % 40].path, grade=8) for i in range(N_PERSONS)],
                                  batch_size=5000)
    ids = list(TestTaker.objects.filter(code__startswith="BN").order_by("code").values_list("pk", flat=True))
    Attempt.objects.bulk_create([Attempt(session=sessions[i % 40], test_taker_id=t, instrument=inst, booklet=1,
                                         status=AttemptStatus.SUBMITTED, started_at=start,
                                         submitted_at=start + dt.timedelta(minutes=50))
                                 for i, t in enumerate(ids)], batch_size=5000)
    attempts = list(Attempt.objects.filter(instrument=inst).order_by("pk").values_list("pk", flat=True))
    rng = np.random.default_rng(1)
    x = rng.integers(0, 5, (len(attempts), N_ITEMS))
    t0 = time.perf_counter()
    for lo in range(0, len(attempts), 1000):
        part = attempts[lo: lo + 1000]
        ItemScore.objects.bulk_create([ItemScore(attempt_id=a, item=f"B{j:02d}", code="99" if x[lo + n, j] == 4
                                                 else "ABCD"[x[lo + n, j]])
                                       for n, a in enumerate(part) for j in range(N_ITEMS)], batch_size=10_000)
        Answer.objects.bulk_create([Answer(attempt_id=a, item=f"B{j:02d}", value='"A"', seq=1,
                                           saved_at=start + dt.timedelta(seconds=30 * (j + 1)))
                                    for a in part for j in range(N_ITEMS)], batch_size=10_000)
    written = time.perf_counter() - t0
    t0 = time.perf_counter()
    inp = adapters.gather(cycle, "bench")
    took = time.perf_counter() - t0
    print(f"\nwrote {len(attempts) * N_ITEMS} ItemScore + Answer rows in {written:.1f} s; "
          f"gather {inp.n_persons} persons × {len(inp.items)} items in {took:.1f} s")
    assert inp.n_persons == N_PERSONS and inp.options.shape == (N_PERSONS, N_ITEMS)
