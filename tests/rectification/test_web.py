"""The 问题整改 pages: the authorisation matrix (every URL × every role × {own county, sibling county, other
province}) and a walk through problem → plan → submit → review → update with evidence → next-cycle value."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

import tests.web.test_matrix as m
from naeq.accounts.roles import Role
from naeq.core.models import AuditEvent
from naeq.rectification import services
from naeq.rectification.models import PlanEvidence, PlanState, PlanUpdate, RectificationPlan
from tests.personas import World
from tests.rectification import factories as f

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
LATER = (timezone.localdate() + dt.timedelta(days=200)).isoformat()
NATIONAL = {Role.NATIONAL_ADMIN.value, Role.NATIONAL_ANALYST.value}
COORD, LIAISON = Role.PROVINCE_COORDINATOR.value, Role.COUNTY_LIAISON.value


def _expect(national: Any, coordinator: Any, liaison: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in Role:
        out[r.value] = (national if r.value in NATIONAL else coordinator if r.value == COORD
                        else liaison if r.value == LIAISON else (m.MISSING,) * 3)
    return out


@pytest.fixture
def setup(world: World, settings: Any, tmp_path: Any) -> dict[str, Any]:
    from naeq.cycles.services import load_shipped_cycles

    settings.DATA_DIR = tmp_path
    cycle = {c.year: c for c in load_shipped_cycles()}[2023]
    run = f.run(cycle)
    f.weak_province(run, None, world.regions["A"], [world.regions["A1a"], world.regions["A1b"]])
    f.weak_province(run, None, world.regions["B"], [world.regions["B1a"], world.regions["B1b"]], nation=False)
    admin = world.users["national_admin@A"]
    letters, plans, evidence = {}, {}, {}
    for p in "AB":
        letter = services.letter_draft(actor=admin, cycle=cycle, province=world.regions[p])
        letters[p] = services.letter_issue(actor=admin, letter_id=letter.pk)
        problem = letters[p].problems.get(rule="mean_below_nation")
        plans[f"{p}1a"] = services.plan_create(actor=world.users[f"county_liaison@{p}"], problem_id=problem.pk,
                                               unit=world.regions[f"{p}1a"], department="县教育局",
                                               target_value=480, deadline=LATER, measures="校本教研")
        b = world.regions[f"{p}1b"]
        plans[f"{p}1b"] = RectificationPlan.objects.create(
            problem=problem, unit=b, path=b.path, department="县教育局", instrument_code="math",
            target_statistic="mean", indicator=problem.indicator, baseline=476.0, target_value=480,
            deadline=dt.date.fromisoformat(LATER), measures=["校本教研"], state=PlanState.DRAFT)
    for key, plan in plans.items():
        u = PlanUpdate.objects.create(plan=plan, text="（测试）", percent=10)
        stored = services.STORE.store(plan.pk, "pdf", PDF)
        evidence[key] = PlanEvidence.objects.create(update=u, stored_name=stored, original_name="a.pdf",
                                                    content_type="application/pdf", size=len(PDF),
                                                    sha256=hashlib.sha256(PDF).hexdigest()).pk
    return {"letters": letters, "plans": plans, "evidence": evidence}


def _letter(s: dict[str, Any], key: str) -> Any:
    return s["letters"][key[0]]


ALL, TREE, OWN, NONE = (m.OK,) * 3, (m.OK, m.OK, m.MISSING), (m.OK, m.MISSING, m.MISSING), (m.MISSING,) * 3

LETTER_PAGES = [
    ("rectification_letter", lambda x: f"/rectification/letters/{x.pk}/", None, ALL, TREE, TREE),
    ("rectification_letter_print", lambda x: f"/rectification/letters/{x.pk}/print/", None, ALL, TREE, TREE),
    # issued already: national staff are told so (redirect with a message); the provinces may not issue (404)
    ("rectification_letter_issue", lambda x: f"/rectification/letters/{x.pk}/issue/", lambda x: {},
     (m.REDIRECT,) * 3, NONE, NONE),
    ("rectification_problem_edit", lambda x: f"/rectification/problems/{x.problems.first().pk}/edit/",
     lambda x: {"text": "（改写）"}, (m.REDIRECT,) * 3, NONE, NONE),
    # national staff write no plans; the county liaison plans its own county against its province's problem
    ("rectification_plan_new", lambda x: f"/rectification/problems/{x.problems.first().pk}/plan/", None,
     NONE, TREE, TREE),
]


@pytest.mark.parametrize(("name", "url", "post", "national", "coordinator", "liaison"), LETTER_PAGES,
                         ids=[p[0] for p in LETTER_PAGES])
def test_letter_matrix(client: Client, world: World, setup: dict[str, Any], name: str, url: Any, post: Any,
                       national: Any, coordinator: Any, liaison: Any) -> None:
    m.check_page(client, world, name=name, expect=_expect(national, coordinator, liaison),
                 obj_for=lambda key: _letter(setup, key), url=url, post=post)


F403 = (m.FORBIDDEN, m.FORBIDDEN, m.MISSING)
PLAN_PAGES = [
    ("rectification_plan", lambda p, s: f"/rectification/plans/{p.pk}/", None, ALL, TREE, OWN),
    ("rectification_evidence", lambda p, s: f"/rectification/plans/{p.pk}/evidence/{s['evidence'][_key(s, p)]}/",
     None, ALL, TREE, OWN),
    # only the responsible unit (the county liaison) writes; the others who see the plan are refused (403)
    ("rectification_plan_submit", lambda p, s: f"/rectification/plans/{p.pk}/submit/", lambda p: {},
     (m.FORBIDDEN,) * 3, F403, (m.REDIRECT, m.MISSING, m.MISSING)),
    ("rectification_plan_edit", lambda p, s: f"/rectification/plans/{p.pk}/edit/", lambda p: {"department": "x"},
     (m.FORBIDDEN,) * 3, F403, (m.REDIRECT, m.MISSING, m.MISSING)),
    ("rectification_plan_update", lambda p, s: f"/rectification/plans/{p.pk}/update/",
     lambda p: {"text": "进展", "percent": "10",
                "files": SimpleUploadedFile("b.pdf", PDF, content_type="application/pdf")},
     (m.FORBIDDEN,) * 3, F403, (m.REDIRECT, m.MISSING, m.MISSING)),
    ("rectification_plan_complete", lambda p, s: f"/rectification/plans/{p.pk}/complete/", lambda p: {},
     (m.FORBIDDEN,) * 3, F403, (m.REDIRECT, m.MISSING, m.MISSING)),
    # county plans are reviewed by their province (here: not yet submitted, so told so with a redirect)
    ("rectification_plan_review", lambda p, s: f"/rectification/plans/{p.pk}/review/",
     lambda p: {"decision": "approve"}, (m.FORBIDDEN,) * 3, (m.REDIRECT, m.REDIRECT, m.MISSING),
     (m.FORBIDDEN, m.MISSING, m.MISSING)),
]


def _key(s: dict[str, Any], plan: Any) -> str:
    return next(k for k, p in s["plans"].items() if p.pk == plan.pk)


@pytest.mark.parametrize(("name", "url", "post", "national", "coordinator", "liaison"), PLAN_PAGES,
                         ids=[p[0] for p in PLAN_PAGES])
def test_plan_matrix(client: Client, world: World, setup: dict[str, Any], name: str, url: Any, post: Any,
                     national: Any, coordinator: Any, liaison: Any) -> None:
    m.check_page(client, world, name=name, expect=_expect(national, coordinator, liaison),
                 obj_for=lambda key: setup["plans"][key], url=lambda p: url(p, setup), post=post,
                 names_checked=lambda r: r["Content-Type"].startswith("text/html"))


@pytest.mark.parametrize("url", ["/rectification/", "/rectification/letters/"])
def test_list_matrix(client: Client, world: World, setup: dict[str, Any], url: str) -> None:
    flat = {r.value: m.OK if r.value in NATIONAL | {COORD, LIAISON} else m.MISSING for r in Role}
    m.check_page(client, world, name=url, expect=flat, url=lambda _o: url)


def test_letter_draft_is_national_only(client: Client, world: World, setup: dict[str, Any]) -> None:
    flat = {r.value: m.REDIRECT if r.value in NATIONAL else m.MISSING for r in Role}
    m.check_page(client, world, name="rectification_letter_draft", expect=flat,
                 url=lambda _o: "/rectification/letters/draft/", post=lambda _o: {"cycle": "", "province": ""})


def test_lists_show_only_the_jurisdiction(client: Client, world: World, setup: dict[str, Any]) -> None:
    client.force_login(world.users["province_coordinator@A"])
    body = client.get("/rectification/letters/").content.decode()
    assert "甲省" in body and "乙省" not in body
    body = client.get("/rectification/").content.decode()
    assert "甲省一市a县" in body and "乙省" not in body
    client.force_login(world.users["county_liaison@A"])
    body = client.get("/rectification/").content.decode()
    assert "甲省一市a县" in body and "甲省一市b县" not in body


def test_walk_problem_plan_review_update_next_cycle(client: Client, world: World, settings: Any,
                                                    tmp_path: Any) -> None:
    """A province plan followed from the letter's problem to the next cycle's value, through the pages."""
    from naeq.cycles.services import load_shipped_cycles

    settings.DATA_DIR = tmp_path
    cycles = {c.year: c for c in load_shipped_cycles()}
    run = f.run(cycles[2023])
    f.weak_province(run, None, world.regions["A"], [world.regions["A1a"], world.regions["A1b"]])
    admin, coord = world.users["national_admin@A"], world.users["province_coordinator@A"]
    client.force_login(admin)
    r = client.post("/rectification/letters/draft/", {"cycle": cycles[2023].pk, "province": "310000"})
    letter_url = r["Location"]
    body = client.get(letter_url).content.decode()
    assert "显著低于全国平均水平" in body and "发函" in body
    lid = int(re.search(r"/letters/(\d+)/", letter_url).group(1))  # type: ignore[union-attr]
    client.post(f"/rectification/letters/{lid}/issue/")
    assert "监测函〔2023〕1号" in client.get(letter_url).content.decode()
    client.force_login(coord)
    body = client.get(letter_url).content.decode()
    pid = int(re.search(r"/problems/(\d+)/plan/", body).group(1))  # type: ignore[union-attr]
    page = client.get(f"/rectification/problems/{pid}/plan/").content.decode()
    assert "480.000" in page  # the baseline offered from the estimate
    r = client.post(f"/rectification/problems/{pid}/plan/", {
        "unit": str(world.regions["A"].pk), "department": "省教育厅基础教育处", "target_value": "490",
        "deadline": LATER, "measures": "加强数学教研\n落实课程计划"})
    assert r.status_code == 302, r.content.decode()[:2000]
    plan_url = r["Location"]
    plan = RectificationPlan.objects.get()
    client.post(f"/rectification/plans/{plan.pk}/submit/")
    client.force_login(admin)
    assert 'id="review-form"' in client.get(plan_url).content.decode()
    client.post(f"/rectification/plans/{plan.pk}/review/", {"decision": "approve", "comment": "同意"})
    client.force_login(coord)
    client.post(f"/rectification/plans/{plan.pk}/update/", {
        "text": "完成教研员培训", "percent": "60",
        "files": SimpleUploadedFile("培训.pdf", PDF, content_type="application/pdf")})
    plan.refresh_from_db()
    assert plan.state == PlanState.IN_PROGRESS
    body = client.get(plan_url).content.decode()
    assert "完成教研员培训" in body and "培训.pdf" in body and "尚未测量" in body
    ev = PlanEvidence.objects.get()
    got = client.get(f"/rectification/plans/{plan.pk}/evidence/{ev.pk}/")
    assert got.status_code == 200 and got.content == PDF and got["Cache-Control"] == "no-store, private"
    nxt = f.run(cycles[2024])
    f.est(nxt, world.regions["A"], "mean", 493.0, 2.6)
    body = client.get(plan_url).content.decode()
    assert "2024：493.000" in body and "达到目标" in body
    home = client.get("/rectification/").content.decode()
    assert 'id="n-met">1<' in home and "<svg" in home
    assert AuditEvent.objects.filter(action="rectification.evidence_download").count() == 1
