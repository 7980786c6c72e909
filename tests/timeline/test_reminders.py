"""Reminder e-mails: due soon (``remind_days_before`` = 3) and overdue items to each responsible account with an
e-mail address; one e-mail per account per day, a second run the same day sends nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core import mail
from django.test import override_settings

from naeq.timeline import services
from naeq.timeline.models import ReminderSent
from naeq.timeline.reminders import remind
from tests.personas import World


def _emails(sample: World, *personas: str) -> None:
    for p in personas:
        u = sample.users[p]
        u.email = f"{u.username}@example.org"
        u.save(update_fields=["email"])


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_remind_once_per_day(sample: World, cycle: Any, django_capture_on_commit_callbacks: Any) -> None:
    """staff_lists is due 2024-05-04 (仙游: 18 days before the test); practice 2024-05-12. On 05-10 the county owes
    the overdue staff list; the school has practice due in 2 days."""
    _emails(sample, "county_liaison@A", "school_head@A", "city_viewer@A", "inspector@A")
    day = dt.date(2024, 5, 10)
    services.milestone_submit(actor=sample.users["county_liaison@B"], cycle=cycle,
                              unit_code=sample.regions["B1a"].code, milestone="staff_lists")
    dry = remind(cycle=cycle, day=day, dry_run=True)
    assert {r.username for r in dry} == {"county_liaison_a", "school_head_a"}  # readers get no reminders
    assert mail.outbox == [] and not ReminderSent.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        remind(cycle=cycle, day=day)
    assert sorted(m.to[0] for m in mail.outbox) == ["county_liaison_a@example.org", "school_head_a@example.org"]
    county_mail = next(m for m in mail.outbox if m.to[0].startswith("county"))
    assert "测试工作人员名单" in county_mail.body and "已逾期6天" in county_mail.body
    school_mail = next(m for m in mail.outbox if m.to[0].startswith("school"))
    assert "答题卡填涂与网络问卷填答练习" in school_mail.body and "2天后截止" in school_mail.body
    with django_capture_on_commit_callbacks(execute=True):
        again = remind(cycle=cycle, day=day)
    assert len(mail.outbox) == 2 and all(r.already_sent for r in again)
    with django_capture_on_commit_callbacks(execute=True):
        remind(cycle=cycle, day=day + dt.timedelta(days=1))
    assert len(mail.outbox) == 4
    assert ReminderSent.objects.count() == 4


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_done_items_are_not_reminded(sample: World, cycle: Any) -> None:
    _emails(sample, "school_head@A")
    day = dt.date(2024, 5, 10)
    school = sample.schools["A1a-1"].code
    for code in ("practice", "school_training"):
        services.milestone_submit(actor=sample.users["school_head@A"], cycle=cycle, unit_code=school, milestone=code)
    plan = remind(cycle=cycle, day=day, dry_run=True)
    names = [i.milestone for r in plan for i in r.items]
    assert "答题卡填涂与网络问卷填答练习" not in names
    assert "测试年级师生信息上报与审核" in names  # roster not submitted: overdue since 03-28
