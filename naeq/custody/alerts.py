"""Custody alerts: computed from the chain of custody at a given moment, never stored.

Each alert cites the rule it checks (seeds: 2024-nanchang-city-plan.txt 测前准备 (8); collected-county-and-school-
plans.txt 保密工作组):

* ``not_returned`` — boxes issued and not returned by the end of the test day ("当天领取，当天送回",
  "确保监测工具不在样本校留存"), or of the second day under an approved two-day keep ("可领取两天的监测工具");
* ``late_return`` — returned, but after that deadline;
* ``return_mismatch`` — the school returned a different number of boxes than it was issued;
* ``seals_broken`` — the school's return was recorded with seals not intact;
* ``receipt_mismatch`` — the county received a different number of boxes than the shipment's manifest;
* ``not_mailed`` — boxes still in the county after the mail-back deadline ("9月29日前……完成监测工具的回邮工作"), the
  configured number of days after the county's last test day.

An issue without two signatures is not an alert: it cannot be saved (:func:`naeq.custody.services.event_record`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Max
from django.utils.translation import gettext as _

from naeq.custody.config import custody_config
from naeq.custody.models import CustodyEvent, EventKind, KeepStatus
from naeq.custody.services import end_of_day, local_date
from naeq.cycles.models import Cycle
from naeq.delivery.models import SessionKind, TestSession
from naeq.registry.models import Region

KINDS = ("not_returned", "late_return", "return_mismatch", "seals_broken", "receipt_mismatch", "not_mailed")


@dataclass(frozen=True)
class Alert:
    kind: str
    county_code: str
    county_name: str
    school_code: str
    school_name: str
    event_id: int | None
    due: dt.datetime | None
    message: str


def return_deadline(issue: CustodyEvent) -> dt.datetime:
    """End of the test day, or of the next day when the issue is under an approved two-day keep."""
    assert issue.test_day is not None
    days = 1 if issue.keep_id is not None and issue.keep is not None and issue.keep.status == KeepStatus.APPROVED \
        else 0
    return end_of_day(issue.test_day + dt.timedelta(days=days))


def last_test_days(cycle: Cycle, county_ids: Iterable[int]) -> dict[int, dt.date]:
    """The last formal school test day of each county (from the sessions, else from the issues)."""
    ids = list(county_ids)
    out: dict[int, dt.date] = {}
    for cid, last in (TestSession.objects.filter(cycle=cycle, county_id__in=ids, school__isnull=False,
                                                 kind=SessionKind.FORMAL)
                      .values("county_id").annotate(last=Max("starts_at")).values_list("county_id", "last")):
        if last is not None:
            out[cid] = local_date(last)
    for cid, day in (CustodyEvent.objects.filter(cycle=cycle, county_id__in=ids, kind=EventKind.ISSUED)
                     .values("county_id").annotate(last=Max("test_day")).values_list("county_id", "last")):
        if day is not None and (cid not in out or day > out[cid]):
            out[cid] = day
    return out


def compute(cycle: Cycle, counties: Iterable[Region], now: dt.datetime) -> list[Alert]:
    """Every alert of ``counties`` at ``now``, in county order, then by event."""
    by_id = {c.pk: c for c in counties}
    if not by_id:
        return []
    events = list(CustodyEvent.objects.filter(cycle=cycle, county_id__in=list(by_id), at__lte=now)
                  .select_related("school", "keep").order_by("at", "id"))
    returns = {e.issue_id: e for e in events if e.kind == EventKind.RETURNED}
    alerts: list[Alert] = []

    def add(kind: str, e: CustodyEvent | None, county: Region, message: str, due: dt.datetime | None = None) -> None:
        school = e.school if e is not None else None
        alerts.append(Alert(kind=kind, county_code=county.code, county_name=county.name,
                            school_code=school.code if school else "", school_name=school.name if school else "",
                            event_id=e.pk if e is not None else None, due=due, message=message))

    totals: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in events:
        county = by_id[e.county_id]
        totals[e.county_id][e.kind] += e.boxes
        if e.kind == EventKind.RECEIVED and e.expected_boxes is not None and e.expected_boxes != e.boxes:
            add("receipt_mismatch", e, county, _("接收箱数（%(n)s）与机要清单应到箱数（%(m)s）不符。") % {
                "n": e.boxes, "m": e.expected_boxes})
        elif e.kind == EventKind.ISSUED:
            due = return_deadline(e)
            back = returns.get(e.pk)
            if back is None and now >= due:
                add("not_returned", e, county, _("%(day)s发放的%(n)s箱监测工具逾期未送回。") % {
                    "day": e.test_day, "n": e.boxes}, due)
            elif back is not None and back.at >= due:
                add("late_return", back, county, _("%(day)s发放的监测工具于%(at)s才送回，超过当天送回时限。") % {
                    "day": e.test_day, "at": back.at.astimezone(due.tzinfo).strftime("%Y-%m-%d %H:%M")}, due)
        elif e.kind == EventKind.RETURNED and e.issue is not None:
            if e.boxes != e.issue.boxes:
                add("return_mismatch", e, county, _("送回箱数（%(n)s）与发放箱数（%(m)s）不符。") % {
                    "n": e.boxes, "m": e.issue.boxes})
            if e.seals_intact is False:
                add("seals_broken", e, county, _("送回时封条不完好。"))
    lasts = last_test_days(cycle, by_id)
    days = custody_config().mail_back_days
    for cid, county in by_id.items():
        t = totals.get(cid)
        if not t or not t.get(EventKind.RECEIVED) or cid not in lasts:
            continue
        due = end_of_day(lasts[cid] + dt.timedelta(days=days))
        left = t[EventKind.RECEIVED] + t[EventKind.RETURNED] - t[EventKind.ISSUED] - t[EventKind.MAILED]
        outstanding = t[EventKind.ISSUED] - t[EventKind.RETURNED]
        if now >= due and (left > 0 or outstanding > 0 or t[EventKind.MAILED] < t[EventKind.RECEIVED]):
            msg = _("回邮期限（%(due)s）已过，仍有%(n)s箱未回邮（接收%(r)s箱，已回邮%(m)s箱）。")
            add("not_mailed", None, county, msg % {
                "due": (due - dt.timedelta(seconds=1)).strftime("%Y-%m-%d"),
                "n": t[EventKind.RECEIVED] - t[EventKind.MAILED], "r": t[EventKind.RECEIVED],
                "m": t[EventKind.MAILED]}, due)
    alerts.sort(key=lambda a: (a.county_code, a.event_id or 0, a.kind))
    return alerts
