"""The authorisation matrix: every page and API × every role × {inside, sibling, outside} → expected status.

How to extend (every later issue does): add an :class:`Endpoint` to ``ENDPOINTS`` naming the object kind it takes
and one expectation row per role in ``EXPECT`` (a tuple for inside / sibling / outside, or one status for
endpoints without an object). The test fails if a role is missing from a row, so a new role or endpoint cannot be
forgotten.

Objects, for a persona of province P (A or B; the twin province is Q):
  inside  — county P1a / school P1a-1 (every persona's own subtree: school personas are anchored at P1a-1)
  sibling — county P1b / school P1b-1 (inside for province and city personas, outside below)
  outside — county Q1a / school Q1a-1 (the other province)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from naeq.accounts.roles import Role
from tests.personas import World

R = Role
OK, REDIRECT, BAD, FORBIDDEN, MISSING = 200, 302, 400, 403, 404
WHERE = ("inside", "sibling", "outside")


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: Callable[[str], str]  # object code -> URL (object-less endpoints ignore it)
    obj: str | None  # "region" (a county), "school", or None
    method: str = "GET"
    api: bool = False
    data: dict[str, str] | None = None


def _fixed(url: str) -> Callable[[str], str]:
    return lambda _code: url


MAILING_OK = {"mailing_address": "某路1号", "postcode": "200000", "mailing_recipient": "联络员",
              "mailing_phone": "021-12345678"}

ENDPOINTS = [
    Endpoint("home", _fixed("/"), None),
    Endpoint("region_list", _fixed("/regions/"), None),
    Endpoint("school_list", _fixed("/schools/"), None),
    Endpoint("school_search", _fixed("/schools/?q=学校&page=1"), None),
    Endpoint("region_detail", lambda c: f"/regions/{c}/", "region"),
    Endpoint("mailing_get", lambda c: f"/regions/{c}/mailing/", "region"),
    Endpoint("mailing_post", lambda c: f"/regions/{c}/mailing/", "region", method="POST", data=MAILING_OK),
    Endpoint("school_detail", lambda c: f"/schools/{c}/", "school"),
    Endpoint("api_region", lambda c: f"/api/regions/{c}/", "region", api=True),
    Endpoint("api_school_list", _fixed("/api/schools/?q=&page=1"), None, api=True),
    Endpoint("api_school", lambda c: f"/api/schools/{c}/", "school", api=True),
    Endpoint("admin_index", _fixed("/admin/"), None),
    Endpoint("admin_school_list", _fixed("/admin/registry/school/"), None),
]

NATIONAL = {R.NATIONAL_ADMIN, R.NATIONAL_ANALYST}
# Accounts that browse no part of the hierarchy: the test takers, and raters (who see only the anonymised
# responses assigned to them); every page of the hierarchy treats them alike.
TEST_TAKERS = {R.STUDENT, R.TEACHER, R.PRINCIPAL, R.COUNTY_MANAGER, R.RATER}
SCHOOL_STAFF = {R.SCHOOL_HEAD, R.SCHOOL_INFO_OFFICER, R.INSPECTOR, R.CHIEF_PROCTOR}
COUNTY_STAFF = {R.COUNTY_LIAISON, R.COUNTY_INFO_OFFICER}
ALL = (OK, OK, OK)
TREE = (OK, OK, MISSING)  # province and city: the whole province
OWN = (OK, MISSING, MISSING)  # county and school staff: their own county / school only
NONE = (MISSING, MISSING, MISSING)


def _by_role(**groups: Any) -> dict[str, Any]:
    """Expand {"national": x, "province": y, ...} into one entry per role."""
    sets = {"national": NATIONAL, "province": {R.PROVINCE_COORDINATOR}, "city": {R.CITY_VIEWER},
            "county": COUNTY_STAFF, "school": SCHOOL_STAFF, "taker": TEST_TAKERS,
            "national_admin": {R.NATIONAL_ADMIN}, "national_analyst": {R.NATIONAL_ANALYST}}
    out: dict[str, Any] = {}
    for group, value in groups.items():
        for role in sets[group]:
            out[role.value] = value
    return out


EXPECT: dict[str, dict[str, Any]] = {
    "home": _by_role(national=OK, province=OK, city=OK, county=OK, school=OK, taker=OK),
    "region_list": _by_role(national=OK, province=OK, city=OK, county=OK, school=OK, taker=OK),
    "school_list": _by_role(national=OK, province=OK, city=OK, county=OK, school=OK, taker=OK),
    "school_search": _by_role(national=OK, province=OK, city=OK, county=OK, school=OK, taker=OK),
    "region_detail": _by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=NONE, taker=NONE),
    "mailing_get": _by_role(national_admin=ALL, national_analyst=(FORBIDDEN,) * 3, province=TREE,
                            city=(FORBIDDEN, FORBIDDEN, MISSING), county=OWN, school=NONE, taker=NONE),
    "mailing_post": _by_role(national_admin=(REDIRECT,) * 3, national_analyst=(FORBIDDEN,) * 3,
                             province=(REDIRECT, REDIRECT, MISSING), city=(FORBIDDEN, FORBIDDEN, MISSING),
                             county=(REDIRECT, MISSING, MISSING), school=NONE, taker=NONE),
    "school_detail": _by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=OWN, taker=NONE),
    "api_region": _by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=NONE, taker=NONE),
    "api_school_list": _by_role(national=OK, province=OK, city=OK, county=OK, school=OK, taker=OK),
    "api_school": _by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=OWN, taker=NONE),
    # The Django admin: national administrators only; everyone else is sent to the admin's login page.
    "admin_index": _by_role(national_admin=OK, national_analyst=REDIRECT, province=REDIRECT, city=REDIRECT,
                            county=REDIRECT, school=REDIRECT, taker=REDIRECT),
    "admin_school_list": _by_role(national_admin=OK, national_analyst=REDIRECT, province=REDIRECT,
                                  city=REDIRECT, county=REDIRECT, school=REDIRECT, taker=REDIRECT),
}

#: What each role sees of the world's schools, by key suffix within province P ("P" = own province).
SEES_SCHOOLS = {
    **{r.value: "all" for r in NATIONAL},
    R.PROVINCE_COORDINATOR.value: "province", R.CITY_VIEWER.value: "province",
    **{r.value: "county" for r in COUNTY_STAFF},
    **{r.value: "school" for r in SCHOOL_STAFF},
    **{r.value: "none" for r in TEST_TAKERS},
}


def visible_school_keys(role: str, p: str) -> set[str]:
    every = {f"{q}1{c}-{i}" for q in "AB" for c in "ab" for i in (1, 2)}
    scope = SEES_SCHOOLS[role]
    return {
        "all": every,
        "province": {k for k in every if k.startswith(p)},
        "county": {k for k in every if k.startswith(f"{p}1a")},
        "school": {f"{p}1a-1"},
        "none": set(),
    }[scope]


def check_page(client: Client, world: World, *, name: str, expect: dict[str, Any], url: Callable[[Any], str],
               obj_for: Callable[[str], Any] | None = None, post: Callable[[Any], dict[str, Any]] | None = None,
               names_checked: Callable[[Any], bool] = lambda _response: True) -> None:
    """One page of an app's authorisation matrix, for every role in provinces A and B (the shared loop of the
    per-app matrix modules).

    ``expect[role]`` is a status, or for a page about an object ``obj_for(county key)`` a tuple of statuses for the
    object in the persona's county, its sibling county and the other province (:data:`WHERE`). ``post(obj)`` makes
    the page a POST with that form data. On every page answered OK (where ``names_checked(response)``), no school
    outside the persona's jurisdiction is named."""
    school_names = {k: s.name for k, s in world.schools.items()}
    for role in Role:
        for p in ("A", "B"):
            persona = f"{role.value}@{p}"
            client.force_login(world.users[persona])
            expected = expect[role.value]
            if obj_for is None:
                targets = [(None, expected)]
            else:
                q = "B" if p == "A" else "A"
                keys = {"inside": f"{p}1a", "sibling": f"{p}1b", "outside": f"{q}1a"}
                targets = [(obj_for(keys[where]), status) for where, status in zip(WHERE, expected, strict=True)]
            visible = visible_school_keys(role.value, p)
            for obj, status in targets:
                target = url(obj)
                response = client.post(target, post(obj)) if post is not None else client.get(target)
                assert response.status_code == status, (persona, name, target, response.status_code)
                if status == OK and names_checked(response):
                    body = response.content.decode()
                    for key, school in school_names.items():
                        if key not in visible:
                            assert school not in body, (persona, name, key)


