"""Named personas with stated rights, shared by every access test (STYLE.md: healthchecks personas).

Two provinces, A (code 31) and B (code 44), each with one city (A1 = 3101, B1 = 4401) holding two counties
(A1a = 310101, A1b = 310102; B1a = 440101, B1b = 440102), and schools in each county. Every role has one persona
anchored in province A's tree (at A, A1, A1a or school A1a-1 as its level requires) and a twin in province B.

"Inside" objects for a persona are those in its own subtree; the matrix also probes objects in the sibling county
A1b (inside for the province and city personas, outside for county and school personas) and in province B.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from naeq.accounts.roles import Role
from naeq.accounts.services import user_create
from naeq.registry.models import Region, RegionLevel, School, SchoolLevel

PASSWORD = "persona-pass-2026"


@dataclass
class World:
    regions: dict[str, Region]
    schools: dict[str, School]
    users: dict[str, Any]  # persona name -> User, e.g. "county_liaison@A", "county_liaison@B"


def _region(code: str, name: str, level: str, parent: Region | None) -> Region:
    return Region.objects.create(code=code, name=name, level=level, parent=parent,
                                 path=Region.path_for(code, parent.path if parent else None))


def _school(code: str, name: str, county: Region, level: str = SchoolLevel.NINE_YEAR) -> School:
    return School.objects.create(code=code, name=name, county=county, path=county.path, level=level,
                                 urban_rural="121", g4_enrollment=45, g4_classes=1,
                                 g8_enrollment=60 if level != SchoolLevel.PRIMARY else 0,
                                 g8_classes=2 if level != SchoolLevel.PRIMARY else 0)


ANCHOR = {  # role -> which object of a province's tree it is anchored at
    Role.NATIONAL_ADMIN: None, Role.NATIONAL_ANALYST: None,
    Role.PROVINCE_COORDINATOR: "province", Role.CITY_VIEWER: "city",
    Role.COUNTY_LIAISON: "county", Role.COUNTY_INFO_OFFICER: "county", Role.COUNTY_MANAGER: "county",
    Role.SCHOOL_HEAD: "school", Role.SCHOOL_INFO_OFFICER: "school", Role.INSPECTOR: "school",
    Role.CHIEF_PROCTOR: "school", Role.STUDENT: "school", Role.TEACHER: "school", Role.PRINCIPAL: "school",
    Role.RATER: "province",
}


def build_world() -> World:
    regions: dict[str, Region] = {}
    schools: dict[str, School] = {}
    for p, pcode, pname in (("A", "31", "甲省"), ("B", "44", "乙省")):
        prov = regions[p] = _region(f"{pcode}0000", pname, RegionLevel.PROVINCE, None)
        city = regions[f"{p}1"] = _region(f"{pcode}0100", f"{pname}一市", RegionLevel.CITY, prov)
        for c, ccode in (("a", "01"), ("b", "02")):
            county = regions[f"{p}1{c}"] = _region(f"{pcode}01{ccode}", f"{pname}一市{c}县",
                                                   RegionLevel.COUNTY, city)
            for i in (1, 2):
                schools[f"{p}1{c}-{i}"] = _school(f"1{pcode}01{ccode}00{i}", f"{county.name}第{i}学校", county)
    users: dict[str, Any] = {}
    for p in ("A", "B"):
        for role, anchor in ANCHOR.items():
            name = f"{role.value}@{p}"
            if anchor is None:
                if p == "B":
                    users[name] = users[f"{role.value}@A"]
                    continue
                kwargs: dict[str, Any] = {}
            elif anchor == "school":
                kwargs = {"school": schools[f"{p}1a-1"]}
            else:
                kwargs = {"region": regions[{"province": p, "city": f"{p}1", "county": f"{p}1a"}[anchor]]}
            users[name] = user_create(actor=None, username=name.replace("@", "_").lower(), password=PASSWORD,
                                      role=role, **kwargs)
    return World(regions=regions, schools=schools, users=users)
