"""The authorisation matrix of the incident and hotline pages: every page × every role × {inside, sibling,
outside}, built on :mod:`tests.web.test_matrix` (personas, expectation shorthands).

Objects, per county P1a / P1b / Q1a: a grade-1 case at the county's first school (from a session incident), a
formal session yesterday there (so it is a test day), a filed incident report form, and a report-of-violation
hotline call.

The rules (naeq/incidents/access.py): school writers (head, information officer, inspector, chief proctor) act on
their school's cases, county officers, the province coordinator and the national administrator in their region;
city viewers and the national analyst read only. Report forms are filed by the school head and information officer
and collected by county officers. The hotline is kept by county officers, read by city, province and nation, and
not shown to schools.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

import tests.web.test_matrix as m
from naeq.accounts.roles import Role
from naeq.delivery.models import Incident
from naeq.incidents.models import HotlineCall, IncidentCase, IncidentReport
from tests.delivery.factories import make_session
from tests.personas import World

OK, REDIRECT, FORBIDDEN, MISSING = m.OK, m.REDIRECT, m.FORBIDDEN, m.MISSING
ALL, TREE, OWN, NONE = m.ALL, m.TREE, m.OWN, m.NONE
by_role = m._by_role
R = Role


@dataclass(frozen=True)
class Page:
    name: str
    url: Callable[[Any], str]
    obj: str | None  # "case", "school_day", "report", "call" or None
    method: str = "GET"
    data: dict[str, Any] | None = None


PAGES = [
    Page("list", lambda _o: "/incidents/?grade=1", None),
    Page("notices", lambda _o: "/incidents/notices/", None),
    Page("reports", lambda _o: "/incidents/reports/", None),
    Page("new", lambda _o: "/incidents/new/", None),
    Page("hotline", lambda _o: "/incidents/hotline/", None),
    Page("hotline_export", lambda _o: "/incidents/hotline.xlsx", None),
    Page("reports_export", lambda _o: "/incidents/reports.xlsx", None),
    Page("hotline_new", lambda _o: "/incidents/hotline/new/", None),
    Page("detail", lambda o: f"/incidents/{o.pk}/", "case"),
    Page("log", lambda o: f"/incidents/{o.pk}/log/", "case", "POST", {"text": "已处置"}),
    Page("escalate", lambda o: f"/incidents/{o.pk}/escalate/", "case", "POST",
         {"to_level": "province", "reason": "需上级指示"}),
    Page("close", lambda o: f"/incidents/{o.pk}/close/", "case", "POST", {"summary": "已处置完毕"}),
    Page("report_get", lambda o: f"/incidents/reports/{o[0]}/{o[1]}/", "school_day"),
    Page("report_post", lambda o: f"/incidents/reports/{o[0]}/{o[1]}/", "school_day", "POST",
         {"no_incident": "", "handling": "停电已处置", "signed_by": "校长甲"}),
    Page("report_collect", lambda o: f"/incidents/reports/{o.pk}/collect/", "report", "POST"),
    Page("call_detail", lambda o: f"/incidents/hotline/{o.pk}/", "call"),
    Page("call_handle", lambda o: f"/incidents/hotline/{o.pk}/", "call", "POST", {"result": "已回复"}),
    Page("call_case", lambda o: f"/incidents/hotline/{o.pk}/case/", "call", "POST",
         {"category": "other", "grade": "1"}),
]

OWN_WRITE = (REDIRECT, MISSING, MISSING)
OWN_FORBIDDEN = (FORBIDDEN, MISSING, MISSING)
TREE_FORBIDDEN = (FORBIDDEN, FORBIDDEN, MISSING)
STAFF_ONLY = dict(national=OK, province=OK, city=OK, county=OK, school=OK, taker=MISSING)
CASE_WRITE = by_role(national_admin=(REDIRECT,) * 3, national_analyst=(FORBIDDEN,) * 3,
                     province=(REDIRECT, REDIRECT, MISSING), city=TREE_FORBIDDEN, county=OWN_WRITE,
                     school=OWN_WRITE, taker=NONE)
HOTLINE_WRITE = by_role(national=(FORBIDDEN,) * 3, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN, county=OWN_WRITE,
                        school=NONE, taker=NONE)

EXPECT: dict[str, dict[str, Any]] = {
    "list": by_role(**STAFF_ONLY),
    "notices": by_role(**STAFF_ONLY),
    "reports": by_role(**STAFF_ONLY),
    "new": by_role(national_admin=OK, national_analyst=FORBIDDEN, province=OK, city=FORBIDDEN, county=OK,
                   school=OK, taker=MISSING),
    "hotline": by_role(national=OK, province=OK, city=OK, county=OK, school=MISSING, taker=MISSING),
    "hotline_export": by_role(national=OK, province=OK, city=OK, county=OK, school=MISSING, taker=MISSING),
    "reports_export": by_role(**STAFF_ONLY),
    "hotline_new": by_role(national=FORBIDDEN, province=FORBIDDEN, city=FORBIDDEN, county=OK, school=MISSING,
                           taker=MISSING),
    "detail": by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=OWN, taker=NONE),
    "log": CASE_WRITE,
    "escalate": CASE_WRITE,
    "close": CASE_WRITE,
    "report_get": by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=OWN, taker=NONE),
    "report_post": {**by_role(national=(FORBIDDEN,) * 3, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN,
                              county=OWN_FORBIDDEN, school=OWN_FORBIDDEN, taker=NONE),
                    R.SCHOOL_HEAD.value: OWN_WRITE, R.SCHOOL_INFO_OFFICER.value: OWN_WRITE},
    "report_collect": by_role(national=(FORBIDDEN,) * 3, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN,
                              county=OWN_WRITE, school=NONE, taker=NONE),  # the form is of school P1a-2
    "call_detail": by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=NONE, taker=NONE),
    "call_handle": HOTLINE_WRITE,
    "call_case": HOTLINE_WRITE,
}


def test_every_incident_page_has_a_row_for_every_role() -> None:
    assert set(EXPECT) == {p.name for p in PAGES}
    for name, row in EXPECT.items():
        assert set(row) == {r.value for r in Role}, name
        page = next(p for p in PAGES if p.name == name)
        for value in row.values():
            assert isinstance(value, tuple) == (page.obj is not None), name


@pytest.fixture
def objects(world: World, cycle: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {"case": {}, "school_day": {}, "report": {}, "call": {}}
    yesterday = timezone.now() - dt.timedelta(days=1)
    for key in ("A1a", "A1b", "B1a", "B1b"):
        school = world.schools[f"{key}-1"]
        session = make_session(cycle, school, instruments=["math"], starts_at=yesterday, status="closed",
                               title=f"学生数学测试{key}")
        incident = Incident.objects.create(session=session, category="power", grade=1, description="停电",
                                           at=yesterday + dt.timedelta(minutes=5))
        out["case"][key] = IncidentCase.objects.get(incident=incident)
        day = timezone.localtime(yesterday).date()
        out["school_day"][key] = (school.code, day.isoformat())
        other = world.schools[f"{key}-2"]
        make_session(cycle, other, instruments=["math"], starts_at=yesterday, status="closed", title=f"t{key}")
        out["report"][key] = IncidentReport.objects.create(cycle=cycle, school=other, county=other.county,
                                                           path=other.path, test_date=day, no_incident=True,
                                                           signed_by="校长乙")
        out["call"][key] = HotlineCall.objects.create(cycle=cycle, county=school.county, path=school.path,
                                                      school=school, received_at=yesterday, caller_type="parent",
                                                      topic="violation", summary="举报")
    return out


@pytest.mark.parametrize("page_name", [p.name for p in PAGES])
def test_incidents_matrix(client: Client, world: World, objects: dict[str, dict[str, Any]], page_name: str) -> None:
    page = next(p for p in PAGES if p.name == page_name)
    m.check_page(client, world, name=page_name, expect=EXPECT[page_name], url=page.url,
                 obj_for=None if page.obj is None else objects[page.obj].__getitem__,
                 post=(lambda _o: page.data or {}) if page.method == "POST" else None,
                 names_checked=lambda _r: not page_name.endswith("_export"))


def test_anonymous_goes_to_login(client: Client, objects: dict[str, dict[str, Any]]) -> None:
    case = objects["case"]["A1a"]
    for url in ("/incidents/", f"/incidents/{case.pk}/", "/incidents/reports/", "/incidents/hotline/"):
        response = client.get(url)
        assert response.status_code == REDIRECT and "/login/" in response.url, url
    assert client.post(f"/incidents/{case.pk}/close/", {"summary": "x"}).status_code == REDIRECT
    case.refresh_from_db()
    assert case.state == "open"
