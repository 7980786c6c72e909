"""Reminder e-mails: each responsible account of a unit (its chain roles with an e-mail address) gets one e-mail a
day listing the unit's milestones due within ``remind_days_before`` days and those overdue.

Idempotent per day: a :class:`~naeq.timeline.models.ReminderSent` row per (cycle, account, day) is written with
the e-mail, so a second run on the same day sends nothing again. Sent through Django's mail framework (the console
backend in the demo, locmem in tests); each e-mail is sent after its record commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from naeq.accounts.models import User
from naeq.core.audit import audit_record
from naeq.cycles.models import Cycle
from naeq.cycles.selectors import base_year
from naeq.registry.review import CHAIN_ROLES
from naeq.timeline.config import load, milestones_for
from naeq.timeline.models import ReminderSent
from naeq.timeline.selectors import cell_for, facts_for
from naeq.timeline.units import Unit, sample_units


@dataclass(frozen=True)
class Item:
    unit: str
    milestone: str
    due: dt.date
    overdue: bool
    days: int  # days late (overdue) or days left (due soon)

    def line(self) -> str:
        if self.overdue:
            return _("【已逾期%(days)s天】%(unit)s：%(name)s（截止 %(due)s）") % {
                "days": self.days, "unit": self.unit, "name": self.milestone, "due": self.due.isoformat()}
        return _("【%(days)s天后截止】%(unit)s：%(name)s（截止 %(due)s）") % {
            "days": self.days, "unit": self.unit, "name": self.milestone, "due": self.due.isoformat()}


@dataclass(frozen=True)
class Reminder:
    username: str
    email: str
    items: tuple[Item, ...]
    already_sent: bool


def _accounts(unit: Unit) -> Q:
    roles = CHAIN_ROLES[unit.level]
    if unit.level == "school":
        return Q(role__in=roles, school=unit.school)
    return Q(role__in=roles, scope_path=unit.path)


def plan(cycle: Cycle, day: dt.date) -> list[Reminder]:
    """Who would get which items on ``day`` (nothing is sent)."""
    config = load(base_year(cycle))
    soon = config.remind_days_before
    units = sample_units(cycle)
    facts = facts_for(cycle)
    milestones = milestones_for(cycle)
    per_unit: dict[str, list[Item]] = {}
    unit_by_code: dict[str, Unit] = {}
    for unit in units.all():
        for m in milestones:
            if m.level != unit.level:
                continue
            c = cell_for(unit, m, facts, day)
            left = (m.due - day).days
            if c.overdue:
                item = Item(unit=unit.name, milestone=m.name, due=m.due, overdue=True, days=c.days_late)
            elif c.done or left < 0 or left > soon:
                continue
            else:
                item = Item(unit=unit.name, milestone=m.name, due=m.due, overdue=False, days=left)
            per_unit.setdefault(unit.code, []).append(item)
            unit_by_code[unit.code] = unit
    if not per_unit:
        return []
    q = Q(pk__in=[])
    for code in per_unit:
        q |= _accounts(unit_by_code[code])
    users = list(User.objects.filter(q, is_active=True).exclude(email="").order_by("username"))
    sent = set(ReminderSent.objects.filter(cycle=cycle, day=day).values_list("user_id", flat=True))
    out = []
    for user in users:
        items: list[Item] = []
        for code, unit_items in per_unit.items():
            unit = unit_by_code[code]
            if user.role in CHAIN_ROLES[unit.level] and (
                    (unit.level == "school" and user.school_id == (unit.school.pk if unit.school else None))
                    or (unit.level != "school" and user.scope_path == unit.path)):
                items.extend(unit_items)
        if items:
            items.sort(key=lambda i: (not i.overdue, i.due, i.unit))
            out.append(Reminder(username=user.username, email=user.email, items=tuple(items),
                                already_sent=user.pk in sent))
    return out


def remind(*, cycle: Cycle, day: dt.date, dry_run: bool = False) -> list[Reminder]:
    """Send the reminders of ``day`` that were not sent yet; return the plan (with ``already_sent`` marking the
    accounts skipped)."""
    reminders = plan(cycle, day)
    if dry_run:
        return reminders
    users = {u.username: u for u in User.objects.filter(username__in=[r.username for r in reminders])}
    for r in reminders:
        if r.already_sent:
            continue
        with transaction.atomic():
            _row, created = ReminderSent.objects.get_or_create(
                cycle=cycle, user=users[r.username], day=day,
                defaults={"email": r.email, "items": [i.line() for i in r.items]})
            if not created:  # a concurrent run got there first
                continue
            audit_record(actor=None, action="timeline.reminder_sent", object_type="timeline.ReminderSent",
                         object_id=_row.pk, before=None,
                         after={"user": r.username, "day": day.isoformat(), "items": len(r.items)})
            transaction.on_commit(lambda r=r: _send(cycle, day, r))  # type: ignore[misc]
    return reminders


def _send(cycle: Cycle, day: dt.date, r: Reminder) -> Any:
    overdue = sum(1 for i in r.items if i.overdue)
    subject = _("【%(year)s国家义务教育质量监测】工作进度提醒：%(n)s项逾期，%(m)s项即将截止") % {
        "year": cycle.year, "n": overdue, "m": len(r.items) - overdue}
    body = "\n".join([_("%(day)s 工作进度提醒：") % {"day": day.isoformat()}, "", *(i.line() for i in r.items), "",
                      _("请登录义务教育质量监测平台“工作进度”页面处理。")])
    return send_mail(subject, body, None, [r.email])
