"""The authorisation matrix of the 调查案件 pages (naeq.quality cases): national staff see, work on and decide every
case; a province coordinator sees and investigates the cases assigned to them (in their province) but may not
assign, decide or reopen (403: the case is visible to them); everyone else -- and a coordinator of another
province, or one not assigned -- gets the same 404 as for a case that does not exist. Opening a case from a
screened unit is national staff's only."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

import tests.web.test_matrix as m
from naeq.accounts.roles import Role
from naeq.quality import cases
from naeq.quality.models import Case, ScreenedUnit, ScreeningRun
from naeq.scaling.models import RunStatus
from tests.personas import World

NATIONAL = {Role.NATIONAL_ADMIN.value, Role.NATIONAL_ANALYST.value}
COORD = Role.PROVINCE_COORDINATOR.value
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _expect(national: int, coordinator: int | None) -> dict[str, Any]:
    """Per role the statuses for a case in the persona's county, its sibling county and the other province."""
    out: dict[str, Any] = {}
    for r in Role:
        if r.value in NATIONAL:
            out[r.value] = (national,) * 3
        elif r.value == COORD and coordinator is not None:
            out[r.value] = (coordinator, coordinator, m.MISSING)
        else:
            out[r.value] = (m.MISSING,) * 3
    return out


def _flat(national: int, coordinator: int) -> dict[str, int]:
    return {r.value: national if r.value in NATIONAL else coordinator if r.value == COORD else m.MISSING
            for r in Role}


@pytest.fixture
def setup(world: World, settings: Any, tmp_path: Any) -> dict[str, Any]:
    from naeq.cycles.services import load_shipped_cycles
    from tests.delivery.factories import make_instrument

    settings.DATA_DIR = tmp_path
    cycle = next(c for c in load_shipped_cycles() if c.is_current)
    make_instrument(cycle, "math")
    admin = world.users["national_admin@A"]
    run = ScreeningRun.objects.create(cycle=cycle, instrument_code="math", code_version="t", status=RunStatus.DONE,
                                      inputs_hash="0" * 64, progress=1.0, finished_at=cycle.loaded_at)
    by_county: dict[str, Case] = {}
    units: dict[str, ScreenedUnit] = {}
    evidence: dict[str, int] = {}
    for rank, key in enumerate(("A1a", "A1b", "B1a", "B1b"), start=1):
        school, other = world.schools[f"{key}-1"], world.schools[f"{key}-2"]
        units[key] = ScreenedUnit.objects.create(run=run, level="school", county=other.county, school=other,
                                                 path=other.path, rank=rank, n_persons=0, indicators={},
                                                 combined_p=0.5, combined_q=0.5, flag=False)
        case = cases.case_open_manual(actor=admin, cycle=cycle, instrument_code="math", school=school,
                                      title="（测试）", reason="（测试）")
        cases.case_assign(actor=admin, case_id=case.pk, investigator=world.users[f"province_coordinator@{key[0]}"])
        evidence[key] = cases.evidence_upload(actor=admin, case_id=case.pk, file_name="a.pdf", data=PDF).pk
        by_county[key] = case
    return {"cases": by_county, "units": units, "evidence": evidence}


CASE_PAGES = [
    ("quality_case", lambda c, s: f"/quality/cases/{c.pk}/", None, m.OK, m.OK),
    ("quality_case_evidence", lambda c, s: f"/quality/cases/{c.pk}/evidence/{s['evidence'][_key(c)]}/", None,
     m.OK, m.OK),
    ("quality_case_assign", lambda c, s: f"/quality/cases/{c.pk}/assign/", lambda c: {"investigator": ""},
     m.REDIRECT, m.FORBIDDEN),
    ("quality_case_start", lambda c, s: f"/quality/cases/{c.pk}/start/", lambda c: {}, m.REDIRECT, m.REDIRECT),
    ("quality_case_note", lambda c, s: f"/quality/cases/{c.pk}/note/", lambda c: {"text": "（测试记录）"},
     m.REDIRECT, m.REDIRECT),
    ("quality_case_collect", lambda c, s: f"/quality/cases/{c.pk}/collect/", lambda c: {}, m.REDIRECT, m.REDIRECT),
    ("quality_case_upload", lambda c, s: f"/quality/cases/{c.pk}/upload/",
     lambda c: {"file": SimpleUploadedFile("b.pdf", PDF, content_type="application/pdf")}, m.REDIRECT, m.REDIRECT),
    ("quality_case_decide", lambda c, s: f"/quality/cases/{c.pk}/decide/",
     lambda c: {"state": "cleared", "reason": "（测试）"}, m.REDIRECT, m.FORBIDDEN),
    ("quality_case_reopen", lambda c, s: f"/quality/cases/{c.pk}/reopen/", lambda c: {"reason": "（测试）"},
     m.REDIRECT, m.FORBIDDEN),
]


