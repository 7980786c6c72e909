"""The scoring chain end to end (issue 6): online answers, paper answer cards and raters' scores of constructed
responses, gathered by one calibration run.

One cycle, one test ``chain`` with seven objective items and two constructed-response items in three blocks and two
booklets (1 = B1 B2, 2 = B2 B3), everything written through the apps' services:

1. sixteen test takers answer online (``attempt_start`` → ``hotpath.submit`` → scored at submission);
2. eleven answer on paper: a scan CSV with a double mark, a blank and a wrong booklet number is imported, its review
   queue resolved and the batch released; one of them (N0001) also answered online;
3. the constructed responses of both are marked: the online answers collected, the paper writing boxes imported as
   images (P0011's card never reached the scanner: that test taker is known to the raters only), assigned with a
   double-scored share of one half, two raters disagree on one response and it is arbitrated;
4. a calibration run over all of it: input counts per source, every test taker in the person table with the raw
   score the rules say, the precedence online < paper < rater with its warning, 97/99 as 0, the arbitrated score,
   the inputs' hash moving with one released paper score and a re-run reproducing every float.

The expected scores are computed here from the simulated answers by the documented rules, not read back from the
apps' tables.
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from naeq.core.errors import InvalidInput
from naeq.delivery.demo_bank import bar_chart_png
from naeq.delivery.models import ItemType
from tests.delivery.factories import make_instrument, make_session, make_taker
from tests.papercapture.helpers import scan_csv
from tests.personas import World

ADMIN = "national_admin@A"
ANALYST = "national_analyst@A"
CODE = "chain"


def _opts(*values: str) -> list[dict[str, str]]:
    return [{"value": v, "label": f"选项{v}"} for v in values]


ITEMS: list[dict[str, Any]] = [
    {"code": "C01", "block": "B1", "type": ItemType.SINGLE, "stem": "（示例题）", "options": _opts(*"ABCD"),
     "key": "B", "max_score": 1},
    {"code": "C02", "block": "B1", "type": ItemType.MULTIPLE, "stem": "（示例题）", "options": _opts(*"ABCD"),
     "key": ["A", "C"], "max_score": 1},
    {"code": "C03", "block": "B1", "type": ItemType.TRUE_FALSE, "stem": "（示例题）", "options": _opts("A", "B"),
     "key": "A", "max_score": 1},
    {"code": "E01", "block": "B1", "type": ItemType.TEXT, "stem": "（示例开放题）", "max_score": 2,
     "constraints": {"max_length": 500}},
    {"code": "C04", "block": "B2", "type": ItemType.SINGLE, "stem": "（示例题）", "options": _opts(*"ABCD"),
     "key": "D", "max_score": 1},
    {"code": "C05", "block": "B2", "type": ItemType.SINGLE, "stem": "（示例题）", "options": _opts(*"ABC"),
     "key": "C", "max_score": 1},
    {"code": "E02", "block": "B2", "type": ItemType.TEXT, "stem": "（示例开放题）", "max_score": 2,
     "constraints": {"max_length": 500}},
    {"code": "C06", "block": "B3", "type": ItemType.SINGLE, "stem": "（示例题）", "options": _opts(*"ABCD"),
     "key": "A", "max_score": 1},
    {"code": "C07", "block": "B3", "type": ItemType.TRUE_FALSE, "stem": "（示例题）", "options": _opts("A", "B"),
     "key": "B", "max_score": 1},
]
for _seq, _spec in enumerate(ITEMS, start=1):
    _spec["screen"] = _seq
BOOKLETS = {1: ["B1", "B2"], 2: ["B2", "B3"]}
ITEMS_OF = {n: [i["code"] for i in ITEMS if i["block"] in blocks] for n, blocks in BOOKLETS.items()}
OBJECTIVE = [i["code"] for i in ITEMS if i.get("key") is not None]
CR = ["E01", "E02"]
SPEC = {i["code"]: i for i in ITEMS}
#: Scan file columns: the bubble rows (the two text items are writing boxes, not in the scan file).
HEADER = "batch,sheet,test_id,booklet," + ",".join(OBJECTIVE) + "\n"

ONLINE = [f"N{k:04d}" for k in range(1, 17)]
PAPER = [f"P{k:04d}" for k in range(1, 11)]
MARKING_ONLY = "P0011"
OPTIONS = (("model", "rasch"), ("poly_model", "pcm"), ("n_quad", 21), ("n_pv", 2))


def _right(code: str) -> str:
    key = SPEC[code]["key"]
    return "".join(key) if isinstance(key, list) else str(key)


def _wrong(code: str) -> str:
    return "A" if code == "C02" else next(o["value"] for o in SPEC[code]["options"] if o["value"] != SPEC[code]["key"])


@dataclass
class Chain:
    world: World
    cycle: Any
    instrument: Any
    takers: dict[str, Any]
    #: The score each (test taker code, item) must reach the calibration with, by the documented rules.
    expected: dict[tuple[str, str], int] = field(default_factory=dict)
    #: The booklet of each test taker (card or attempt).
    booklet: dict[str, int] = field(default_factory=dict)
    batch: Any = None
    arbitrated: tuple[str, str] = ("", "")
    #: The scan file's line of each card, by test ID.
    lines: dict[str, str] = field(default_factory=dict)

    def user(self, persona: str) -> Any:
        return self.world.users[persona]


@pytest.fixture
def cycle(db: None) -> Any:
    from naeq.cycles.services import load_shipped_cycles

    return next(c for c in load_shipped_cycles() if c.is_current)


def _simulate(rng: np.random.Generator, codes: list[str]) -> dict[str, dict[str, bool | int]]:
    """Rasch-like answers with known abilities: objective items right or wrong, constructed responses 0–2."""
    out: dict[str, dict[str, bool | int]] = {}
    for code in codes:
        theta = rng.normal()
        row: dict[str, bool | int] = {}
        for item in OBJECTIVE:
            row[item] = bool(rng.random() < 1 / (1 + math.exp(-theta)))
        for item in CR:
            row[item] = int(rng.binomial(2, 1 / (1 + math.exp(-theta))))
        out[code] = row
    return out


def _online(c: Chain, truth: dict[str, dict[str, bool | int]]) -> None:
    from naeq.delivery import hotpath
    from naeq.delivery.attempts import attempt_start
    from naeq.delivery.scoring import finish_submission

    session = make_session(c.cycle, c.world.schools["A1a-1"], instruments=[CODE], grade=4)
    for n, code in enumerate(ONLINE):
        number = 1 if n % 2 == 0 else 2
        c.takers[code] = make_taker(c.cycle, c.world.schools["A1a-1"], code, grade=4, booklets={CODE: number})
        c.booklet[code] = number
        answers = []
        for item in ITEMS_OF[number]:
            if item in CR:
                text = "" if code == "N0004" and item == "E02" else f"{code}的{item}作答。"
                answers.append({"item": item, "value": text, "seq": 1})
                # a blank constructed response is final at 0 without a rater (marking's rule ``omitted``)
                c.expected[code, item] = 0 if not text else int(truth[code][item])
                continue
            right = truth[code][item] and code != "N0001"  # N0001 answers wrong online; its paper card wins
            c.expected[code, item] = int(right)
            if code == "N0002" and item == "C04":
                continue  # shown, never answered: code 99, score 0
            value: Any = _right(item) if right else _wrong(item)
            if code == "N0003" and item == "C05":
                value, c.expected[code, item] = "Z", 0  # not an option: code 97, score 0
            if item == "C02":
                value = list(value)
            answers.append({"item": item, "value": value, "seq": 1})
        att = attempt_start(taker=c.takers[code], session=session, instrument_code=CODE)
        _at, first = hotpath.submit(att.pk, answers)
        finish_submission(att.pk, first=first)


def _card(c: Chain, code: str, number: int, truth: dict[str, dict[str, bool | int]], row: int,
          written: int | None = None, marks: dict[str, str] | None = None) -> str:
    cells = []
    for item in OBJECTIVE:
        if item not in ITEMS_OF[number]:
            cells.append("")
            continue
        value = (marks or {}).get(item, _right(item) if truth[code][item] else _wrong(item))
        cells.append(value)
        c.expected[code, item] = int(value == _right(item))
    return f"B01,{row},{code},{written or number}," + ",".join(cells)


def _paper(c: Chain, truth: dict[str, dict[str, bool | int]]) -> None:
    from naeq.papercapture import services
    from naeq.papercapture.models import BatchStatus, PaperResponse, ReviewEntry

    for n, code in enumerate([*PAPER, MARKING_ONLY]):
        number = 1 if n % 2 == 0 else 2
        c.takers[code] = make_taker(c.cycle, c.world.schools["A1a-1"], code, grade=4, booklets={CODE: number})
        c.booklet[code] = number
    lines = []
    for row, code in enumerate(PAPER, start=1):
        number = c.booklet[code]
        if code == "P0003":  # C01 two bubbles filled (97), C03 left blank (99): both score 0
            lines.append(_card(c, code, number, truth, row, marks={"C01": "AB", "C03": ""}))
        elif code == "P0004":  # assigned booklet 2, answered booklet 2, but filled "1" in the booklet bubbles
            lines.append(_card(c, code, number, truth, row, written=1))
        else:
            lines.append(_card(c, code, number, truth, row))
    # N0001 also sat the paper test (its online answers are all wrong, the card right): paper beats online.
    lines.append(_card(c, "N0001", 1, {"N0001": {i: True for i in OBJECTIVE}}, len(lines) + 1))
    c.lines = {line.split(",")[2]: line for line in lines}
    admin = c.user(ADMIN)
    batch = services.batch_import(actor=admin, cycle=c.cycle, instrument=c.instrument, name="scan-b01.csv",
                                  data=scan_csv(lines, header=HEADER))
    entries = {(e.card.row, e.kind, e.item): e for e in ReviewEntry.objects.filter(batch=batch).select_related("card")}
    # file rows: the header is row 1, so the card of sheet k is row k + 1
    # P0004's marks are first checked against the booklet on its card (1): B1 blank, B3 marked.
    assert set(entries) == {(4, "multiple_marks", "C01"), (4, "blank", "C03"), (5, "booklet_mismatch", ""),
                            (5, "blank", "C01"), (5, "blank", "C02"), (5, "blank", "C03"),
                            (5, "not_in_booklet", "C06"), (5, "not_in_booklet", "C07")}
    with pytest.raises(InvalidInput, match="复核队列中还有8个问题未处理") as exc:
        services.batch_release(actor=admin, batch_id=batch.pk)
    assert exc.value.code == "batch_queue_open" and not PaperResponse.objects.exists()
    # The assigned booklet: its marks now fit booklet 2 and the card's item entries are withdrawn.
    services.entry_resolve(actor=admin, entry_id=entries[5, "booklet_mismatch", ""].pk, resolution="use_assigned")
    assert set(ReviewEntry.objects.filter(batch=batch, resolved_at__isnull=True).values_list(
        "card__row", "kind", "item")) == {(4, "multiple_marks", "C01"), (4, "blank", "C03")}
    assert services.entries_confirm_missing(actor=admin, batch_id=batch.pk) == 2
    batch.refresh_from_db()
    assert batch.status == BatchStatus.READY
    services.batch_release(actor=admin, batch_id=batch.pk)
    c.batch = batch


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(f"scans/{name}", data)
    return buf.getvalue()


def _marking(c: Chain, truth: dict[str, dict[str, bool | int]]) -> None:
    from naeq.marking import selectors, services
    from naeq.marking.models import Arbitration, Assignment, MarkResponse, ResponseStatus
    from tests.marking.test_services import _score_all

    admin = c.user(ADMIN)
    collected = services.responses_collect(actor=admin, cycle=c.cycle)
    # online: E01 of the eight booklet-1 takers, E02 of all sixteen; N0004's E02 blank → final 0
    assert (collected.created, collected.omitted) == (8 + 16 - 1, 1)
    png = bar_chart_png()
    rows, files = ["test_id,instrument,item,image"], {}
    for code in [*PAPER, MARKING_ONLY]:
        for item in CR:
            if item in ITEMS_OF[c.booklet[code]]:
                rows.append(f"{code},{CODE},{item},{code}-{item}.png")
                files[f"{code}-{item}.png"] = png
                c.expected[code, item] = int(truth[code][item])
    # P0002 (booklet 2) also wrote in E01's box — the card has every item's box, booklet 2 has no E01. Marking
    # imports and scores it; scaling must leave it out (not administered).
    rows.append(f"P0002,{CODE},E01,P0002-E01.png")
    files["P0002-E01.png"] = png
    n = services.paper_import(actor=admin, cycle=c.cycle, manifest=("\n".join(rows) + "\n").encode(),
                              manifest_name="boxes.csv", archive=_zip(files), archive_name="boxes.zip")
    assert n == len(rows) - 1 == 6 * 2 + 5 + 1
    services.settings_update(actor=admin, cycle=c.cycle, double_share="0.5", check_rate="0")
    raters = [services.rater_add(actor=admin, cycle=c.cycle, username=name, password="rater-pass-2026",
                                 region=c.world.regions["A"], display_name=f"评分员{k}",
                                 items=[(CODE, "E01"), (CODE, "E02")]) for k, name in enumerate(("chain_a", "chain_b"))]
    for seed, item in enumerate(CR, start=1):
        services.assign(actor=admin, cycle=c.cycle, instrument_code=CODE, item_code=item, seed=seed)
    base = MarkResponse.objects.filter(cycle=c.cycle, instrument_code=CODE)
    for item in CR:
        fresh = base.filter(item_code=item).exclude(final_rule="omitted").count()
        assert base.filter(item_code=item, double=True).count() == round(0.5 * fresh)
    code_of = {t.pk: code for code, t in c.takers.items()}
    double = base.filter(item_code="E01", double=True).exclude(test_taker=c.takers["P0002"]).order_by("id").first()
    assert double is not None and Assignment.objects.filter(response=double).count() == 2
    c.arbitrated = (code_of[double.test_taker_id], "E01")

    def score(rater: int) -> Any:
        def of(response: Any) -> int:
            if response.pk == double.pk:
                return (2, 0)[rater]  # the pair disagrees by two points: goes to arbitration
            return c.expected.get((code_of[response.test_taker_id], response.item_code), 2)
        return of

    for k, rater in enumerate(raters):
        _score_all(rater, score(k))
    arb = Arbitration.objects.get()
    assert arb.response_id == double.pk and sorted(arb.scores) == [0, 2]
    assert base.filter(status=ResponseStatus.ARBITRATION).count() == 1
    services.arbitrate(actor=admin, arbitration_id=arb.pk, score=1, note="依据评分标准")
    c.expected[c.arbitrated] = 1  # neither rater's score: the arbiter's is final
    assert not base.exclude(status=ResponseStatus.FINAL).exists()
    handed = {(r["test_id"], r["item"]): r["score"] for r in selectors.scores_for_scaling(cycle=c.cycle,
                                                                                           instrument_code=CODE)}
    assert handed[c.arbitrated] == 1


@pytest.fixture
def chain(world: World, cycle: Any, settings: Any, tmp_path: Any) -> Chain:
    settings.DATA_DIR = tmp_path  # the marking images' secret store
    inst = make_instrument(cycle, CODE, items=ITEMS, booklets=BOOKLETS)
    c = Chain(world=world, cycle=cycle, instrument=inst, takers={})
    truth = _simulate(np.random.default_rng(20261202), [*ONLINE, *PAPER, MARKING_ONLY])
    _online(c, truth)
    _paper(c, truth)
    _marking(c, truth)
    return c


def _start(c: Chain, capture: Any) -> Any:
    from naeq.scaling import services

    with capture(execute=True):
        run = services.calibration_start(actor=c.user(ANALYST), cycle=c.cycle, instrument_code=CODE, seed=5,
                                         options=dict(OPTIONS))
    run.refresh_from_db()
    assert run.status == "done", run.error
    return run


def _results(run: Any) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    from naeq.scaling.models import CalibrationItem, CalibrationPerson

    items = list(CalibrationItem.objects.filter(run=run).order_by("seq").values_list(
        "item", "a", "a_se", "c", "b", "b_se", "n_responses", "mean_score", "fit"))
    persons = list(CalibrationPerson.objects.filter(run=run).order_by("test_taker_id").values_list(
        "test_taker_id", "booklet", "n_items", "raw_score", "max_score", "eap", "eap_se", "wle", "wle_se", "pvs"))
    return items, persons


def test_online_paper_and_rater_scores_meet_in_one_calibration(chain: Chain,
                                                              django_capture_on_commit_callbacks: Any) -> None:
    from naeq.delivery.models import ItemScore
    from naeq.papercapture.models import PaperResponse
    from naeq.scaling.models import CalibrationItem, CalibrationPerson

    c = chain
    # Only a fixture can make this: delivery never scores an item without a key, so an online score of a
    # constructed response exists only as a data error. The rater's final score must win over it.
    victim = next(code for code in ONLINE if c.booklet[code] == 1 and c.expected[code, "E01"] != 2
                  and (code, "E01") != c.arbitrated)
    assert ItemScore.objects.filter(attempt__test_taker=c.takers[victim], item="E01").update(score=2) == 1
    # Likewise a paper writing box is never scored by the card reader; a score there must lose to the rater's.
    paper_victim = next(code for code in PAPER if c.booklet[code] == 1 and c.expected[code, "E01"] != 2
                        and (code, "E01") != c.arbitrated)
    assert PaperResponse.objects.filter(test_taker=c.takers[paper_victim], item="E01", score__isnull=True).update(
        score=2) == 1

    run = _start(c, django_capture_on_commit_callbacks)

    # Input counts per source, from the design: booklet 1 has five objective items, booklet 2 four.
    n_obj = {1: 5, 2: 4}
    online = sum(n_obj[c.booklet[t]] for t in ONLINE) + 1  # + the fixture's score
    paper = sum(n_obj[c.booklet[t]] for t in PAPER) + n_obj[1] + 1  # + N0001's card + the fixture's score
    rater = sum(len([i for i in CR if i in ITEMS_OF[c.booklet[t]]]) for t in [*ONLINE, *PAPER, MARKING_ONLY])
    assert ("P0002", "E01") not in c.expected and c.booklet["P0002"] == 2
    # N0001's five objective items (paper over online) and the two fixtures (rater over online, rater over paper)
    replaced = n_obj[1] + 2
    assert run.summary["sources"] == {"online": online, "papercapture": paper, "marking": rater + 1,
                                      "used": online + paper + rater - replaced}
    assert "1条评分员得分的题目不在该测试对象的题本中（未施测），未参与校准。" in run.warnings
    assert f"{replaced}条得分有多个来源（在线、纸笔、评分员），按优先级采用了后者。" in run.warnings

    # Every test taker of the three sources is a person, with the raw score and item count the rules give:
    # 97 and 99 are administered items scored 0 (an unanswered item is a row with score 0, docs/scaling.md),
    # N0001 carries its paper scores, the fixture's taker its rater's, the arbitrated response the arbiter's.
    persons = {p.test_taker.code: p for p in CalibrationPerson.objects.filter(run=run).select_related("test_taker")}
    assert set(persons) == {*ONLINE, *PAPER, MARKING_ONLY}
    assert c.expected[victim, "E01"] != 2 and c.expected[paper_victim, "E01"] != 2
    for code, p in persons.items():
        mine = {item: s for (t, item), s in c.expected.items() if t == code}
        if code == MARKING_ONLY:
            assert set(mine) == {i for i in CR if i in ITEMS_OF[c.booklet[code]]}
        else:
            assert set(mine) == set(ITEMS_OF[c.booklet[code]]), code
        assert (p.n_items, p.raw_score, p.max_score) == (len(mine), sum(mine.values()),
                                                         sum(SPEC[i]["max_score"] for i in mine)), code
        # the booklet of the attempt or of the released card; the raters' scores carry none
        assert p.booklet == (None if code == MARKING_ONLY else c.booklet[code]), code
    for code, item, s in (("N0002", "C04", 0), ("N0003", "C05", 0), ("P0003", "C01", 0), ("P0003", "C03", 0)):
        assert c.expected[code, item] == s
    assert ItemScore.objects.filter(attempt__test_taker=c.takers["N0002"], item="C04").get().code == "99"
    paper_codes = dict(PaperResponse.objects.filter(test_taker=c.takers["P0003"], item__in=["C01", "C03"])
                       .values_list("item", "code"))
    assert paper_codes == {"C01": "97", "C03": "99"}
    assert set(PaperResponse.objects.filter(test_taker=c.takers["P0003"], item__in=["C01", "C03"])
               .values_list("score", flat=True)) == {0.0}
    assert ItemScore.objects.filter(attempt__test_taker=c.takers["N0003"], item="C05").get().code == "97"

    # Per item: responses and mean score (÷ max) are those of the expected table, so E01 carries the arbitrated 1.
    for row in CalibrationItem.objects.filter(run=run):
        scores = [s for (_t, i), s in c.expected.items() if i == row.item]
        assert row.n_responses == len(scores), row.item
        assert row.mean_score == pytest.approx(sum(scores) / len(scores) / SPEC[row.item]["max_score"],
                                               abs=1e-12), row.item
    assert run.summary["n_persons"] == len(persons) and run.summary["n_items"] == len(ITEMS)
    # Score distributions by booklet count the paper test takers under their card's booklet (0 = unknown: P0011).
    by_booklet = {n: sum(1 for t in persons if t != MARKING_ONLY and c.booklet[t] == n) for n in (1, 2)}
    assert sorted((b["booklet"], b["n"]) for b in run.summary["booklets"]) == [(0, 1), (1, by_booklet[1]),
                                                                               (2, by_booklet[2])]

    # Re-running unchanged: the same hash and every stored float identical.
    from naeq.scaling import services

    with django_capture_on_commit_callbacks(execute=True):
        rerun = services.calibration_rerun(actor=c.user(ANALYST), run_id=run.pk)
    rerun.refresh_from_db()
    assert rerun.status == "done" and rerun.inputs_hash == run.inputs_hash
    assert _results(rerun) == _results(run)
    assert rerun.summary == run.summary


def test_one_changed_paper_score_changes_the_inputs_hash(chain: Chain, django_capture_on_commit_callbacks: Any) -> None:
    from naeq.papercapture import services
    from naeq.papercapture.models import PaperResponse, ReviewEntry
    from naeq.scaling.models import CalibrationPerson

    c = chain
    first = _start(c, django_capture_on_commit_callbacks)
    # P0001's card is scanned again with C01 now wrong: its released responses are replaced after review.
    before = PaperResponse.objects.get(test_taker=c.takers["P0001"], item="C01")
    assert before.score == c.expected["P0001", "C01"]
    new_mark = _wrong("C01") if before.score else _right("C01")
    cells = c.lines["P0001"].split(",")
    cells[0], cells[4 + OBJECTIVE.index("C01")] = "B02", new_mark
    line = ",".join(cells)
    c.expected["P0001", "C01"] = 1 - c.expected["P0001", "C01"]
    admin = c.user(ADMIN)
    batch = services.batch_import(actor=admin, cycle=c.cycle, instrument=c.instrument, name="rescan.csv",
                                  data=scan_csv([line], header=HEADER))
    entry = ReviewEntry.objects.get(batch=batch, resolved_at__isnull=True)
    assert entry.kind == "duplicate_test_id"
    services.entry_resolve(actor=admin, entry_id=entry.pk, resolution="accept")
    services.batch_release(actor=admin, batch_id=batch.pk)
    after = PaperResponse.objects.get(test_taker=c.takers["P0001"], item="C01")
    assert after.score != before.score

    assert after.score == c.expected["P0001", "C01"] != before.score

    second = _start(c, django_capture_on_commit_callbacks)
    assert second.inputs_hash != first.inputs_hash
    assert second.summary["sources"] == first.summary["sources"]  # same counts: only one score moved
    raw = {run.pk: CalibrationPerson.objects.get(run=run, test_taker=c.takers["P0001"]).raw_score
           for run in (first, second)}
    assert raw[second.pk] - raw[first.pk] == after.score - before.score
