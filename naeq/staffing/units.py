"""Which units need staff: the sample schools of a county in a cycle, and the county's participation type.

The sample schools are those of the cycle's finished school draw that take part (sampled schools and activated
replacements, not refused or reserve ones).
"""

from __future__ import annotations

from naeq.cycles.models import Cycle
from naeq.registry.models import Region, School
from naeq.sampling.models import RunStatus, SampledCounty, SampledSchool, SchoolParticipation, Stage

TAKING_PART = (SchoolParticipation.PARTICIPATING, SchoolParticipation.PENDING)


def sample_school_ids(cycle: Cycle, county: Region) -> list[int]:
    return list(SampledSchool.objects.filter(
        run__cycle=cycle, run__stage=Stage.SCHOOL, run__status=RunStatus.DONE, county=county,
        participation__in=TAKING_PART).values_list("school_id", flat=True).distinct().order_by("school_id"))


def sample_schools(cycle: Cycle, county: Region) -> list[School]:
    return list(School.objects.filter(pk__in=sample_school_ids(cycle, county)).order_by("code"))


def is_sample_school(cycle: Cycle, school: School) -> bool:
    return SampledSchool.objects.filter(run__cycle=cycle, run__stage=Stage.SCHOOL, run__status=RunStatus.DONE,
                                        school=school, participation__in=TAKING_PART).exists()


def participation_of(cycle: Cycle, county: Region) -> str:
    """The county's participation type (sample / agreement / application); ``sample`` when undrawn."""
    row = SampledCounty.objects.filter(run__cycle=cycle, run__stage=Stage.COUNTY, run__status=RunStatus.DONE,
                                       county=county).first()
    return row.participation if row else "sample"
