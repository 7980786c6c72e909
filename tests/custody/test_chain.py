"""The chain of custody: append-only, two signatures, the secure room's box count, audit.

Seed: 2024-nanchang-city-plan.txt 测前准备 (8) — "双人双锁", "按日期发放监测工具箱并做好发放记录",
"当天领取，当天送回", "放入原监测工具箱内……办理回邮手续".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.custody import services
from naeq.custody.models import AppendOnlyError, CustodyEvent
from tests.custody.conftest import DAY, at
from tests.custody.helpers import TWO, give_back, issue, receive
from tests.personas import World


def test_receipt_is_recorded_and_audited(world: World, cycle: Any) -> None:
    liaison = world.users["county_liaison@A"]
    e = receive(liaison, cycle, world.regions["A1a"])
    assert (e.kind, e.boxes, e.expected_boxes, e.path) == ("received", 10, 10, world.regions["A1a"].path)
    ev = AuditEvent.objects.get(action="custody.event_received", object_id=str(e.pk))
    assert ev.actor == liaison and ev.after["signatories"] == ["保密员甲", "保密员乙"]


def test_events_cannot_be_changed_or_removed(world: World, cycle: Any) -> None:
    """Append-only in the model and in the database (triggers installed by migration custody.0002)."""
    e = receive(world.users["county_liaison@A"], cycle, world.regions["A1a"])
    e.boxes = 9
    with pytest.raises(AppendOnlyError):
        e.save()
    with pytest.raises(AppendOnlyError):
        e.delete()
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        CustodyEvent.objects.filter(pk=e.pk).update(boxes=1)
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM custody_custodyevent WHERE id = %s", [e.pk])
    assert CustodyEvent.objects.get(pk=e.pk).boxes == 10


@pytest.mark.parametrize("s1,s2", [("县保密员甲", ""), ("", ""), ("同一人", "同一人")])
def test_issue_without_two_signatures_is_refused(world: World, cycle: Any, s1: str, s2: str) -> None:
    """"双人双锁": an issue is signed by the county custodian and the school's receiver, two different people."""
    liaison, school = world.users["county_liaison@A"], world.schools["A1a-1"]
    receive(liaison, cycle, world.regions["A1a"])
    with pytest.raises(InvalidInput) as exc:
        services.event_record(actor=liaison, cycle=cycle, county_code=school.county.code, kind="issued",
                              at=at(DAY, 7), boxes=2, school_code=school.code, test_day=DAY, signatory_1=s1,
                              signatory_2=s2)
    assert any(p.field == "签字人" for p in exc.value.problems)
    assert not CustodyEvent.objects.filter(kind="issued").exists()


def test_database_refuses_an_issue_without_two_signatures(world: World, cycle: Any) -> None:
    county, school = world.regions["A1a"], world.schools["A1a-1"]
    with pytest.raises(IntegrityError), transaction.atomic():
        CustodyEvent.objects.create(cycle=cycle, county=county, path=county.path, school=school, kind="issued",
                                    at=at(DAY, 7), boxes=1, test_day=DAY, signatory_1="甲")


def test_issue_must_be_on_the_test_day_and_within_the_secure_room(world: World, cycle: Any) -> None:
    liaison, school = world.users["county_liaison@A"], world.schools["A1a-1"]
    receive(liaison, cycle, world.regions["A1a"], boxes=4, expected=4)
    with pytest.raises(InvalidInput) as exc:
        services.event_record(actor=liaison, cycle=cycle, county_code=school.county.code, kind="issued",
                              at=at(DAY - dt.timedelta(days=1), 16), boxes=5, school_code=school.code,
                              test_day=DAY, signatory_1="甲", signatory_2="乙")
    reasons = [p.reason for p in exc.value.problems]
    assert any("测试当天" in r for r in reasons)
    assert any("现存箱数（4箱）" in r for r in reasons)


def test_a_school_of_another_county_cannot_be_issued(world: World, cycle: Any) -> None:
    liaison = world.users["county_liaison@A"]
    receive(liaison, cycle, world.regions["A1a"])
    with pytest.raises(InvalidInput) as exc:
        services.event_record(actor=liaison, cycle=cycle, county_code="310101", kind="issued", at=at(DAY, 7),
                              boxes=1, school_code=world.schools["A1b-1"].code, test_day=DAY, **TWO)
    assert [p.field for p in exc.value.problems] == ["学校"]


def test_return_closes_its_issue_once(world: World, cycle: Any) -> None:
    liaison, school = world.users["county_liaison@A"], world.schools["A1a-1"]
    receive(liaison, cycle, world.regions["A1a"])
    out = issue(liaison, cycle, school)
    back = give_back(liaison, cycle, out, at(DAY, 17))
    assert back.school == school and back.issue == out
    assert services.on_hand(cycle, world.regions["A1a"]) == 10
    with pytest.raises(InvalidInput, match="请修改") as exc:
        give_back(liaison, cycle, out, at(DAY, 18))
    assert "已登记送回" in exc.value.problems[0].reason


def test_mail_back_needs_tracking_and_boxes_in_the_room(world: World, cycle: Any) -> None:
    liaison, county = world.users["county_liaison@A"], world.regions["A1a"]
    receive(liaison, cycle, county, boxes=2, expected=2)
    with pytest.raises(InvalidInput) as exc:
        services.event_record(actor=liaison, cycle=cycle, county_code=county.code, kind="mailed",
                              at=at(DAY, 19), boxes=3)
    fields = {p.field for p in exc.value.problems}
    assert fields == {"邮寄单号", "箱数"}
    services.event_record(actor=liaison, cycle=cycle, county_code=county.code, kind="mailed", at=at(DAY, 19),
                          boxes=2, tracking_no="JY123456789CN")
    assert services.on_hand(cycle, county) == 0


def test_storage_cannot_exceed_what_was_received(world: World, cycle: Any) -> None:
    liaison, county = world.users["county_liaison@A"], world.regions["A1a"]
    receive(liaison, cycle, county, boxes=3, expected=3)
    services.event_record(actor=liaison, cycle=cycle, county_code=county.code, kind="stored", at=at(DAY, 8),
                          boxes=3, location="县教育局保密室1号铁皮柜", **TWO)
    with pytest.raises(InvalidInput, match="请修改"):
        services.event_record(actor=liaison, cycle=cycle, county_code=county.code, kind="stored",
                              at=at(DAY, 9), boxes=1, location="县教育局保密室1号铁皮柜", **TWO)


def test_only_the_county_keeps_its_ledger(world: World, cycle: Any) -> None:
    county = world.regions["A1a"]
    for persona in ("province_coordinator@A", "city_viewer@A", "national_admin@A"):
        with pytest.raises(PermissionDenied):
            receive(world.users[persona], cycle, county)
    with pytest.raises(NotFound):
        receive(world.users["county_liaison@B"], cycle, county)
    with pytest.raises(NotFound):
        receive(world.users["county_liaison@A"], cycle, world.regions["A1b"])
    with pytest.raises(NotFound):
        receive(world.users["school_head@A"], cycle, county)
    assert not CustodyEvent.objects.exists()
    receive(world.users["county_info_officer@A"], cycle, county)
    assert CustodyEvent.objects.count() == 1
