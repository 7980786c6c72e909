"""The sample's invariants are held by the database, not only by the services (both backends)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction

from naeq.sampling import services
from naeq.sampling.models import SampledSchool, SampledStudent, SampleRun, SchoolRole, Stage
from tests.sampling.conftest import County, draw_students


@pytest.fixture
def drawn(county: County) -> SampleRun:
    services.sample_draw(actor=county.admin, year=county.year, stage=Stage.COUNTY, seed=3)
    return services.sample_draw(actor=county.admin, year=county.year, stage=Stage.SCHOOL, seed=3)


def _rejected(fn: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_replacement_needs_the_school_it_replaces(drawn: SampleRun) -> None:
    repl = SampledSchool.objects.filter(run=drawn).exclude(role=SchoolRole.SAMPLED).first()
    sampled = SampledSchool.objects.filter(run=drawn, role=SchoolRole.SAMPLED).first()
    assert repl is not None and sampled is not None
    _rejected(lambda: SampledSchool.objects.filter(pk=repl.pk).update(replaces=None))
    _rejected(lambda: SampledSchool.objects.filter(pk=sampled.pk).update(replaces=repl))


def test_probabilities_and_weights_in_range(drawn: SampleRun) -> None:
    row = SampledSchool.objects.filter(run=drawn).first()
    assert row is not None
    _rejected(lambda: SampledSchool.objects.filter(pk=row.pk).update(pi=0))
    _rejected(lambda: SampledSchool.objects.filter(pk=row.pk).update(pi=1.5))
    _rejected(lambda: SampledSchool.objects.filter(pk=row.pk).update(base_weight=0.5))


def test_one_active_run_per_cycle_and_stage(drawn: SampleRun) -> None:
    def dup() -> None:
        drawn.pk = None
        drawn.save()

    _rejected(dup)


def test_school_once_per_grade_per_run(drawn: SampleRun) -> None:
    row = SampledSchool.objects.filter(run=drawn, role=SchoolRole.SAMPLED).first()
    assert row is not None

    def dup() -> None:
        row.pk = None
        row.save()

    _rejected(dup)


def test_test_id_unique_in_cycle_and_well_formed(county: County, drawn: SampleRun) -> None:
    code = SampledSchool.objects.filter(run=drawn).first().school.code  # type: ignore[union-attr]
    draw_students(actor=county.admin, year=county.year, school_code=code)
    a, b = SampledStudent.objects.order_by("pk")[:2]
    _rejected(lambda: SampledStudent.objects.filter(pk=b.pk).update(test_id=a.test_id))
    _rejected(lambda: SampledStudent.objects.filter(pk=b.pk).update(test_id="123"))
    _rejected(lambda: SampledStudent.objects.filter(pk=b.pk).update(student=a.student))
