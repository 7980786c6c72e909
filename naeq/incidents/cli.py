"""``naeq incidents ...``: check the incident configuration, escalate overdue cases, print counts.

Only click is imported at module level (``naeq --help`` stays fast); Django is set up inside each verb.
"""

from __future__ import annotations

import os
import sys

import click

EXIT_BAD_INPUT = 1


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naeq.settings")
    import django

    django.setup()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def incidents() -> None:
    """Incidents (应急事件) and the supervision hotline (监督专线)."""


@incidents.command("check-config")
@click.argument("file", required=False, type=click.Path(dir_okay=False, exists=True))
def check_config(file: str | None) -> None:
    """Validate an incident configuration FILE (default: the shipped configs/default.yaml)."""
    _setup()
    from pathlib import Path

    from naeq.core.errors import InvalidInput
    from naeq.incidents.config import DEFAULT, parse

    path = Path(file) if file else DEFAULT
    try:
        config = parse(path.read_text(encoding="utf-8"), file=str(path))
    except InvalidInput as exc:
        for p in exc.problems:
            click.echo(str(p))
        sys.exit(EXIT_BAD_INPUT)
    click.echo(f"{path}: OK ({len(config.categories)} categories, grades 1–3, {len(config.violations)} violations)")


@incidents.command()
@click.option("--escalate", is_flag=True, help="Escalate the overdue cases (audited, actor: system).")
def overdue(escalate: bool) -> None:
    """List open cases past their grade's escalation deadline (grade 2: the city after 2 hours)."""
    _setup()
    from naeq.incidents.models import IncidentCase
    from naeq.incidents.selectors import overdue_level
    from naeq.incidents.services import cases_escalate_overdue

    if escalate:
        for case in cases_escalate_overdue():
            click.echo(f"#{case.pk} grade {case.grade} {case.county.code} -> {case.level}")
        return
    for case in IncidentCase.objects.exclude(state="closed").select_related("county"):
        target = overdue_level(case)
        if target:
            click.echo(f"#{case.pk} grade {case.grade} {case.county.code} at {case.level}, due at {target}")


@incidents.command()
@click.option("--year", type=int, default=None, help="Cycle year (default: the current cycle).")
def counts(year: int | None) -> None:
    """Cases by grade and county, and hotline calls, of the cycle (all regions)."""
    _setup()
    from naeq.accounts.models import User
    from naeq.incidents.selectors import hotline_counts, incident_counts
    from naeq.sampling.selectors import cycle_for

    cycle = cycle_for(year)
    system = User(username="system", role="national_analyst", is_active=True)
    c = incident_counts(system, cycle)
    click.echo(f"cases: grade 1 {c.by_grade[1]}, grade 2 {c.by_grade[2]}, grade 3 {c.by_grade[3]} "
               f"(open {sum(c.open_by_grade.values())})")
    for u in c.by_unit:
        click.echo(f"  {u['county']} {u['name']}: 1:{u['g1']} 2:{u['g2']} 3:{u['g3']} open:{u['open']}")
    h = hotline_counts(system, cycle)
    click.echo(f"hotline calls: {h['total']} (open {h['open']}) " + ", ".join(f"{k} {v}" for k, v in
                                                                           sorted(h["by_topic"].items())))
