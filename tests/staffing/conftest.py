"""A sampled persona world for the staffing tests: every county a sample county; schools P1a-1, P1a-2, P1b-1 of
both provinces are participating sample schools; P1b-2 is a school of the registry that was not drawn."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

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

SAMPLE_SCHOOLS = ("A1a-1", "A1a-2", "A1b-1", "B1a-1", "B1a-2", "B1b-1")


def _run(cycle: Any, stage: str) -> SampleRun:
    return SampleRun.objects.create(cycle=cycle, stage=stage, design_text="test", design_hash="0" * 64,
                                    frame_hash="sha256:" + "0" * 64, seed=1, code_version="test",
                                    status=RunStatus.DONE)


def build_staffing_sample(world: World, cycle: Any) -> None:
    county_run = _run(cycle, Stage.COUNTY)
    for region in world.regions.values():
        if region.level == "county":
            SampledCounty.objects.create(run=county_run, county=region, path=region.path,
                                         participation=CountyParticipation.SAMPLE, pi=0.5, weight=2)
    school_run = _run(cycle, Stage.SCHOOL)
    for key in SAMPLE_SCHOOLS:
        school = world.schools[key]
        SampledSchool.objects.create(run=school_run, school=school, county=school.county, path=school.path,
                                     grade=8, role=SchoolRole.SAMPLED, pi=0.5, base_weight=2, enrollment=60,
                                     participation=SchoolParticipation.PARTICIPATING)


@dataclass
class StaffWorld:
    world: World
    cycle: Any

    def user(self, persona: str) -> Any:
        return self.world.users[persona]


@pytest.fixture
def cycle(db: None) -> Any:
    from naeq.cycles.services import load_shipped_cycles

    return next(c for c in load_shipped_cycles() if c.is_current)


@pytest.fixture
def sw(world: World, cycle: Any) -> StaffWorld:
    build_staffing_sample(world, cycle)
    return StaffWorld(world=world, cycle=cycle)
