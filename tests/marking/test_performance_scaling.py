"""Performance-task scores reach the IRT calibration as polytomous items (issue 9 item 6), through the real path:
recordings collected into marking, final scores there, ``naeq.scaling.adapters.gather`` reading them from
``naeq.marking.selectors.scores_for_scaling``, and a recorded calibration run in which the oral English task worth
4 points is a GPCM item with five categories."""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils import timezone

from naeq.delivery.models import Attempt, ItemScore, ItemType
from naeq.marking import recordings
from naeq.marking.models import FinalRule, MarkResponse, ResponseStatus
from naeq.performance.models import Recording, RecordingStatus
from naeq.scaling import adapters, services
from naeq.scaling.demo import demo_responses
from naeq.scaling.models import CalibrationItem, RunStatus
from tests.delivery.factories import make_instrument

ITEMS: list[dict[str, Any]] = [
    {"code": f"L{k:02d}", "block": "B1", "screen": k, "type": ItemType.SINGLE, "stem": "（听力示例题）",
     "options": [{"value": "A", "label": "甲"}, {"value": "B", "label": "乙"}], "key": "A", "max_score": 1}
    for k in range(1, 9)]
ITEMS.append({"code": "E01", "block": "B1", "screen": 9, "type": ItemType.OPEN, "stem": "Introduce your school.",
              "max_score": 4, "constraints": {"record": "speaking", "record_seconds": 30}})
N = 300


def test_a_speaking_item_worth_4_is_calibrated_as_gpcm(world: Any, cycle: Any, settings: Any, tmp_path: Any,
                                                        django_capture_on_commit_callbacks: Any) -> None:
    settings.DATA_DIR = tmp_path
    admin, analyst = world.users["national_admin@A"], world.users["national_analyst@A"]
    make_instrument(cycle, "oral", items=ITEMS)
    demo_responses(cycle, seed=5, instrument_code="oral", n_persons=N)
    # What the platform really holds for a recorded item: no objective score online, a recording per attempt.
    truth = dict(ItemScore.objects.filter(attempt__instrument__code="oral", item="E01")
                 .values_list("attempt_id", "score"))
    assert len(truth) == N
    ItemScore.objects.filter(attempt__instrument__code="oral", item="E01").update(code="", score=None)
    digest = hashlib.sha256(b"x").hexdigest()
    Recording.objects.bulk_create([Recording(attempt_id=a, item="E01", take=1, size=1, received=1, sha256=digest,
                                             mime="audio/webm;codecs=opus", status=RecordingStatus.COMPLETE,
                                             completed_at=timezone.now()) for a in sorted(truth)])
    assert recordings.recordings_collect(actor=admin, cycle=cycle).created == N
    # Marking finished (the scoring flow itself is tested in test_recordings.py): the final scores.
    rs = list(MarkResponse.objects.filter(item_code="E01", instrument_code="oral"))
    for r in rs:
        assert r.attempt_id is not None
        score = truth[r.attempt_id]
        assert score is not None
        r.status, r.final_score, r.final_rule = ResponseStatus.FINAL, int(score), FinalRule.SINGLE
    MarkResponse.objects.bulk_update(rs, ["status", "final_score", "final_rule"])
    assert set(Attempt.objects.filter(pk__in=truth).values_list("test_taker_id", flat=True)) == \
        {r.test_taker_id for r in rs}

    table = adapters.item_table_for(adapters.instrument_of(cycle, "oral"), default_model="2pl", poly_model="gpcm")
    assert dict(zip(table.items.tolist(), table.model.tolist(), strict=True))["E01"] == "gpcm"
    g = adapters.gather(cycle, table, "oral")
    assert g.counts["marking"] == N and g.counts["used"] == N * 9
    with django_capture_on_commit_callbacks(execute=True):
        run = services.calibration_start(actor=analyst, cycle=cycle, instrument_code="oral", seed=3)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    e01 = CalibrationItem.objects.get(run=run, item="E01")
    assert e01.model == "gpcm" and e01.n_categories == 5 and len(e01.b) == 4
    assert e01.a > 0 and e01.a_se is not None and e01.a_se > 0
    assert {i.model for i in CalibrationItem.objects.filter(run=run).exclude(item="E01")} == {"2pl"}
