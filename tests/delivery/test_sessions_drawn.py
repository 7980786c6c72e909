"""Generation on a sample drawn by the sampling engine (a synthetic county), not on rows written by hand: the
shapes the draw produces (booklets per subject, test IDs, schools in both grades) go through unchanged."""

from __future__ import annotations

from naeq.delivery import takers
from naeq.delivery.models import Respondent
from naeq.delivery.models import TestSession as Session
from naeq.delivery.models import TestTaker as Taker
from naeq.delivery.sessions import sessions_generate
from naeq.sampling.models import SampledSchool, SampledStudent, SchoolParticipation
from naeq.sampling.services import sample_demo
from tests.sampling.conftest import County, county, synth_county_world  # noqa: F401  (fixtures)


def test_generation_on_a_drawn_sample(county: County) -> None:  # noqa: F811
    sample_demo(actor=county.admin, county_actor=county.liaison, county_code=county.code, year=county.year)
    students = SampledStudent.objects.count()
    assert students > 0
    created = takers.test_takers_generate(actor=county.admin, year=county.year)
    assert created["student"] == students
    st = SampledStudent.objects.order_by("test_id").first()
    assert st is not None
    taker = Taker.objects.get(sampled_student=st)
    assert taker.code == st.test_id and taker.grade == st.grade
    assert taker.booklets["math"] == st.booklets["math"]
    sessions_generate(actor=county.admin, year=county.year)
    rows = SampledSchool.objects.filter(participation=SchoolParticipation.PARTICIPATING)
    for row in rows[:5]:
        math = [s for s in Session.objects.filter(school=row.school, grade=row.grade,
                                                  respondent=Respondent.STUDENT) if s.instruments == ["math"]]
        assert len(math) == 1
    assert takers.test_takers_generate(actor=county.admin, year=county.year)["student"] == 0
    assert sessions_generate(actor=county.admin, year=county.year) == {r.value: 0 for r in Respondent}
