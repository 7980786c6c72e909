"""The demo hook fills a realistic mix from existing sessions: grade 1, 2 and 3 cases, hotline calls, one missing
report form."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from naeq.incidents.demo import demo_incidents
from naeq.incidents.models import HotlineCall, IncidentCase
from naeq.incidents.selectors import report_status
from tests.delivery.factories import make_session
from tests.personas import World

pytestmark = pytest.mark.django_db


def test_demo_mix(world: World, cycle: Any) -> None:
    start = timezone.now() - dt.timedelta(days=1)
    for key in ("A1a-1", "A1a-2", "A1b-1", "A1b-2"):
        for i in range(2):
            make_session(cycle, world.schools[key], instruments=["math"], status="closed", title=f"{key}{i}",
                         starts_at=start + dt.timedelta(hours=2 * i))
    demo_incidents(cycle, seed=7)
    cases = {c.category: c for c in IncidentCase.objects.all()}
    assert {c.grade for c in cases.values()} == {1, 2, 3}
    assert cases["impersonation"].level == "province" and cases["impersonation"].county.code == "310102"
    assert cases["power"].state == "closed" and cases["network"].state == "handling"
    assert HotlineCall.objects.filter(county__code="310102").count() == 3
    assert HotlineCall.objects.filter(caller_type="anonymous", caller_phone="").count() == 1
    status = report_status(actor=world.users["province_coordinator@A"], cycle=cycle)
    assert status.counts["missing"] >= 1 and status.counts["filed"] >= 1
    demo_incidents(cycle, seed=7)  # idempotent
    assert IncidentCase.objects.count() == 4
