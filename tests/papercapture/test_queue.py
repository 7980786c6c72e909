"""The review queue and the scoring gate: nothing is scored while an entry is open; every resolution is audited
with the card's state before and after; released responses are scored with delivery's objective rules."""

from __future__ import annotations

from typing import Any

import pytest

from naeq.core.errors import InvalidInput, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.papercapture import selectors, services
from naeq.papercapture.models import BatchStatus, PaperResponse, ReviewEntry, ScanBatch
from tests.papercapture.conftest import PaperWorld
from tests.papercapture.helpers import scan_csv

ADMIN = "national_admin@A"


def _batch(pw: PaperWorld, lines: list[str] | None = None, name: str = "scan.csv") -> ScanBatch:
    return services.batch_import(actor=pw.user(ADMIN), cycle=pw.cycle, instrument=pw.instrument, name=name,
                                 data=scan_csv(lines))


def _entry(batch: ScanBatch, row: int, kind: str, item: str = "") -> ReviewEntry:
    return ReviewEntry.objects.get(batch=batch, card__row=row, kind=kind, item=item, resolved_at__isnull=True)


def _resolve(pw: PaperWorld, batch: ScanBatch, row: int, kind: str, resolution: str, value: str = "",
             item: str = "", persona: str = ADMIN) -> ReviewEntry:
    return services.entry_resolve(actor=pw.user(persona), entry_id=_entry(batch, row, kind, item).pk,
                                  resolution=resolution, value=value)


def _open(batch: ScanBatch) -> set[tuple[int, str, str]]:
    return set(ReviewEntry.objects.filter(batch=batch, resolved_at__isnull=True)
               .values_list("card__row", "kind", "item"))


def _scores(pw: PaperWorld) -> dict[tuple[str, str], tuple[str, float | None]]:
    return {(r["test_id"], r["item"]): (r["code"], r["score"])
            for r in selectors.scores_for_scaling(cycle=pw.cycle, instrument_code="psci")}


