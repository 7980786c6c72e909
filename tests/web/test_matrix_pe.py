"""The authorisation matrix of the 体育测试 pages: every page × every role × {inside, sibling, outside}.

Built on :mod:`tests.web.test_matrix` (personas, expectation shorthands). Objects, for a persona of province P:
county P1a / P1b / Q1a (its province for the entry window), school P1a-1 / P1b-1 / Q1a-1, a grade-4 exam room of
that school and its first student's record. The rooms of P1a-1 have the school's information officer as recorder
and its head as reviewer.

The rules (naeq/pe/access.py, from 2024-nanchang-city-plan.txt: the PE proctors "按要求测试并如实记录学生测试数据，
协助信息员将体育测试数据录入系统中，核查体育测试数据录入的准确性"): staff read their jurisdiction (city read-only);
the school's head and information officer and the county's officers arrange rooms; only the room's recorder enters
and only its reviewer reviews; only the county's officers unlock; only the provincial coordinator sets the entry
window; test takers and raters see nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

import tests.web.test_matrix as m
from naeq.accounts.roles import Role
from naeq.pe import services
from naeq.pe.models import ExamRoom, PeRecord
from tests.pe.conftest import build_pe_sample
from tests.personas import World

OK, REDIRECT, FORBIDDEN, MISSING = m.OK, m.REDIRECT, m.FORBIDDEN, m.MISSING
ALL, TREE, OWN, NONE = m.ALL, m.TREE, m.OWN, m.NONE
by_role = m._by_role
R = Role
RUN = (REDIRECT, MISSING, MISSING)
OWN_FORBIDDEN = (FORBIDDEN, MISSING, MISSING)
TREE_FORBIDDEN = (FORBIDDEN, FORBIDDEN, MISSING)
SAMPLED = {"A1a-1": (4,), "A1b-1": (4,), "B1a-1": (4,), "B1b-1": (4,)}


@dataclass(frozen=True)
class Page:
    name: str
    url: Callable[[Any], str]
    obj: str | None  # "county", "province", "school", "room", "record" or None
    method: str = "GET"
    data: Callable[[Any], dict[str, Any]] | None = None


def _window(_p: Any) -> dict[str, str]:
    now = timezone.localtime()
    return {"opens_at": (now - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "closes_at": (now + dt.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")}


PAGES = [
    Page("home", lambda _o: "/pe/", None),
    Page("national_xlsx", lambda _o: "/pe/completion.xlsx", None),
    Page("national_indicators", lambda _o: "/pe/indicators/", None),
    Page("region", lambda c: f"/pe/regions/{c.code}/", "county"),
    Page("region_xlsx", lambda c: f"/pe/completion.xlsx?region={c.code}", "county"),
    Page("region_indicators", lambda c: f"/pe/indicators/?region={c.code}", "county"),
    Page("window", lambda p: f"/pe/regions/{p.code}/window/", "province"),
    Page("window_set", lambda p: f"/pe/regions/{p.code}/window/", "province", "POST", _window),
    Page("school", lambda s: f"/pe/schools/{s.code}/", "school"),
    Page("generate", lambda s: f"/pe/schools/{s.code}/generate/", "school", "POST", lambda _s: {"size": "30"}),
    Page("room", lambda r: f"/pe/rooms/{r.pk}/", "room"),
    Page("room_template", lambda r: f"/pe/rooms/{r.pk}/template.xlsx", "room"),
    Page("room_save", lambda r: f"/pe/rooms/{r.pk}/", "room", "POST", lambda _r: {"action": "save"}),
    Page("room_staff", lambda r: f"/pe/rooms/{r.pk}/staff/", "room", "POST",
         lambda r: {"name": r.name, "recorder": r.recorder_id or "", "reviewer": r.reviewer_id or ""}),
    Page("room_missing", lambda r: f"/pe/rooms/{r.pk}/missing/", "room", "POST", lambda _r: {"item": "shuttle"}),
    Page("room_import", lambda r: f"/pe/rooms/{r.pk}/import/", "room", "POST", lambda _r: {}),
    Page("room_review", lambda r: f"/pe/rooms/{r.pk}/review/", "room", "POST", lambda _r: {"action": "return"}),
    Page("room_unlock", lambda r: f"/pe/rooms/{r.pk}/unlock/", "room", "POST", lambda _r: {"reason": "x"}),
    Page("record_move", lambda p: f"/pe/records/{p.pk}/move/", "record", "POST",
         lambda p: {"room": "0", "back": str(p.room_id)}),
]

REGION_READ = dict(national=ALL, province=TREE, city=TREE, county=OWN, taker=NONE)
SCHOOL_READ = dict(**REGION_READ, school=OWN)
NATIONAL_ONLY = by_role(national=OK, province=MISSING, city=MISSING, county=MISSING, school=MISSING, taker=MISSING)
# Room writes for everybody who is not the one person allowed: national, province, city forbidden on what they see.
NOT_ME = dict(national=(FORBIDDEN,) * 3, province=TREE_FORBIDDEN, city=TREE_FORBIDDEN, taker=NONE)


def _one(role: R, status: tuple[int, ...], **groups: Any) -> dict[str, Any]:
    """Expectations where exactly ``role`` (of the school) gets ``status`` and the rest of its group 403."""
    return {**by_role(**groups), role.value: status}


def _managers(**groups: Any) -> dict[str, Any]:
    return {**by_role(**groups), R.SCHOOL_HEAD.value: RUN, R.SCHOOL_INFO_OFFICER.value: RUN}


EXPECT: dict[str, dict[str, Any]] = {
    "home": by_role(national=OK, province=REDIRECT, city=REDIRECT, county=REDIRECT, school=REDIRECT, taker=MISSING),
    "national_xlsx": NATIONAL_ONLY,
    "national_indicators": NATIONAL_ONLY,
    "region": by_role(**REGION_READ, school=NONE),
    "region_xlsx": by_role(**REGION_READ, school=NONE),
    "region_indicators": by_role(**REGION_READ, school=NONE),
    # The window page is about a province: city viewers and county staff are below it.
    "window": by_role(national=ALL, province=(OK, OK, MISSING), city=NONE, county=NONE, school=NONE, taker=NONE),
    "window_set": by_role(national=(FORBIDDEN,) * 3, province=(REDIRECT, REDIRECT, MISSING), city=NONE, county=NONE,
                          school=NONE, taker=NONE),
    "school": by_role(**SCHOOL_READ),
    "generate": _managers(**NOT_ME, county=RUN, school=OWN_FORBIDDEN),
    "room": by_role(**SCHOOL_READ),
    "room_template": by_role(**SCHOOL_READ),
    "room_save": _one(R.SCHOOL_INFO_OFFICER, RUN, **NOT_ME, county=OWN_FORBIDDEN, school=OWN_FORBIDDEN),
    "room_staff": _managers(**NOT_ME, county=RUN, school=OWN_FORBIDDEN),
    "room_missing": _one(R.SCHOOL_INFO_OFFICER, RUN, **NOT_ME, county=OWN_FORBIDDEN, school=OWN_FORBIDDEN),
    "room_import": _one(R.SCHOOL_INFO_OFFICER, RUN, **NOT_ME, county=OWN_FORBIDDEN, school=OWN_FORBIDDEN),
    "room_review": _one(R.SCHOOL_HEAD, RUN, **NOT_ME, county=OWN_FORBIDDEN, school=OWN_FORBIDDEN),
    "room_unlock": by_role(**NOT_ME, county=RUN, school=OWN_FORBIDDEN),
    "record_move": _managers(**NOT_ME, county=RUN, school=OWN_FORBIDDEN),
}


def test_every_pe_page_has_a_row_for_every_role() -> None:
    assert set(EXPECT) == {p.name for p in PAGES}
    for name, row in EXPECT.items():
        assert set(row) == {r.value for r in Role}, name
        page = next(p for p in PAGES if p.name == name)
        for value in row.values():
            assert isinstance(value, tuple) == (page.obj is not None), name


@pytest.fixture
def objects(world: World, cycle: Any) -> dict[str, Callable[[str], Any]]:
    build_pe_sample(world, cycle, per_grade=2, sampled=SAMPLED)
    now = timezone.now()
    for p in ("A", "B"):
        services.window_set_system(cycle=cycle, province=world.regions[p], opens_at=now - dt.timedelta(days=1),
                                   closes_at=now + dt.timedelta(days=5))
    rooms: dict[str, ExamRoom] = {}
    for key in ("A1a", "A1b", "B1a", "B1b"):
        school = world.schools[f"{key}-1"]
        room = services.rooms_generate_system(cycle=cycle, school=school)[0]
        if key.endswith("1a"):
            p = key[0]
            room.recorder = world.users[f"school_info_officer@{p}"]
            room.reviewer = world.users[f"school_head@{p}"]
            room.save()
        rooms[key] = room
    return {"county": lambda k: world.regions[k], "province": lambda k: world.regions[k[0]],
            "school": lambda k: world.schools[f"{k}-1"], "room": lambda k: ExamRoom.objects.get(pk=rooms[k].pk),
            "record": lambda k: PeRecord.objects.filter(room=rooms[k]).order_by("seq").first()}


@pytest.mark.parametrize("page_name", [p.name for p in PAGES])
def test_pe_matrix(client: Client, world: World, objects: dict[str, Callable[[str], Any]], page_name: str) -> None:
    page = next(p for p in PAGES if p.name == page_name)
    m.check_page(client, world, name=page_name, expect=EXPECT[page_name], url=page.url,
                 obj_for=None if page.obj is None else objects[page.obj],
                 post=(lambda o: page.data(o) if page.data else {}) if page.method == "POST" else None,
                 names_checked=lambda r: r["Content-Type"].startswith("text/html"))


def test_missing_and_forbidden_rooms_answer_alike(client: Client, world: World,
                                                  objects: dict[str, Callable[[str], Any]]) -> None:
    client.force_login(world.users["school_info_officer@A"])
    foreign = objects["room"]("B1a")
    a = client.get(f"/pe/rooms/{foreign.pk}/")
    b = client.get("/pe/rooms/999999/")
    assert a.status_code == b.status_code == 404
    assert m._main(a.content.decode()) == m._main(b.content.decode())


def test_anonymous_pe_pages_go_to_login(client: Client, world: World,
                                        objects: dict[str, Callable[[str], Any]]) -> None:
    room = objects["room"]("A1a")
    for url in ("/pe/", "/pe/regions/310101/", f"/pe/rooms/{room.pk}/", f"/pe/rooms/{room.pk}/template.xlsx"):
        response = client.get(url)
        assert response.status_code == REDIRECT and "/login/" in response.url, url
    assert client.post(f"/pe/rooms/{room.pk}/", {"action": "submit"}).status_code == REDIRECT
    assert ExamRoom.objects.get(pk=room.pk).status == "draft"