def test_every_endpoint_has_a_row_for_every_role() -> None:
    assert set(EXPECT) == {e.name for e in ENDPOINTS}
    for name, row in EXPECT.items():
        assert set(row) == {r.value for r in Role}, name
        endpoint = next(e for e in ENDPOINTS if e.name == name)
        for value in row.values():
            assert isinstance(value, tuple) == (endpoint.obj is not None), name


CASES = [(e.name, role.value, p) for e in ENDPOINTS for role in Role for p in ("A", "B")]


def _object_code(world: World, kind: str, p: str, where: str) -> str:
    q = "B" if p == "A" else "A"
    key = {"inside": f"{p}1a", "sibling": f"{p}1b", "outside": f"{q}1a"}[where]
    return world.regions[key].code if kind == "region" else world.schools[f"{key}-1"].code


def _request(client: Client, endpoint: Endpoint, url: str) -> Any:
    if endpoint.method == "POST":
        return client.post(url, endpoint.data or {})
    return client.get(url)


@pytest.mark.parametrize(("endpoint_name", "role", "p"), CASES)
def test_matrix(client: Client, world: World, endpoint_name: str, role: str, p: str) -> None:
    endpoint = next(e for e in ENDPOINTS if e.name == endpoint_name)
    persona = f"{role}@{p}"
    client.force_login(world.users[persona])
    expected = EXPECT[endpoint_name][role]
    q = "B" if p == "A" else "A"
    foreign_schools = {world.schools[k].code for k in world.schools} - {
        world.schools[k].code for k in visible_school_keys(role, p)}
    if endpoint.obj is None:
        response = _request(client, endpoint, endpoint.url(""))
        assert response.status_code == expected, (persona, endpoint_name, response.status_code)
        body = response.content.decode()
        if expected == OK and not endpoint_name.startswith("admin"):
            # Nothing from outside the persona's jurisdiction leaks onto any page or answer.
            for code in foreign_schools:
                assert code not in body, (persona, endpoint_name, code)
            if role not in {r.value for r in NATIONAL}:
                assert world.regions[q].name not in body, (persona, endpoint_name)
        return
    for where, status in zip(WHERE, expected, strict=True):
        code = _object_code(world, endpoint.obj, p, where)
        response = _request(client, endpoint, endpoint.url(code))
        assert response.status_code == status, (persona, endpoint_name, where, response.status_code)
        body = response.content.decode()
        if status == OK:
            for foreign in foreign_schools:
                assert foreign not in body, (persona, endpoint_name, where, foreign)
        if endpoint.api and status == MISSING:
            assert json.loads(body)["error"]["code"] == "not_found"


