"""The authorisation matrix of the 准备就绪 pages: every page × every role × {inside, sibling, outside}.

Built on :mod:`tests.web.test_matrix` (personas, expectation shorthands). The objects: every county and school of
the persona world is in the sample (tests/readiness/conftest.py); a county training with attendance in every
county; a draft school self-check with one evidence photo at school P1a-1 of both provinces.

The rules (naeq/readiness/access.py; 2024-nanchang-city-plan.txt (6)(7); DOMAIN.md "Review chain"): the school's
head and information officer fill and submit its self-check; the county's liaison and information officer review
schools, fill and submit the county's; the province coordinator reviews counties; city and national staff read;
the inspector and chief proctor read their school; test takers see nothing. A reader writing gets 403, anything
outside the jurisdiction 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

import tests.web.test_matrix as m
from naeq.accounts.roles import Role
from naeq.readiness.models import Evidence, SelfCheck, TrainingAttendance, TrainingEvent
from tests.personas import World
from tests.readiness.conftest import PNG, make_sample

OK, REDIRECT, FORBIDDEN, MISSING = m.OK, m.REDIRECT, m.FORBIDDEN, m.MISSING
ALL, TREE, OWN, NONE = m.ALL, m.TREE, m.OWN, m.NONE
by_role = m._by_role
R = Role


@dataclass(frozen=True)
class Page:
    name: str
    url: Callable[[Any], str]
    obj: str | None  # "school", "county", "training", "evidence" or None
    method: str = "GET"
    data: dict[str, Any] | None = None


PAGES = [
    Page("home", lambda _o: "/readiness/", None),
    Page("trainings", lambda _o: "/readiness/trainings/", None),
    Page("training_new", lambda _o: "/readiness/trainings/new/", None),
    Page("template", lambda _o: "/readiness/trainings/template.xlsx", None),
    Page("coverage", lambda _o: "/readiness/coverage/", None),
    Page("queue", lambda _o: "/readiness/review/", None),
    Page("checks_export", lambda _o: "/readiness/checks.xlsx", None),
    Page("training", lambda o: f"/readiness/trainings/{o.pk}/", "training"),
    Page("training_import", lambda o: f"/readiness/trainings/{o.pk}/import/", "training", "POST"),
    Page("school_check", lambda o: f"/readiness/check/school/{o.code}/", "school"),
    Page("school_save", lambda o: f"/readiness/check/school/{o.code}/", "school", "POST", {"v_test_rooms": "yes"}),
    Page("school_submit", lambda o: f"/readiness/check/school/{o.code}/submit/", "school", "POST"),
    Page("school_evidence", lambda o: f"/readiness/check/school/{o.code}/evidence/", "school", "POST",
         {"item": "cabinet_photo"}),
    Page("school_review", lambda o: f"/readiness/check/school/{o.code}/review/", "school", "POST",
         {"decision": "approve"}),
    Page("county_check", lambda o: f"/readiness/check/county/{o.code}/", "county"),
    Page("county_save", lambda o: f"/readiness/check/county/{o.code}/", "county", "POST", {"v_cctv": "yes"}),
    Page("county_submit", lambda o: f"/readiness/check/county/{o.code}/submit/", "county", "POST"),
    Page("county_review", lambda o: f"/readiness/check/county/{o.code}/review/", "county", "POST",
         {"decision": "approve"}),
    Page("evidence", lambda o: f"/readiness/evidence/{o.pk}/", "evidence"),
]

SCHOOL_FILLERS = {R.SCHOOL_HEAD, R.SCHOOL_INFO_OFFICER}
RUN = (REDIRECT, MISSING, MISSING)
OWN_FORBIDDEN = (FORBIDDEN, MISSING, MISSING)
TREE_FORBIDDEN = (FORBIDDEN, FORBIDDEN, MISSING)
STAFF_OK = dict(national=OK, province=OK, city=OK, county=OK, school=OK, taker=MISSING)
READ_SCHOOL = by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=OWN, taker=NONE)
READ_COUNTY = by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=NONE, taker=NONE)


def _school_fill() -> dict[str, Any]:
    return {**by_role(national=(FORBIDDEN,) * 3, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN, county=OWN_FORBIDDEN,
                      school=OWN_FORBIDDEN, taker=NONE), **{r.value: RUN for r in SCHOOL_FILLERS}}


COUNTY_FILL = by_role(national=(FORBIDDEN,) * 3, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN, county=RUN,
                      school=NONE, taker=NONE)

EXPECT: dict[str, dict[str, Any]] = {
    "home": {**by_role(**STAFF_OK), **{r.value: REDIRECT for r in m.SCHOOL_STAFF}},  # school staff: their form
    "trainings": by_role(**STAFF_OK),
    "training_new": {**by_role(national=FORBIDDEN, province=OK, city=FORBIDDEN, county=OK, school=FORBIDDEN,
                               taker=MISSING), **{r.value: OK for r in SCHOOL_FILLERS}},
    "template": by_role(**STAFF_OK),
    "coverage": by_role(**STAFF_OK),
    "queue": by_role(**STAFF_OK),
    "checks_export": by_role(**STAFF_OK),
    "training": READ_SCHOOL,  # a county's training: its schools' staff see it (their own people only)
    "training_import": by_role(national=(FORBIDDEN,) * 3, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN, county=RUN,
                               school=OWN_FORBIDDEN, taker=NONE),
    "school_check": READ_SCHOOL,
    "school_save": _school_fill(),
    "school_submit": _school_fill(),
    "school_evidence": _school_fill(),
    "school_review": by_role(national=(FORBIDDEN,) * 3, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN, county=RUN,
                             school=OWN_FORBIDDEN, taker=NONE),
    "county_check": READ_COUNTY,
    "county_save": COUNTY_FILL,
    "county_submit": COUNTY_FILL,
    "county_review": by_role(national=(FORBIDDEN,) * 3, province=(REDIRECT, REDIRECT, MISSING), city=TREE_FORBIDDEN,
                             county=OWN_FORBIDDEN, school=NONE, taker=NONE),
    "evidence": READ_SCHOOL,
}


def test_every_readiness_page_has_a_row_for_every_role() -> None:
    assert set(EXPECT) == {p.name for p in PAGES}
    for name, row in EXPECT.items():
        assert set(row) == {r.value for r in Role}, name
        page = next(p for p in PAGES if p.name == name)
        for value in row.values():
            assert isinstance(value, tuple) == (page.obj is not None), name


@pytest.fixture
def objects(world: World, settings: Any, tmp_path: Any) -> dict[str, dict[str, Any]]:
    from naeq.cycles.services import load_shipped_cycles
    from naeq.readiness.evidence import evidence_store

    settings.DATA_DIR = tmp_path
    cycle = next(c for c in load_shipped_cycles() if c.is_current)
    make_sample(cycle, world)
    out: dict[str, dict[str, Any]] = {"school": {}, "county": {}, "training": {}, "evidence": {}}
    for key in ("A1a", "A1b", "B1a", "B1b"):
        county = world.regions[key]
        out["county"][key] = county
        out["school"][key] = world.schools[f"{key}-1"]
        event = TrainingEvent.objects.create(cycle=cycle, level="county", region=county, path=county.path,
                                             title=f"培训{key}", topics=["procedure"], date="2024-05-08",
                                             place="会议室", trainer="督导室")
        for i in (1, 2):
            TrainingAttendance.objects.create(event=event, person_name=f"人{key}{i}", post="proctor",
                                              school=world.schools[f"{key}-{i}"])
        out["training"][key] = event
        school = world.schools[f"{key}-1"]
        check = SelfCheck.objects.create(cycle=cycle, kind="school", county=county, school=school, path=county.path)
        out["evidence"][key] = Evidence.objects.create(
            selfcheck=check, item_id="cabinet_photo", stored_name=evidence_store(check.pk, "png", PNG),
            original_name="c.png", content_type="image/png", size=len(PNG), sha256="a" * 64)
    return out


@pytest.mark.parametrize("page_name", [p.name for p in PAGES])
def test_readiness_matrix(client: Client, world: World, objects: dict[str, dict[str, Any]], page_name: str) -> None:
    page = next(p for p in PAGES if p.name == page_name)
    m.check_page(client, world, name=page_name, expect=EXPECT[page_name], url=page.url,
                 obj_for=None if page.obj is None else objects[page.obj].__getitem__,
                 post=(lambda _o: page.data or {}) if page.method == "POST" else None,
                 names_checked=lambda _r: page_name not in ("template", "evidence", "checks_export"))


def test_evidence_is_never_cached_and_not_sniffed(client: Client, world: World,
                                                  objects: dict[str, dict[str, Any]]) -> None:
    client.force_login(world.users["county_liaison@A"])
    response = client.get(f"/readiness/evidence/{objects['evidence']['A1a'].pk}/")
    assert response.status_code == OK and response.content == PNG
    assert "no-store" in response["Cache-Control"] and response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "image/png"


def test_anonymous_readiness_pages_go_to_login(client: Client, world: World,
                                               objects: dict[str, dict[str, Any]]) -> None:
    school = objects["school"]["A1a"]
    for url in ("/readiness/", "/readiness/trainings/", "/readiness/coverage/",
                f"/readiness/check/school/{school.code}/", f"/readiness/evidence/{objects['evidence']['A1a'].pk}/"):
        response = client.get(url)
        assert response.status_code == REDIRECT and "/login/" in response.url, url
    assert client.post(f"/readiness/check/school/{school.code}/", {"v_test_rooms": "yes"}).status_code == REDIRECT
    assert SelfCheck.objects.get(school=school).answers == {}
