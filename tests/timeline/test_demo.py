"""The demo hook: a realistic mix in the demo province (the first province), idempotent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

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


def test_demo_around_today_dates_nothing_after_today(sample: World, cycle: Any) -> None:
    """With "today" between the 2024 test days' preparation and the summaries (as in the demo cycle, whose test
    days lie a week back): past milestones are on time, late or owed; later ones are open or submitted early;
    no submission or review is dated after today."""
    today = dt.date(2024, 5, 20)  # test days 5/22–5/24: staff lists, training, county self-check (5/19) are past
    counts = demo_fill(cycle, seed=7, today=today)
    assert counts["upcoming"] > 0 and counts["on_time"] > 0 and counts["late"] >= 1 and counts["owed"] >= 1
    limit = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0, 0)))
    assert not MilestoneStatus.objects.filter(submitted_at__gte=limit).exists()
    assert not MilestoneStatus.objects.filter(reviewed_at__gte=limit).exists()
    assert not Report.objects.filter(submitted_at__gte=limit).exists()
    assert not Report.objects.filter(reviewed_at__gte=limit).exists()
    from naeq.timeline.config import milestones_for

    later = {m.code for m in milestones_for(cycle) if m.due >= today}
    assert not MilestoneStatus.objects.filter(milestone__in=later, state=State.APPROVED).exists()
    assert Report.objects.get(level="province").state == State.DRAFT  # due 6/18: not yet written up
    assert not Report.objects.filter(state=State.APPROVED).exists()  # no summary is due yet
    overdue = selectors.overdue(sample.users["province_coordinator@A"], cycle, today)
    assert overdue and all(i.milestone.due < today for i in overdue)
