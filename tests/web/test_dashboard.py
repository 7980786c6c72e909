"""The implementation dashboard (issue 5, item 9: "For the national centre, a province, a city (read-only) and a
county: completion of every milestone by unit, incidents by grade, custody alerts, hotline calls, with drill-down to
the unit"). Every figure comes from the owning app's jurisdiction-checked selector; these tests check that the page
shows the figures of the actor's units and nobody else's."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from naeq.accounts.roles import STAFF_ROLES, Role
from naeq.delivery.models import Incident
from tests.delivery.factories import make_session
from tests.personas import World
from tests.readiness.conftest import make_sample


@pytest.fixture
def sampled(world: World, cycle: Any) -> World:
    make_sample(cycle, world)
    return world


def _get(client: Client, world: World, persona: str) -> Any:
    client.force_login(world.users[persona])
    return client.get("/implementation/")


def _row(html: str, county_name: str) -> str:
    found = re.search(r"<tr[^>]*>\s*<th scope=\"row\"><a [^>]*>" + re.escape(county_name) + r"</a></th>(.*?)</tr>",
                      html, re.S)
    assert found, f"no row for {county_name}"
    return found.group(1)


@pytest.mark.parametrize("role", sorted(r.value for r in Role))
def test_who_sees_the_dashboard(client: Client, sampled: World, role: str) -> None:
    resp = _get(client, sampled, f"{role}@A")
    assert resp.status_code == (200 if role in STAFF_ROLES else 404)


def test_anonymous_goes_to_login(client: Client, sampled: World) -> None:
    resp = client.get("/implementation/")
    assert resp.status_code == 302 and "/login/" in resp["Location"]


def test_a_grade_3_incident_shows_in_its_county_row_and_nowhere_else(client: Client, sampled: World,
                                                                       cycle: Any) -> None:
    school = sampled.schools["A1a-1"]
    session = make_session(cycle, school, instruments=["math"])
    Incident.objects.create(session=session, category="impersonation", grade=3, description="发现替考")
    a1a, a1b = sampled.regions["A1a"].name, sampled.regions["A1b"].name
    html = _get(client, sampled, "province_coordinator@A").content.decode()
    assert "<strong class=\"bad\">1</strong> / 0 / 0" in _row(html, a1a)
    assert "<strong class=\"bad\">" not in _row(html, a1b).split("</td>")[4]
    assert sampled.regions["B1a"].name not in html, "province B's counties are not province A's business"
    client.logout()
    html_b = _get(client, sampled, "province_coordinator@B").content.decode()
    assert a1a not in html_b
    assert "0 / 0 / 0" in _row(html_b, sampled.regions["B1a"].name)


def test_a_county_sees_only_its_own_row(client: Client, sampled: World) -> None:
    html = _get(client, sampled, "county_liaison@A").content.decode()
    names = re.findall(r"<th scope=\"row\"><a [^>]*>([^<]+)</a></th>", html)
    assert names == [sampled.regions["A1a"].name]


def test_a_county_without_a_staff_list_is_not_reported_as_hundreds_of_problems(client: Client,
                                                                                sampled: World) -> None:
    html = _get(client, sampled, "county_liaison@A").content.decode()
    assert "未报" in _row(html, sampled.regions["A1a"].name)


def test_school_staff_get_their_school_links(client: Client, sampled: World) -> None:
    html = _get(client, sampled, "school_head@A").content.decode()
    code = sampled.schools["A1a-1"].code
    for url in (f"/timeline/units/{code}/", f"/staffing/schools/{code}/", f"/readiness/check/school/{code}/",
                f"/custody/schools/{code}/"):
        assert url in html
    assert "各县（区）情况" not in html