def _key(case: Case) -> str:
    return next(k for k in ("A1a", "A1b", "B1a", "B1b") if case.school and case.school.code.startswith(
        {"A1a": "1310101", "A1b": "1310102", "B1a": "1440101", "B1b": "1440102"}[k]))


@pytest.mark.parametrize(("name", "url", "post", "national", "coordinator"), CASE_PAGES, ids=[p[0] for p in CASE_PAGES])
def test_case_matrix(client: Client, world: World, setup: dict[str, Any], name: str, url: Any, post: Any,
                     national: int, coordinator: int) -> None:
    m.check_page(client, world, name=name, expect=_expect(national, coordinator),
                 obj_for=lambda key: setup["cases"][key], url=lambda c: url(c, setup), post=post,
                 names_checked=lambda r: r["Content-Type"].startswith("text/html"))


LIST_PAGES = [("quality_cases", "/quality/cases/"), ("quality_cases_export", "/quality/cases/export.xlsx")]


@pytest.mark.parametrize(("name", "url"), LIST_PAGES, ids=[p[0] for p in LIST_PAGES])
def test_list_matrix(client: Client, world: World, setup: dict[str, Any], name: str, url: str) -> None:
    m.check_page(client, world, name=name, expect=_flat(m.OK, m.OK), url=lambda _o: url,
                 names_checked=lambda r: r["Content-Type"].startswith("text/html"))


def test_open_case_is_national_only(client: Client, world: World, setup: dict[str, Any]) -> None:
    m.check_page(client, world, name="quality_case_open", expect=_expect(m.REDIRECT, m.MISSING),
                 obj_for=lambda key: setup["units"][key], url=lambda u: f"/quality/units/{u.pk}/open-case/",
                 post=lambda u: {})
    # national staff opened a case on each unit once; a second press was refused, not duplicated
    assert Case.objects.filter(unit__isnull=False).count() == 4


def test_coordinators_see_only_their_assigned_cases(client: Client, world: World, setup: dict[str, Any]) -> None:
    case = setup["cases"]["A1a"]
    client.force_login(world.users["province_coordinator@A"])
    listed = client.get("/quality/cases/").content.decode()
    assert case.number in listed and setup["cases"]["B1a"].number not in listed
    # reassigned to national staff: the coordinator no longer sees it, like a case that does not exist
    cases.case_assign(actor=world.users["national_admin@A"], case_id=case.pk,
                      investigator=world.users["national_analyst@A"])
    assert client.get(f"/quality/cases/{case.pk}/").status_code == m.MISSING
    assert client.get("/quality/cases/999999/").status_code == m.MISSING
    assert case.number not in client.get("/quality/cases/").content.decode()
    # the page shows only the actions the actor may take
    client.force_login(world.users["province_coordinator@B"])
    page = client.get(f"/quality/cases/{setup['cases']['B1a'].pk}/").content.decode()
    assert "/note/" in page and "/upload/" in page and "/decide/" not in page and "/assign/" not in page
    client.force_login(world.users["national_admin@A"])
    page = client.get(f"/quality/cases/{setup['cases']['B1a'].pk}/").content.decode()
    assert "/decide/" in page and "/assign/" in page and "data_excluded" in page
