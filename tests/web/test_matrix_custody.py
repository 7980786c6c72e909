"""The authorisation matrix of the custody pages: every page × every role × {inside, sibling, outside}.

Built on :mod:`tests.web.test_matrix`. Objects per key (A1a, A1b, B1a, B1b): the county, its school ``-1``, a
pending two-day keep at that school (requested by no account, so either county officer may decide it) and a
formal student session at that school.

The rules (naeq/custody/access.py): the county's liaison and information officer keep the ledger and request
two-day keeps; with the default configuration they also decide them (the seed: "经县级实施工作领导小组审查同意");
city, province and nation read; the school's staff read their school's custody page and records; the school's
session runners (head, information officer, chief proctor) write the 测试情况记录表; test takers see nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

import tests.web.test_matrix as m
from naeq.accounts.roles import Role
from naeq.custody.models import TwoDayKeep
from tests.delivery.factories import make_session
from tests.personas import World
from tests.staffing.conftest import build_staffing_sample

OK, REDIRECT, FORBIDDEN, MISSING = m.OK, m.REDIRECT, m.FORBIDDEN, m.MISSING
ALL, TREE, OWN, NONE = m.ALL, m.TREE, m.OWN, m.NONE
by_role = m._by_role
R = Role
CST = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class Page:
    name: str
    url: Callable[[Any], str]
    obj: str | None  # "county", "school", "keep", "session" or None
    method: str = "GET"
    data: dict[str, Any] | None = None


RECEIPT = {"kind": "received", "at": "2024-05-19 10:00", "boxes": "2", "expected_boxes": "2",
           "seal_numbers": "F01-F02", "signatory_1": "县保密员甲", "signatory_2": "县保密员乙"}
KEEP = {"school": "1310100001", "first_day": "2024-05-22", "travel_minutes": "150", "reason": "山区学校"}
RECORD = {"room": "第1测试室", "actual_start": "2024-05-22 08:05", "actual_end": "2024-05-22 09:20",
          "expected": "0", "present": "0"}

PAGES = [
    Page("home", lambda _o: "/custody/", None),
    Page("alerts", lambda _o: "/custody/alerts/", None),
    Page("records_export", lambda _o: "/custody/records.xlsx", None),
    Page("keeps", lambda _o: "/custody/keeps/", None),
    Page("ledger", lambda o: f"/custody/counties/{o.code}/", "county"),
    Page("ledger_export", lambda o: f"/custody/counties/{o.code}/ledger.xlsx", "county"),
    Page("event_add", lambda o: f"/custody/counties/{o.code}/events/", "county", "POST", RECEIPT),
    Page("keep_request", lambda o: f"/custody/counties/{o.code}/keeps/", "county", "POST", KEEP),
    Page("keep_decide", lambda o: f"/custody/keeps/{o.pk}/decide/", "keep", "POST", {"decision": "approve"}),
    Page("school", lambda o: f"/custody/schools/{o.code}/", "school"),
    Page("record_get", lambda o: f"/custody/sessions/{o.pk}/record/", "session"),
    Page("record_post", lambda o: f"/custody/sessions/{o.pk}/record/", "session", "POST", RECORD),
    Page("to_takers", lambda o: f"/custody/schools/{o.code}/test-takers/", "school", "POST", {}),
]

RUN = (REDIRECT, MISSING, MISSING)
OWN_FORBIDDEN = (FORBIDDEN, MISSING, MISSING)
TREE_FORBIDDEN = (FORBIDDEN, FORBIDDEN, MISSING)
RUNNERS = {R.SCHOOL_HEAD, R.SCHOOL_INFO_OFFICER, R.CHIEF_PROCTOR}
REGION_ONLY = dict(national=OK, province=OK, city=OK, county=OK, school=MISSING, taker=MISSING)
COUNTY_WRITE = by_role(national=(FORBIDDEN,) * 3, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN, county=RUN,
                       school=NONE, taker=NONE)
COUNTY_READ = by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=NONE, taker=NONE)
SCHOOL_READ = by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=OWN, taker=NONE)

EXPECT: dict[str, dict[str, Any]] = {
    "home": by_role(national=OK, province=OK, city=OK, county=REDIRECT, school=REDIRECT, taker=MISSING),
    "alerts": by_role(**REGION_ONLY),
    "records_export": by_role(national=OK, province=OK, city=OK, county=OK, school=OK, taker=MISSING),
    "keeps": by_role(**REGION_ONLY),
    "ledger": COUNTY_READ,
    "ledger_export": COUNTY_READ,
    "event_add": COUNTY_WRITE,
    "keep_request": COUNTY_WRITE,
    "keep_decide": COUNTY_WRITE,
    "school": SCHOOL_READ,
    "record_get": SCHOOL_READ,
    "record_post": {**by_role(national=(FORBIDDEN,) * 3, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN,
                              county=OWN_FORBIDDEN, taker=NONE),
                    **{r.value: RUN for r in RUNNERS}, R.INSPECTOR.value: OWN_FORBIDDEN},
    # Sampling's school writers (naeq/sampling/access.py SCHOOL_WRITERS), within their jurisdiction; a permitted
    # press without records is refused with a message (302 back to the school page).
    "to_takers": {**by_role(national=(FORBIDDEN,) * 3, province=(REDIRECT, REDIRECT, MISSING),
                            city=TREE_FORBIDDEN, county=OWN_FORBIDDEN, school=OWN_FORBIDDEN, taker=NONE),
                  R.NATIONAL_ADMIN.value: (REDIRECT,) * 3, R.COUNTY_LIAISON.value: RUN,
                  R.COUNTY_INFO_OFFICER.value: RUN, R.SCHOOL_HEAD.value: RUN, R.SCHOOL_INFO_OFFICER.value: RUN},
}


def test_every_custody_page_has_a_row_for_every_role() -> None:
    assert set(EXPECT) == {p.name for p in PAGES}
    for name, row in EXPECT.items():
        assert set(row) == {r.value for r in Role}, name
        page = next(p for p in PAGES if p.name == name)
        for value in row.values():
            assert isinstance(value, tuple) == (page.obj is not None), name


@pytest.fixture
def objects(world: World, cycle: Any) -> dict[str, dict[str, Any]]:
    build_staffing_sample(world, cycle)  # the "-1" schools are participating sample schools
    out: dict[str, dict[str, Any]] = {"county": {}, "school": {}, "keep": {}, "session": {}}
    for key in ("A1a", "A1b", "B1a", "B1b"):
        school = world.schools[f"{key}-1"]
        out["county"][key] = world.regions[key]
        out["school"][key] = school
        out["keep"][key] = TwoDayKeep.objects.create(
            cycle=cycle, county=school.county, path=school.path, school=school, first_day=dt.date(2024, 5, 22),
            travel_minutes=150, reason="山区学校")
        out["session"][key] = make_session(cycle, school, instruments=["math"], status="closed", grade=4,
                                           starts_at=dt.datetime(2024, 5, 22, 8, 0, tzinfo=CST),
                                           title=f"学生数学测试{key}")
    return out


@pytest.mark.parametrize("page_name", [p.name for p in PAGES])
def test_custody_matrix(client: Client, world: World, objects: dict[str, dict[str, Any]], page_name: str) -> None:
    page = next(p for p in PAGES if p.name == page_name)
    m.check_page(client, world, name=page_name, expect=EXPECT[page_name], url=page.url,
                 obj_for=None if page.obj is None else objects[page.obj].__getitem__,
                 post=(lambda _o: page.data or {}) if page.method == "POST" else None,
                 names_checked=lambda _r: page_name not in ("ledger_export", "records_export"))


def test_anonymous_custody_pages_go_to_login(client: Client, world: World,
                                            objects: dict[str, dict[str, Any]]) -> None:
    county = objects["county"]["A1a"]
    for url in ("/custody/", "/custody/alerts/", f"/custody/counties/{county.code}/",
                f"/custody/sessions/{objects['session']['A1a'].pk}/record/"):
        response = client.get(url)
        assert response.status_code == REDIRECT and "/login/" in response.url, url
    assert client.post(f"/custody/counties/{county.code}/events/", RECEIPT).status_code == REDIRECT
    from naeq.custody.models import CustodyEvent

    assert not CustodyEvent.objects.exists()
