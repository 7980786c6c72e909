"""The authorisation matrix of the 纸笔作答采集 pages: every page × every role × {inside, sibling, outside}.

Built on :mod:`tests.web.test_matrix`. Objects, for a persona of province P: county P1a / P1b / Q1a, school P1a-1 /
P1b-1 / Q1a-1, a scan batch with test takers of that county imported by the province's coordinator (with an open
review entry; the writing pages get a fresh one on every request) and a keyed card of a test taker of that county
whose two passes (by two other operators) differ.

The rules (naeq/papercapture/access.py): booklets carry secret item content — national staff print them, a county
officer for their own county's printing; answer cards are printed by national staff, the province and the county;
the scan import, review queue and release belong to the national administrator and province coordinators (the
national analyst reads the queue); county information officers, province coordinators and the national
administrator key cards, a third person (or the county liaison as supervisor) reconciles; every staff role reads
completion within its jurisdiction; test takers and raters see nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
from django.test import Client

import tests.web.test_matrix as m
from naeq.accounts.roles import Role
from naeq.accounts.services import user_create
from naeq.papercapture import services
from naeq.papercapture.models import KeyedCard, KeyedStatus, KeyingPass, PaperResponse, ReviewEntry, ScanBatch
from tests.delivery.factories import make_taker
from tests.papercapture.conftest import PaperWorld, build_paper_world
from tests.papercapture.helpers import scan_csv
from tests.personas import World

OK, REDIRECT, FORBIDDEN, MISSING = m.OK, m.REDIRECT, m.FORBIDDEN, m.MISSING
ALL, TREE, OWN, NONE = m.ALL, m.TREE, m.OWN, m.NONE
by_role = m._by_role
R = Role
_n = count(1)
TAKER_OF = {"A1a": "A0001", "A1b": "A1B01", "B1a": "B0001", "B1b": "B1B01"}


@dataclass(frozen=True)
class Page:
    name: str
    url: Callable[[Any], str]
    obj: str | None  # "county", "school", "batch", "entry", "keyed", "fresh_keyed" or None
    method: str = "GET"
    data: dict[str, str] | None = None


def _pages(inst: int) -> list[Page]:
    base = f"/paper/instruments/{inst}"
    return [
        Page("home", lambda _o: "/paper/", None),
        Page("template", lambda _o: f"{base}/template.csv", None),
        Page("layout", lambda _o: f"{base}/template.json", None),
        Page("booklet", lambda _o: f"{base}/booklets/1.pdf", None),
        Page("booklet_county", lambda c: f"{base}/booklets/1.pdf?county={c.code}", "county"),
        Page("cards", lambda s: f"{base}/schools/{s.code}/cards.pdf", "school"),
        Page("import", lambda _o: f"{base}/import/", None),
        Page("key", lambda _o: f"{base}/key/", None),
        Page("completion", lambda _o: f"{base}/completion/", None),
        Page("completion_county", lambda c: f"{base}/completion/?county={c.code}", "county"),
        Page("batch", lambda b: f"/paper/batches/{b.pk}/", "batch"),
        Page("confirm_missing", lambda b: f"/paper/batches/{b.pk}/confirm-missing/", "batch", "POST"),
        Page("score", lambda b: f"/paper/batches/{b.pk}/score/", "batch", "POST"),
        Page("resolve", lambda e: f"/paper/entries/{e.pk}/resolve/", "entry", "POST", {"resolution": "discard"}),
        Page("keyed", lambda k: f"/paper/keyed/{k.pk}/", "keyed"),
        Page("reconcile", lambda k: f"/paper/keyed/{k.pk}/", "fresh_keyed", "POST", {"pick_P01": "B"}),
    ]


PAGE_NAMES = [p.name for p in _pages(0)]
STAFF_OK = dict(national=OK, province=OK, city=OK, county=OK, school=OK, taker=MISSING)
QUEUE_READ = dict(national=ALL, province=TREE, city=NONE, county=NONE, school=NONE, taker=NONE)
QUEUE_WRITE = dict(national_admin=(REDIRECT,) * 3, national_analyst=(FORBIDDEN,) * 3,
                   province=(REDIRECT, REDIRECT, MISSING), city=NONE, county=NONE, school=NONE, taker=NONE)

EXPECT: dict[str, dict[str, Any]] = {
    "home": by_role(**STAFF_OK),
    "template": by_role(**STAFF_OK),
    "layout": by_role(**STAFF_OK),
    "booklet": by_role(national=OK, province=MISSING, city=MISSING, county=MISSING, school=MISSING,
                       taker=MISSING),
    "booklet_county": by_role(national=ALL, province=NONE, city=NONE, county=OWN, school=NONE, taker=NONE),
    "cards": by_role(national=ALL, province=TREE, city=(FORBIDDEN, FORBIDDEN, MISSING), county=OWN,
                     school=(FORBIDDEN, MISSING, MISSING), taker=NONE),
    "import": by_role(national_admin=OK, national_analyst=FORBIDDEN, province=OK, city=MISSING, county=MISSING,
                      school=MISSING, taker=MISSING),
    "key": {**by_role(national_admin=OK, national_analyst=FORBIDDEN, province=OK, city=MISSING, county=OK,
                      school=MISSING, taker=MISSING), R.COUNTY_LIAISON.value: FORBIDDEN},
    "completion": by_role(**STAFF_OK),
    "completion_county": by_role(national=ALL, province=TREE, city=TREE, county=OWN, school=NONE, taker=NONE),
    "batch": by_role(**QUEUE_READ),
    "confirm_missing": by_role(**QUEUE_WRITE),
    "score": by_role(**QUEUE_WRITE),
    "resolve": by_role(**QUEUE_WRITE),
    "keyed": by_role(national=ALL, province=TREE, city=NONE, county=OWN, school=NONE, taker=NONE),
    "reconcile": by_role(national_admin=(REDIRECT,) * 3, national_analyst=(FORBIDDEN,) * 3,
                         province=(REDIRECT, REDIRECT, MISSING), city=NONE, county=(REDIRECT, MISSING, MISSING),
                         school=NONE, taker=NONE),
}


def test_every_paper_page_has_a_row_for_every_role() -> None:
    assert set(EXPECT) == set(PAGE_NAMES)
    pages = {p.name: p for p in _pages(0)}
    for name, row in EXPECT.items():
        assert set(row) == {r.value for r in Role}, name
        for value in row.values():
            assert isinstance(value, tuple) == (pages[name].obj is not None), name


@pytest.fixture(autouse=True)
def _no_pdf_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    """The matrix checks who gets which status, not the PDFs (tests/papercapture/test_documents.py reads them
    back): rendering hundreds of them would only make the suite slow."""
    monkeypatch.setattr("naeq.papercapture.documents._render", lambda _template, _context: b"%PDF-1.7 matrix")


@pytest.fixture
def paper(world: World) -> PaperWorld:
    from naeq.cycles.services import load_shipped_cycles

    cycle = next(c for c in load_shipped_cycles() if c.is_current)
    pw = build_paper_world(world, cycle)
    pw.takers["B1B01"] = make_taker(cycle, world.schools["B1b-1"], "B1B01", grade=4, booklets={"psci": 1})
    return pw


@pytest.fixture
def objects(paper: PaperWorld) -> dict[str, Callable[[str], Any]]:
    world = paper.world
    operators = [user_create(actor=None, username=f"keyer{n}", password="keyer-pass-2026",
                             role=R.COUNTY_INFO_OFFICER, region=world.regions["A1a"]) for n in (1, 2)]

    def batch(key: str) -> ScanBatch:
        n = next(_n)
        return services.batch_import(
            actor=world.users[f"province_coordinator@{key[0]}"], cycle=paper.cycle, instrument=paper.instrument,
            name=f"m{n}.csv", data=scan_csv([f"M{n},1,{TAKER_OF[key]},1,B,AC,A,D,", f"M{n},2,Z{n},1,B,AC,A,D,"]))

    def entry(key: str) -> ReviewEntry:
        return ReviewEntry.objects.get(batch=batch(key), kind="unknown_test_id")

    def keyed(key: str) -> KeyedCard:
        taker = paper.takers[TAKER_OF[key]]
        PaperResponse.objects.filter(test_taker=taker).delete()
        KeyedCard.objects.filter(test_taker=taker).delete()
        card = KeyedCard.objects.create(cycle=paper.cycle, instrument=paper.instrument, test_taker=taker,
                                        path=taker.path, status=KeyedStatus.MISMATCH)
        fields = {"booklet": "1", "P01": "B", "P02": "", "P03": "", "P04": "", "P06": ""}
        KeyingPass.objects.create(card=card, number=1, operator=operators[0], fields=fields)
        KeyingPass.objects.create(card=card, number=2, operator=operators[1], fields={**fields, "P01": "C"})
        return card

    batches = {k: batch(k) for k in TAKER_OF}
    cards = {k: keyed(k) for k in TAKER_OF}
    return {"county": lambda k: world.regions[k], "school": lambda k: world.schools[f"{k}-1"],
            "batch": lambda k: batches[k], "entry": entry, "keyed": lambda k: cards[k], "fresh_keyed": keyed}


@pytest.mark.parametrize("page_name", PAGE_NAMES)
def test_paper_matrix(client: Client, paper: PaperWorld, objects: dict[str, Callable[[str], Any]],
                      page_name: str) -> None:
    page = next(p for p in _pages(paper.instrument.pk) if p.name == page_name)
    m.check_page(client, paper.world, name=page_name, expect=EXPECT[page_name], url=page.url,
                 obj_for=None if page.obj is None else objects[page.obj],
                 post=(lambda _o: page.data or {}) if page.method == "POST" else None,
                 names_checked=lambda r: r["Content-Type"].startswith("text/html"))


def test_anonymous_paper_pages_go_to_login(client: Client, paper: PaperWorld,
                                           objects: dict[str, Callable[[str], Any]]) -> None:
    b = objects["batch"]("A1a")
    for page in _pages(paper.instrument.pk):
        obj = {"county": paper.world.regions["A1a"], "school": paper.world.schools["A1a-1"], "batch": b,
               "entry": ReviewEntry.objects.filter(batch=b).first(), "keyed": objects["keyed"]("A1a"),
               "fresh_keyed": objects["keyed"]("A1a")}.get(page.obj or "")
        url = page.url(obj)
        response = client.post(url, page.data or {}) if page.method == "POST" else client.get(url)
        assert response.status_code == REDIRECT and "/login/" in response["Location"], url
    assert ReviewEntry.objects.filter(batch=b, resolved_at__isnull=True).count() == 1
