"""Services and selectors of marking over the database: collecting online answers, assignment runs (double share,
never twice — also across runs and after suspension —, the same seed gives the same queues), the final-score rule
with its configuration, arbitration, drift on check papers, the scores handed to scaling, the audit trail."""

from __future__ import annotations

import math
from typing import Any

import pytest

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.marking import selectors, services
from naeq.marking.models import (
    Arbitration,
    Assignment,
    AssignmentRun,
    AssignmentStatus,
    MarkResponse,
    ResponseStatus,
    Source,
)
from tests.marking.conftest import POINTS_E01, POINTS_E02, Marking, add_raters, build_marking


def _score_all(rater: Any, score_of: Any) -> int:
    n = 0
    while True:
        q = selectors.queue_next(actor=rater)
        if q.assignment is None:
            return n
        services.score_submit(actor=rater, assignment_id=q.assignment.pk, score=score_of(q.assignment.response))
        n += 1


def test_collect_is_idempotent_and_blank_answers_are_final_zero(marking: Marking) -> None:
    c = services.responses_collect(actor=marking.admin, cycle=marking.cycle)
    # 12 takers × (E01 + E02); every fourth left E02 blank → 3 final at 0; M01 has a key: not collected.
    assert (c.created, c.omitted, c.existing) == (21, 3, 0)
    blank = MarkResponse.objects.filter(final_rule="omitted")
    assert blank.count() == 3 and set(blank.values_list("final_score", flat=True)) == {0}
    assert not MarkResponse.objects.filter(item_code="M01").exists()
    again = services.responses_collect(actor=marking.admin, cycle=marking.cycle)
    assert (again.created, again.omitted, again.existing) == (0, 0, 24)
    r = MarkResponse.objects.filter(item_code="E01").first()
    assert r is not None and r.code.startswith("R") and len(r.code) == 11 and r.text.startswith("答案")
    assert AuditEvent.objects.filter(action="marking.collect").count() == 2


def _setup(m: Marking, *, raters: tuple[str, ...] = ("rater_x", "rater_y", "rater_z"), double: str = "0.5",
           check_rate: str = "0") -> list[Any]:
    services.responses_collect(actor=m.admin, cycle=m.cycle)
    services.settings_update(actor=m.admin, cycle=m.cycle, double_share=double, check_rate=check_rate)
    return add_raters(m, raters, items=("E01", "E02"))


