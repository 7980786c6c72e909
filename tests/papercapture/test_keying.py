"""Double keying: two different operators key the same card; equal passes are released at once; differing fields go
to reconciliation by a third person; only reconciled data reaches scoring. And the completion counts."""

from __future__ import annotations

from typing import Any

import pytest

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.papercapture import selectors, services
from naeq.papercapture.models import KeyedStatus, PaperResponse
from tests.papercapture.conftest import PaperWorld
from tests.papercapture.helpers import scan_csv

CARD = {"booklet": "1", "P01": "B", "P02": "CA", "P03": "", "P04": "D", "P06": ""}


def _key(pw: PaperWorld, persona: str, fields: dict[str, str], test_id: str = "A0001") -> Any:
    return services.card_key(actor=pw.user(persona), instrument=pw.instrument, test_id=test_id, fields=fields)


def test_equal_passes_by_two_operators_are_released(pw: PaperWorld) -> None:
    card = _key(pw, "county_info_officer@A", CARD)
    assert card.status == KeyedStatus.FIRST and not PaperResponse.objects.exists()
    card = _key(pw, "province_coordinator@A", {**CARD, "P02": "AC"})  # the same marks, keyed in another order
    assert card.status == KeyedStatus.RELEASED
    got = dict(PaperResponse.objects.filter(test_taker=pw.takers["A0001"]).values_list("item", "code"))
    assert got == {"P01": "B", "P02": '["A","C"]', "P03": "99", "P04": "D", "P05": ""}
    assert PaperResponse.objects.filter(source="keyed").count() == 5
    events = list(AuditEvent.objects.filter(action="papercapture.key").order_by("id"))
    assert [e.after["pass"] for e in events] == [1, 2] and events[1].after["differ"] == []


def test_the_same_operator_may_not_key_both_passes(pw: PaperWorld) -> None:
    _key(pw, "county_info_officer@A", CARD)
    with pytest.raises(PermissionDenied) as exc:
        _key(pw, "county_info_officer@A", CARD)
    assert exc.value.message == "同一人不能录入同一张答题卡的两遍，请由另一名录入员录入第二遍。"


def test_differing_fields_are_reconciled_by_a_third_person(pw: PaperWorld) -> None:
    _key(pw, "county_info_officer@A", CARD)
    card = _key(pw, "province_coordinator@A", {**CARD, "P01": "C", "P04": "DA"})
    assert card.status == KeyedStatus.MISMATCH and not PaperResponse.objects.exists()
    assert services.keyed_differences(card) == [("P01", "B", "C"), ("P04", "D", "AD")]
    for persona in ("county_info_officer@A", "province_coordinator@A"):
        with pytest.raises(PermissionDenied) as exc:
            services.card_reconcile(actor=pw.user(persona), keyed_id=card.pk, choices={"P01": "B", "P04": "D"})
        assert exc.value.message == "录入过该答题卡的人员不能核对它，请由第三人核对。"
    with pytest.raises(PermissionDenied):
        services.card_reconcile(actor=pw.user("national_analyst@A"), keyed_id=card.pk, choices={})
    with pytest.raises(NotFound):
        services.card_reconcile(actor=pw.user("county_liaison@B"), keyed_id=card.pk, choices={})
    with pytest.raises(InvalidInput) as bad:
        services.card_reconcile(actor=pw.user("county_liaison@A"), keyed_id=card.pk, choices={"P01": "B"})
    assert [p.field for p in bad.value.problems] == ["P04"]
    card = services.card_reconcile(actor=pw.user("county_liaison@A"), keyed_id=card.pk,
                                   choices={"P01": "B", "P04": "AD"})
    assert card.status == KeyedStatus.RELEASED and card.reconciled_by == pw.user("county_liaison@A")
    got = dict(PaperResponse.objects.filter(test_taker=pw.takers["A0001"]).values_list("item", "score"))
    # P04 "AD" on a single-choice item is a multiple mark: code 97, score 0.
    assert got == {"P01": 1.0, "P02": 2.0, "P03": 0.0, "P04": 0.0, "P05": None}
    assert PaperResponse.objects.get(test_taker=pw.takers["A0001"], item="P04").code == "97"
    event = AuditEvent.objects.get(action="papercapture.reconcile")
    assert event.before == {"differ": [{"field": "P01", "first": "B", "second": "C"},
                                       {"field": "P04", "first": "D", "second": "AD"}]}


def test_keyed_fields_are_validated_and_scoped(pw: PaperWorld) -> None:
    with pytest.raises(InvalidInput) as exc:
        _key(pw, "county_info_officer@A", {**CARD, "booklet": "3", "P06": "D"})
    assert {(p.field, p.reason) for p in exc.value.problems} == {
        ("题本号", "题本号应为1、2之一。"), ("P06", "第6题只能填A/B/C（多涂照录，如“AB”；未涂留空）。")}
    with pytest.raises(InvalidInput):  # a test taker of the sibling county is outside a county officer's reach
        _key(pw, "county_info_officer@A", CARD, test_id="A1B01")
    with pytest.raises(PermissionDenied):
        _key(pw, "county_liaison@A", CARD)
    with pytest.raises(NotFound):
        _key(pw, "school_info_officer@A", CARD)
    assert not AuditEvent.objects.filter(action="papercapture.key").exists()


def test_a_scanned_and_released_card_is_not_keyed_again(pw: PaperWorld) -> None:
    batch = services.batch_import(actor=pw.user("national_admin@A"), cycle=pw.cycle, instrument=pw.instrument,
                                  name="s.csv", data=scan_csv(["B1,1,A0001,1,B,AC,A,D,"]))
    services.batch_release(actor=pw.user("national_admin@A"), batch_id=batch.pk)
    with pytest.raises(InvalidInput) as exc:
        _key(pw, "county_info_officer@A", CARD)
    assert exc.value.code == "keyed_scanned"


def test_completion_counts_expected_imported_released(pw: PaperWorld, django_assert_max_num_queries: Any) -> None:
    batch = services.batch_import(actor=pw.user("national_admin@A"), cycle=pw.cycle, instrument=pw.instrument,
                                  name="s.csv", data=scan_csv(["B1,1,A0001,1,B,AC,A,D,", "B1,2,A1B01,1,B,AC,A,D,"]))
    services.batch_release(actor=pw.user("national_admin@A"), batch_id=batch.pk)
    _key(pw, "county_info_officer@A", CARD, test_id="A0002")
    with django_assert_max_num_queries(4):
        national = selectors.completion(actor=pw.user("national_admin@A"), instrument=pw.instrument)
    assert national.unit == "county"
    assert [(r.code, r.expected, r.imported, r.released) for r in national.rows] == [
        ("310101", 6, 2, 1), ("310102", 1, 1, 1), ("440101", 1, 0, 0)]
    county = selectors.completion(actor=pw.user("county_liaison@A"), instrument=pw.instrument)
    assert county.unit == "school" and [(r.code, r.expected) for r in county.rows] == [
        (pw.world.schools["A1a-1"].code, 6)]
    drill = selectors.completion(actor=pw.user("province_coordinator@A"), instrument=pw.instrument,
                                 county_code="310102")
    assert [(r.code, r.released) for r in drill.rows] == [(pw.world.schools["A1b-1"].code, 1)]
    with pytest.raises(NotFound):
        selectors.completion(actor=pw.user("province_coordinator@B"), instrument=pw.instrument,
                             county_code="310102")
    assert selectors.completion(actor=pw.user("school_head@B"), instrument=pw.instrument).rows[0].expected == 1
