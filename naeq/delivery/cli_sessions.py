"""``naeq sessions``: generate test takers and sessions from the sample and schedule, list, open and close them.

``generate`` runs as the system (the operator on the server), like ``naeq cycle load``; ``open`` and ``close``
act as a named account (``--as``) and go through the same access rules as the pages.
"""

from __future__ import annotations

from typing import Any

import click

from naeq.core.clitools import django_setup as _django_setup


def _actor(username: str) -> Any:
    from django.utils.translation import gettext as _

    from naeq.accounts.models import User
    from naeq.core.errors import InvalidInput

    actor = User.objects.filter(username=username, is_active=True).first()
    if actor is None:
        raise InvalidInput(_("没有找到该账户。"), code="no_account")
    return actor


def _session_id(code: str) -> int:
    from django.utils.translation import gettext as _

    from naeq.core.errors import NotFound
    from naeq.delivery.models import TestSession

    pk = TestSession.objects.filter(code=code.strip().upper()).values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound(_("没有找到该测试场次。"))
    return int(pk)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def sessions() -> None:
    """Test takers and test sessions of the online testing system."""


@sessions.command()
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="The cycle year.")
@click.option("--county-managers", type=click.IntRange(0, 99), default=5, show_default=True,
              help="County manager test IDs per sample county.")
def generate(year: int, county_managers: int) -> None:
    """Create the test takers (students from the sample, teachers, principals, county managers) and the formal
    sessions from the cycle's schedule. Idempotent: a second run adds only what is new."""
    _django_setup()
    from naeq.delivery.sessions import sessions_generate
    from naeq.delivery.takers import test_takers_generate

    takers = test_takers_generate(actor=None, year=year, county_managers_per_county=county_managers)
    made = sessions_generate(actor=None, year=year)
    click.echo("test takers added: " + ", ".join(f"{k} {v}" for k, v in takers.items()))
    click.echo("sessions added: " + ", ".join(f"{k} {v}" for k, v in made.items()))


@sessions.command("list")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="The cycle year (default: current).")
@click.option("--school", "school_code", default="", help="Only this school (10-digit code).")
@click.option("--status", type=click.Choice(("scheduled", "open", "closed")), default=None)
@click.option("--limit", type=click.IntRange(1, 100000), default=200, show_default=True)
def list_(year: int | None, school_code: str, status: str | None, limit: int) -> None:
    """List sessions: number, school (or county), grade, respondent, start (in the session's clock), status."""
    _django_setup()
    from naeq.delivery.models import TestSession
    from naeq.delivery.selectors import local_start
    from naeq.sampling.selectors import cycle_for

    qs = TestSession.objects.filter(cycle=cycle_for(year)).select_related("school", "county")
    if school_code:
        qs = qs.filter(school__code=school_code)
    if status:
        qs = qs.filter(status=status)
    for s in qs.order_by("starts_at", "school__code", "id")[:limit]:
        where = s.school.code if s.school else s.county.code
        click.echo(f"{s.code}\t{where}\t{s.grade or '-'}\t{s.respondent}\t{s.kind}\t"
                   f"{local_start(s):%Y-%m-%d %H:%M%z}\t{s.status}\t{s.title}")


@sessions.command("open")
@click.argument("code")
@click.option("--as", "username", required=True, help="The account acting: one who runs the session.")
def open_(code: str, username: str) -> None:
    """Open session CODE (test takers can sign in within its window)."""
    _django_setup()
    from naeq.delivery.sessions import session_open

    s = session_open(actor=_actor(username), session_id=_session_id(code))
    click.echo(f"{s.code} open")


@sessions.command()
@click.argument("code")
@click.option("--as", "username", required=True, help="The account acting: one who runs the session.")
@click.option("--force", is_flag=True, help="Close even though some test takers are still answering.")
def close(code: str, username: str, force: bool) -> None:
    """Close session CODE. Refused while somebody is answering, unless --force."""
    _django_setup()
    from naeq.delivery.sessions import session_close

    s = session_close(actor=_actor(username), session_id=_session_id(code), force=force)
    click.echo(f"{s.code} closed")
