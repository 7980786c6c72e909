"""The authorisation matrix of the session pages: every page × every role × {inside, sibling, outside}.

Built on :mod:`tests.web.test_matrix` (personas, expectation shorthands). One test per page loops over the 28
personas. The objects: a formal student session at school P1a-1 and P1b-1 of both provinces, a county manager
session in counties P1a and P1b, and a teacher with a locked pick and a pending reset request at the same schools.

The rules (naeq/delivery/access.py): the school's head, information officer and chief proctor run its sessions;
the inspector (责任督学) supervises and records incidents; county officers run county sessions and read their
schools'; province, city and nation read; only the school's information officer files a reset for a teacher;
county officers, the province coordinator and the national administrator decide resets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

import tests.web.test_matrix as m
from naeq.accounts.roles import Role
from naeq.delivery.models import Respondent, RoleResetRequest
from tests.delivery.factories import make_session, make_taker
from tests.personas import World

OK, REDIRECT, FORBIDDEN, MISSING = m.OK, m.REDIRECT, m.FORBIDDEN, m.MISSING
ALL, TREE, OWN, NONE = m.ALL, m.TREE, m.OWN, m.NONE
by_role = m._by_role
R = Role


@dataclass(frozen=True)
class Page:
    name: str
    url: Callable[[Any], str]  # object (or None) -> URL
    obj: str | None  # "session", "county_session", "reset", "teacher" or None
    method: str = "GET"
    data: dict[str, Any] | None = None


PAGES = [
    Page("taker_signin", lambda _o: "/t/", None),
    Page("list", lambda _o: "/sessions/", None),
    Page("completion", lambda _o: "/sessions/completion/", None),
    Page("resets", lambda _o: "/sessions/resets/", None),
    Page("practice_new", lambda _o: "/sessions/practice/new/", None),
    Page("detail", lambda o: f"/sessions/{o.pk}/", "session"),
    Page("open", lambda o: f"/sessions/{o.pk}/open/", "session", "POST"),
    Page("close", lambda o: f"/sessions/{o.pk}/close/", "session", "POST"),
    Page("times", lambda o: f"/sessions/{o.pk}/times/", "session", "POST", {"actual_start": "2024-05-22 08:31"}),
    Page("incident", lambda o: f"/sessions/{o.pk}/incidents/", "session", "POST",
         {"category": "power", "grade": "1", "description": "短暂停电"}),
    Page("key", lambda o: f"/sessions/{o.pk}/key/", "session", "POST"),
    Page("credentials", lambda o: f"/sessions/{o.pk}/credentials/", "session"),
    Page("county_detail", lambda o: f"/sessions/{o.pk}/", "county_session"),
    Page("county_open", lambda o: f"/sessions/{o.pk}/open/", "county_session", "POST"),
    Page("reset_decide", lambda o: f"/sessions/resets/{o.pk}/decide/", "reset", "POST", {"decision": "reject"}),
    Page("reset_file", lambda o: f"/sessions/takers/{o.pk}/reset/", "teacher", "POST", {"reason": "选错了"}),
]

RUN = (REDIRECT, MISSING, MISSING)
OWN_FORBIDDEN = (FORBIDDEN, MISSING, MISSING)
TREE_FORBIDDEN = (FORBIDDEN, FORBIDDEN, MISSING)
RUNNERS = {R.SCHOOL_HEAD, R.SCHOOL_INFO_OFFICER, R.CHIEF_PROCTOR}
REGION_ONLY = dict(national=OK, province=OK, city=OK, county=OK, school=MISSING, taker=MISSING)


def _school_write(runner: tuple[int, ...], inspector: tuple[int, ...]) -> dict[str, Any]:
    return {**by_role(national=(FORBIDDEN,) * 3, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN, county=OWN_FORBIDDEN,
                      taker=NONE),
            **{r.value: runner for r in RUNNERS}, R.INSPECTOR.value: inspector}


EXPECT: dict[str, dict[str, Any]] = {
    "taker_signin": by_role(national=OK, province=OK, city=OK, county=OK, school=OK, taker=OK),
    "list": by_role(national=OK, province=OK, city=OK, county=OK, school=OK, taker=MISSING),
    "completion": by_role(**REGION_ONLY),
    "resets": by_role(**REGION_ONLY),
    "practice_new": {**by_role(national=MISSING, province=MISSING, city=MISSING, county=MISSING, taker=MISSING),
                     **{r.value: OK for r in RUNNERS}, R.INSPECTOR.value: FORBIDDEN},
    "detail": by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=OWN, taker=NONE),
    "open": _school_write(RUN, OWN_FORBIDDEN),
    "close": _school_write(RUN, OWN_FORBIDDEN),
    "times": _school_write(RUN, OWN_FORBIDDEN),
    "incident": _school_write(RUN, RUN),
    "key": _school_write(RUN, OWN_FORBIDDEN),
    "credentials": _school_write((OK, MISSING, MISSING), OWN_FORBIDDEN),
    "county_detail": by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=NONE, taker=NONE),
    "county_open": by_role(national=(FORBIDDEN,) * 3, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN, county=RUN,
                           school=NONE, taker=NONE),
    "reset_decide": by_role(national_admin=(REDIRECT,) * 3, national_analyst=(FORBIDDEN,) * 3,
                            province=(REDIRECT, REDIRECT, MISSING), city=TREE_FORBIDDEN, county=RUN,
                            school=OWN_FORBIDDEN, taker=NONE),
    "reset_file": {**by_role(national=(FORBIDDEN,) * 3, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN,
                             county=OWN_FORBIDDEN, school=OWN_FORBIDDEN, taker=NONE),
                   R.SCHOOL_INFO_OFFICER.value: RUN},
}


def test_every_session_page_has_a_row_for_every_role() -> None:
    assert set(EXPECT) == {p.name for p in PAGES}
    for name, row in EXPECT.items():
        assert set(row) == {r.value for r in Role}, name
        page = next(p for p in PAGES if p.name == name)
        for value in row.values():
            assert isinstance(value, tuple) == (page.obj is not None), name


@pytest.fixture
def objects(world: World, cycle: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {"session": {}, "county_session": {}, "reset": {}, "teacher": {}}
    for key in ("A1a", "A1b", "B1a", "B1b"):
        school = world.schools[f"{key}-1"]
        out["session"][key] = make_session(cycle, school, instruments=["math"], status="scheduled",
                                           title=f"学生数学测试{key}")
        county = make_session(cycle, school, instruments=["county_manager_questionnaire"], status="scheduled",
                              respondent=Respondent.COUNTY_MANAGER, grade=None, title=f"县级问卷{key}")
        county.school = None
        county.level = "county"
        county.save(update_fields=["school", "level"])
        out["county_session"][key] = county
        make_taker(cycle, school, f"{school.code}00{key[0]}", grade=4)  # a student of the session
        teacher = make_taker(cycle, school, f"{school.code}T001", kind=Respondent.TEACHER, grade=4)
        teacher.roles, teacher.roles_locked = ["subject:math"], True
        teacher.save(update_fields=["roles", "roles_locked"])
        out["teacher"][key] = teacher
        out["reset"][key] = RoleResetRequest.objects.create(test_taker=teacher, roles_before=teacher.roles,
                                                            reason="选错了")
    return out


@pytest.mark.parametrize("page_name", [p.name for p in PAGES])
def test_sessions_matrix(client: Client, world: World, objects: dict[str, dict[str, Any]], page_name: str) -> None:
    page = next(p for p in PAGES if p.name == page_name)
    m.check_page(client, world, name=page_name, expect=EXPECT[page_name], url=page.url,
                 obj_for=None if page.obj is None else objects[page.obj].__getitem__,
                 post=(lambda _o: page.data or {}) if page.method == "POST" else None,
                 names_checked=lambda _r: page_name != "taker_signin")


def test_anonymous_staff_pages_go_to_login(client: Client, world: World,
                                           objects: dict[str, dict[str, Any]]) -> None:
    s = objects["session"]["A1a"]
    for url in ("/sessions/", f"/sessions/{s.pk}/", "/sessions/completion/", "/sessions/resets/"):
        response = client.get(url)
        assert response.status_code == REDIRECT and "/login/" in response.url, url
    assert client.post(f"/sessions/{s.pk}/open/").status_code == REDIRECT
    assert objects["session"]["A1a"].status == "scheduled"