def test_nothing_is_scored_until_the_queue_is_empty_then_delivery_rules_score_it(pw: PaperWorld) -> None:
    batch = _batch(pw)
    with pytest.raises(InvalidInput) as exc:
        services.batch_release(actor=pw.user(ADMIN), batch_id=batch.pk)
    assert exc.value.code == "batch_queue_open"
    assert exc.value.message == "复核队列中还有9个问题未处理，处理完之前不评分。"
    assert not PaperResponse.objects.exists()

    # A duplicate in the file: discarding the second sheet withdraws the first one's entry too.
    _resolve(pw, batch, 8, "duplicate_test_id", "discard")
    assert (2, "duplicate_test_id", "") not in _open(batch)
    # An unknown test ID fixed to the right one.
    _resolve(pw, batch, 6, "unknown_test_id", "fix_test_id", "A1B01")
    # An unreadable booklet corrected from the paper booklet.
    _resolve(pw, batch, 7, "booklet_unreadable", "correct", "1")
    # The student copied the wrong booklet number: use the assigned one. The marks are now checked against
    # booklet 2: P06 is blank (new entry), P01–P03 are marked but not in booklet 2 (new entries).
    _resolve(pw, batch, 5, "booklet_mismatch", "use_assigned")
    assert {e for e in _open(batch) if e[0] == 5} == {
        (5, "blank", "P06"), (5, "not_in_booklet", "P01"), (5, "not_in_booklet", "P02"),
        (5, "not_in_booklet", "P03")}
    for item in ("P01", "P02", "P03"):
        _resolve(pw, batch, 5, "not_in_booklet", "accept", item=item)
    _resolve(pw, batch, 9, "not_in_booklet", "accept", item="P01")
    _resolve(pw, batch, 9, "multiple_marks", "correct", "c", item="P06")
    n = services.entries_confirm_missing(actor=pw.user(ADMIN), batch_id=batch.pk)
    assert n == 3  # row 4 P01 (97), row 4 P03 (99), row 5 P06 (99)
    batch.refresh_from_db()
    assert _open(batch) == set() and batch.status == BatchStatus.READY

    services.batch_release(actor=pw.user(ADMIN), batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.RELEASED and batch.released_at is not None
    assert _scores(pw) == {
        # booklet 1 = blocks B1, B2 in order; P05 is a writing box (scored by raters): no code, no score
        ("A0001", "P01"): ("B", 1.0), ("A0001", "P02"): ('["A","C"]', 2.0), ("A0001", "P03"): ("A", 1.0),
        ("A0001", "P04"): ("D", 1.0), ("A0001", "P05"): ("", None),
        # booklet 2 = B2, B3; P07 (numeric, writing box) is not read by the scanner
        ("A0002", "P04"): ("A", 0.0), ("A0002", "P05"): ("", None), ("A0002", "P06"): ("C", 1.0),
        ("A0002", "P07"): ("", None),
        # confirmed 97 and 99 score 0; "CA" is the same answer as "AC"
        ("A0003", "P01"): ("97", 0.0), ("A0003", "P02"): ('["A","C"]', 2.0), ("A0003", "P03"): ("99", 0.0),
        ("A0003", "P04"): ("D", 1.0), ("A0003", "P05"): ("", None),
        ("A0004", "P04"): ("D", 1.0), ("A0004", "P05"): ("", None), ("A0004", "P06"): ("99", 0.0),
        ("A0004", "P07"): ("", None),
        ("A1B01", "P01"): ("B", 1.0), ("A1B01", "P02"): ('["A","C"]', 2.0), ("A1B01", "P03"): ("A", 1.0),
        ("A1B01", "P04"): ("D", 1.0), ("A1B01", "P05"): ("", None),
        ("A0005", "P01"): ("B", 1.0), ("A0005", "P02"): ('["A","C"]', 2.0), ("A0005", "P03"): ("A", 1.0),
        ("A0005", "P04"): ("D", 1.0), ("A0005", "P05"): ("", None),
        ("A0006", "P04"): ("D", 1.0), ("A0006", "P05"): ("", None), ("A0006", "P06"): ("C", 1.0),
        ("A0006", "P07"): ("", None),
    }
    row = next(selectors.scores_for_scaling(cycle=pw.cycle.year, instrument_code="psci"))
    assert set(row) == {"test_taker_id", "test_id", "instrument", "booklet", "item", "code", "score"}
    assert PaperResponse.objects.filter(test_taker=pw.takers["A0004"]).values_list("booklet", flat=True)[0] == 2
    release = AuditEvent.objects.get(action="papercapture.release")
    assert release.after == {"status": "released", "cards": 7, "responses": 32, "replaced_test_takers": 0}
    with pytest.raises(InvalidInput):
        services.batch_release(actor=pw.user(ADMIN), batch_id=batch.pk)


def test_every_resolution_is_audited_with_before_and_after(pw: PaperWorld) -> None:
    batch = _batch(pw)
    entry = _resolve(pw, batch, 6, "unknown_test_id", "fix_test_id", " A1B01 ")
    event = AuditEvent.objects.get(action="papercapture.resolve")
    assert event.object_id == str(entry.pk) and event.actor_label == pw.user(ADMIN).username
    assert event.before == {"entry": {"kind": "unknown_test_id", "item": "", "scanned": "Z9999"},
                            "test_id": None, "booklet": 1, "values": {}, "discarded": False}
    assert event.after == {"resolution": "fix_test_id", "value": "A1B01", "test_id": "A1B01", "booklet": 1,
                           "values": {}, "discarded": False}
    _resolve(pw, batch, 4, "multiple_marks", "correct", "b", item="P01")
    last = AuditEvent.objects.filter(action="papercapture.resolve").order_by("-id").first()
    assert last is not None and last.before["values"] == {} and last.after["values"] == {"P01": "B"}


def test_bad_resolutions_are_refused_and_change_nothing(pw: PaperWorld) -> None:
    batch = _batch(pw)
    cases = [
        ((6, "unknown_test_id", "fix_test_id", "NOPE"), "测试编号“NOPE”不是本批次范围内分配了psci的测试对象。"),
        ((6, "unknown_test_id", "accept", ""), "“未知测试编号”不能以“采用识别值”处理。"),
        ((7, "booklet_unreadable", "correct", "5"), "题本号“5”无效：psci的题本号为1、2。"),
        ((4, "multiple_marks", "correct", "AB"), "第1题更正值“AB”无效：应为A/B/C/D之一。"),
        ((2, "duplicate_test_id", "accept", ""), "本文件第8行也是该测试编号：请先作废或更正其中一张。"),
    ]
    for (row, kind, resolution, value), message in cases:
        item = "P01" if kind == "multiple_marks" else ""
        with pytest.raises(InvalidInput) as exc:
            _resolve(pw, batch, row, kind, resolution, value, item=item)
        assert exc.value.message == message
    assert not ReviewEntry.objects.filter(batch=batch, resolved_at__isnull=False).exists()
    assert not AuditEvent.objects.filter(action="papercapture.resolve").exists()
    with pytest.raises(PermissionDenied):
        _resolve(pw, batch, 6, "unknown_test_id", "discard", persona="national_analyst@A")


def test_item_entries_wait_for_the_cards_test_id_and_booklet(pw: PaperWorld) -> None:
    batch = _batch(pw, ["B001,1,Z0000,1,AB,AC,A,D,"])
    assert _open(batch) == {(2, "unknown_test_id", ""), (2, "multiple_marks", "P01")}
    with pytest.raises(InvalidInput) as exc:
        _resolve(pw, batch, 2, "multiple_marks", "confirm", item="P01")
    assert exc.value.message == "请先处理该答题卡的测试编号和题本号问题。"
    assert services.entries_confirm_missing(actor=pw.user(ADMIN), batch_id=batch.pk) == 0
    _resolve(pw, batch, 2, "unknown_test_id", "discard")
    assert _open(batch) == set()  # a discarded sheet has no problems left
    services.batch_release(actor=pw.user(ADMIN), batch_id=batch.pk)
    assert not PaperResponse.objects.exists()


def test_a_test_id_released_earlier_is_a_duplicate_and_accepting_it_replaces_the_scores(pw: PaperWorld) -> None:
    first = _batch(pw, ["B001,1,A0002,2,,,,A,C"])
    services.batch_release(actor=pw.user(ADMIN), batch_id=first.pk)
    assert _scores(pw)[("A0002", "P04")] == ("A", 0.0)
    second = _batch(pw, ["B009,1,A0002,2,,,,D,C"], name="rescan.csv")
    entry = _entry(second, 2, "duplicate_test_id")
    assert entry.detail == f"该测试编号已在扫描批次#{first.pk}第2行导入。"
    _resolve(pw, second, 2, "duplicate_test_id", "accept")
    services.batch_release(actor=pw.user(ADMIN), batch_id=second.pk)
    assert _scores(pw)[("A0002", "P04")] == ("D", 1.0)
    assert PaperResponse.objects.filter(test_taker=pw.takers["A0002"]).count() == 4
    release = AuditEvent.objects.filter(action="papercapture.release").order_by("-id").first()
    assert release is not None and release.after["replaced_test_takers"] == 1


def test_queue_and_batches_are_scoped(pw: PaperWorld) -> None:
    batch = services.batch_import(actor=pw.user("province_coordinator@A"), cycle=pw.cycle,
                                  instrument=pw.instrument, name="a.csv", data=scan_csv())
    assert list(selectors.batch_list(actor=pw.user("province_coordinator@A"), cycle=pw.cycle)) == [batch]
    assert list(selectors.batch_list(actor=pw.user("national_analyst@A"), cycle=pw.cycle)) == [batch]
    for persona in ("province_coordinator@B", "county_liaison@A", "city_viewer@A"):
        assert not selectors.batch_list(actor=pw.user(persona), cycle=pw.cycle).exists()
    assert selectors.open_entries(actor=pw.user("national_admin@A")).count() == 9


def test_scores_for_scaling_is_empty_without_released_batches(pw: PaperWorld, django_assert_num_queries: Any
                                                              ) -> None:
    _batch(pw)
    with django_assert_num_queries(1):
        assert list(selectors.scores_for_scaling(cycle=pw.cycle)) == []


def test_a_test_id_is_fixed_only_to_a_test_taker_inside_the_batch(pw: PaperWorld) -> None:
    batch = services.batch_import(actor=pw.user("province_coordinator@A"), cycle=pw.cycle,
                                  instrument=pw.instrument, name="a.csv", data=scan_csv(["P,1,Z1,1,B,AC,A,D,"]))
    # The national administrator works the province's queue, but cannot move a card out of the province.
    with pytest.raises(InvalidInput):
        _resolve(pw, batch, 2, "unknown_test_id", "fix_test_id", "B0001")
    _resolve(pw, batch, 2, "unknown_test_id", "fix_test_id", "A1B01")
    assert _open(batch) == set()
