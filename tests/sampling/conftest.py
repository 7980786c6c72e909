"""A county-scale synthetic world (one county, ~100 schools, with rosters), a loaded cycle and a national
administrator: enough for every stage of the draw, with replacements, in a second or two."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from naeq.accounts.roles import Role
from naeq.accounts.services import user_create


@dataclass
class County:
    year: int
    admin: Any
    analyst: Any
    liaison: Any
    code: str


@pytest.fixture(scope="module")
def synth_county_world() -> Any:
    from naeq.engines.synth import generate_world

    return generate_world("county", 3)


@pytest.fixture
def county(db: None, synth_county_world: Any) -> County:
    from naeq.cycles.services import load_shipped_cycles
    from naeq.registry.models import Region
    from naeq.registry.services import frame_lock
    from naeq.registry.synth_load import synth_world_load

    synth_world_load(world=synth_county_world)
    cycles = load_shipped_cycles()
    year = next(c.year for c in cycles if c.is_current)
    county_region = Region.objects.get(level="county")
    admin = user_create(actor=None, username="nat_admin", password="x-pass-2026", role=Role.NATIONAL_ADMIN)
    # The sample is drawn from a locked frame; the synthetic registry was loaded by the centre: lock it as loaded.
    frame_lock(actor=admin, year=year, accept_unreviewed=True)
    return County(
        year=year,
        admin=admin,
        analyst=user_create(actor=None, username="nat_analyst", password="x-pass-2026", role=Role.NATIONAL_ANALYST),
        liaison=user_create(actor=None, username="liaison", password="x-pass-2026", role=Role.COUNTY_LIAISON,
                            region=county_region),
        code=county_region.code,
    )


def draw_students(*, actor: Any, year: int, school_code: str) -> Any:
    """Submit the school's roster (as its county's liaison, on the school's behalf, through the review chain)
    unless it is in, then draw its students."""
    from naeq.accounts.models import User
    from naeq.registry.models import School, Submission, SubmissionKind
    from naeq.registry.services import submission_submit
    from naeq.sampling import services

    school = School.objects.get(code=school_code)
    if not Submission.objects.filter(kind=SubmissionKind.ROSTER, year=year, school=school).exists():
        liaison = User.objects.filter(role=Role.COUNTY_LIAISON, region=school.county).first()
        submission_submit(actor=liaison, kind=SubmissionKind.ROSTER, year=year, school_code=school_code)
    return services.students_draw(actor=actor, year=year, school_code=school_code)
