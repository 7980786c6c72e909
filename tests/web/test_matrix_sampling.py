"""The authorisation matrix of the sampling pages: every page × every role × {inside, sibling, outside}.

Built on the machinery of :mod:`tests.web.test_matrix` (personas, expectation shorthands, object choice,
foreign-code leak check). To keep the suite fast on two cores, one test per endpoint loops over the 28 personas
(every role in provinces A and B) on one drawn sample, instead of one test per persona.

The sample: every county of the persona world is drawn (at least two per province, and each province has two),
every school in both grades (two schools per county, fewer than 12 + 8), all participating; school A1a-1 and
B1a-1 have rosters and drawn students.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

import tests.web.test_matrix as m
from naeq.accounts.roles import Role
from naeq.registry.models import Principal, Student, Teacher
from naeq.registry.services import frame_lock
from naeq.sampling import services
from naeq.sampling.models import SampledSchool, SampleRun, SchoolParticipation, Stage
from tests.personas import World
from tests.sampling.conftest import draw_students

OK, REDIRECT, FORBIDDEN, MISSING = m.OK, m.REDIRECT, m.FORBIDDEN, m.MISSING
ALL, TREE, OWN, NONE = m.ALL, m.TREE, m.OWN, m.NONE
by_role = m._by_role


@dataclass(frozen=True)
class Page:
    name: str
    url: Callable[[str, dict[str, Any]], str]  # (object code, context) -> URL
    obj: str | None
    method: str = "GET"
    data: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
    binary: str | None = None  # "xlsx" / "pdf": the body is checked after unpacking


def _fixed(url: str) -> Callable[[str, dict[str, Any]], str]:
    return lambda _code, _ctx: url


def _participation_data(code: str, ctx: dict[str, Any]) -> dict[str, Any]:
    return {"sampled_school": ctx["rows"][code], "participation": SchoolParticipation.PARTICIPATING}


PAGES = [
    Page("sampling_home", _fixed("/sampling/"), None),
    Page("runs", _fixed("/sampling/runs/"), None),
    Page("run_detail", lambda _c, ctx: f"/sampling/runs/{ctx['run']}/", None),
    Page("draw", _fixed("/sampling/runs/draw/"), None, "POST", lambda _c, _x: {"stage": "county", "seed": "3"}),
    Page("weights", _fixed("/sampling/runs/weights/"), None, "POST", lambda _c, _x: {}),
    Page("counties", _fixed("/sampling/counties/"), None),
    Page("counties_export", _fixed("/sampling/counties/export.xlsx"), None, binary="xlsx"),
    Page("county", lambda c, _x: f"/sampling/counties/{c}/", "region"),
    Page("county_export", lambda c, _x: f"/sampling/counties/{c}/export.xlsx", "region", binary="xlsx"),
    Page("school", lambda c, _x: f"/sampling/schools/{c}/", "school"),
    Page("participation", lambda c, _x: f"/sampling/schools/{c}/participation/", "school", "POST",
         _participation_data),
    Page("students_draw", lambda c, _x: f"/sampling/schools/{c}/students/draw/", "school", "POST",
         lambda _c, _x: {}),
    Page("test_takers", lambda c, _x: f"/sampling/schools/{c}/test-takers/", "school", "POST", lambda _c, _x: {}),
    Page("test_takers_submit", lambda c, _x: f"/sampling/schools/{c}/test-takers/submit/", "school", "POST",
         lambda _c, _x: {}),
    Page("students_export", lambda c, _x: f"/sampling/schools/{c}/students.xlsx", "school", binary="xlsx"),
    Page("test_taker_template", lambda c, _x: f"/sampling/schools/{c}/test-takers.xlsx", "school", binary="xlsx"),
    Page("slips", lambda c, _x: f"/sampling/schools/{c}/slips.pdf", "school", binary="pdf"),
]

REGION_READERS = dict(national=OK, province=OK, city=OK, county=OK, school=MISSING, taker=MISSING)
NATIONAL_ONLY = dict(national=OK, province=MISSING, city=MISSING, county=MISSING, school=MISSING, taker=MISSING)
SCHOOL_READ = dict(national=ALL, province=TREE, city=TREE, county=OWN, school=OWN, taker=NONE)
READ_ONLY_TREE = (FORBIDDEN, FORBIDDEN, MISSING)
OWN_WRITE = (REDIRECT, MISSING, MISSING)
OWN_FORBIDDEN = (FORBIDDEN, MISSING, MISSING)
SCHOOL_WRITE = {
    **by_role(national_admin=(REDIRECT,) * 3, national_analyst=(FORBIDDEN,) * 3,
              province=(REDIRECT, REDIRECT, MISSING), city=READ_ONLY_TREE, county=OWN_WRITE, taker=NONE),
    **{r.value: OWN_WRITE for r in (Role.SCHOOL_HEAD, Role.SCHOOL_INFO_OFFICER)},
    **{r.value: OWN_FORBIDDEN for r in (Role.INSPECTOR, Role.CHIEF_PROCTOR)},
}

EXPECT: dict[str, dict[str, Any]] = {
    "sampling_home": by_role(national=REDIRECT, province=REDIRECT, city=REDIRECT, county=REDIRECT,
                             school=REDIRECT, taker=REDIRECT),
    "runs": by_role(**NATIONAL_ONLY),
    "run_detail": by_role(**NATIONAL_ONLY),
    # National administrators draw (here: refused, a county run exists, so back to the run list); the analyst reads.
    "draw": by_role(national_admin=REDIRECT, national_analyst=FORBIDDEN, province=MISSING, city=MISSING,
                    county=MISSING, school=MISSING, taker=MISSING),
    "weights": by_role(national_admin=REDIRECT, national_analyst=FORBIDDEN, province=MISSING, city=MISSING,
                       county=MISSING, school=MISSING, taker=MISSING),
    "counties": by_role(**REGION_READERS),
    "counties_export": by_role(**REGION_READERS),
    "county": by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=NONE, taker=NONE),
    "county_export": by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=NONE, taker=NONE),
    "school": by_role(**SCHOOL_READ),
    # The county records participation (and the province or the nation above it); schools and cities read.
    "participation": by_role(national_admin=(REDIRECT,) * 3, national_analyst=(FORBIDDEN,) * 3,
                             province=(REDIRECT, REDIRECT, MISSING), city=READ_ONLY_TREE, county=OWN_WRITE,
                             school=OWN_FORBIDDEN, taker=NONE),
    "students_draw": SCHOOL_WRITE,
    "test_takers": SCHOOL_WRITE,
    # The review chain: the school submits, or its county's officers on its behalf; here refused (statuses missing).
    "test_takers_submit": {
        **by_role(national=(FORBIDDEN,) * 3, province=(FORBIDDEN, FORBIDDEN, MISSING), city=READ_ONLY_TREE,
                  county=OWN_WRITE, taker=NONE),
        **{r.value: OWN_WRITE for r in (Role.SCHOOL_HEAD, Role.SCHOOL_INFO_OFFICER)},
        **{r.value: OWN_FORBIDDEN for r in (Role.INSPECTOR, Role.CHIEF_PROCTOR)},
    },
    "students_export": by_role(**SCHOOL_READ),
    "test_taker_template": by_role(**SCHOOL_READ),
    # Credential slips carry names: the school and its county only.
    "slips": by_role(national=(FORBIDDEN,) * 3, province=READ_ONLY_TREE, city=READ_ONLY_TREE, county=OWN,
                     school=OWN, taker=NONE),
}


def test_every_sampling_page_has_a_row_for_every_role() -> None:
    assert set(EXPECT) == {p.name for p in PAGES}
    for name, row in EXPECT.items():
        assert set(row) == {r.value for r in Role}, name
        page = next(p for p in PAGES if p.name == name)
        for value in row.values():
            assert isinstance(value, tuple) == (page.obj is not None), name


def _rosters(world: World) -> None:
    rows = []
    for key in ("A1a-1", "B1a-1"):
        school = world.schools[key]
        for grade, n in ((4, school.g4_enrollment), (8, school.g8_enrollment)):
            rows += [Student(school=school, grade=grade, class_no=1 + i // 40, seq=1 + i % 40, name=f"学生{i}",
                             sex="MF"[i % 2], birth_month="2015-03" if grade == 4 else "2011-03") for i in range(n)]
        Teacher.objects.create(school=school, name="教师甲", sex="F", grade=4, subjects="math",
                               head_teacher_class=1)
        Principal.objects.create(school=school, name="校长甲", sex="M")
    Student.objects.bulk_create(rows)


@pytest.fixture
def drawn(world: World, cycle: Any) -> dict[str, Any]:
    admin = world.users["national_admin@A"]
    frame_lock(actor=admin, year=cycle.year, accept_unreviewed=True)
    services.sample_draw(actor=admin, year=cycle.year, stage=Stage.COUNTY, seed=7)
    school_run = services.sample_draw(actor=admin, year=cycle.year, stage=Stage.SCHOOL, seed=7)
    for pk in SampledSchool.objects.values_list("pk", flat=True):
        services.school_participation_set(actor=admin, sampled_school_id=pk,
                                          participation=SchoolParticipation.PARTICIPATING)
    _rosters(world)
    for key in ("A1a-1", "B1a-1"):
        draw_students(actor=admin, year=cycle.year, school_code=world.schools[key].code)
    rows = dict(SampledSchool.objects.filter(run=school_run, grade=4).values_list("school__code", "pk"))
    run = SampleRun.objects.filter(stage=Stage.COUNTY).values_list("pk", flat=True).get()
    return {"rows": rows, "run": run}


def _text(page: Page, response: Any) -> str:
    if page.binary == "xlsx" and response.status_code == OK:
        with zipfile.ZipFile(io.BytesIO(response.content)) as z:
            return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
    if page.binary == "pdf" and response.status_code == OK:
        return ""  # PDF text is checked in tests/sampling; status is what the matrix asserts
    return response.content.decode()


@pytest.mark.parametrize("page_name", [p.name for p in PAGES])
def test_sampling_matrix(client: Client, world: World, drawn: dict[str, Any], page_name: str) -> None:
    page = next(p for p in PAGES if p.name == page_name)
    for role in Role:
        for p in ("A", "B"):
            persona = f"{role.value}@{p}"
            client.force_login(world.users[persona])
            expected = EXPECT[page_name][role.value]
            q = "B" if p == "A" else "A"
            foreign = {world.schools[k].code for k in world.schools} - {
                world.schools[k].code for k in m.visible_school_keys(role.value, p)}
            targets = ([("", expected)] if page.obj is None else
                       [(m._object_code(world, page.obj, p, where), status)
                        for where, status in zip(m.WHERE, expected, strict=True)])
            for code, status in targets:
                url = page.url(code, drawn)
                if page.method == "POST":
                    response = client.post(url, page.data(code, drawn) if page.data else {})
                else:
                    response = client.get(url)
                assert response.status_code == status, (persona, page_name, code, response.status_code)
                if status == OK:
                    body = _text(page, response)
                    for leak in foreign:
                        assert leak not in body, (persona, page_name, code, leak)
                    if role not in m.NATIONAL and page.obj is None:
                        assert world.regions[q].name not in body, (persona, page_name)
