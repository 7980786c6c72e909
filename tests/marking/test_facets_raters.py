"""Rater effects in a calibration run (issue 9 item 6): the audio world's recorded tasks E01 and S01 (0–4 points)
scored through the real marking flow — collection, assignment with a 50 % double share, every rater scoring the
own queue — by four raters, one of them deliberately harsh; the calibration run of the instrument then fits the
many-facet model on the ratings and flags that rater, as the marking agreement page's mean-difference monitor
does. The run page and ``naeq scaling show`` show the severities, SEs, infit/outfit and the flag; the stored
block holds rater ids and names only, no test taker."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from django.test import Client
from django.utils import timezone

from naeq.cli import main
from naeq.marking import recordings, selectors, services
from naeq.marking.models import Assignment, AssignmentStatus
from naeq.performance.models import Recording, RecordingStatus
from naeq.scaling import services as scaling
from naeq.scaling.models import CalibrationRun, RunStatus
from tests.marking.audio_world import AudioWorld, add_audio_raters, build_audio_world

N = 160
HARSH = 1.2   # logits: about one score point on these tasks
OTHERS = (-0.1, 0.0, 0.1)
STEPS = {"E01": np.array([-1.6, -0.6, 0.4, 1.4]), "S01": np.array([-1.2, -0.4, 0.6, 1.2])}


@pytest.fixture
def rated(world: Any, cycle: Any, settings: Any, tmp_path: Any) -> tuple[AudioWorld, list[Any]]:
    settings.DATA_DIR = tmp_path
    aw = build_audio_world(world, cycle, n=N, takes=False)
    # complete takes as the upload leaves them (the audio bytes themselves are not needed to score here)
    digest = hashlib.sha256(b"x").hexdigest()
    Recording.objects.bulk_create([Recording(attempt=a, item=item, take=1, size=1, received=1, sha256=digest,
                                             mime="audio/wav", status=RecordingStatus.COMPLETE,
                                             completed_at=timezone.now())
                                   for a in aw.attempts for item in ("E01", "S01")])
    assert recordings.recordings_collect(actor=aw.admin, cycle=cycle).created == 2 * N
    # no arbitration (every disagreement resolved by the adjacent rule), no check papers
    services.settings_update(actor=aw.admin, cycle=cycle, double_share="0.5", check_rate="0", threshold_large="4")
    raters = add_audio_raters(aw, names=("rater_h", "rater_j", "rater_k", "rater_m"), items=("E01", "S01"))
    for seed, item in enumerate(("E01", "S01")):
        services.assign(actor=aw.admin, cycle=cycle, instrument_code="english", item_code=item, seed=seed + 1)
    rng = np.random.default_rng(7)
    theta = {t.pk: float(x) for t, x in zip(aw.takers, rng.normal(0.0, 1.3, N), strict=True)}
    severity = {r.pk: v for r, v in zip(raters, (HARSH, *OTHERS), strict=True)}
    pending = (Assignment.objects.filter(status=AssignmentStatus.PENDING).select_related("response")
               .order_by("id"))
    for a in pending:
        steps = STEPS[a.response.item_code]
        k = np.arange(5)
        eta = k * (theta[a.response.test_taker_id] - severity[a.rater_id]) - np.concatenate([[0], np.cumsum(steps)])
        p = np.exp(eta - eta.max())
        score = int(rng.choice(5, p=p / p.sum()))
        services.score_submit(actor=raters[[r.pk for r in raters].index(a.rater_id)], assignment_id=a.pk,
                              score=score)
    return aw, raters


def test_a_harsh_rater_is_flagged_by_the_many_facet_model_in_the_calibration_run(
        rated: tuple[AudioWorld, list[Any]], django_capture_on_commit_callbacks: Any) -> None:
    aw, raters = rated
    severity_true = {r.pk: v for r, v in zip(raters, (HARSH, *OTHERS), strict=True)}
    analyst = aw.world.users["national_analyst@A"]
    with django_capture_on_commit_callbacks(execute=True):
        run = scaling.calibration_start(actor=analyst, cycle=aw.cycle, instrument_code="english", seed=3,
                                        options={"poly_model": "pcm", "n_pv": 1})
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    block = run.summary["raters"]
    n_scored = Assignment.objects.filter(status=AssignmentStatus.SCORED).count()
    assert block["n_ratings"] == n_scored and block["n_raters"] == 4 and block["n_persons"] == N
    assert block["converged"] and block["thresholds"] == {"z": 2.0, "logit": 0.3}
    by_id = {r["rater_id"]: r for r in block["raters"]}
    harsh = by_id[raters[0].pk]
    assert harsh["name"] == "评分员H" and harsh["items"] == ["E01", "S01"]
    assert harsh["flagged"] and harsh["severity"] > 0.5 and harsh["z"] > 4
    assert harsh["se"] is not None and 0.03 < harsh["se"] < 0.2
    # Σρ = 0: severities are relative to the average rater, which the harsh one pulls up by about HARSH / 4, so the
    # others sit near −0.3 and may even be flagged lenient relative to that average; what must hold is that none
    # is flagged harsh and each is about HARSH below the harsh one (within 3 SE of the difference)
    for r in raters[1:]:
        other = by_id[r.pk]
        assert not (other["flagged"] and other["severity"] > 0)
        assert abs(harsh["severity"] - other["severity"] - (HARSH - severity_true[r.pk])) < 3 * (
            harsh["se"] + other["se"])
    assert abs(sum(r["severity"] for r in block["raters"])) < 1e-8          # sum-to-zero identification
    assert all(0.6 < r["infit"] < 1.5 and 0.6 < r["outfit"] < 1.5 for r in block["raters"])
    assert [i["item"] for i in block["items"]] == ["E01", "S01"] and all(len(i["steps"]) == 4 for i in block["items"])
    assert any("评分员的宽严程度明显偏离" in w for w in run.warnings)
    assert "raters" in run.timings
    # never a test taker: the block holds rater ids and names, no test ID
    text = json.dumps(block, ensure_ascii=False)
    assert not any(t.code in text for t in aw.takers)
    # the marking monitor (mean difference against the partner, |z| > 2) agrees: harsh, negative difference
    sev = [s for s in selectors.rater_severity(actor=aw.admin, cycle=aw.cycle) if s.rater_id == raters[0].pk]
    assert sev and all(s.flagged and s.mean_diff < 0 for s in sev)

    # the run page: the rater table with the harsh rater marked 偏严
    c = Client()
    c.force_login(analyst)
    page = c.get(f"/scaling/runs/{run.pk}/").content.decode()
    assert 'id="raters"' in page
    section = page[page.index('id="raters"'):]
    assert "评分员H" in section and "偏严" in section and "infit" in section
    # the marking agreement page shows the latest run's severities beside the mean differences
    page = c.get("/marking/agreement/").content.decode()
    assert 'id="facets"' in page and "评分员H" in page[page.index('id="facets"'):]

    # the CLI prints the same table
    shown = CliRunner().invoke(main, ["scaling", "show", "--as", analyst.username, str(run.pk)])
    assert shown.exit_code == 0, shown.output
    line = next(x for x in shown.output.splitlines() if x.strip().startswith("评分员H"))
    assert line.rstrip().endswith("harsh") and f"{harsh['severity']:.3f}" in line

    # the same ratings, the same hash and numbers on a re-run; thresholds are options
    with django_capture_on_commit_callbacks(execute=True):
        again = scaling.calibration_rerun(actor=analyst, run_id=run.pk)
    again.refresh_from_db()
    assert again.inputs_hash == run.inputs_hash and again.summary["raters"] == block
    with django_capture_on_commit_callbacks(execute=True):
        strict = scaling.calibration_start(actor=analyst, cycle=aw.cycle, instrument_code="english", seed=3,
                                           options={"poly_model": "pcm", "n_pv": 1, "rater_logit": 5.0})
    strict.refresh_from_db()
    assert not any(r["flagged"] for r in strict.summary["raters"]["raters"])
    assert CalibrationRun.objects.count() == 3
