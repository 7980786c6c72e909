"""Demo staff lists: county teams and school staff for the demo's sample counties, with a realistic few faults.

Names are generated (a surname and one or two given-name characters drawn with the seed); phone numbers are
generated 139… numbers; no real person appears. The mix, county by county in code order:

* most counties: complete county team and complete school staff;
* in the first county: one school short of a custodian (保密员 2人), one chief proctor from his own school
  ("由非本校的教务（教导）主任担任"), one chief proctor who teaches mathematics (a tested subject), one person both
  custodian and proctor on the first test day;
* the last county (when there are three or more): only the county team so far — a county that is late.

Everything is written through :mod:`naeq.staffing.services` (validated and audited, as the system).
"""

from __future__ import annotations

import numpy as np
from django.db import transaction

from naeq.cycles.models import Cycle
from naeq.registry.models import Region, School
from naeq.sampling.models import RunStatus, SampledCounty, Stage
from naeq.staffing.models import StaffAssignment, StaffMember
from naeq.staffing.services import assignment_add_system, person_add_system, test_days
from naeq.staffing.units import sample_schools

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢"
GIVEN = "子涵欣怡梓轩浩然雨桐思远嘉怡俊杰文静志强丽娟建华秀英海燕明辉晓东春梅国庆玉兰永刚红霞"
MAX_COUNTIES = 8
#: Posts a school arranges itself, with how many people (from the catalogue's counts) and what they do.
SCHOOL_OWN: tuple[tuple[str, int, str, list[str]], ...] = (
    ("proctor", 2, "教师", ["chinese"]), ("pe_proctor_school", 2, "体育教师", ["pe"]),
              ("custodian", 2, "办公室职员", []), ("school_info_officer", 1, "计算机教师", []),
              ("timekeeper", 1, "教务处干事", []), ("medical", 1, "校医", []), ("security", 2, "保安", []))
COUNTY_TEAM = (("county_leader", "分管副县长"), ("county_deputy", "教育局局长"), ("county_liaison", "督导室主任"),
               ("county_info_officer", "电教站干部"))


class _People:
    def __init__(self, cycle: Cycle, county: Region, rng: np.random.Generator) -> None:
        self.cycle, self.county, self.rng = cycle, county, rng

    def new(self, *, position: str, home: School | None = None, subjects: list[str] | None = None) -> StaffMember:
        for _attempt in range(20):
            n = int(self.rng.integers(1, 3))
            name = SURNAMES[int(self.rng.integers(len(SURNAMES)))] + "".join(
                GIVEN[int(self.rng.integers(len(GIVEN)))] for _ in range(n))
            phone = "139" + "".join(str(int(d)) for d in self.rng.integers(0, 10, size=8))
            if not StaffMember.objects.filter(county=self.county, name=name, phone=phone).exists():
                break
        last4 = f"{int(self.rng.integers(0, 1000)):03d}" + "0123456789X"[int(self.rng.integers(11))]
        return person_add_system(county=self.county, cycle=self.cycle, name=name,
                                 gender="MF"[int(self.rng.integers(2))], phone=phone, id_last4=last4,
                                 home_school=home, position=position, subjects=subjects or [])


def _staff_county(cycle: Cycle, county: Region, rng: np.random.Generator, *, faults: bool, team_only: bool) -> None:
    people = _People(cycle, county, rng)
    for post, position in COUNTY_TEAM:
        assignment_add_system(cycle=cycle, county=county, post_code=post, person=people.new(position=position))
    if team_only:
        return
    schools = sample_schools(cycle, county)
    days = test_days(cycle, county)
    for i, school in enumerate(schools):
        others = [s for s in schools if s.pk != school.pk]
        other = others[i % len(others)] if others else None
        # County-sent posts.
        assignment_add_system(cycle=cycle, county=county, post_code="inspector", school=school,
                              person=people.new(position="责任督学"))
        own_school_chief = faults and i == 2
        maths_chief = faults and i == 0
        # With no other sample school in the county, the chief proctor comes from the county's teaching-research
        # office (no school): still "非本校".
        chief = people.new(position="教务主任", home=school if own_school_chief else other,
                           subjects=["math"] if maths_chief else ["moral"])
        assignment_add_system(cycle=cycle, county=county, post_code="chief_proctor", school=school, person=chief)
        for _k in range(2):
            assignment_add_system(cycle=cycle, county=county, post_code="pe_proctor_county", school=school,
                                  person=people.new(position="体育教师", home=other, subjects=["pe"]))
        # The school's own posts.
        for post, count, position, subjects in SCHOOL_OWN:
            if faults and i == 1 and post == "custodian":
                count -= 1  # one school short of a custodian
            for _k in range(count):
                person = people.new(position=position, home=school, subjects=subjects)
                assignment_add_system(cycle=cycle, county=county, post_code=post, school=school, person=person)
        if faults and i == 0 and days:
            custodian = (StaffAssignment.objects.filter(cycle=cycle, school=school, post="custodian")
                         .select_related("person").first())
            if custodian is not None:
                assignment_add_system(cycle=cycle, county=county, post_code="proctor", school=school,
                                      person=custodian.person, day=days[0])


def demo_staffing(cycle: Cycle, *, seed: int) -> None:
    """Fill staff lists for up to eight sample counties of ``cycle`` (idempotent: counties with staff are kept)."""
    rng = np.random.default_rng(seed)
    counties = [c.county for c in SampledCounty.objects.filter(
        run__cycle=cycle, run__stage=Stage.COUNTY, run__status=RunStatus.DONE).select_related("county")
        .order_by("county__code")[:MAX_COUNTIES]]
    counties = [c for c in counties if sample_schools(cycle, c)] or counties
    for i, county in enumerate(counties):
        if StaffAssignment.objects.filter(cycle=cycle, county=county).exists():
            continue
        with transaction.atomic():
            _staff_county(cycle, county, rng, faults=i == 0,
                          team_only=len(counties) >= 3 and i == len(counties) - 1)


__all__ = ["demo_staffing"]
