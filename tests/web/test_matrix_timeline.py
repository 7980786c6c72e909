"""The authorisation matrix of the 工作进度 pages: every page × every role × {inside, sibling, outside}.

Built on :mod:`tests.web.test_matrix` (personas, expectation shorthands). Every county of the world is a sample
county and every school P?-1 a sample school (tests/timeline/sample.py).

The rules (naeq/timeline/access.py): the unit's own chain roles mark its milestones done and write its report (school
head and information officer; county liaison and information officer; province coordinator); the level above
reviews (county officers their schools, the province coordinator its counties, the national administrator
provinces); city viewers, the national analyst, inspectors and chief proctors read; test takers see nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

import tests.web.test_matrix as m
from naeq.accounts.roles import Role
from tests.personas import World
from tests.timeline.sample import build_sample

OK, REDIRECT, FORBIDDEN, MISSING = m.OK, m.REDIRECT, m.FORBIDDEN, m.MISSING
ALL, TREE, OWN, NONE = m.ALL, m.TREE, m.OWN, m.NONE
by_role = m._by_role
R = Role


@dataclass(frozen=True)
class Page:
    name: str
    url: Callable[[str], str]  # object code -> URL
    obj: str | None  # "region" (a county), "school" or None
    method: str = "GET"
    data: dict[str, Any] | None = None


PAGES = [
    Page("home", lambda _c: "/timeline/", None),
    Page("reviews", lambda _c: "/timeline/reviews/", None),
    Page("unit_county", lambda c: f"/timeline/units/{c}/", "region"),
    Page("unit_school", lambda c: f"/timeline/units/{c}/", "school"),
    Page("submit_school", lambda c: f"/timeline/units/{c}/practice/submit/", "school", "POST", {"note": "已练习"}),
    Page("review_school", lambda c: f"/timeline/units/{c}/practice/review/", "school", "POST",
         {"decision": "approve"}),
    Page("submit_county", lambda c: f"/timeline/units/{c}/staff_lists/submit/", "region", "POST"),
    Page("review_county", lambda c: f"/timeline/units/{c}/staff_lists/review/", "region", "POST",
         {"decision": "return", "reason": "请补充"}),
    Page("report_school", lambda c: f"/timeline/reports/{c}/", "school"),
    Page("report_school_save", lambda c: f"/timeline/reports/{c}/", "school", "POST", {"conduct": "正常"}),
    Page("report_county", lambda c: f"/timeline/reports/{c}/", "region"),
    Page("report_county_save", lambda c: f"/timeline/reports/{c}/", "region", "POST", {"overview": "概况"}),
    Page("report_county_review", lambda c: f"/timeline/reports/{c}/review/", "region", "POST",
         {"decision": "approve"}),
    Page("attachment_add", lambda c: f"/timeline/reports/{c}/attachments/", "school", "POST"),
]

RUN = (REDIRECT, MISSING, MISSING)
OWN_FORBIDDEN = (FORBIDDEN, MISSING, MISSING)
TREE_FORBIDDEN = (FORBIDDEN, FORBIDDEN, MISSING)
NATIONAL_FORBIDDEN = (FORBIDDEN,) * 3
READERS = dict(national=OK, province=OK, city=OK, county=OK, school=OK, taker=MISSING)
WRITERS = {R.SCHOOL_HEAD, R.SCHOOL_INFO_OFFICER}
SCHOOL_READ = by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=OWN, taker=NONE)
COUNTY_READ = by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=NONE, taker=NONE)


def _school_write() -> dict[str, Any]:
    return {**by_role(national=NATIONAL_FORBIDDEN, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN,
                      county=OWN_FORBIDDEN, school=OWN_FORBIDDEN, taker=NONE),
            **{r.value: RUN for r in WRITERS}}


COUNTY_WRITE = by_role(national=NATIONAL_FORBIDDEN, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN, county=RUN,
                       school=NONE, taker=NONE)
COUNTY_REVIEW = by_role(national=NATIONAL_FORBIDDEN, province=(REDIRECT, REDIRECT, MISSING), city=TREE_FORBIDDEN,
                        county=OWN_FORBIDDEN, school=NONE, taker=NONE)

EXPECT: dict[str, dict[str, Any]] = {
    "home": by_role(**READERS),
    "reviews": by_role(**READERS),
    "unit_county": COUNTY_READ,
    "unit_school": SCHOOL_READ,
    "submit_school": _school_write(),
    "review_school": by_role(national=NATIONAL_FORBIDDEN, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN,
                             county=RUN, school=OWN_FORBIDDEN, taker=NONE),
    "submit_county": COUNTY_WRITE,
    "review_county": COUNTY_REVIEW,
    "report_school": SCHOOL_READ,
    "report_school_save": _school_write(),
    "report_county": COUNTY_READ,
    "report_county_save": COUNTY_WRITE,
    "report_county_review": COUNTY_REVIEW,
    "attachment_add": _school_write(),
}


def test_every_timeline_page_has_a_row_for_every_role() -> None:
    assert set(EXPECT) == {p.name for p in PAGES}
    for name, row in EXPECT.items():
        assert set(row) == {r.value for r in Role}, name
        page = next(p for p in PAGES if p.name == name)
        for value in row.values():
            assert isinstance(value, tuple) == (page.obj is not None), name


@pytest.fixture
def sampled(world: World, cycle: Any) -> World:
    build_sample(world, cycle)
    return world


@pytest.mark.parametrize("page_name", [p.name for p in PAGES])
def test_timeline_matrix(client: Client, sampled: World, page_name: str) -> None:
    world = sampled
    page = next(p for p in PAGES if p.name == page_name)
    names = {k: s.name for k, s in world.schools.items()}
    for role in Role:
        for p in ("A", "B"):
            persona = f"{role.value}@{p}"
            client.force_login(world.users[persona])
            expected = EXPECT[page_name][role.value]
            targets: list[tuple[str, int]]
            if page.obj is None:
                targets = [("", expected)]
            else:
                targets = [(m._object_code(world, page.obj, p, where), status)
                           for where, status in zip(m.WHERE, expected, strict=True)]
            visible = m.visible_school_keys(role.value, p)
            for code, status in targets:
                url = page.url(code)
                response = client.post(url, page.data or {}) if page.method == "POST" else client.get(url)
                assert response.status_code == status, (persona, page_name, url, response.status_code)
                if status == OK:
                    body = response.content.decode()
                    for key, name in names.items():
                        if key not in visible:
                            assert name not in body, (persona, page_name, key)


def test_anonymous_goes_to_login(client: Client, sampled: World) -> None:
    school = sampled.schools["A1a-1"].code
    for url in ("/timeline/", "/timeline/reviews/", f"/timeline/units/{school}/", f"/timeline/reports/{school}/"):
        response = client.get(url)
        assert response.status_code == REDIRECT and "/login/" in response.url, url
    assert client.post(f"/timeline/units/{school}/practice/submit/").status_code == REDIRECT
