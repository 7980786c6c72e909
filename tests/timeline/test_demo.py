"""The demo hook: a realistic mix in the demo province (the first province), idempotent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from naeq.timeline import selectors
from naeq.timeline.demo import RETURN_REASON, demo_fill, demo_timeline
from naeq.timeline.models import MilestoneStatus, Report, State
from tests.personas import World


def test_demo_mix(sample: World, cycle: Any) -> None:
    counts = demo_fill(cycle, seed=7)
    # Province A: two counties (one returns its summary, the other is the problem county) and three schools.
    assert counts["late"] >= 2 and counts["owed"] >= 2 and counts["on_time"] > counts["late"] + counts["owed"]
    prov = sample.regions["A"]
    # Only the demo province is touched.
    assert not MilestoneStatus.objects.exclude(path__startswith=prov.path).exists()
    returned = Report.objects.filter(state=State.RETURNED)
    assert returned.count() == 1 and returned.get().level == "county" and returned.get().reason == RETURN_REASON
    assert Report.objects.get(level="province").state == State.SUBMITTED
    before = (MilestoneStatus.objects.count(), Report.objects.count())
    demo_timeline(cycle, seed=7)
    assert (MilestoneStatus.objects.count(), Report.objects.count()) == before
    overdue = selectors.overdue(sample.users["province_coordinator@A"], cycle, dt.date(2024, 7, 1))
    assert any(i.milestone.code == "county_summary" for i in overdue)  # the returned summary is owed again


def test_demo_with_several_seeds_has_late_and_owed_units(sample: World, cycle: Any) -> None:
    seen = {"late": 0, "owed": 0}
    for seed in range(6):
        counts = demo_fill(cycle, seed=seed)
        seen["late"] += counts["late"]
        seen["owed"] += counts["owed"]
        assert counts["on_time"] > counts["late"]
    assert seen["late"] > 0 and seen["owed"] > 0
