"""The authorisation matrix of the 数据质量甄别 pages: screening results show item keys and minors' answer strings,
so national staff (administrator and analyst) reach every page; a province coordinator is sent from the screening
home to the case list (the only way they see any of it) and gets 404 everywhere else; every other role -- staff of
any level, raters, test takers -- gets the same 404 as for a run, unit or pair that does not exist. A refused POST
records nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

import tests.web.test_matrix as m
from naeq.accounts.roles import Role
from naeq.core.models import AuditEvent
from naeq.quality.models import ScreenedPair, ScreenedUnit, ScreeningRun
from tests.personas import World

NATIONAL = {Role.NATIONAL_ADMIN.value, Role.NATIONAL_ANALYST.value}
COORD = Role.PROVINCE_COORDINATOR.value


def _expect(national: int, coordinator: int = m.MISSING) -> dict[str, int]:
    return {r.value: national if r.value in NATIONAL else coordinator if r.value == COORD else m.MISSING
            for r in Role}


@pytest.fixture
def setup(world: World, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    from naeq.cycles.services import load_shipped_cycles
    from naeq.quality import services
    from tests.quality.conftest import runs_build_inputs

    cycle = next(c for c in load_shipped_cycles() if c.is_current)
    rw = runs_build_inputs(world, cycle)
    monkeypatch.setattr(services, "_gather", lambda run: rw.inputs)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.screening_start(actor=rw.analyst, cycle=cycle, instrument_code="runstest", seed=3)
    school = ScreenedUnit.objects.get(run=run, level="school", school=rw.school)
    county = ScreenedUnit.objects.get(run=run, level="county", county=rw.school.county)
    pair = ScreenedPair.objects.filter(run=run).order_by("omega_p").first()
    assert pair is not None
    return {"run": run, "school": school, "county": county, "pair": pair, "cycle": cycle}


PAGES = [
    ("quality_home", lambda s: "/quality/", None, m.OK, m.REDIRECT),
    ("quality_runs_status", lambda s: "/quality/runs/status.json", None, m.OK, m.MISSING),
    ("quality_start", lambda s: "/quality/runs/start/",
     lambda s: {"instrument": f"{s['cycle'].pk}:runstest", "seed": "abc"}, m.REDIRECT, m.MISSING),
    ("quality_run", lambda s: f"/quality/runs/{s['run'].pk}/", None, m.OK, m.MISSING),
    ("quality_run_school", lambda s: f"/quality/runs/{s['run'].pk}/?level=school&flagged=1", None, m.OK, m.MISSING),
    ("quality_run_export", lambda s: f"/quality/runs/{s['run'].pk}/export.xlsx", None, m.OK, m.MISSING),
    ("quality_rerun", lambda s: f"/quality/runs/{s['run'].pk}/rerun/", lambda s: {}, m.REDIRECT, m.MISSING),
    ("quality_unit_school", lambda s: f"/quality/units/{s['school'].pk}/", None, m.OK, m.MISSING),
    ("quality_unit_county", lambda s: f"/quality/units/{s['county'].pk}/", None, m.OK, m.MISSING),
    ("quality_pair", lambda s: f"/quality/pairs/{s['pair'].pk}/", None, m.OK, m.MISSING),
]


@pytest.mark.parametrize(("name", "url", "post", "national", "coordinator"), PAGES, ids=[p[0] for p in PAGES])
def test_screen_matrix(client: Client, world: World, setup: dict[str, Any], name: str, url: Any, post: Any,
                       national: int, coordinator: int) -> None:
    runs_before = ScreeningRun.objects.count()
    exports_before = AuditEvent.objects.filter(action="quality.run_export").count()
    m.check_page(client, world, name=name, expect=_expect(national, coordinator), url=lambda _o: url(setup),
                 post=(lambda _o: post(setup)) if post is not None else None,
                 names_checked=lambda r: r["Content-Type"].startswith("text/html"))
    runs = ScreeningRun.objects.count() - runs_before
    exports = AuditEvent.objects.filter(action="quality.run_export").count() - exports_before
    # only national staff's rerun records runs (one per national persona); a bad start records none
    assert runs == (2 * len(NATIONAL) if name == "quality_rerun" else 0)
    assert exports == (2 * len(NATIONAL) if name == "quality_run_export" else 0)


def test_the_coordinator_is_sent_to_the_cases(client: Client, world: World, setup: dict[str, Any]) -> None:
    client.force_login(world.users["province_coordinator@A"])
    r = client.get("/quality/")
    assert r.status_code == m.REDIRECT and r["Location"] == "/quality/cases/"


def test_missing_and_forbidden_look_alike(client: Client, world: World, setup: dict[str, Any]) -> None:
    bodies = []
    for persona, suffix in (("province_coordinator@A", ""), ("national_analyst@A", "999999")):
        client.force_login(world.users[persona])
        for path in (f"/quality/runs/{setup['run'].pk}{suffix}/", f"/quality/units/{setup['school'].pk}{suffix}/",
                     f"/quality/pairs/{setup['pair'].pk}{suffix}/"):
            r = client.get(path)
            assert r.status_code == m.MISSING, (persona, path)
            bodies.append(r.content.decode().replace(persona.split("@")[0], ""))
    forbidden, missing = bodies[:3], bodies[3:]
    for f, g in zip(forbidden, missing, strict=True):
        assert _message(f) == _message(g)


def _message(body: str) -> str:
    import re

    found = re.findall(r"没有找到[^<]*", body)
    return found[0] if found else ""


@pytest.mark.parametrize("url", ["/quality/", "/quality/runs/1/", "/quality/units/1/", "/quality/pairs/1/"])
def test_anonymous_visitors_sign_in_first(client: Client, db: None, url: str) -> None:
    response = client.get(url)
    assert response.status_code == m.REDIRECT and "/login/" in response["Location"]


def test_the_nav_link_shows_for_screeners_and_coordinators(client: Client, world: World) -> None:
    for role in Role:
        client.force_login(world.users[f"{role.value}@A"])
        html = client.get("/").content.decode()
        assert ('href="/quality/"' in html) == (role.value in NATIONAL or role.value == COORD), role
