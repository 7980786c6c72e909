"""Completion statistics at every level (nation → province → city → county → school → room): students expected,
entered, exempt, absent, missing by item, rooms submitted / confirmed; the pages with drill-down, the Excel export
and the query counts of the list pages (constant in the number of rows)."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from naeq.pe import selectors, services
from tests.pe.conftest import NOW, PeWorld, fill

pytestmark = pytest.mark.django_db


def _scenario(pw: PeWorld) -> None:
    """A1a-1: grade-4 room confirmed (one exempt, three entered); grade-8 room in draft with two students entered,
    one of them −1 for vital capacity. A1b-1: rooms generated, nothing entered. B1a-1: no rooms."""
    g4, g8 = pw.staffed_rooms()
    rec, head = pw.user("school_info_officer@A"), pw.user("school_head@A")
    data = fill(g4)
    first = next(iter(data))
    data[first] = {"attendance": "exempt", "exempt_reason": "因病"}
    services.entry_save(actor=rec, room_id=g4.pk, data=data, submit=True, now=NOW)
    services.room_confirm(actor=head, room_id=g4.pk)
    data8 = dict(list(fill(g8).items())[:2])
    data8[next(iter(data8))]["vc_1"] = -1
    data8[next(iter(data8))]["vc_2"] = -1
    services.entry_save(actor=rec, room_id=g8.pk, data=data8, now=NOW)
    services.rooms_generate_system(cycle=pw.cycle, school=pw.world.schools["A1b-1"])


def _row(c: selectors.Completion, name_part: str) -> selectors.CompletionRow:
    return next(r for r in c.rows if name_part in r.name)


def test_counts_at_every_level(pw: PeWorld) -> None:
    _scenario(pw)
    admin = pw.user("national_admin@A")
    nation = selectors.completion(actor=admin, cycle=pw.cycle, region=None)
    a, b = _row(nation, "甲省"), _row(nation, "乙省")
    assert (a.expected, a.in_rooms, a.entered, a.exempt, a.absent, a.rooms, a.submitted, a.confirmed) == (
        12, 12, 5, 1, 0, 3, 0, 1)
    assert a.missing["vc"] == 1 and sum(a.missing.values()) == 1
    assert (b.expected, b.in_rooms, b.entered, b.rooms) == (4, 0, 0, 0)
    assert (nation.total.expected, nation.total.entered) == (16, 5)
    province = selectors.completion(actor=admin, cycle=pw.cycle, region=pw.world.regions["A"])
    assert [(r.name, r.expected, r.entered) for r in province.rows] == [("甲省一市", 12, 5)]
    city = selectors.completion(actor=admin, cycle=pw.cycle, region=pw.world.regions["A1"])
    assert [(r.code, r.expected, r.in_rooms, r.entered, r.rooms) for r in city.rows] == [
        ("310101", 8, 8, 5, 2), ("310102", 4, 4, 0, 1)]
    county = selectors.completion(actor=admin, cycle=pw.cycle, region=pw.world.regions["A1a"])
    assert [(r.kind, r.code, r.expected, r.entered, r.exempt, r.confirmed) for r in county.rows] == [
        ("school", pw.world.schools["A1a-1"].code, 8, 5, 1, 1)]
    school = selectors.school_completion(actor=admin, cycle=pw.cycle, school=pw.world.schools["A1a-1"])
    assert [(r.kind, r.expected, r.entered, r.exempt, r.missing["vc"], r.confirmed) for r in school.rows] == [
        ("room", 4, 3, 1, 0, 1), ("room", 4, 2, 0, 1, 0)]
    assert school.total.expected == 8


def test_jurisdiction_scopes_the_counts(pw: PeWorld) -> None:
    _scenario(pw)
    liaison_b = pw.user("county_liaison@B")
    county_b = selectors.completion(actor=liaison_b, cycle=pw.cycle, region=pw.world.regions["B1a"])
    assert [(r.expected, r.entered) for r in county_b.rows] == [(4, 0)]
    # A county officer reading the city (outside their county) is refused at the access funnel, on the page.


def test_pages_drill_down_and_export(pw: PeWorld, client: Client) -> None:
    _scenario(pw)
    client.force_login(pw.user("province_coordinator@A"))
    assert client.get("/pe/").url == "/pe/regions/310000/"
    page = client.get("/pe/regions/310000/").content.decode()
    assert 'href="/pe/regions/310100/"' in page and "甲省一市" in page
    page = client.get("/pe/regions/310101/").content.decode()
    school = pw.world.schools["A1a-1"]
    assert f'href="/pe/schools/{school.code}/"' in page
    page = client.get(f"/pe/schools/{school.code}/").content.decode()
    assert "已审核锁定" in page and "录入中" in page
    x = client.get("/pe/completion.xlsx?region=310100")
    assert x.status_code == 200
    ws = load_workbook(io.BytesIO(x.content)).worksheets[0]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3)]
    assert rows[0][:7] == ["310101", "甲省一市a县", 8, 8, 5, 1, 0]
    assert rows[-1][1] == "合计" and rows[-1][2] == 12
    assert client.get("/pe/regions/440000/").status_code == 404
    assert client.get("/pe/completion.xlsx").status_code == 404  # the nation is for national staff


def test_list_page_queries_do_not_grow_with_rows(pw: PeWorld, client: Client) -> None:
    client.force_login(pw.user("national_admin@A"))
    urls = ("/pe/", "/pe/regions/310100/", "/pe/regions/310101/", f"/pe/schools/{pw.world.schools['A1a-1'].code}/",
            "/pe/indicators/?region=310101")
    counts = []
    for step in (0, 1):
        if step:
            _scenario(pw)
        for url in urls:
            with CaptureQueriesContext(connection) as q:
                assert client.get(url).status_code == 200, url
            counts.append(len(q))
    # The school page lists its rooms with one query (recorder and reviewer joined): rooms add no queries.
    assert counts[:len(urls)][:2] == counts[len(urls):][:2], counts
    assert max(counts) <= 25, counts


def test_indicators_use_confirmed_rooms_only(pw: PeWorld, client: Client) -> None:
    _scenario(pw)
    admin = pw.user("national_admin@A")
    rows, total = selectors.indicator_rows(actor=admin, cycle=pw.cycle, region=pw.world.regions["A1a"])
    # Only the confirmed grade-4 room counts: its three present students (the exempt one excluded).
    assert [(r.name, r.values.students) for r in rows] == [("甲省一市a县第1学校", 3)]
    assert total.values.passed["vc"].n == 3
    client.force_login(admin)
    page = client.get("/pe/indicators/?region=310101").content.decode()
    assert "教体艺〔2014〕5号" in page and "暂定" in page and "GB/T 26343" in page




def test_student_takers_without_a_sampled_student_are_not_pe_takers(pw: PeWorld) -> None:
    """Only sampled students sit the PE test (their sex sets the bounds): a student test taker made outside the
    sample (e.g. synthetic responses for a calibration demo) is neither expected nor placed in a room."""
    from naeq.delivery.models import TestTaker

    school = pw.world.schools["A1a-1"]
    TestTaker.objects.create(cycle=pw.cycle, kind="student", code="SCD0000001", county=school.county, school=school,
                             path=school.path, grade=4)
    admin = pw.user("national_admin@A")
    county = selectors.completion(actor=admin, cycle=pw.cycle, region=pw.world.regions["A1a"])
    assert [r.expected for r in county.rows] == [8]
    assert selectors.school_completion(actor=admin, cycle=pw.cycle, school=school).total.expected == 8
    assert "SCD0000001" not in {t.code for t in services.pe_takers(pw.cycle, school)}
