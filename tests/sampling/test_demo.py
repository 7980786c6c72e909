"""The demo's whole sample (naeq.sampling.demo): every called-in school decided (refusals call in replacements),
students drawn through the review chain's roster submission, test-taker statuses reported, weights computed on
them; a second run adds nothing. And the scaling demo's responses of those sampled students (naeq.scaling.demo)."""

from __future__ import annotations

import numpy as np
import pytest

from naeq.accounts.models import User
from naeq.core.models import AuditEvent
from naeq.sampling import demo
from naeq.sampling.models import (
    SampledSchool,
    SampledStudent,
    SampleRun,
    SchoolParticipation,
    SchoolRole,
    Stage,
    StudentStatus,
)
from naeq.sampling.selectors import active_run, cycle_for
from naeq.sampling.services import _frame_totals, sample_draw
from tests.sampling.conftest import County, county, synth_county_world  # noqa: F401  (fixtures)


@pytest.fixture
def drawn(county: County) -> County:  # noqa: F811
    sample_draw(actor=county.admin, year=county.year, stage=Stage.COUNTY, seed=5)
    sample_draw(actor=county.admin, year=county.year, stage=Stage.SCHOOL, seed=5)
    return county


def test_whole_sample_reaches_weights_and_is_idempotent(drawn: County, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "REFUSAL_SHARE", 0.3)  # enough refusals in one county to see the replacements
    out = demo.sample_demo_complete(actor=drawn.admin, seed=5, year=drawn.year)
    cycle = cycle_for(drawn.year)
    run = active_run(cycle, Stage.SCHOOL)
    rows = SampledSchool.objects.filter(run=run)
    assert not rows.filter(participation=SchoolParticipation.PENDING).exists()
    refused = rows.filter(participation=SchoolParticipation.REFUSED)
    assert out["refused"] == refused.count() > 0
    assert rows.filter(participation=SchoolParticipation.PARTICIPATING).exclude(role=SchoolRole.SAMPLED).exists()
    for r in refused.filter(role=SchoolRole.SAMPLED):
        if rows.filter(replaces=r).exists():  # a small county's frame may have no replacement for a school
            assert rows.filter(replaces=r).exclude(participation=SchoolParticipation.RESERVE).exists(), r.school
        assert r.participation_reason in demo.REFUSAL_REASONS
    # every participating school's students drawn from its roster, submitted by its county's liaison
    taking = rows.filter(participation=SchoolParticipation.PARTICIPATING)
    assert set(taking.values_list("school_id", flat=True)) == set(
        SampledStudent.objects.filter(cycle=cycle).values_list("sampled_school__school_id", flat=True))
    liaison = User.objects.get(username=f"{demo.LIAISON_PREFIX}{drawn.code}")
    assert not liaison.has_usable_password()
    assert AuditEvent.objects.filter(action="registry.submission.submit", actor=liaison).count() == len(
        set(taking.values_list("school_id", flat=True)))
    st = SampledStudent.objects.filter(cycle=cycle)
    assert not st.filter(status=StudentStatus.PENDING).exists()
    absent = st.filter(status=StudentStatus.ABSENT).count()
    assert 0 < absent < 0.15 * st.count()
    # weights: every student has one; the respondents' weights add up to the frame's enrolment by grade
    weights = active_run(cycle, Stage.WEIGHTS)
    assert weights is not None and weights.pk == out["weights_run"] and out["weights"] == "computed"
    assert weights.summary["students"] == st.count() == out["students"]
    present = st.filter(status=StudentStatus.PRESENT)
    totals = _frame_totals(np.array([drawn_county_id(drawn)]))
    for grade in (4, 8):
        w = sum(float(x or 0.0) for x in present.filter(grade=grade).values_list("final_weight", flat=True))
        assert w == pytest.approx(totals[drawn_county_id(drawn) * 10 + grade], rel=1e-6)
    # a second run adds nothing
    n_audit = AuditEvent.objects.count()
    again = demo.sample_demo_complete(actor=drawn.admin, seed=5, year=drawn.year)
    assert again == {**out, "refused": 0, "student_draws": 0, "reported": 0, "weights": "exists"}
    assert AuditEvent.objects.count() == n_audit
    assert SampleRun.objects.filter(cycle=cycle, stage=Stage.WEIGHTS).count() == 1


def drawn_county_id(c: County) -> int:
    from naeq.registry.models import Region

    return int(Region.objects.get(code=c.code).pk)


def test_scaling_demo_answers_as_the_present_sampled_students(drawn: County) -> None:
    from naeq.delivery.demo_bank import demo_bank_load
    from naeq.delivery.models import Attempt, ItemScore, TestTaker
    from naeq.delivery.takers import test_takers_generate
    from naeq.scaling.demo import demo_sample_responses

    demo.sample_demo_complete(actor=drawn.admin, seed=5, year=drawn.year)
    cycle = cycle_for(drawn.year)
    demo_bank_load(actor=drawn.admin, year=drawn.year)
    test_takers_generate(actor=drawn.admin, year=drawn.year)
    truth = demo_sample_responses(cycle, seed=5, instrument_code="math")
    assert truth is not None and truth["created"] == truth["persons"] > 0
    attempts = Attempt.objects.filter(instrument__code="math", session__cycle=cycle)
    takers = TestTaker.objects.filter(pk__in=attempts.values("test_taker_id"))
    assert takers.count() == attempts.count() == truth["persons"]
    assert not takers.filter(sampled_student__isnull=True).exists()
    assert set(takers.values_list("sampled_student__status", flat=True)) == {StudentStatus.PRESENT}
    present = SampledStudent.objects.filter(cycle=cycle, status=StudentStatus.PRESENT).exclude(booklets__math=None)
    assert takers.count() == present.count()
    for a in attempts.select_related("test_taker")[:50]:
        assert a.booklet == a.test_taker.booklets["math"]
    assert ItemScore.objects.filter(attempt__in=attempts).exists()
    n = ItemScore.objects.count()
    again = demo_sample_responses(cycle, seed=5, instrument_code="math")
    assert again is not None and again["created"] == 0
    assert ItemScore.objects.count() == n
