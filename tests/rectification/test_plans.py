"""Rectification plans: creation from a problem with the baseline from the estimate, the review chain (nation
reviews province plans, province reviews county plans), updates with evidence, completion, overdue alerts at fixed
dates, and the next cycle's value against the target.

Seed (collected-county-and-school-plans.txt, plan six): 整改目标 / 整改措施 / 整改时限; "明确整改主体责任";
"教育督导部门及时跟进"; "限期整改"."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.rectification import alerts, selectors, services
from naeq.rectification.models import PlanState, PlanUpdate, ProblemLetter, RectificationPlan
from tests.rectification import factories as f
from tests.rectification.conftest import Rect

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
LATER = (timezone.localdate() + dt.timedelta(days=200)).isoformat()


@pytest.fixture
def letter(rect: Rect) -> ProblemLetter:
    letter = services.letter_draft(actor=rect.admin, cycle=rect.cycle, province=rect.world.regions["A"])
    return services.letter_issue(actor=rect.admin, letter_id=letter.pk)


def _province_plan(rect: Rect, letter: ProblemLetter, **kw: Any) -> Any:
    problem = letter.problems.get(rule="mean_below_nation")
    args = {"department": "省教育厅基础教育处", "target_value": 490, "deadline": LATER,
            "measures": "加强数学教研\n落实国家课程计划", **kw}
    return services.plan_create(actor=rect.user("province_coordinator@A"), problem_id=problem.pk,
                                unit=rect.world.regions["A"], **args)


def test_plan_takes_target_and_baseline_from_the_problem(rect: Rect, letter: ProblemLetter) -> None:
    plan = _province_plan(rect, letter)
    assert (plan.target_statistic, plan.target_key, plan.better) == ("mean", "", 1)
    assert plan.baseline == 480.0 and plan.baseline_se == 3.0 and plan.state == PlanState.DRAFT
    assert plan.measures == ["加强数学教研", "落实国家课程计划"]
    # a county plan for the province-wide problem: the county's own baseline
    county = services.plan_create(actor=rect.user("county_liaison@A"), problem_id=plan.problem_id,
                                  unit=rect.world.regions["A1a"], department="县教育局", target_value=480,
                                  deadline=LATER, measures=["校本教研"])
    assert county.baseline == 470.0


def test_plan_refusals(rect: Rect, letter: ProblemLetter) -> None:
    problem = letter.problems.get(rule="mean_below_nation")
    a, a1a, a1b = rect.world.regions["A"], rect.world.regions["A1a"], rect.world.regions["A1b"]
    ok: dict[str, Any] = {"department": "教育厅", "target_value": 490, "deadline": LATER, "measures": "措施"}
    with pytest.raises(InvalidInput) as exc:
        services.plan_create(actor=rect.user("province_coordinator@A"), problem_id=problem.pk, unit=a,
                             **{**ok, "target_value": 470})
    assert exc.value.code == "target_worse"
    with pytest.raises(InvalidInput) as exc:
        services.plan_create(actor=rect.user("province_coordinator@A"), problem_id=problem.pk, unit=a,
                             **{**ok, "deadline": "2020-01-01"})
    assert exc.value.code == "deadline_past"
    with pytest.raises(InvalidInput) as exc:
        services.plan_create(actor=rect.user("province_coordinator@A"), problem_id=problem.pk, unit=a,
                             **{**ok, "measures": "  "})
    assert exc.value.code == "measures_required"
    # a county liaison writes only its own county's plans; the coordinator only the province's
    with pytest.raises(PermissionDenied):
        services.plan_create(actor=rect.user("county_liaison@A"), problem_id=problem.pk, unit=a1b, **ok)
    with pytest.raises(PermissionDenied):
        services.plan_create(actor=rect.user("province_coordinator@A"), problem_id=problem.pk, unit=a1a, **ok)
    with pytest.raises(PermissionDenied):
        services.plan_create(actor=rect.admin, problem_id=problem.pk, unit=a, **ok)
    # the other province does not see the problem at all
    with pytest.raises(NotFound):
        services.plan_create(actor=rect.user("province_coordinator@B"), problem_id=problem.pk,
                             unit=rect.world.regions["B"], **ok)
    # a county problem (校际差异率) is that county's
    county_problem = letter.problems.get(rule="diff_rate")
    with pytest.raises(InvalidInput) as exc:
        services.plan_create(actor=rect.user("province_coordinator@A"), problem_id=county_problem.pk, unit=a,
                             **{**ok, "target_value": 0.1})
    assert exc.value.code == "bad_unit"


def test_review_chain_and_workflow(rect: Rect, letter: ProblemLetter) -> None:
    coord, admin = rect.user("province_coordinator@A"), rect.admin
    plan = _province_plan(rect, letter)
    with pytest.raises(InvalidInput):
        services.plan_review(actor=admin, plan_id=plan.pk, decision="approve")  # not submitted yet
    services.plan_submit(actor=coord, plan_id=plan.pk)
    with pytest.raises(InvalidInput) as exc:
        services.plan_edit(actor=coord, plan_id=plan.pk, target_value=495)
    assert exc.value.code == "bad_transition"
    # the province cannot review its own plan; the nation can
    with pytest.raises(PermissionDenied):
        services.plan_review(actor=coord, plan_id=plan.pk, decision="approve")
    with pytest.raises(InvalidInput) as exc:
        services.plan_review(actor=admin, plan_id=plan.pk, decision="return", comment=" ")
    assert exc.value.code == "comment_required"
    services.plan_review(actor=admin, plan_id=plan.pk, decision="return", comment="目标值偏低")
    plan.refresh_from_db()
    assert plan.state == PlanState.RETURNED
    services.plan_edit(actor=coord, plan_id=plan.pk, target_value=495)
    services.plan_submit(actor=coord, plan_id=plan.pk)
    services.plan_review(actor=admin, plan_id=plan.pk, decision="approve")
    plan.refresh_from_db()
    assert plan.state == PlanState.APPROVED and plan.target_value == 495
    with pytest.raises(InvalidInput) as exc:
        services.plan_update_add(actor=coord, plan_id=plan.pk, text="进展", percent=120)
    assert exc.value.code == "bad_percent"
    with pytest.raises(InvalidInput) as exc:
        services.plan_update_add(actor=coord, plan_id=plan.pk, text="进展", percent=10,
                                 files=[("a.svg", b"<svg onload=alert(1)>")])
    assert exc.value.code == "evidence_svg"
    assert not PlanUpdate.objects.exists()
    u = services.plan_update_add(actor=coord, plan_id=plan.pk, text="完成全省教研员培训", percent=40,
                                 files=[("培训签到表.pdf", PDF)])
    plan.refresh_from_db()
    assert plan.state == PlanState.IN_PROGRESS
    ev = u.files.get()
    got, data = services.evidence_get(actor=admin, plan_id=plan.pk, evidence_id=ev.pk)
    assert data == PDF and got.original_name == "培训签到表.pdf"
    with pytest.raises(NotFound):
        services.evidence_get(actor=rect.user("province_coordinator@B"), plan_id=plan.pk, evidence_id=ev.pk)
    with pytest.raises(InvalidInput) as exc:
        services.plan_complete(actor=coord, plan_id=plan.pk)
    assert exc.value.code == "not_done"
    services.plan_update_add(actor=coord, plan_id=plan.pk, text="全部措施落实", percent=100)
    services.plan_complete(actor=coord, plan_id=plan.pk)
    plan.refresh_from_db()
    assert plan.state == PlanState.COMPLETED and plan.completed_at is not None
    actions = list(AuditEvent.objects.filter(object_type="rectification.RectificationPlan")
                   .values_list("action", flat=True))
    assert actions == ["rectification.plan_create", "rectification.plan_submit", "rectification.plan_review",
                       "rectification.plan_edit", "rectification.plan_submit", "rectification.plan_review",
                       "rectification.plan_update", "rectification.plan_update", "rectification.plan_complete"]


def test_county_plans_are_reviewed_by_the_province(rect: Rect, letter: ProblemLetter) -> None:
    liaison, coord = rect.user("county_liaison@A"), rect.user("province_coordinator@A")
    problem = letter.problems.get(rule="diff_rate")
    plan = services.plan_create(actor=liaison, problem_id=problem.pk, unit=rect.world.regions["A1a"],
                                department="县教育局", target_value=0.15, deadline=LATER, measures="教师交流轮岗")
    assert plan.baseline == 0.22 and plan.better == -1
    services.plan_submit(actor=liaison, plan_id=plan.pk)
    for who in (rect.admin, rect.user("province_coordinator@B")):
        with pytest.raises((PermissionDenied, NotFound)):
            services.plan_review(actor=who, plan_id=plan.pk, decision="approve")
    services.plan_review(actor=coord, plan_id=plan.pk, decision="approve", comment="同意")
    dash = selectors.dashboard(actor=coord)
    assert dash.by_state[PlanState.APPROVED] == 1 and dash.total == 1
    # county liaison of the sibling county sees nothing of it
    assert not selectors.plan_list(actor=rect.user("county_liaison@B")).exists()


def _approved(rect: Rect, letter: ProblemLetter, deadline: str) -> Any:
    plan = _province_plan(rect, letter, deadline=LATER)
    services.plan_submit(actor=rect.user("province_coordinator@A"), plan_id=plan.pk)
    services.plan_review(actor=rect.admin, plan_id=plan.pk, decision="approve")
    plan.refresh_from_db()
    plan.deadline = dt.date.fromisoformat(deadline)
    plan.save(update_fields=["deadline"])
    return plan


def test_overdue_and_stale_alerts_at_fixed_dates(rect: Rect, letter: ProblemLetter) -> None:
    plan = _approved(rect, letter, "2030-06-30")
    approved = timezone.localtime(plan.approved_at).date()
    qs = selectors.plan_list(actor=rect.admin)
    assert [a.kind for a in alerts.compute(qs, dt.date(2030, 6, 30), stale_days=10_000)] == []  # due today
    got = alerts.compute(qs, dt.date(2030, 7, 3), stale_days=10_000)
    assert [(a.kind, a.days, a.level) for a in got] == [("overdue", 3, "nation")]
    # no update for 30 days after approval: stale
    day29, day30 = approved + dt.timedelta(days=29), approved + dt.timedelta(days=30)
    assert [a.kind for a in alerts.compute(qs, day29)] == []
    assert [a.kind for a in alerts.compute(qs, day30)] == ["stale"]
    u = services.plan_update_add(actor=rect.user("province_coordinator@A"), plan_id=plan.pk, text="进展",
                                 percent=100)
    PlanUpdate.objects.filter(pk=u.pk).update(created_at=timezone.now() + dt.timedelta(days=25))
    assert [a.kind for a in alerts.compute(qs, day30)] == []
    services.plan_complete(actor=rect.user("province_coordinator@A"), plan_id=plan.pk)
    assert alerts.compute(qs, dt.date(2031, 1, 1)) == []  # completed: never overdue
    # the other province sees no alert of it
    assert alerts.for_actor(rect.user("province_coordinator@B"), dt.date(2031, 1, 1)) == []


def test_next_cycle_value_against_target(rect: Rect, letter: ProblemLetter) -> None:
    plan = _approved(rect, letter, LATER)
    assert selectors.next_cycle_value(plan) is None
    a = rect.world.regions["A"]
    nxt = f.run(rect.later, "math")
    f.est(nxt, a, "mean", 488.0, 2.5)
    v = selectors.next_cycle_value(plan)
    assert v is not None and v.year == 2024 and v.value == 488.0 and v.se == 2.5
    assert v.met is False and v.change == pytest.approx(8.0)
    newer = f.run(rect.later, "math")
    f.est(newer, a, "mean", 492.5, 2.4)
    v = selectors.next_cycle_value(plan)
    assert v is not None and v.run_id == newer.pk and v.met is True
    # a suppressed value is not shown; another subject is not this plan's
    f.est(f.run(rect.later, "chinese"), a, "mean", 600.0, 1.0)
    last = f.run(rect.later, "math")
    f.est(last, a, "mean", 400.0, 20.0, suppressed=True)
    v = selectors.next_cycle_value(plan)
    assert v is not None and v.value == 492.5


def test_demo_rectification(rect: Rect) -> None:
    from naeq.rectification.demo import demo_rectification

    got = demo_rectification(rect.cycle)
    assert got == {"letters": 1, "plans": 2}  # province B is above the nation: no letter
    letter = ProblemLetter.objects.get()
    assert letter.issued and letter.province == rect.world.regions["A"]
    states = sorted(RectificationPlan.objects.values_list("unit__code", "state"))
    assert states == [("310000", PlanState.IN_PROGRESS), ("310101", PlanState.SUBMITTED)]
    assert demo_rectification(rect.cycle) == {"letters": 0, "plans": 0}
    # the plan under way carries its evidence: the minutes as a real PDF
    ev = PlanUpdate.objects.get(plan__state=PlanState.IN_PROGRESS).files.get()
    assert ev.content_type == "application/pdf" and ev.original_name == "整改推进会纪要.pdf"


def test_demo_rectification_in_a_one_province_world(rect: Rect) -> None:
    """The demo's world: the province is the whole nation, so its letter lists county problems; the demo county's
    liaison plans the first (approved by the province, under way with evidence), another county's the second
    (awaiting the province's review)."""
    from naeq.accounts.roles import Role
    from naeq.accounts.services import user_create
    from naeq.analysis.models import Estimate
    from naeq.rectification.demo import demo_rectification

    Estimate.objects.filter(run=rect.run).delete()
    a, a1a, a1b = rect.world.regions["A"], rect.world.regions["A1a"], rect.world.regions["A1b"]
    user_create(actor=None, username="liaison_a1b", password=None, role=Role.COUNTY_LIAISON, region=a1b)
    r = f.run(rect.cycle, "math")
    f.one_province_world(r, a)
    f.county(r, a1a, 478.0, vs_nation=(-22.0, 0.0004, -1), vs_province=(-22.0, 0.0004, -1))
    f.county(r, a1b, 490.0, vs_nation=(-10.0, 0.09, 0), low=(0.21, 0.02))
    assert demo_rectification(rect.cycle) == {"letters": 1, "plans": 2}
    letter = ProblemLetter.objects.get()
    assert list(letter.problems.values_list("rule", flat=True)) == ["county_below_nation", "county_low_share"]
    plans = {p.unit.code: p for p in RectificationPlan.objects.select_related("unit")}
    first, second = plans["310101"], plans["310102"]
    assert first.state == PlanState.IN_PROGRESS and first.baseline == 478.0 and first.target_value == 483.0
    assert first.reviews.get().reviewer == rect.user("province_coordinator@A")
    assert first.updates.get().files.get().size > 1000  # WeasyPrint's minutes, not a placeholder
    assert second.state == PlanState.SUBMITTED and second.target_key == "I" and second.target_value == 0.18
    assert demo_rectification(rect.cycle) == {"letters": 0, "plans": 0}