def test_assignment_double_share_never_twice_and_recorded(marking: Marking) -> None:
    _setup(marking)
    run = services.assign(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E01", seed=4)
    assert (run.seed, run.double_share, run.responses) == (4, 0.5, 12)
    assert MarkResponse.objects.filter(item_code="E01", double=True).count() == 6  # round(0.5 × 12)
    per = {r.pk: r.assignments.count() for r in MarkResponse.objects.filter(item_code="E01")}
    assert sorted(per.values()) == [1] * 6 + [2] * 6
    pairs = list(Assignment.objects.values_list("response_id", "rater_id"))
    assert len(pairs) == len(set(pairs)) == 18
    # A second run finds nothing left to assign.
    again = services.assign(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E01",
                            seed=5)
    assert again.responses == 0 and Assignment.objects.count() == 18
    ev = AuditEvent.objects.filter(action="marking.assign").order_by("id").first()
    assert ev is not None and ev.after["seed"] == 4 and ev.after["double"] == 6


def test_same_seed_same_assignment(world: Any, cycle: Any) -> None:
    m = build_marking(world, cycle)
    _setup(m)

    def run(seed: int) -> list[tuple[int, int, int]]:
        services.assign(actor=m.admin, cycle=cycle, instrument_code="mtest", item_code="E01", seed=seed)
        out = sorted(Assignment.objects.values_list("response_id", "rater_id", "position"))
        Assignment.objects.all().delete()
        AssignmentRun.objects.all().delete()
        MarkResponse.objects.update(double=False)
        return out

    assert run(21) == run(21)
    assert run(21) != run(22)


def test_final_scores_follow_the_configured_rule(marking: Marking) -> None:
    rx, ry = _setup(marking, raters=("rater_x", "rater_y"), double="1")
    services.settings_update(actor=marking.admin, cycle=marking.cycle, adjacent_rule="mean")
    services.assign(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E02", seed=1)
    codes = sorted(MarkResponse.objects.filter(item_code="E02", status=ResponseStatus.OPEN)
                   .values_list("code", flat=True))
    # E02 has 4 points: threshold 1. Rater x gives 2 to all; rater y gives 2, 3 or 4 by position in the list.
    plan = {code: (2, (2, 3, 4)[i % 3]) for i, code in enumerate(codes)}
    _score_all(rx, lambda r: plan[r.code][0])
    _score_all(ry, lambda r: plan[r.code][1])
    for r in MarkResponse.objects.filter(code__in=codes):
        a, b = plan[r.code]
        if a == b:
            assert (r.status, r.final_score, r.final_rule) == (ResponseStatus.FINAL, 2, "agreed")
        elif b == 3:
            assert (r.status, r.final_score, r.final_rule) == (ResponseStatus.FINAL, 3, "adjacent")  # 2.5 → 3
        else:
            assert r.status == ResponseStatus.ARBITRATION and r.final_score is None
            assert Arbitration.objects.get(response=r).scores == [2, 4]


def test_arbitration_is_final_and_only_for_arbiters(marking: Marking) -> None:
    rx, ry, rz = _setup(marking, double="1")
    services.assign(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E01", seed=2)
    for rater, s in ((rx, 0), (ry, 2), (rz, 1)):
        _score_all(rater, lambda _r, s=s: s)
    arb = Arbitration.objects.order_by("id").first()
    assert arb is not None
    with pytest.raises(NotFound):
        services.arbitrate(actor=rx, arbitration_id=arb.pk, score=1)  # an ordinary rater: not there
    with pytest.raises(PermissionDenied):
        services.arbitrate(actor=marking.world.users["national_analyst@A"], arbitration_id=arb.pk, score=1)
    with pytest.raises(InvalidInput, match="0至2"):
        services.arbitrate(actor=marking.admin, arbitration_id=arb.pk, score=5)
    senior = add_raters(marking, ("rater_lead",), senior=True)[0]
    r = services.arbitrate(actor=senior, arbitration_id=arb.pk, score=1, note="依据样卷A1")
    assert (r.final_score, r.final_rule) == (1, "arbitrated")
    with pytest.raises(InvalidInput, match="已仲裁"):
        services.arbitrate(actor=marking.admin, arbitration_id=arb.pk, score=2)
    assert AuditEvent.objects.filter(action="marking.arbitrate", object_id=str(r.pk)).exists()


def test_rater_cannot_rescore_or_touch_others(marking: Marking) -> None:
    rx, ry = _setup(marking, raters=("rater_x", "rater_y"), double="1")
    services.assign(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E01", seed=2)
    mine = Assignment.objects.filter(rater=rx).first()
    theirs = Assignment.objects.filter(rater=ry).first()
    assert mine is not None and theirs is not None
    services.score_submit(actor=rx, assignment_id=mine.pk, score=1)
    with pytest.raises(InvalidInput, match="不能重复评分"):
        services.score_submit(actor=rx, assignment_id=mine.pk, score=2)
    for fn in (lambda: services.score_submit(actor=rx, assignment_id=theirs.pk, score=1),
               lambda: services.assignment_skip(actor=rx, assignment_id=theirs.pk),
               lambda: services.score_submit(actor=rx, assignment_id=999999, score=1)):
        with pytest.raises(NotFound) as exc:
            fn()
        assert exc.value.message == "没有找到该评分任务。"  # missing and someone else's look the same


def test_skip_and_flag(marking: Marking) -> None:
    rx, _ry = _setup(marking, raters=("rater_x", "rater_y"), double="0")
    services.assign(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E01", seed=2)
    first = selectors.queue_next(actor=rx).assignment
    assert first is not None
    services.assignment_skip(actor=rx, assignment_id=first.pk)
    nxt = selectors.queue_next(actor=rx).assignment
    assert nxt is not None and nxt.pk != first.pk
    services.assignment_flag(actor=rx, assignment_id=nxt.pk, note="字迹无法辨认")
    assert [a.pk for a in selectors.flagged_list(actor=marking.admin, cycle=marking.cycle)] == [nxt.pk]
    services.flag_return(actor=marking.admin, assignment_id=nxt.pk)
    nxt.refresh_from_db()
    assert nxt.status == AssignmentStatus.PENDING and nxt.flag_note == "字迹无法辨认"


def test_drift_on_check_papers_flags_and_suspension_reassigns(marking: Marking) -> None:
    rx, ry, rz = _setup(marking, double="0", check_rate="0.4")
    services.settings_update(actor=marking.admin, cycle=marking.cycle, drift_window="4", drift_min_papers="3",
                             min_check_accuracy="0.6")
    for i in range(6):
        services.check_paper_add(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E01",
                                 text=f"检测卷{i}", score=i % 3)
    services.assign(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E01", seed=8)
    checks = Assignment.objects.filter(response__source=Source.CHECK)
    # 12 responses over 3 raters = 4 each; round(4 × 0.4 / 0.6) = 3 check papers each, none twice.
    assert sorted(checks.values_list("rater_id", flat=True)) == sorted([rx.pk, ry.pk, rz.pk] * 3)
    # Rater x gets every check paper right; rater y every one wrong.
    _score_all(rx, lambda r: r.check_score if r.source == Source.CHECK else 1)
    _score_all(ry, lambda r: (r.check_score + 1) % 3 if r.source == Source.CHECK else 1)
    rows = {row.rater_id: row for row in selectors.drift(actor=marking.admin, cycle=marking.cycle)}
    assert (rows[rx.pk].papers, rows[rx.pk].accuracy, rows[rx.pk].flagged) == (3, 1.0, False)
    assert (rows[ry.pk].papers, rows[ry.pk].latest, rows[ry.pk].flagged) == (3, 0.0, True)
    assert rows[rz.pk].papers == 0 and math.isnan(rows[rz.pk].accuracy) and not rows[rz.pk].flagged
    # Check papers never reach the final scores or the agreement statistics.
    assert all(r["test_id"] for r in selectors.scores_for_scaling(cycle=marking.cycle))
    # Suspending rater z withdraws its unfinished work; the next run gives it to x or y, never back to z.
    withdrawn = services.rater_suspend(actor=marking.admin, rater_id=rz.pk, reason="培训未通过")
    assert withdrawn == 7
    assert selectors.queue_next(actor=rz).assignment is None and selectors.queue_next(actor=rz).suspended
    run = services.assign(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E01", seed=9)
    assert run.responses == 4 and run.raters == [rx.pk, ry.pk]
    with pytest.raises(InvalidInput, match="暂停原因"):
        services.rater_suspend(actor=marking.admin, rater_id=rx.pk, reason=" ")


def test_scores_for_scaling(marking: Marking) -> None:
    rx, ry = _setup(marking, raters=("rater_x", "rater_y"), double="0")
    services.assign(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E02", seed=3)
    _score_all(rx, lambda _r: 3)
    _score_all(ry, lambda _r: 3)
    rows = list(selectors.scores_for_scaling(cycle=marking.cycle, instrument_code="mtest"))
    assert {tuple(sorted(r)) for r in rows} == {("instrument", "item", "score", "test_id", "test_taker_id")}
    e02 = {r["test_id"]: r["score"] for r in rows if r["item"] == "E02"}
    assert len(e02) == 12  # 9 scored by one rater + 3 omitted
    assert e02[marking.takers[3].code] == 0 and e02[marking.takers[0].code] == 3
    assert not [r for r in rows if r["item"] == "E01"]  # E01 not scored yet: not resolved, not handed over
    assert list(selectors.scores_for_scaling(cycle=marking.cycle, instrument_code="other")) == []


def test_rubric_versions_and_validation(marking: Marking) -> None:
    r1 = services.rubric_save(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E02",
                              points=POINTS_E02)
    r2 = services.rubric_save(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E02",
                              points={**POINTS_E02, 4: "完整正确，表述清楚"})
    r1.refresh_from_db()
    assert (r1.version, r1.is_current, r2.version, r2.is_current) == (1, False, 2, True)
    ev = AuditEvent.objects.filter(action="marking.rubric_save", object_id=str(r2.pk)).get()
    assert ev.before["version"] == 1 and ev.after["points"]["4"] == "完整正确，表述清楚"
    with pytest.raises(InvalidInput) as exc:
        services.rubric_save(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E01",
                             points={0: "a", 1: ""})
    assert {p.reason for p in exc.value.problems} == {"分值1的评分描述不能为空。"}
    with pytest.raises(InvalidInput, match="缺少分值2"):
        services.rubric_save(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="E01",
                             points={0: "a", 1: "b"})
    with pytest.raises(InvalidInput, match="没有需人工评分的题目"):
        services.rubric_save(actor=marking.admin, cycle=marking.cycle, instrument_code="mtest", item_code="M01",
                             points=POINTS_E01)


def test_settings_validation_and_organiser_only(marking: Marking) -> None:
    with pytest.raises(InvalidInput):
        services.settings_update(actor=marking.admin, cycle=marking.cycle, double_share="1.5")
    with pytest.raises(InvalidInput):
        services.settings_update(actor=marking.admin, cycle=marking.cycle, adjacent_rule="median")
    with pytest.raises(PermissionDenied):
        services.settings_update(actor=marking.world.users["national_analyst@A"], cycle=marking.cycle,
                                 double_share="0.2")
    with pytest.raises(NotFound):
        services.settings_update(actor=marking.world.users["province_coordinator@A"], cycle=marking.cycle,
                                 double_share="0.2")
    cfg = services.settings_update(actor=marking.admin, cycle=marking.cycle, double_share="0.2", threshold_large="2")
    assert (cfg.double_share, cfg.threshold_for(2), cfg.threshold_for(3)) == (0.2, 0, 2)


def test_rater_add_checks_items_and_region(marking: Marking) -> None:
    with pytest.raises(InvalidInput, match="评分题目有误"):
        services.rater_add(actor=marking.admin, cycle=marking.cycle, username="r_bad", password=None,
                           region=marking.world.regions["A"], items=[("mtest", "M01")])
    with pytest.raises(InvalidInput, match="省级"):
        services.rater_add(actor=marking.admin, cycle=marking.cycle, username="r_bad", password=None,
                           region=marking.world.regions["A1a"], items=[("mtest", "E01")])
    from naeq.accounts.models import User

    assert not User.objects.filter(username="r_bad").exists()


def test_collect_skips_practice_and_takes_never_answered_items(marking: Marking) -> None:
    from naeq.delivery.models import ItemScore, SessionKind
    from tests.delivery.factories import make_session, make_taker
    from tests.marking.conftest import submit

    school = marking.world.schools["A1a-1"]
    practice = make_session(marking.cycle, school, instruments=["mtest"], kind=SessionKind.PRACTICE, key="P1")
    t_practice = make_taker(marking.cycle, school, "T90001")
    submit(marking.cycle, practice, marking.instrument, t_practice, {"E01": "练习作答", "E02": "练习作答"})
    formal = make_session(marking.cycle, school, instruments=["mtest"], key="F2")
    t_silent = make_taker(marking.cycle, school, "T90002")
    attempt = submit(marking.cycle, formal, marking.instrument, t_silent, {"E01": "只答了第一题"})
    # The submission scored E02 as shown and never answered (code 99): no Answer row exists for it.
    ItemScore.objects.create(attempt=attempt, item="E02", code="99", score=None)
    ItemScore.objects.create(attempt=attempt, item="E01", code="只答了第一题", score=None)
    c = services.responses_collect(actor=marking.admin, cycle=marking.cycle)
    assert (c.created, c.omitted) == (21 + 1, 3 + 1)
    assert not MarkResponse.objects.filter(test_taker=t_practice).exists()  # practice attempts never count
    silent = MarkResponse.objects.get(test_taker=t_silent, item_code="E02")
    assert (silent.final_score, silent.final_rule, silent.text) == (0, "omitted", "")
    assert MarkResponse.objects.get(test_taker=t_silent, item_code="E01").text == "只答了第一题"