def test_school_lists_show_exactly_the_jurisdiction(client: Client, world: World) -> None:
    for role in Role:
        for p in ("A", "B"):
            client.force_login(world.users[f"{role.value}@{p}"])
            expected = {world.schools[k].code for k in visible_school_keys(role.value, p)}
            page = client.get("/schools/").content.decode()
            assert set(re.findall(r"/schools/(\d{10})/", page)) == expected, (role, p)
            api = client.get("/api/schools/").json()
            assert {s["code"] for s in api["results"]} == expected, (role, p)


def _main(page: str) -> str:
    return page[page.index("<main"):page.index("</main>")]


def test_missing_and_forbidden_answer_alike(client: Client, world: World) -> None:
    client.force_login(world.users["county_liaison@A"])
    for kind, forbidden, missing in (("regions", world.regions["B1a"].code, "999999"),
                                     ("schools", world.schools["B1a-1"].code, "9999999999")):
        a = client.get(f"/api/{kind}/{forbidden}/")
        b = client.get(f"/api/{kind}/{missing}/")
        assert (a.status_code, a.json()) == (b.status_code, b.json()) == (404, a.json())
        page_a = _main(client.get(f"/{kind}/{forbidden}/").content.decode())
        page_b = _main(client.get(f"/{kind}/{missing}/").content.decode())
        assert page_a == page_b
        assert "没有找到" in page_a


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if not e.name.startswith("admin")], ids=lambda e: e.name)
def test_anonymous(client: Client, world: World, endpoint: Endpoint) -> None:
    code = _object_code(world, endpoint.obj, "A", "inside") if endpoint.obj else ""
    url = endpoint.url(code)
    response = _request(client, endpoint, url)
    if endpoint.api:
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_anonymous_admin_goes_to_admin_login(client: Client, world: World) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
