"""The demo hook: a realistic mix with one late return and one box-count mismatch, idempotent."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from naeq.custody import selectors
from naeq.custody.demo import demo_custody
from naeq.custody.models import CustodyEvent
from tests.personas import World


def test_demo_fills_the_first_province_with_a_mix(world: World, cycle: Any) -> None:
    demo_custody(cycle, seed=7)
    events = CustodyEvent.objects.filter(cycle=cycle)
    assert events.exists() and not events.filter(path__startswith=world.regions["B"].path).exists()
    kinds = {a.kind for a in selectors.alerts(world.users["province_coordinator@A"], cycle, timezone.now())}
    assert {"late_return", "return_mismatch"} <= kinds
    assert "not_returned" not in kinds and "receipt_mismatch" not in kinds
    n = events.count()
    demo_custody(cycle, seed=7)
    assert CustodyEvent.objects.filter(cycle=cycle).count() == n
