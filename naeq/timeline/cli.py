"""``naeq timeline``: the cycle's milestones and deadlines, the configuration check, and reminder e-mails.

``remind`` runs as the system (a daily cron job on the server); it is idempotent per day.
"""

from __future__ import annotations

import datetime as dt
import os

import click


def _django_setup() -> None:
    # naeq.cli (a higher layer) has the same helper; this app must not import it.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naeq.settings")
    import django

    django.setup()


def _cycle(year: int | None) -> object:
    from naeq.sampling.selectors import cycle_for

    return cycle_for(year)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def timeline() -> None:
    """工作进度: milestones, deadlines and reminders of a monitoring cycle."""


@timeline.command()
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="The cycle year (default: current).")
def milestones(year: int | None) -> None:
    """List the cycle's milestones with their deadlines, level and how they are completed."""
    _django_setup()
    from naeq.timeline.config import milestones_for

    cycle = _cycle(year)
    for m in milestones_for(cycle):  # type: ignore[arg-type]
        how = "manual" if m.manual else f"derived:{m.derived}"
        click.echo(f"{m.due.isoformat()}  {m.level:<8} {m.code:<20} {how:<20} {m.name}")


@timeline.command("check-config")
@click.option("--year", type=click.IntRange(2000, 2100), required=True,
              help="Check default.yaml with the override configs/<year>.yaml, if any.")
@click.option("--dir", "config_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="A folder holding default.yaml and <year>.yaml (default: the shipped configs).")
def check_config(year: int, config_dir: str | None) -> None:
    """Validate the milestone configuration; every problem is listed with its line and field."""
    _django_setup()
    from naeq.timeline.config import load

    load.cache_clear()
    config = load(year, config_dir)
    click.echo(f"ok: {len(config.milestones)} milestones, reminders {config.remind_days_before} days ahead")


@timeline.command()
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="The day the reminders are for (YYYY-MM-DD).")
@click.option("--year", type=click.IntRange(2000, 2100), default=None, help="The cycle year (default: current).")
@click.option("--dry-run", is_flag=True, help="List who would be e-mailed; send and record nothing.")
def remind(day: dt.datetime, year: int | None, dry_run: bool) -> None:
    """E-mail each responsible account about milestones due soon and overdue. Idempotent per day: accounts
    already reminded on that day are skipped."""
    _django_setup()
    from naeq.timeline.reminders import remind as run

    cycle = _cycle(year)
    reminders = run(cycle=cycle, day=day.date(), dry_run=dry_run)  # type: ignore[arg-type]
    sent = skipped = 0
    for r in reminders:
        mark = "skip (already sent)" if r.already_sent else ("would send" if dry_run else "sent")
        click.echo(f"{mark}: {r.username} <{r.email}> {len(r.items)} item(s)")
        for item in r.items:
            click.echo(f"    {item.line()}")
        skipped += r.already_sent
        sent += not r.already_sent
    verb = "would send" if dry_run else "sent"
    click.echo(f"{verb} {sent} e-mail(s), skipped {skipped}")
