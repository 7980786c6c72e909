"""Staffing a school completely, as the county liaison and the school head would (through the services)."""

from __future__ import annotations

from typing import Any

from naeq.staffing import services
from naeq.staffing.config import catalogue_for
from naeq.staffing.models import StaffMember

_counter = {"n": 0}


def phone() -> str:
    _counter["n"] += 1
    return f"139{_counter['n']:08d}"


def person(sw: Any, persona: str, county_key: str, *, name: str, home: Any = None,
           subjects: list[str] | None = None, position: str = "") -> StaffMember:
    return services.person_create(actor=sw.user(persona), county=sw.world.regions[county_key], cycle=sw.cycle,
                                  name=name, gender="男", phone=phone(), home_school=home, position=position,
                                  subjects=subjects or [])


def staff_county_team(sw: Any, p: str = "A") -> None:
    county = sw.world.regions[f"{p}1a"]
    liaison = f"county_liaison@{p}"
    for post in catalogue_for(sw.cycle.year).posts_at("county"):
        for k in range(post.min):
            who = person(sw, liaison, f"{p}1a", name=f"县级{post.name}{k}", position="干部")
            services.assignment_create(actor=sw.user(liaison), cycle=sw.cycle, county=county, post_code=post.code,
                                       person_id=who.pk)


def staff_school(sw: Any, p: str = "A") -> dict[str, list[StaffMember]]:
    """Every post of school P1a-1 filled to its minimum: county-sent posts by the county liaison (people working
    at P1a-2, the inspector at no school), the school's own posts by its head (people working at P1a-1)."""
    county = sw.world.regions[f"{p}1a"]
    school = sw.world.schools[f"{p}1a-1"]
    other = sw.world.schools[f"{p}1a-2"]
    out: dict[str, list[StaffMember]] = {}
    for post in catalogue_for(sw.cycle.year).posts_at("school"):
        if post.sent_by == "county":
            actor, home = f"county_liaison@{p}", (None if post.code == "inspector" else other)
        else:
            actor, home = f"school_head@{p}", school
        for k in range(post.min):
            subjects = ["moral"] if post.code == "chief_proctor" else []
            who = person(sw, actor, f"{p}1a", name=f"{post.name}{k}号", home=home, subjects=subjects)
            services.assignment_create(actor=sw.user(actor), cycle=sw.cycle, county=county, post_code=post.code,
                                       person_id=who.pk, school=school)
            out.setdefault(post.code, []).append(who)
    return out
