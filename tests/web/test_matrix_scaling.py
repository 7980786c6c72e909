"""The authorisation matrix of the 量尺校准 pages (naeq.scaling): item statistics are secret and person estimates
are minors' results, so national staff (administrator and analyst) reach every page and everyone else -- staff of
any level, raters, test takers -- gets the same 404 as for a page that does not exist; anonymous visitors are
sent to sign in."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

import tests.web.test_matrix as m
from naeq.accounts.roles import Role
from naeq.scaling.models import CalibrationRun, RunStatus
from tests.personas import World

NATIONAL = {Role.NATIONAL_ADMIN.value, Role.NATIONAL_ANALYST.value}


def _expect(ok: int) -> dict[str, int]:
    return {r.value: ok if r.value in NATIONAL else m.MISSING for r in Role}


@pytest.fixture
def run(world: World) -> CalibrationRun:
    from naeq.cycles.services import load_shipped_cycles

    cycle = next(c for c in load_shipped_cycles() if c.is_current)
    return CalibrationRun.objects.create(cycle=cycle, instrument_code="math", model_spec="2pl/gpcm",
                                         options={"n_pv": 5}, seed=1, code_version="t", status=RunStatus.DONE,
                                         inputs_hash="0" * 64, progress=1.0, finished_at=cycle.loaded_at)


PAGES = [
    ("scaling_runs", lambda r: "/scaling/", None, m.OK),
    ("scaling_runs_status", lambda r: "/scaling/status.json", None, m.OK),
    ("scaling_start", lambda r: "/scaling/start/", {}, m.REDIRECT),
    ("scaling_run", lambda r: f"/scaling/runs/{r.pk}/", None, m.OK),
    ("scaling_run_status", lambda r: f"/scaling/runs/{r.pk}/status.json", None, m.OK),
    ("scaling_persons", lambda r: f"/scaling/runs/{r.pk}/persons/", None, m.OK),
    ("scaling_items_csv", lambda r: f"/scaling/runs/{r.pk}/items.csv", None, m.OK),
    ("scaling_items_xlsx", lambda r: f"/scaling/runs/{r.pk}/items.xlsx", None, m.OK),
    ("scaling_persons_download", lambda r: f"/scaling/runs/{r.pk}/persons.csv", None, m.OK),
    ("scaling_rerun", lambda r: f"/scaling/runs/{r.pk}/rerun/", {}, m.REDIRECT),
]


@pytest.mark.parametrize(("name", "url", "post", "ok"), PAGES, ids=[p[0] for p in PAGES])
def test_scaling_matrix(client: Client, world: World, run: CalibrationRun, name: str, url: Any, post: Any,
                        ok: int) -> None:
    m.check_page(client, world, name=name, expect=_expect(ok), url=lambda _o: url(run),
                 post=(lambda _o: post) if post is not None else None,
                 names_checked=lambda response: not hasattr(response, "streaming_content")
                 and not response["Content-Type"].startswith("application/vnd."))


def test_missing_and_forbidden_runs_look_alike(client: Client, world: World, run: CalibrationRun) -> None:
    client.force_login(world.users["province_coordinator@A"])
    forbidden = client.get(f"/scaling/runs/{run.pk}/")
    client.force_login(world.users["national_analyst@A"])
    missing = client.get(f"/scaling/runs/{run.pk + 999}/")
    assert forbidden.status_code == missing.status_code == 404


@pytest.mark.parametrize("url", ["/scaling/", "/scaling/runs/1/", "/scaling/runs/1/items.csv"])
def test_anonymous_visitors_sign_in_first(client: Client, db: None, url: str) -> None:
    response = client.get(url)
    assert response.status_code == m.REDIRECT and "/login/" in response["Location"]


def test_the_scoring_hub_offers_scaling_to_national_staff_only(client: Client, world: World) -> None:
    for role in Role:
        client.force_login(world.users[f"{role.value}@A"])
        response = client.get("/scoring/")
        if response.status_code != m.OK:
            continue
        assert ("/scaling/" in response.content.decode()) == (role.value in NATIONAL), role
