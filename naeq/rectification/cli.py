"""``naeq rectification``: problem letters and rectification plans (整改). See docs/rectification.md.

Every verb acts as a named account (``--as``) through the same access rules and services as the pages.
"""

from __future__ import annotations

import datetime as dt

import click


@click.group(name="rectification", context_settings={"help_option_names": ["-h", "--help"]})
def rectification_group() -> None:
    """Rectification: problem letters to provinces, plans, progress updates, reviews and overdue alerts."""


@rectification_group.group(name="letters")
def letters_group() -> None:
    """Problem letters (问题函): draft from the cycle's estimates, issue."""


@letters_group.command(name="draft")
@click.option("--cycle", "year", type=click.IntRange(2000, 2100), required=True, help="The cycle year.")
@click.option("--province", "code", required=True, help="The province's division code (e.g. 310000).")
@click.option("--as", "username", required=True, help="The account drafting: national centre staff.")
@click.option("--gap-points", type=float, default=None, help="Smallest urban–rural / sex gap listed (default 15).")
@click.option("--diff-rate-max", type=float, default=None, help="校际差异率 above this is a problem (default 0.15).")
@click.option("--county-gap-points", type=float, default=None,
              help="A county's mean listed when significantly this many points below the nation / its province "
                   "(default 15).")
@click.option("--county-share-gap", type=float, default=None,
              help="A county's share at 待提高 listed when significantly this much above the nation's (default 0.05).")
def letters_draft(year: int, code: str, username: str, gap_points: float | None, diff_rate_max: float | None,
                  county_gap_points: float | None, county_share_gap: float | None) -> None:
    """Draft (or re-derive while a draft) the letter of a province from the cycle's latest estimation runs and
    print its problems. A province with no problem gets no letter (exit 1)."""
    from naeq.core.clitools import account, django_setup

    django_setup()
    from django.utils.translation import gettext as _

    from naeq.core.errors import NotFound
    from naeq.cycles.models import Cycle
    from naeq.rectification import services
    from naeq.rectification.letters import Rules
    from naeq.registry.models import Region

    actor = account(username)
    cycle = Cycle.objects.filter(year=year).first()
    province = Region.objects.filter(code=code, level="province").first()
    if cycle is None or province is None:
        raise NotFound(_("没有找到该监测周期或省份。"))
    given = (("gap_points", gap_points), ("diff_rate_max", diff_rate_max), ("county_gap_points", county_gap_points),
             ("county_share_gap", county_share_gap))
    rules = Rules.from_dict({k: v for k, v in given if v is not None})
    letter = services.letter_draft(actor=actor, cycle=cycle, province=province, rules=rules)
    click.echo(f"letter {letter.pk}\t{letter.title}\t{letter.get_status_display()}")
    for p in letter.problems.all():
        click.echo(f"{p.seq}\t{p.rule}\t{p.text}")


@letters_group.command(name="issue")
@click.argument("letter_id", type=int)
@click.option("--as", "username", required=True, help="The account issuing: national centre staff.")
def letters_issue(letter_id: int, username: str) -> None:
    """Issue draft letter LETTER_ID: it gets its number (监测函〔年〕N号) and never changes again."""
    from naeq.core.clitools import account, django_setup

    django_setup()
    from naeq.rectification import services

    letter = services.letter_issue(actor=account(username), letter_id=letter_id)
    click.echo(f"letter {letter.pk}\t{letter.number}\t{letter.issued_at:%Y-%m-%d %H:%M}")


@letters_group.command(name="pdf")
@click.argument("letter_id", type=int)
@click.option("--as", "username", required=True, help="The account reading: national staff, or the province's own.")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True), required=True,
              help="The PDF file to write.")
def letters_pdf(letter_id: int, username: str, out: str) -> None:
    """Write letter LETTER_ID as PDF (the letter, then the annex: every problem with its indicator, evidence numbers
    and rule). Audited like the download on the letter's page."""
    from pathlib import Path

    from naeq.core.clitools import account, django_setup

    django_setup()
    from naeq.rectification import services

    letter, data = services.letter_download(actor=account(username), letter_id=letter_id)
    Path(out).write_bytes(data)
    click.echo(f"letter {letter.pk}	{letter.number or letter.title}	{out}	{len(data)} bytes")


