"""The units a cycle's timeline is kept for: the sample schools, the sample counties and their provinces.

A sample school is one of the active school run whose participation the county has confirmed (参加): until then it
may still be replaced, so pending (待确认) and refused schools and unused reserves have no timeline. A sample county
is one of the active county run; a province is a province holding at least one sample county.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from naeq.cycles.models import Cycle
from naeq.registry.models import Region, School
from naeq.sampling.models import SampledCounty, SampledSchool, SchoolParticipation, Stage
from naeq.sampling.selectors import active_run

SCHOOL_TAKES_PART = (SchoolParticipation.PARTICIPATING,)


@dataclass(frozen=True)
class Unit:
    level: str  # school / county / province
    code: str  # school code (10 digits) or region code (6 digits)
    name: str
    region: Region  # the county for school and county units, the province for a province unit
    school: School | None
    path: str  # the region's path (for a school: its county's)

    @property
    def key(self) -> tuple[int, int | None]:
        return (self.region.pk, self.school.pk if self.school else None)

    @property
    def parent_path(self) -> str:
        """The path of the unit one level up (a school's county, a county's province)."""
        if self.level == "school":
            return self.path
        parts = self.path.split("/")
        return parts[0] + "/" if self.level == "county" else ""


@dataclass(frozen=True)
class Units:
    provinces: list[Unit]
    counties: list[Unit]
    schools: list[Unit]

    def all(self) -> list[Unit]:
        return [*self.provinces, *self.counties, *self.schools]

    def by_code(self, code: str) -> Unit | None:
        return next((u for u in self.all() if u.code == code), None)

    def filter(self, keep: Callable[[Unit], bool]) -> Units:
        return Units(provinces=[u for u in self.provinces if keep(u)],
                     counties=[u for u in self.counties if keep(u)],
                     schools=[u for u in self.schools if keep(u)])


def sample_units(cycle: Cycle, *, path: str = "") -> Units:
    """Every unit of ``cycle`` whose path starts with ``path`` (three queries)."""
    counties: list[Unit] = []
    run = active_run(cycle, Stage.COUNTY)
    if run is not None:
        for row in (SampledCounty.objects.filter(run=run, path__startswith=path).select_related("county")
                    .order_by("county__code")):
            c = row.county
            counties.append(Unit(level="county", code=c.code, name=c.name, region=c, school=None, path=c.path))
    schools: list[Unit] = []
    srun = active_run(cycle, Stage.SCHOOL)
    county_by_id = {u.region.pk: u.region for u in counties}
    if srun is not None:
        seen: set[int] = set()
        for s in (SampledSchool.objects.filter(run=srun, path__startswith=path, participation__in=SCHOOL_TAKES_PART)
                  .select_related("school").order_by("school__code")):
            if s.school_id in seen or s.county_id not in county_by_id:
                continue
            seen.add(s.school_id)
            schools.append(Unit(level="school", code=s.school.code, name=s.school.name,
                                region=county_by_id[s.county_id], school=s.school, path=s.school.path))
    province_codes = sorted({u.path.split("/")[0] for u in counties})
    provinces = [Unit(level="province", code=r.code, name=r.name, region=r, school=None, path=r.path)
                 for r in Region.objects.filter(code__in=province_codes, level="province").order_by("code")]
    return Units(provinces=provinces, counties=counties, schools=schools)
