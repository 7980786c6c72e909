"""Recorded singing and speaking tasks in marking (issue 9 item 4): collecting the accepted takes, the rater's
audio (assigned rater only, audited, never cached, anonymous), and a rater pair's agreement on the same
recordings through the unchanged double-scoring flow."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from django.test import Client

from naeq.core.audit import AuditEvent
from naeq.marking import recordings, selectors, services
from naeq.marking.models import Assignment, MarkResponse, ResponseStatus, Source
from naeq.performance.storage import RECORDINGS
from tests.marking.audio_world import AudioWorld, add_audio_raters, add_take, build_audio_world


@pytest.fixture
def aw(world: Any, cycle: Any, settings: Any, tmp_path: Any) -> AudioWorld:
    settings.DATA_DIR = tmp_path
    return build_audio_world(world, cycle)


def test_collect_creates_one_online_response_per_accepted_take_and_is_idempotent(aw: AudioWorld) -> None:
    c = recordings.recordings_collect(actor=aw.admin, cycle=aw.cycle)
    assert (c.created, c.existing, c.pending) == (12, 0, 0)
    rs = MarkResponse.objects.filter(cycle=aw.cycle, instrument_code="english")
    assert rs.count() == 12 and set(rs.values_list("item_code", flat=True)) == {"E01", "S01"}
    r = rs.get(item_code="E01", test_taker=aw.takers[0])
    assert r.source == Source.ONLINE and r.max_score == 4 and r.status == ResponseStatus.OPEN and r.text == ""
    assert r.recording == aw.recordings[(aw.attempts[0].pk, "E01")][0] and r.attempt == aw.attempts[0]
    again = recordings.recordings_collect(actor=aw.admin, cycle=aw.cycle)
    assert (again.created, again.existing) == (0, 12)
    assert MarkResponse.objects.filter(cycle=aw.cycle).count() == 12
    # the drawing task D01 (paper) and the text collector are not confused with recordings
    assert services.responses_collect(actor=aw.admin, cycle=aw.cycle).created == 0
    assert AuditEvent.objects.filter(action="marking.recordings_collect").count() == 2


def test_only_the_take_the_rerecord_rule_allows_is_accepted(world: Any, cycle: Any, settings: Any,
                                                            tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    aw = build_audio_world(world, cycle, n=4, takes=False)
    proctor = aw.admin
    a0, a1, a2, a3 = aw.attempts
    add_take(a0, "E01")
    second = add_take(a0, "E01", take=2, permit_by=proctor)          # permitted re-record: accepted
    add_take(a1, "E01")
    add_take(a1, "E01", take=2)                                       # no permit: not accepted
    add_take(a2, "E01", complete=False)                               # still uploading
    first3 = add_take(a3, "E01")
    c = recordings.recordings_collect(actor=aw.admin, cycle=cycle)
    assert (c.created, c.pending) == (3, 1)
    got = dict(MarkResponse.objects.filter(item_code="E01").values_list("test_taker_id", "recording__take"))
    assert got == {a0.test_taker_id: 2, a1.test_taker_id: 1, a3.test_taker_id: 1}
    assert MarkResponse.objects.get(test_taker=a0.test_taker, item_code="E01").recording == second
    # a permitted re-record completed after collection: moved while nobody has scored, kept once scored
    second3 = add_take(a3, "E01", take=2, permit_by=proctor)
    add_take(a1, "E01", take=3, permit_by=proctor)
    r1 = MarkResponse.objects.get(test_taker=a1.test_taker, item_code="E01")
    add_audio_raters(aw, ("rater_p",))
    services.assign(actor=aw.admin, cycle=cycle, instrument_code="english", item_code="E01", seed=3)
    a = Assignment.objects.get(response=r1)
    services.score_submit(actor=a.rater, assignment_id=a.pk, score=3)
    again = recordings.recordings_collect(actor=aw.admin, cycle=cycle)
    assert (again.created, again.moved, again.locked, again.existing) == (0, 1, 1, 1)
    # a1's response was scored on take 1: it stays there; a3's unscored one moved to the permitted take 2
    kept = MarkResponse.objects.get(pk=r1.pk).recording
    assert kept is not None and kept.take == 1
    r3 = MarkResponse.objects.get(test_taker=a3.test_taker, item_code="E01")
    assert r3.recording == second3 and r3.recording != first3


def test_a_rerecord_before_any_score_moves_the_response(world: Any, cycle: Any, settings: Any,
                                                        tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    aw = build_audio_world(world, cycle, n=1, takes=False)
    add_take(aw.attempts[0], "S01")
    recordings.recordings_collect(actor=aw.admin, cycle=cycle)
    newer = add_take(aw.attempts[0], "S01", take=2, permit_by=aw.admin)
    c = recordings.recordings_collect(actor=aw.admin, cycle=cycle)
    assert (c.created, c.moved) == (0, 1)
    r = MarkResponse.objects.get(item_code="S01")
    assert r.recording == newer
    ev = AuditEvent.objects.get(action="marking.recording_moved")
    assert ev.after == {"recording": newer.pk, "take": 2}


def _login(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_audio_reaches_only_the_assigned_rater_anonymously_and_uncached(aw: AudioWorld) -> None:
    recordings.recordings_collect(actor=aw.admin, cycle=aw.cycle)
    p, q = add_audio_raters(aw)
    services.assign(actor=aw.admin, cycle=aw.cycle, instrument_code="english", item_code="E01", seed=5)
    mine = Assignment.objects.filter(rater=p).select_related("response", "response__recording").first()
    assert mine is not None
    r = mine.response
    cp, cq = _login(p), _login(q)
    url = f"/marking/responses/{r.code}/audio"
    res = cp.get(url)
    assert res.status_code == 200 and res["Content-Type"] == "audio/wav"
    assert res["Cache-Control"] == "no-store, private"
    assert res["Content-Disposition"] == f'inline; filename="{r.code}.wav"'
    rec = r.recording
    assert rec is not None
    assert res.content == RECORDINGS.read(rec.attempt_id, rec.item, rec.take)
    part = cp.get(url, HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206 and len(part.content) == 100
    assert part["Content-Range"] == f"bytes 0-99/{len(res.content)}"
    assert AuditEvent.objects.filter(action="marking.audio", object_id=str(r.pk), actor=p).count() == 2
    # the other rater (not assigned this one), national staff, an unknown code, a text response: all 404
    if not Assignment.objects.filter(rater=q, response=r).exists():
        assert cq.get(url).status_code == 404
    assert _login(aw.admin).get(url).status_code == 404
    assert cp.get("/marking/responses/RZZZZZZZZZZ/audio").status_code == 404
    assert Client().get(url).status_code in (302, 404)
    # once scored, it is no longer in the rater's queue: gone for them too
    services.score_submit(actor=p, assignment_id=mine.pk, score=2)
    assert cp.get(url).status_code == 404


def test_rater_page_shows_player_and_rubric_and_nothing_that_identifies(aw: AudioWorld) -> None:
    recordings.recordings_collect(actor=aw.admin, cycle=aw.cycle)
    (p,) = add_audio_raters(aw, ("rater_p",))
    services.assign(actor=aw.admin, cycle=aw.cycle, instrument_code="english", item_code="E01", seed=5)
    html = _login(p).get("/marking/queue/").content.decode()
    code = re.search(r'id="response-code">(R[A-Z0-9]{10})<', html)
    assert code is not None
    assert f'<audio id="response-audio" controls preload="metadata" src="/marking/responses/{code.group(1)}/audio"' \
        in html
    assert "表达流畅准确" in html  # the rubric beside the player
    r = MarkResponse.objects.get(code=code.group(1))
    assert r.recording is not None
    school = aw.world.schools["A1a-1"]
    for secret in [t.code for t in aw.takers] + [school.name, school.code, school.county.name,
                                                 str(r.recording.attempt_id) + "/", "E01-1.webm"]:
        assert secret not in html, secret


def _qwk(a: list[int], b: list[int], k: int) -> float:
    """Quadratic-weighted kappa written out from its definition (observed vs chance-expected weighted disagreement),
    independently of naeq.engines.agreement."""
    n = len(a)
    obs = sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) / n
    pa = [a.count(s) / n for s in range(k + 1)]
    pb = [b.count(s) / n for s in range(k + 1)]
    exp = sum(pa[i] * pb[j] * (i - j) ** 2 for i in range(k + 1) for j in range(k + 1))
    return 1 - obs / exp


def test_rater_pair_scores_the_same_recordings_and_their_agreement(aw: AudioWorld) -> None:
    recordings.recordings_collect(actor=aw.admin, cycle=aw.cycle)
    services.settings_update(actor=aw.admin, cycle=aw.cycle, double_share="1", check_rate="0")
    p, q = add_audio_raters(aw)
    services.assign(actor=aw.admin, cycle=aw.cycle, instrument_code="english", item_code="E01", seed=8)
    order = list(MarkResponse.objects.filter(item_code="E01").order_by("test_taker__code"))
    scores_p = [4, 3, 2, 1, 0, 4]
    scores_q = [4, 3, 1, 1, 2, 3]
    for r, sp, sq in zip(order, scores_p, scores_q, strict=True):
        for rater, s in ((p, sp), (q, sq)):
            a = Assignment.objects.get(response=r, rater=rater)
            # the rater hears the recording before scoring it
            assert _login(rater).get(f"/marking/responses/{r.code}/audio").status_code == 200
            services.score_submit(actor=rater, assignment_id=a.pk, score=s)
    (row,) = selectors.agreement_by_item(actor=aw.admin, cycle=aw.cycle)
    assert row.label == "english/E01" and row.stats.n == 6
    assert row.stats.exact == pytest.approx(3 / 6) and row.stats.adjacent == pytest.approx(5 / 6)
    assert row.stats.kappa == pytest.approx(_qwk(scores_p, scores_q, 4))
    assert 0.6 < row.stats.kappa < 0.8
    # the flow is the written one's: agreed → final, adjacent → the higher score, 2 apart → arbitration
    final = {r.pk: (r.status, r.final_score, r.final_rule) for r in MarkResponse.objects.filter(item_code="E01")}
    assert final[order[0].pk] == (ResponseStatus.FINAL, 4, "agreed")
    assert final[order[2].pk] == (ResponseStatus.FINAL, 2, "adjacent")
    assert final[order[4].pk][0] == ResponseStatus.ARBITRATION
    # the arbiter hears it during arbitration
    assert _login(aw.admin).get(f"/marking/responses/{order[4].code}/audio").status_code == 200
    # severity: p minus q over the six pairs = [0, 0, 1, 0, -2, 1]
    sev = {v.name: v for v in selectors.rater_severity(actor=aw.admin, cycle=aw.cycle)}
    d = [0, 0, 1, 0, -2, 1]
    mean = sum(d) / 6
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / 5)
    assert sev["评分员P"].n == 6 and sev["评分员P"].mean_diff == pytest.approx(mean)
    assert sev["评分员P"].se == pytest.approx(sd / math.sqrt(6)) and not sev["评分员P"].flagged
    assert sev["评分员Q"].mean_diff == pytest.approx(-mean)
    page = _login(aw.admin).get("/marking/agreement/").content.decode()
    assert 'id="severity"' in page and "评分员P" in page


def test_severity_flags_a_consistently_harsh_rater() -> None:
    from naeq.marking.selectors import severity_of

    mean, _se, z = severity_of([-1, -2, -1, -1, -2, -1, -1, -2])
    assert mean == pytest.approx(-1.375) and abs(z) > 2
    assert math.isinf(severity_of([-1, -1, -1])[2])
    assert math.isnan(severity_of([1])[1])
