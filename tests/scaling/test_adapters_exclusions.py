"""Case decisions flow into calibration (issue 7, stage 3): the test takers whose data a decision excluded drop out
of the gathered scores (counted, with a warning saying why); flagged ones stay in and are counted."""

from __future__ import annotations

from typing import Any

import numpy as np

from naeq.quality import cases
from naeq.quality.models import CaseState
from naeq.scaling import adapters, services
from naeq.scaling.models import CalibrationPerson
from tests.scaling.conftest import N_PERSONS, ScalingWorld


def _decide(sw: ScalingWorld, school_key: str, state: str) -> list[int]:
    admin = sw.world.users["national_admin@A"]
    case = cases.case_open_manual(actor=admin, cycle=sw.cycle, instrument_code="scaltest",
                                  school=sw.world.schools[school_key], title="举报：考场纪律", reason="群众举报。")
    cases.case_decide(actor=admin, case_id=case.pk, state=state, reason="经调查核实。")
    return cases.case_persons(case)


def test_gather_drops_excluded_and_counts_flagged(sw: ScalingWorld) -> None:
    table = adapters.item_table_for(sw.instrument, default_model="2pl", poly_model="gpcm")
    plain = adapters.gather(sw.cycle, table, "scaltest")
    assert "excluded" not in plain.counts and "flagged" not in plain.counts
    out = _decide(sw, "A1a-1", CaseState.DATA_EXCLUDED)
    marked = _decide(sw, "A1a-2", CaseState.DATA_FLAGGED)
    assert out and marked
    g = adapters.gather(sw.cycle, table, "scaltest")
    persons = set(np.asarray(g.responses.persons).tolist())
    assert persons == set(np.asarray(plain.responses.persons).tolist()) - set(out)
    assert g.counts["excluded"] == len(out) and g.counts["flagged"] == len(marked)
    assert g.counts["used"] < plain.counts["used"]
    assert f"{len(out)}名测试对象的数据经数据质量调查决定剔除，未参与校准。" in g.warnings
    assert f"{len(marked)}名测试对象的数据经数据质量调查被标记（保留在校准中）。" in g.warnings
    # the booklets of the remaining persons are unchanged
    before = dict(zip(np.asarray(plain.responses.persons).tolist(), np.asarray(plain.responses.booklet).tolist(),
                      strict=True))
    after = dict(zip(np.asarray(g.responses.persons).tolist(), np.asarray(g.responses.booklet).tolist(), strict=True))
    assert all(before[p] == b for p, b in after.items())


def test_a_calibration_after_an_exclusion_has_fewer_persons(sw: ScalingWorld,
                                                            django_capture_on_commit_callbacks: Any) -> None:
    out = _decide(sw, "A1a-1", CaseState.DATA_EXCLUDED)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.calibration_start(actor=sw.analyst, cycle=sw.cycle, instrument_code="scaltest", seed=7)
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert run.summary["n_persons"] == N_PERSONS - len(out)
    assert run.summary["sources"]["excluded"] == len(out)
    assert any("数据质量调查决定剔除" in w for w in run.warnings)
    got = set(CalibrationPerson.objects.filter(run=run).values_list("test_taker_id", flat=True))
    assert not got & set(out) and len(got) == N_PERSONS - len(out)
