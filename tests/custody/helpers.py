"""Shared steps of the custody tests: a county liaison writing a county's ledger."""

from __future__ import annotations

import datetime as dt
from typing import Any

from naeq.custody import services
from tests.custody.conftest import DAY, at

TWO = {"signatory_1": "保密员甲", "signatory_2": "保密员乙"}


def receive(actor: Any, cycle: Any, county: Any, boxes: int = 10, expected: int | None = 10,
            when: dt.datetime | None = None) -> Any:
    return services.event_record(actor=actor, cycle=cycle, county_code=county.code, kind="received",
                                 at=when or at(DAY - dt.timedelta(days=3), 10), boxes=boxes,
                                 expected_boxes=expected, seal_numbers="F0001-F0010", **TWO)


def issue(actor: Any, cycle: Any, school: Any, boxes: int = 3, day: dt.date = DAY, keep: Any = None) -> Any:
    return services.event_record(actor=actor, cycle=cycle, county_code=school.county.code, kind="issued",
                                 at=at(day, 7, 10), boxes=boxes, school_code=school.code, test_day=day,
                                 keep_id=keep.pk if keep else None, signatory_1="县保密员甲",
                                 signatory_2="校保密员乙")


def give_back(actor: Any, cycle: Any, issue_event: Any, when: dt.datetime, boxes: int | None = None,
              intact: bool = True) -> Any:
    return services.event_record(actor=actor, cycle=cycle, county_code=issue_event.county.code, kind="returned",
                                 at=when, boxes=boxes or issue_event.boxes, issue_id=issue_event.pk,
                                 seals_intact=intact, signatory_1="县保密员甲", signatory_2="校保密员乙")
