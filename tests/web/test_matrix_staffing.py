"""The authorisation matrix of the 实施人员 pages: every page × every role × {inside, sibling, outside}.

Built on :mod:`tests.web.test_matrix` (personas, expectation shorthands). Objects, for a persona of province P:
county P1a / P1b / Q1a, school P1a-1 / P1b-1 / Q1a-1 (all sample schools), a person working at that school, and a
custodian's post at that school (school-arranged) — the destructive pages get a fresh object on every request.

The rules (naeq/staffing/access.py): the county's liaison and information officer edit the county team and the
posts the county sends to its schools (2024-nanchang-city-plan.txt: "县级实施工作领导小组按照要求为各样本校选派责任
督学、主监测员"); the school's head and information officer its own posts and the people working there; badges are
printed by the county ("各类胸牌由县级实施工作领导小组统一制作并配发"); national, province and city staff read (city
read-only), the inspector and chief proctor read their school; test takers see nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
from django.test import Client

import tests.web.test_matrix as m
from naeq.accounts.roles import Role
from naeq.staffing.models import StaffAssignment, StaffMember
from tests.personas import World
from tests.staffing.conftest import build_staffing_sample

OK, REDIRECT, FORBIDDEN, MISSING = m.OK, m.REDIRECT, m.FORBIDDEN, m.MISSING
ALL, TREE, OWN, NONE = m.ALL, m.TREE, m.OWN, m.NONE
by_role = m._by_role
R = Role
RUN = (REDIRECT, MISSING, MISSING)
OWN_FORBIDDEN = (FORBIDDEN, MISSING, MISSING)
TREE_FORBIDDEN = (FORBIDDEN, FORBIDDEN, MISSING)
SCHOOL_EDITORS = {R.SCHOOL_HEAD, R.SCHOOL_INFO_OFFICER}
_n = count(1)


@dataclass(frozen=True)
class Page:
    name: str
    url: Callable[[Any], str]
    obj: str | None  # "county", "school", "person", "fresh_person", "assignment" or None
    method: str = "GET"
    data: Callable[[Any], dict[str, Any]] | None = None


def _person_data(p: Any) -> dict[str, Any]:
    return {"name": p.name, "gender": "F", "phone": p.phone, "home_school": p.home_school.code,
            "position": "教师"}


PAGES = [
    Page("home", lambda _o: "/staffing/", None),
    Page("template", lambda _o: "/staffing/template.xlsx", None),
    Page("county", lambda c: f"/staffing/counties/{c.code}/", "county"),
    Page("county_xlsx", lambda c: f"/staffing/counties/{c.code}/staff.xlsx", "county"),
    Page("county_pdf", lambda c: f"/staffing/counties/{c.code}/staff.pdf", "county"),
    Page("county_badges", lambda c: f"/staffing/counties/{c.code}/badges.pdf", "county"),
    Page("import", lambda c: f"/staffing/counties/{c.code}/import/", "county"),
    Page("person_add", lambda c: f"/staffing/counties/{c.code}/people/", "county", "POST",
         lambda _c: {"name": "新增人员", "gender": "M", "phone": f"137{next(_n):08d}"}),
    Page("assign", lambda c: f"/staffing/counties/{c.code}/assign/", "county", "POST",
         lambda c: {"post": "county_deputy",
                    "person": str(StaffMember.objects.filter(county=c).values_list("pk", flat=True).first())}),
    Page("school", lambda s: f"/staffing/schools/{s.code}/", "school"),
    Page("school_xlsx", lambda s: f"/staffing/schools/{s.code}/staff.xlsx", "school"),
    Page("school_badges", lambda s: f"/staffing/schools/{s.code}/badges.pdf", "school"),
    Page("person", lambda p: f"/staffing/people/{p.pk}/", "person"),
    Page("person_edit", lambda p: f"/staffing/people/{p.pk}/", "person", "POST", _person_data),
    Page("person_delete", lambda p: f"/staffing/people/{p.pk}/delete/", "fresh_person", "POST"),
    Page("unassign", lambda a: f"/staffing/assignments/{a.pk}/delete/", "assignment", "POST"),
]

REGION_READ = dict(national=ALL, province=TREE, city=TREE, county=OWN, taker=NONE)
COUNTY_WRITE = dict(national=(FORBIDDEN,) * 3, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN, county=RUN,
                    taker=NONE)


def _school_editors(editor: tuple[int, ...], other: tuple[int, ...], **groups: Any) -> dict[str, Any]:
    return {**by_role(**groups, school=other), **{r.value: editor for r in SCHOOL_EDITORS}}


EXPECT: dict[str, dict[str, Any]] = {
    "home": by_role(national=OK, province=OK, city=OK, county=OK, school=REDIRECT, taker=MISSING),
    "template": by_role(national=OK, province=OK, city=OK, county=OK, school=OK, taker=MISSING),
    "county": by_role(**REGION_READ, school=NONE),
    "county_xlsx": by_role(**REGION_READ, school=NONE),
    "county_pdf": by_role(**REGION_READ, school=NONE),
    "county_badges": by_role(**{**COUNTY_WRITE, "county": (OK, MISSING, MISSING)}, school=NONE),
    "import": _school_editors((OK, MISSING, MISSING), OWN_FORBIDDEN,
                              **{**COUNTY_WRITE, "county": (OK, MISSING, MISSING)}),
    # A school head adds people working at their school only: a person without a school is refused.
    "person_add": by_role(**COUNTY_WRITE, school=OWN_FORBIDDEN),
    # The county team is the county's: school staff may see the county's people but not assign them.
    "assign": by_role(**COUNTY_WRITE, school=OWN_FORBIDDEN),
    "school": by_role(**REGION_READ, school=OWN),
    "school_xlsx": by_role(**REGION_READ, school=OWN),
    "school_badges": by_role(**{**COUNTY_WRITE, "county": (OK, MISSING, MISSING)}, school=OWN_FORBIDDEN),
    "person": by_role(**REGION_READ, school=OWN),
    "person_edit": _school_editors(RUN, OWN_FORBIDDEN, **COUNTY_WRITE),
    "person_delete": _school_editors(RUN, OWN_FORBIDDEN, **COUNTY_WRITE),
    # A custodian is arranged by the school: county officers see it but may not remove it.
    "unassign": _school_editors(RUN, OWN_FORBIDDEN,
                                **{**COUNTY_WRITE, "county": OWN_FORBIDDEN}),
}


def test_every_staffing_page_has_a_row_for_every_role() -> None:
    assert set(EXPECT) == {p.name for p in PAGES}
    for name, row in EXPECT.items():
        assert set(row) == {r.value for r in Role}, name
        page = next(p for p in PAGES if p.name == name)
        for value in row.values():
            assert isinstance(value, tuple) == (page.obj is not None), name


def _fresh_person(world: World, key: str) -> StaffMember:
    school = world.schools[f"{key}-1"]
    return StaffMember.objects.create(county=school.county, path=school.path, name=f"人员{next(_n)}", gender="M",
                                      phone=f"138{next(_n):08d}", home_school=school)


@pytest.fixture
def objects(world: World, cycle: Any) -> dict[str, Callable[[str], Any]]:
    build_staffing_sample(world, cycle)
    people = {key: _fresh_person(world, key) for key in ("A1a", "A1b", "B1a", "B1b")}

    def assignment(key: str) -> StaffAssignment:
        school = world.schools[f"{key}-1"]
        n = next(_n)
        return StaffAssignment.objects.create(cycle=cycle, post="custodian", county=school.county, path=school.path,
                                              school=school, person=people[key], badge_no=f"T-{n}")

    return {"county": lambda k: world.regions[k], "school": lambda k: world.schools[f"{k}-1"],
            "person": lambda k: people[k], "fresh_person": lambda k: _fresh_person(world, k),
            "assignment": assignment}


@pytest.mark.parametrize("page_name", [p.name for p in PAGES])
def test_staffing_matrix(client: Client, world: World, objects: dict[str, Callable[[str], Any]],
                         page_name: str) -> None:
    page = next(p for p in PAGES if p.name == page_name)
    m.check_page(client, world, name=page_name, expect=EXPECT[page_name], url=page.url,
                 obj_for=None if page.obj is None else objects[page.obj],
                 post=(lambda o: page.data(o) if page.data else {}) if page.method == "POST" else None,
                 names_checked=lambda r: r["Content-Type"].startswith("text/html"))


def test_anonymous_staffing_pages_go_to_login(client: Client, world: World,
                                              objects: dict[str, Callable[[str], Any]]) -> None:
    county, school = objects["county"]("A1a"), objects["school"]("A1a")
    for url in ("/staffing/", f"/staffing/counties/{county.code}/", f"/staffing/schools/{school.code}/",
                f"/staffing/counties/{county.code}/import/", "/staffing/template.xlsx"):
        response = client.get(url)
        assert response.status_code == REDIRECT and "/login/" in response.url, url
    a = objects["assignment"]("A1a")
    assert client.post(f"/staffing/assignments/{a.pk}/delete/").status_code == REDIRECT
    assert StaffAssignment.objects.filter(pk=a.pk).exists()
