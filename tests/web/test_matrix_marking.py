"""The authorisation matrix of the 主观题评分 pages: every page × every role (both provinces).

Rules (naeq/marking/access.py): the national administrator organises marking; the national analyst reads the
overview, statistics and export but changes nothing (403); raters (评分员) reach only their own queue, their own
assignments and the images of responses in their queue (someone else's look missing); everyone else — provincial,
city, county and school staff and test takers — finds nothing (404). Arbitration is for the national
administrator (and senior raters, tested in tests/marking).

Objects, for a persona of province P: "inside" is an assignment (or response) in P's own rater's queue, "sibling"
one in the queue of another rater of P's province, "outside" one in the twin province's rater's queue; the pages
that change state get a fresh object on every request.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import count
from typing import Any

import pytest
from django.test import Client

import tests.web.test_matrix as m
from naeq.accounts.roles import Role
from naeq.accounts.services import user_create
from naeq.delivery.demo_bank import bar_chart_png
from naeq.marking import images, services
from naeq.marking.models import (
    Arbitration,
    Assignment,
    AssignmentRun,
    AssignmentStatus,
    MarkResponse,
    RaterProfile,
    ResponseStatus,
    Source,
)
from tests.delivery.factories import make_taker
from tests.marking.conftest import POINTS_E01, build_marking
from tests.personas import World

OK, REDIRECT, BAD, FORBIDDEN, MISSING = m.OK, m.REDIRECT, m.BAD, m.FORBIDDEN, m.MISSING
NONE = m.NONE
by_role = m._by_role
R = Role
_n = count(1)

READ = by_role(national=OK, province=MISSING, city=MISSING, county=MISSING, school=MISSING, taker=MISSING)


def _write(admin: int) -> dict[str, Any]:
    return {**by_role(national=FORBIDDEN, province=MISSING, city=MISSING, county=MISSING, school=MISSING,
                      taker=MISSING), R.NATIONAL_ADMIN.value: admin}


def _rater(status: int, others: int = MISSING) -> dict[str, Any]:
    return {**by_role(national=others, province=MISSING, city=MISSING, county=MISSING, school=MISSING,
                      taker=MISSING), R.RATER.value: status}


OWN_ONLY = (REDIRECT, MISSING, MISSING)

PAGES: list[tuple[str, str, Callable[[Any], str], str | None, Callable[[Any], dict[str, Any]] | None, Any]] = [
    # name, method, url(obj), object kind, POST data(obj), expectation
    ("home", "GET", lambda _o: "/marking/", None, None, _rater(REDIRECT, OK)),
    ("settings", "GET", lambda _o: "/marking/settings/", None, None, READ),
    ("settings_post", "POST", lambda _o: "/marking/settings/", None, lambda _o: {"double_share": "0.2"},
     _write(REDIRECT)),
    ("rubric_template", "GET", lambda _o: "/marking/rubrics/template.xlsx", None, None, READ),
    ("rubric_import", "GET", lambda _o: "/marking/rubrics/import/", None, None, READ),
    ("rubric_import_post", "POST", lambda _o: "/marking/rubrics/import/", None, lambda _o: {}, _write(BAD)),
    ("rubric", "GET", lambda o: f"/marking/rubrics/{o.pk}/", "rubric", None, READ),
    ("rubric_post", "POST", lambda o: f"/marking/rubrics/{o.pk}/", "rubric",
     lambda _o: {f"point_{s}": d for s, d in POINTS_E01.items()}, _write(REDIRECT)),
    ("collect", "POST", lambda _o: "/marking/collect/", None, lambda _o: {}, _write(REDIRECT)),
    ("paper", "GET", lambda _o: "/marking/paper/", None, None, READ),
    ("paper_post", "POST", lambda _o: "/marking/paper/", None, lambda _o: {}, _write(BAD)),
    ("assign", "POST", lambda _o: "/marking/assign/", None, lambda _o: {"item": "mtest/E02", "seed": "1"},
     _write(REDIRECT)),
    ("queue", "GET", lambda _o: "/marking/queue/", None, None, _rater(OK)),
    ("agreement", "GET", lambda _o: "/marking/agreement/", None, None, READ),
    ("drift", "GET", lambda _o: "/marking/drift/", None, None, READ),
    ("suspend", "POST", lambda o: f"/marking/raters/{o.pk}/suspend/", "fresh_rater",
     lambda _o: {"reason": "抽查"}, _write(REDIRECT)),
    ("raters", "GET", lambda _o: "/marking/raters/", None, None, READ),
    ("raters_post", "POST", lambda _o: "/marking/raters/", None,
     lambda _o: {"username": f"matrix_rater_{next(_n)}", "password": "pw-2026-x", "province": "310000",
                 "items": "mtest/E01"}, _write(REDIRECT)),
    ("arbitration", "GET", lambda _o: "/marking/arbitration/", None, None, _write(OK)),
    ("export", "GET", lambda _o: "/marking/export.csv", None, None, READ),
    # Object pages: a tuple per role for (own queue, another rater of the province, the twin province's rater).
    ("score", "POST", lambda o: f"/marking/assignments/{o.pk}/", "fresh_assignment", lambda _o: {"score": "1"},
     {**by_role(national=NONE, province=NONE, city=NONE, county=NONE, school=NONE, taker=NONE),
      R.RATER.value: OWN_ONLY}),
    ("image", "GET", lambda o: f"/marking/responses/{o.response.code}/image", "assignment", None,
     {**by_role(national=(OK, OK, OK), province=NONE, city=NONE, county=NONE, school=NONE, taker=NONE),
      R.RATER.value: (OK, MISSING, MISSING)}),
    ("arbitrate", "POST", lambda o: f"/marking/arbitration/{o.pk}/", "fresh_arbitration",
     lambda _o: {"score": "1"},
     {**by_role(national=(FORBIDDEN,) * 3, province=NONE, city=NONE, county=NONE, school=NONE, taker=NONE),
      R.NATIONAL_ADMIN.value: (REDIRECT,) * 3}),
    ("flag_return", "POST", lambda o: f"/marking/flags/{o.pk}/return/", "fresh_flag", lambda _o: {},
     {**by_role(national=(FORBIDDEN,) * 3, province=NONE, city=NONE, county=NONE, school=NONE, taker=NONE),
      R.NATIONAL_ADMIN.value: (REDIRECT,) * 3}),
]


def test_every_marking_page_has_a_row_for_every_role() -> None:
    for name, _method, _url, obj, _data, expect in PAGES:
        assert set(expect) == {r.value for r in Role}, name
        for value in expect.values():
            assert isinstance(value, tuple) == (obj is not None and obj not in {"rubric", "fresh_rater"}), name


@pytest.fixture
def objects(world: World, cycle: Any) -> dict[str, Callable[[str], Any]]:
    mk = build_marking(world, cycle, n=2)
    rubric = services.rubric_save(actor=None, cycle=cycle, instrument_code="mtest", item_code="E01",
                                  points=POINTS_E01)
    raters = {p: world.users[f"rater@{p}"] for p in "AB"}
    colleague = {p: user_create(actor=None, username=f"rater_colleague_{p.lower()}", password=None,
                                role=Role.RATER, region=world.regions[p]) for p in "AB"}
    for u in [*raters.values(), *colleague.values()]:
        RaterProfile.objects.create(user=u)
    run = AssignmentRun.objects.create(cycle=cycle, instrument_code="mtest", item_code="E01", seed=1,
                                       double_share=0, check_rate=0)
    school = world.schools["A1a-1"]
    png = bar_chart_png()

    def response() -> MarkResponse:
        n = next(_n)
        taker = make_taker(cycle, school, f"X{n:05d}")
        code = services.new_response_code()
        r = MarkResponse.objects.create(cycle=cycle, code=code, instrument_code="mtest", item_code="E01",
                                        max_score=2, source=Source.PAPER, test_taker=taker, image=f"{code}.png")
        images.image_store(cycle.pk, r.image, png)
        return r

    def owner(key: str) -> Any:
        p = key[0]
        return colleague[p] if key.endswith("b") else raters[p]

    def assignment(key: str, status: str = AssignmentStatus.PENDING) -> Assignment:
        return Assignment.objects.create(response=response(), rater=owner(key), run=run, position=next(_n),
                                         status=status)

    fixed = {k: assignment(k) for k in ("A1a", "A1b", "B1a", "B1b")}

    def arbitration(_key: str) -> Arbitration:
        r = response()
        r.status = ResponseStatus.ARBITRATION
        r.save()
        return Arbitration.objects.create(response=r, scores=[0, 2])

    def fresh_rater(_key: str) -> Any:
        u = user_create(actor=None, username=f"rater_s{next(_n)}", password=None, role=Role.RATER,
                        region=world.regions["A"])
        RaterProfile.objects.create(user=u)
        return u

    del mk
    return {"rubric": lambda _k: rubric, "assignment": lambda k: fixed[k], "fresh_assignment": assignment,
            "fresh_arbitration": arbitration, "fresh_flag": lambda k: assignment(k, AssignmentStatus.FLAGGED),
            "fresh_rater": fresh_rater}


@pytest.mark.parametrize("page", [p[0] for p in PAGES])
def test_marking_matrix(client: Client, world: World, objects: dict[str, Callable[[str], Any]], page: str) -> None:
    name, method, url, obj, data, expect = next(p for p in PAGES if p[0] == page)
    single = obj in {"rubric", "fresh_rater"}
    if single:
        fixed_url = url
        maker = objects[obj]  # type: ignore[index]

        def url(_o: Any) -> str:
            return fixed_url(maker("A1a"))
    m.check_page(client, world, name=name, expect=expect, url=url,
                 obj_for=None if obj is None or single else objects[obj],
                 post=(lambda o: data(o)) if method == "POST" and data is not None else None,
                 names_checked=lambda r: r.get("Content-Type", "").startswith("text/html"))


def test_anonymous_marking_pages_go_to_login(client: Client, world: World) -> None:
    for path in ("/marking/", "/marking/queue/", "/marking/agreement/", "/marking/arbitration/",
                 "/marking/export.csv"):
        r = client.get(path)
        assert r.status_code == REDIRECT and "/login/" in r.url, path
