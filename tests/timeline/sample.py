"""A sample for the timeline tests, written as rows: every county of the persona world is a sample county and
every school of it a participating sample school (grade 4), except school P1b-2, which refused."""

from __future__ import annotations

from typing import Any

from naeq.sampling.models import (
    CountyParticipation,
    RunStatus,
    SampledCounty,
    SampledSchool,
    SampleRun,
    SchoolParticipation,
    SchoolRole,
    Stage,
)
from tests.personas import World


def _run(cycle: Any, stage: str) -> SampleRun:
    return SampleRun.objects.create(cycle=cycle, stage=stage, design_text="test", design_hash="0" * 64,
                                    frame_hash="sha256:" + "0" * 64, seed=1, code_version="test",
                                    status=RunStatus.DONE)


def build_sample(world: World, cycle: Any) -> None:
    county_run = _run(cycle, Stage.COUNTY)
    for region in world.regions.values():
        if region.level == "county":
            SampledCounty.objects.create(run=county_run, county=region, path=region.path,
                                         participation=CountyParticipation.SAMPLE, pi=0.5, weight=2)
    school_run = _run(cycle, Stage.SCHOOL)
    for key, school in world.schools.items():
        SampledSchool.objects.create(
            run=school_run, school=school, county=school.county, path=school.path, grade=4,
            role=SchoolRole.SAMPLED, pi=0.5, base_weight=2, enrollment=45,
            participation=SchoolParticipation.REFUSED if key.endswith("b-2") else SchoolParticipation.PARTICIPATING)
