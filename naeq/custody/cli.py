"""``naeq custody``: custody alerts, a county's ledger as Excel, and the demo data.

The verbs read as a named account (``--as``) and go through the same access rules as the pages; ``demo`` runs as
the system (the operator on the server), like ``naeq demo``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import click


def _django_setup() -> None:
    # naeq.cli (a higher layer) has the same helper; this app must not import it.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naeq.settings")
    import django

    django.setup()


def _actor(username: str) -> Any:
    from django.utils.translation import gettext as _

    from naeq.accounts.models import User
    from naeq.core.errors import InvalidInput

    actor = User.objects.filter(username=username, is_active=True).first()
    if actor is None:
        raise InvalidInput(_("没有找到该账户。"), code="no_account")
    return actor


def _now(at: str) -> dt.datetime:
    from django.utils import timezone

    from naeq.custody.services import local_tz

    if not at:
        return timezone.now()
    try:
        value = dt.datetime.fromisoformat(at)
    except ValueError:
        raise click.BadParameter("expected YYYY-MM-DD HH:MM", param_hint="--at") from None
    return value if value.tzinfo else value.replace(tzinfo=local_tz())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def custody() -> None:
    """Instrument custody (测试工具保密): alerts, ledgers, demo data."""


@custody.command()
@click.option("--as", "username", required=True, help="The account reading: county staff or above.")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="The cycle year (default: current).")
@click.option("--at", "at", default="", help="Compute the alerts at this moment (YYYY-MM-DD HH:MM, Beijing time; "
              "default: now).")
def alerts(username: str, year: int | None, at: str) -> None:
    """List the custody alerts in the account's jurisdiction: county, school, kind, message. Exits 1 if any."""
    _django_setup()
    from naeq.custody.selectors import alerts as alerts_of
    from naeq.sampling.selectors import cycle_for

    found = alerts_of(_actor(username), cycle_for(year), _now(at))
    for a in found:
        click.echo(f"{a.county_code}\t{a.school_code or '-'}\t{a.kind}\t{a.message}")
    click.echo(f"{len(found)} alert(s)", err=True)
    if found:
        raise SystemExit(1)


@custody.command()
@click.argument("county_code")
@click.option("--as", "username", required=True, help="The account reading: county staff or above.")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="The cycle year (default: current).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Where to write the workbook (.xlsx).")
def export(county_code: str, username: str, year: int | None, output: Path) -> None:
    """Write the custody ledger of COUNTY_CODE (events in order and current alerts) to an Excel workbook."""
    _django_setup()
    from django.utils import timezone

    from naeq.custody.exports import ledger_xlsx
    from naeq.custody.selectors import ledger
    from naeq.sampling.selectors import cycle_for

    data = ledger(actor=_actor(username), cycle=cycle_for(year), county_code=county_code, now=timezone.now())
    output.write_bytes(ledger_xlsx(data))
    click.echo(f"{output}: {len(data.events)} event(s), {len(data.alerts)} alert(s)")


@custody.command()
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="The cycle year (default: current).")
@click.option("--seed", type=int, default=2024, show_default=True, help="Which counties get which trouble.")
def demo(year: int | None, seed: int) -> None:
    """Fill the demo province's custody ledgers (a late return, a box-count mismatch, a two-day keep) and some
    session records. Does nothing when the province already has custody events."""
    _django_setup()
    from naeq.custody.demo import demo_custody
    from naeq.custody.models import CustodyEvent
    from naeq.sampling.selectors import cycle_for

    cycle = cycle_for(year)
    before = CustodyEvent.objects.filter(cycle=cycle).count()
    demo_custody(cycle, seed=seed)
    click.echo(f"custody events added: {CustodyEvent.objects.filter(cycle=cycle).count() - before}")