@letters_group.command(name="list")
@click.option("--as", "username", required=True, help="The account reading.")
def letters_list(username: str) -> None:
    """The letters the account may see: id, year, province, number, status, problems."""
    from naeq.core.clitools import account, django_setup

    django_setup()
    from naeq.rectification import selectors

    for x in selectors.letter_list(actor=account(username)):
        click.echo(f"{x.pk}\t{x.cycle.year}\t{x.province.name}\t{x.number or '-'}\t{x.status}\t"
                   f"{x.problems.count()}")


@rectification_group.group(name="plans")
def plans_group() -> None:
    """Rectification plans (整改方案): list, show."""


@plans_group.command(name="list")
@click.option("--as", "username", required=True, help="The account reading.")
@click.option("--state", default="", help="Only plans in this state (draft, submitted, returned, approved, "
              "in_progress, completed).")
def plans_list(username: str, state: str) -> None:
    """The plans the account may see: id, unit, indicator, baseline, target, deadline, state."""
    from naeq.core.clitools import account, django_setup

    django_setup()
    from naeq.rectification import selectors

    for p in selectors.plan_list(actor=account(username), state=state):
        base = "-" if p.baseline is None else f"{p.baseline:g}"
        click.echo(f"{p.pk}\t{p.unit.code}\t{p.unit.name}\t{p.indicator}\t{base}\t{p.target_value:g}\t"
                   f"{p.deadline}\t{p.state}")


@plans_group.command(name="show")
@click.argument("plan_id", type=int)
@click.option("--as", "username", required=True, help="The account reading.")
def plans_show(plan_id: int, username: str) -> None:
    """One plan: problem, target, measures, updates, reviews and the next cycle's value."""
    from naeq.core.clitools import account, django_setup

    django_setup()
    from naeq.rectification import access, selectors

    actor = account(username)
    p = access.plan_access(actor=actor, plan_id=plan_id)
    click.echo(f"plan {p.pk}: {p.unit.name} — {p.indicator} [{p.state}]")
    click.echo(f"problem: {p.problem.text}")
    click.echo(f"department: {p.department}")
    click.echo(f"baseline: {p.baseline} (SE {p.baseline_se})  target: {p.target_value}  deadline: {p.deadline}")
    for i, m in enumerate(p.measures, start=1):
        click.echo(f"measure {i}: {m}")
    for u in p.updates.all():
        click.echo(f"update {u.created_at:%Y-%m-%d}: {u.percent}% {u.text} ({u.files.count()} file(s))")
    for r in p.reviews.all():
        click.echo(f"review {r.at:%Y-%m-%d}: {r.decision} {r.comment}")
    nv = selectors.next_cycle_value(p)
    if nv is None:
        click.echo("next cycle: not measured yet")
    else:
        click.echo(f"next cycle {nv.year}: {nv.value:g} (SE {nv.se}) — {'met' if nv.met else 'not met'}")


@rectification_group.command(name="overdue")
@click.option("--as", "username", required=True, help="The account reading.")
@click.option("--at", "at", default="", help="Compute at this day (YYYY-MM-DD; default today).")
@click.option("--stale-days", type=click.IntRange(1, 3650), default=30, show_default=True,
              help="An under-way plan without an update for this many days is listed.")
def overdue(username: str, at: str, stale_days: int) -> None:
    """Overdue plans and plans without recent updates in the account's jurisdiction. Exits 1 if any."""
    from naeq.core.clitools import account, django_setup

    django_setup()
    from naeq.rectification import alerts

    try:
        day = dt.date.fromisoformat(at) if at else None
    except ValueError:
        raise click.BadParameter("expected YYYY-MM-DD", param_hint="--at") from None
    found = alerts.for_actor(account(username), day, stale_days=stale_days)
    for a in found:
        click.echo(f"{a.plan_id}\t{a.level}\t{a.unit_code}\t{a.unit_name}\t{a.kind}\t{a.message}")
    click.echo(f"{len(found)} alert(s)", err=True)
    if found:
        raise SystemExit(1)
