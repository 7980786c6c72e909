"""Custody alerts and the two-day keep.

Seeds: 2024-nanchang-city-plan.txt — "样本校领取监测工具须遵循“当天领取，当天送回”的原则",
"车程超过2小时的样本校，经县级实施工作领导小组审查同意后，可领取两天的监测工具";
collected-county-and-school-plans.txt — "9月29日前……由保密工作组负责完成监测工具的回邮工作" (one day after the test).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from naeq.core.errors import InvalidInput, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.custody import selectors, services
from tests.custody.conftest import DAY, at
from tests.custody.helpers import give_back, issue, receive
from tests.personas import World

NEXT = DAY + dt.timedelta(days=1)


def _kinds(actor: Any, cycle: Any, now: dt.datetime) -> list[tuple[str, str]]:
    return [(a.kind, a.county_code) for a in selectors.alerts(actor, cycle, now)]


def test_same_day_return_raises_nothing(world: World, cycle: Any) -> None:
    liaison = world.users["county_liaison@A"]
    receive(liaison, cycle, world.regions["A1a"])
    give_back(liaison, cycle, issue(liaison, cycle, world.schools["A1a-1"]), at(DAY, 17, 30))
    assert _kinds(liaison, cycle, at(NEXT, 9)) == []


def test_unreturned_boxes_alert_after_the_end_of_the_day_only(world: World, cycle: Any) -> None:
    liaison = world.users["county_liaison@A"]
    receive(liaison, cycle, world.regions["A1a"])
    issue(liaison, cycle, world.schools["A1a-1"])
    assert _kinds(liaison, cycle, at(DAY, 23, 59)) == []
    alerts = selectors.alerts(liaison, cycle, at(NEXT, 0, 1))
    assert [a.kind for a in alerts] == ["not_returned"]
    assert alerts[0].school_code == world.schools["A1a-1"].code and alerts[0].due == at(NEXT, 0)


def test_next_morning_return_is_a_late_return(world: World, cycle: Any) -> None:
    liaison = world.users["county_liaison@A"]
    receive(liaison, cycle, world.regions["A1a"])
    give_back(liaison, cycle, issue(liaison, cycle, world.schools["A1a-1"]), at(NEXT, 8, 15))
    alerts = selectors.alerts(liaison, cycle, at(NEXT, 9))
    assert [a.kind for a in alerts] == ["late_return"]
    assert "08:15" in alerts[0].message


def test_count_mismatches_and_broken_seals(world: World, cycle: Any) -> None:
    liaison = world.users["county_liaison@A"]
    receive(liaison, cycle, world.regions["A1a"], boxes=9, expected=10)
    give_back(liaison, cycle, issue(liaison, cycle, world.schools["A1a-1"], boxes=3), at(DAY, 17), boxes=2,
              intact=False)
    kinds = sorted(a.kind for a in selectors.alerts(liaison, cycle, at(DAY, 18)))
    assert kinds == ["receipt_mismatch", "return_mismatch", "seals_broken"]


def test_not_mailed_back_after_the_deadline(world: World, cycle: Any) -> None:
    liaison, county = world.users["county_liaison@A"], world.regions["A1a"]
    receive(liaison, cycle, county, boxes=3, expected=3)
    give_back(liaison, cycle, issue(liaison, cycle, world.schools["A1a-1"], boxes=3), at(DAY, 17))
    assert _kinds(liaison, cycle, at(NEXT, 23)) == []  # mail_back_days = 1: until the end of the next day
    assert _kinds(liaison, cycle, at(NEXT + dt.timedelta(days=1), 0, 5)) == [("not_mailed", "310101")]
    services.event_record(actor=liaison, cycle=cycle, county_code=county.code, kind="mailed", at=at(NEXT, 10),
                          boxes=3, tracking_no="JY0001")
    assert _kinds(liaison, cycle, at(NEXT + dt.timedelta(days=2), 0)) == []


def test_alerts_follow_jurisdiction(world: World, cycle: Any) -> None:
    from naeq.accounts.services import user_create

    keepers = {"A1a": world.users["county_liaison@A"], "B1a": world.users["county_liaison@B"],
               "A1b": user_create(actor=None, username="liaison_a1b", password="x-pass-2026-long",
                                  role="county_liaison", region=world.regions["A1b"])}
    for key, keeper in keepers.items():
        receive(keeper, cycle, world.regions[key])
        issue(keeper, cycle, world.schools[f"{key}-1"])
    late = at(NEXT, 9)
    assert {c for _k, c in _kinds(world.users["county_liaison@A"], cycle, late)} == {"310101"}
    assert {c for _k, c in _kinds(world.users["city_viewer@A"], cycle, late)} == {"310101", "310102"}
    assert {c for _k, c in _kinds(world.users["province_coordinator@B"], cycle, late)} == {"440101"}
    assert len(_kinds(world.users["national_analyst@A"], cycle, late)) == 3
    assert _kinds(world.users["school_head@A"], cycle, late) == []


# --------------------------------------------------------------------------------------- two-day keep


def _request(world: World, cycle: Any, minutes: int = 150) -> Any:
    school = world.schools["A1a-2"]
    return services.keep_request(actor=world.users["county_info_officer@A"], cycle=cycle,
                                 county_code=school.county.code, school_code=school.code, first_day=DAY,
                                 travel_minutes=minutes, reason="山区学校，单程车程约2.5小时")


def test_two_day_keep_only_beyond_two_hours(world: World, cycle: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        _request(world, cycle, minutes=120)
    assert "超过2小时" in exc.value.problems[0].reason


def test_two_day_keep_needs_approval_before_the_issue(world: World, cycle: Any) -> None:
    liaison, officer = world.users["county_liaison@A"], world.users["county_info_officer@A"]
    receive(liaison, cycle, world.regions["A1a"])
    keep = _request(world, cycle)
    with pytest.raises(InvalidInput) as exc:
        issue(liaison, cycle, world.schools["A1a-2"], keep=keep)
    assert "发放前获得批准" in exc.value.problems[0].reason
    with pytest.raises(PermissionDenied):  # four eyes: the requester does not approve
        services.keep_decide(actor=officer, keep_id=keep.pk, approve=True)
    with pytest.raises(PermissionDenied):
        services.keep_decide(actor=world.users["city_viewer@A"], keep_id=keep.pk, approve=True)
    keep = services.keep_decide(actor=liaison, keep_id=keep.pk, approve=True, note="同意")
    assert AuditEvent.objects.filter(action="custody.keep_decide", object_id=str(keep.pk)).get().before[
        "status"] == "pending"
    with pytest.raises(InvalidInput):
        services.keep_decide(actor=liaison, keep_id=keep.pk, approve=False, note="改变主意")
    # approved after 07:10 on the test day would be "after the issue": decide it the evening before
    type(keep).objects.filter(pk=keep.pk).update(decided_at=at(DAY - dt.timedelta(days=1), 18))
    out = issue(liaison, cycle, world.schools["A1a-2"], keep=keep)
    assert _kinds(liaison, cycle, at(NEXT, 12)) == []  # the second day is allowed
    give_back(liaison, cycle, out, at(NEXT, 17))
    assert _kinds(liaison, cycle, at(NEXT, 18)) == []


def test_province_approves_when_configured(world: World, cycle: Any, settings: Any) -> None:
    settings.NAEQ_CUSTODY = {"keep_approver": "province"}
    keep = _request(world, cycle)
    with pytest.raises(PermissionDenied):
        services.keep_decide(actor=world.users["county_liaison@A"], keep_id=keep.pk, approve=True)
    keep = services.keep_decide(actor=world.users["province_coordinator@A"], keep_id=keep.pk, approve=False,
                                note="车程核实不足2小时")
    assert keep.status == "rejected"
