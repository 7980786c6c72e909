"""Operations verbs: ``naeq user``, ``naeq audit``, ``naeq demo``, ``naeq serve``."""

from __future__ import annotations

import os
import sys
from typing import Any

import click


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naeq.settings")
    import django

    django.setup()


@click.group()
def user() -> None:
    """Accounts: create users anchored in the hierarchy."""


@user.command("create")
@click.argument("username")
@click.option("--role", required=True, help="A role code, e.g. national_admin, province_coordinator, "
              "city_viewer, county_liaison, school_head (see docs/accounts.md).")
@click.option("--region", "region_code", help="6-digit division code of the province/city/county it is anchored at.")
@click.option("--school", "school_code", help="10-digit school identification code, for school roles.")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--password", envvar="NAEQ_NEW_PASSWORD", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Password (or set NAEQ_NEW_PASSWORD; prompted otherwise).")
def user_create_cmd(username: str, role: str, region_code: str | None, school_code: str | None,
                    display_name: str, password: str) -> None:
    """Create an account with ROLE anchored at a region or school. The write is audited as 'system'."""
    _setup()
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    from naeq.accounts.services import user_create
    from naeq.core.errors import InvalidInput, Problem
    from naeq.registry.models import Region, School

    region = school = None
    if region_code:
        region = Region.objects.filter(code=region_code).first()
        if region is None:
            raise InvalidInput(_("区域不存在。"), problems=[Problem(field="region", reason=_("区域不存在"),
                                                                  value=region_code)])
    if school_code:
        school = School.objects.filter(code=school_code).first()
        if school is None:
            raise InvalidInput(_("学校不存在。"), problems=[Problem(field="school", reason=_("学校不存在"),
                                                                  value=school_code)])
    try:
        validate_password(password)
    except ValidationError as exc:
        raise InvalidInput(_("密码不符合要求。"),
                           problems=[Problem(field="password", reason=str(m)) for m in exc.messages]) from exc
    u = user_create(actor=None, username=username, password=password, role=role, region=region, school=school,
                    display_name=display_name)
    click.echo(f"created {u.username} ({u.role})")


@click.group()
def audit() -> None:
    """The audit log: verify that no event was altered or removed."""


@audit.command("verify")
def audit_verify_cmd() -> None:
    """Recompute the hash chain of the audit log. Exit 0 when intact, 1 at the first broken event."""
    _setup()
    from naeq.core.audit import audit_verify

    report = audit_verify()
    if report.ok:
        click.echo(f"audit chain intact: {report.events} events")
        return
    click.echo(f"audit chain BROKEN at event {report.first_bad_id}: {report.reason}", err=True)
    sys.exit(1)


# --------------------------------------------------------------------------------------------------- demo

DEMO_PREFIX = "demo_"


def _demo_anchors() -> dict[str, Any]:
    """Pick where each demo account stands: the first province, city and county of the world, and a school in
    that county that teaches both tested grades (so every school role has something to see)."""
    from django.db.models import Count

    from naeq.registry.models import Region, RegionLevel, School

    province = Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code").first()
    if province is None:
        raise click.ClickException("the database has no regions: run `naeq synth` first")
    city = Region.objects.filter(level=RegionLevel.CITY, path__startswith=province.path).order_by("code").first()
    county_qs = Region.objects.filter(level=RegionLevel.COUNTY, path__startswith=(city or province).path)
    county = (county_qs.annotate(n=Count("schools")).filter(n__gt=0).order_by("code").first())
    if county is None:
        raise click.ClickException("the synthetic world has no county with schools")
    from naeq.sampling.models import SampledStudent

    # Once students are drawn, the demo school is one of them, so its accounts have sessions to run and take.
    drawn = (SampledStudent.objects.filter(sampled_school__county=county).order_by("sampled_school__school__code")
             .values_list("sampled_school__school_id", flat=True).first())
    school = ((School.objects.filter(pk=drawn).first() if drawn is not None else None)
              or School.objects.filter(county=county, g4_enrollment__gt=0, g8_enrollment__gt=0)
              .order_by("-g8_enrollment", "code").first()
              or School.objects.filter(county=county).order_by("code").first())
    return {"province": province, "city": city or province, "county": county, "school": school}


def demo_accounts(*, roles: tuple[str, ...] | None = None) -> list[tuple[str, str, str, str]]:
    """Create (or reset) one demo login per role (or per role of ``roles``); an existing account whose anchor is
    no longer the demo's (the demo school moves to a sampled one once students are drawn) is moved there,
    audited. Returns rows (role label, username, password, where)."""
    import secrets

    from django.db import transaction

    from naeq.accounts.models import User
    from naeq.accounts.roles import ROLE_LEVEL, Level, Role
    from naeq.accounts.services import user_create
    from naeq.core.audit import audit_record

    anchors = _demo_anchors()
    rows = []
    with transaction.atomic():
        for role in Role:
            if roles is not None and role not in roles:
                continue
            level = ROLE_LEVEL[role]
            username = f"{DEMO_PREFIX}{role.value}"
            password = secrets.token_urlsafe(9)
            region = school = None
            if level == Level.SCHOOL:
                school = anchors["school"]
            elif level != Level.NATION:
                region = anchors[str(level)]
            where = str(school or region or "全国")
            existing = User.objects.filter(username=username).first()
            if existing is None:
                user_create(actor=None, username=username, password=password, role=role, region=region,
                            school=school, display_name=f"演示{role.label}")
            else:
                if level != Level.NATION and (existing.school_id, existing.region_id) != (
                        getattr(school, "pk", None), getattr(region, "pk", None)):
                    before = {"school": getattr(existing.school, "code", None),
                              "region": getattr(existing.region, "code", None)}
                    existing.school, existing.region = school, region
                    existing.scope_path = str(getattr(school or region, "path", ""))
                    existing.save(update_fields=["school", "region", "scope_path"])
                    audit_record(actor=None, action="accounts.user.reanchor", object_type="user",
                                 object_id=existing.pk, before=before,
                                 after={"school": getattr(school, "code", None),
                                        "region": getattr(region, "code", None), "reason": "demo"})
                existing.set_password(password)
                existing.save(update_fields=["password"])
                audit_record(actor=None, action="accounts.user.password_reset", object_type="user",
                             object_id=existing.pk, after={"username": username, "reason": "demo"})
            rows.append((str(role.label), username, password, where))
    return rows


def _demo_online(admin: object) -> list[str]:
    """Load the demo item bank, generate test takers and formal sessions, and open two practice sessions at the
    demo school (students of its tested grade; its teachers), so a test can be sat now: formal sessions keep the
    cycle's dates. Idempotent. Returns lines to print, with a test ID and key to sign in with at /t/."""
    from naeq.accounts.models import User
    from naeq.cycles.selectors import cycle_current
    from naeq.delivery.demo_bank import demo_bank_load
    from naeq.delivery.models import Respondent, SessionKind, SessionStatus, TestSession, TestTaker
    from naeq.delivery.sessions import practice_session_create, session_open, sessions_generate
    from naeq.delivery.takers import test_takers_generate

    cycle = cycle_current()
    if cycle is None:
        return ["no current cycle: skipped"]
    bank = demo_bank_load(actor=admin, year=cycle.year)
    takers = test_takers_generate(actor=admin, year=cycle.year)
    made = sessions_generate(actor=admin, year=cycle.year)
    lines = [f"item bank: {len(bank['created'])} instruments published, {len(bank['skipped'])} already there",
             "test takers added: " + ", ".join(f"{k} {v}" for k, v in takers.items()),
             "formal sessions added: " + ", ".join(f"{k} {v}" for k, v in made.items())]
    closed = _demo_close_past(cycle)
    lines.append(f"formal sessions already over, closed as run to time: {closed}")
    school = _demo_anchors()["school"]
    head = User.objects.get(username=f"{DEMO_PREFIX}school_head")
    student = (TestTaker.objects.filter(cycle=cycle, school=school, kind=Respondent.STUDENT)
               .order_by("code").first())
    teacher = (TestTaker.objects.filter(cycle=cycle, school=school, kind=Respondent.TEACHER)
               .order_by("code").first())
    online = {i.code: i for i in cycle.config.instruments}
    for taker, respondent, title in ((student, Respondent.STUDENT, "演示练习（学生）"),
                                     (teacher, Respondent.TEACHER, "演示练习（教师）")):
        if taker is None:
            continue
        session = TestSession.objects.filter(cycle=cycle, school=school, kind=SessionKind.PRACTICE,
                                             respondent=respondent, title=title).first()
        if session is None:
            level = "middle" if taker.grade == 8 else "primary"
            codes = [c for c, i in online.items() if i.respondent == respondent
                     and (not i.grades or taker.grade in i.grades)
                     and i.delivery.get(level, "").startswith("online") and not c.startswith("app_")]
            session = practice_session_create(actor=head, school_id=school.pk, instrument_codes=codes,
                                              grade=taker.grade, respondent=respondent, title=title)
        if session.status == SessionStatus.SCHEDULED:
            session = session_open(actor=head, session_id=session.pk)
        lines.append(f"{title}: 测试编号 {taker.code}  登录码 {session.key}  (sign in at /t/)")
    return lines


def _demo_close_past(cycle: Any) -> int:
    """Close the demo province's formal sessions whose window is over (the demo cycle's test days lie a week
    back), as run to time: opened at the start, actual start and end recorded, closed at the end. One school
    (the last sample school of the province, never the demo school) has not closed its last day's sessions, so
    its test days stay overdue on the timeline. Written as the system (no demo account runs every school),
    audited; idempotent (closed sessions are left alone). Returns the number closed."""
    import datetime as dt

    from django.db import transaction
    from django.utils import timezone

    from naeq.core.audit import audit_record
    from naeq.delivery.models import SessionKind, SessionStatus, TestSession

    province = _demo_anchors()["province"]
    now = timezone.now()
    rows = list(TestSession.objects.filter(cycle=cycle, kind=SessionKind.FORMAL, path__startswith=province.path,
                                           school__isnull=False, starts_at__lt=now - dt.timedelta(hours=12))
                .select_related("school").order_by("path", "starts_at", "pk"))
    if not rows:
        return 0
    demo_school = _demo_anchors()["school"]
    # (Synthetic school names can repeat within a county: the laggard does not share the demo school's name.)
    laggard = max((s for s in rows if s.school_id != getattr(demo_school, "pk", None)
                   and getattr(s.school, "name", None) != getattr(demo_school, "name", None)),
                  key=lambda s: s.school_id or 0, default=None)
    last_day = max((s.starts_at.date() for s in rows if laggard and s.school_id == laggard.school_id),
                   default=None)
    n = 0
    with transaction.atomic():
        for s in rows:
            if s.status != SessionStatus.SCHEDULED:
                continue
            if laggard is not None and s.school_id == laggard.school_id and s.starts_at.date() == last_day:
                continue
            end = s.ends_at or s.starts_at + dt.timedelta(hours=2)
            before = {"status": s.status}
            s.status, s.opened_at, s.closed_at = SessionStatus.CLOSED, s.starts_at - dt.timedelta(minutes=10), end
            s.actual_start, s.actual_end = s.starts_at, end
            s.save(update_fields=["status", "opened_at", "closed_at", "actual_start", "actual_end"])
            audit_record(actor=None, action="delivery.session_close", object_type="delivery.TestSession",
                         object_id=s.pk, before=before,
                         after={"code": s.code, "status": s.status, "reason": "demo: window over"})
            n += 1
    return n


@click.command()
@click.option("--scale", type=click.Choice(["county", "city", "province"]), default="province",
              show_default=True, help="Size of the synthetic world generated on first run.")
@click.option("--seed", type=int, default=2024, show_default=True, help="Seed of the synthetic world.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Set everything up and print the logins, but do not serve.")
@click.pass_context
def demo(ctx: click.Context, scale: str, seed: int, host: str, port: int, no_serve: bool) -> None:
    """Run every stage that exists so far on the embedded default and serve the UI.

    Creates the database (SQLite in ./var unless DATABASE_URL says otherwise), generates a synthetic province
    (only on first run; the world is kept), loads the shipped cycle configurations, prints one demo login per
    role (passwords are new on every run) and serves the UI on http://HOST:PORT/.
    """
    os.environ.setdefault("NAEQ_DEBUG", "1")
    _setup()
    from django.conf import settings
    from django.core.management import call_command

    from naeq.cycles.services import load_shipped_cycles
    from naeq.registry.cli import synth
    from naeq.registry.models import Region

    click.echo("» database schema", err=True)
    call_command("migrate", interactive=False, verbosity=0)
    if Region.objects.exists():
        click.echo("» synthetic world: already there, kept (delete the data directory for a new one)", err=True)
    else:
        click.echo(f"» synthetic world: {scale}, seed {seed}", err=True)
        ctx.invoke(synth, scale=scale, seed=seed)
    click.echo("» cycle configurations", err=True)
    for c in load_shipped_cycles():
        click.echo(f"  {c.year} {c.name}", err=True)
    from django.utils import timezone

    from naeq.cycles.demo import demo_cycle_load

    current = demo_cycle_load(today=timezone.localdate())
    if current is None:
        click.echo("  demo cycle skipped: its year already holds an official configuration", err=True)
    else:
        click.echo(f"  {current.year} {current.name} (current)", err=True)
    from naeq.accounts.models import User
    from naeq.accounts.roles import Role
    from naeq.sampling.services import sample_demo

    demo_accounts(roles=(Role.NATIONAL_ADMIN, Role.COUNTY_LIAISON))
    admin = User.objects.get(username=f"{DEMO_PREFIX}national_admin")
    click.echo("» sample: counties, schools, and the students of the demo county", err=True)
    counts = sample_demo(actor=admin, county_actor=User.objects.get(username=f"{DEMO_PREFIX}county_liaison"),
                         county_code=str(getattr(_demo_anchors()["county"], "code", "")))
    click.echo("  " + ", ".join(f"{k} {v}" for k, v in counts.items()), err=True)
    rows = demo_accounts()
    click.echo("» online testing: item bank, test takers, sessions, practice sessions", err=True)
    for line in _demo_online(admin):
        click.echo("  " + line, err=True)
    click.echo("» implementation: staff, readiness, timeline, instrument custody, incidents and hotline", err=True)
    _demo_implementation(seed)
    click.echo("» the whole sample: participation, student draws and test-taker statuses in every sampled county, "
               "weights", err=True)
    _demo_whole_sample(admin, seed)
    click.echo("» scoring and scaling: paper capture, marking, PE field test, a calibration run", err=True)
    rows += _demo_scoring(seed)
    click.echo("» data quality: responses with injected anomalies, a screening run", err=True)
    _demo_quality(seed)
    click.echo("» results: estimation runs, PE indicators, reports, problem letters and rectification plans", err=True)
    _demo_results()
    logins = settings.DATA_DIR / "demo-logins.txt"
    width = max(len(r[1]) for r in rows)
    lines = [f"{u.ljust(width)}  {p}  {label} · {where}" for label, u, p, where in rows]
    logins.write_text("\n".join(lines) + "\n")
    logins.chmod(0o600)
    click.echo(f"\nDemo logins (also in {logins}):")
    click.echo("\n".join("  " + line for line in lines))
    if no_serve:
        return
    click.echo(f"\nServing http://{host}:{port}/  (Ctrl-C stops)\n")
    call_command("runserver", f"{host}:{port}", use_reloader=False, use_threading=True)


def _demo_implementation(seed: int) -> None:
    """Fill the implementation management apps with a realistic mix (on time, late, incident-bearing units); each
    hook is idempotent and uses generated names only."""
    from naeq.custody.demo import demo_custody
    from naeq.cycles.selectors import cycle_current
    from naeq.incidents.demo import demo_incidents
    from naeq.readiness.demo import demo_readiness
    from naeq.staffing.demo import demo_staffing
    from naeq.timeline.demo import demo_timeline

    cycle = cycle_current()
    if cycle is None:
        return
    for hook in (demo_staffing, demo_readiness, demo_timeline, demo_custody, demo_incidents):
        hook(cycle, seed=seed)


def _demo_whole_sample(admin: Any, seed: int) -> None:
    """Every other sampled county through participation (a few refusals and their replacements), rosters, student
    draws and test-taker statuses, then the weights (naeq.sampling.demo), and the test takers and formal sessions
    of the new schools (delivery's generators, which add only what is missing). After the implementation demos,
    which stay on the demo county. Idempotent."""
    from naeq.cycles.selectors import cycle_current
    from naeq.delivery.sessions import sessions_generate
    from naeq.delivery.takers import test_takers_generate
    from naeq.sampling.demo import sample_demo_complete

    cycle = cycle_current()
    if cycle is None:
        return
    out = sample_demo_complete(actor=admin, seed=seed, year=cycle.year)
    click.echo(f"  refusals {out['refused']} (replacements called in), student draws {out['student_draws']}, "
               f"statuses reported {out['reported']}, students {out['students']}, weights run #{out['weights_run']}"
               f"{' (already there)' if out['weights'] == 'exists' else ''}", err=True)
    takers = test_takers_generate(actor=admin, year=cycle.year)
    made = sessions_generate(actor=admin, year=cycle.year)
    closed = _demo_close_past(cycle)
    click.echo("  test takers added: " + ", ".join(f"{k} {v}" for k, v in takers.items())
               + "; formal sessions added: " + ", ".join(f"{k} {v}" for k, v in made.items())
               + f"; closed as run to time: {closed}", err=True)


def _demo_scoring(seed: int) -> list[tuple[str, str, str, str]]:
    """Fill the scoring apps: a scanned answer-card batch with real scanner errors waiting in the review queue, a
    marked constructed-response item with a disagreeing rater pair and an arbitration waiting, PE rooms in every
    state, and one finished calibration run. Idempotent; returns the login rows of the demo raters (passwords new
    on every run)."""
    import secrets

    from naeq.accounts.models import User
    from naeq.cycles.selectors import cycle_current
    from naeq.marking.demo import RATERS, demo_marking
    from naeq.papercapture.demo import demo_papercapture
    from naeq.pe.demo import demo_pe
    from naeq.scaling.demo import demo_scaling

    cycle = cycle_current()
    if cycle is None:
        return []
    demo_papercapture(cycle, seed=seed)
    raters = demo_marking(cycle, seed=seed)
    demo_pe(cycle, seed=seed)
    demo_scaling(cycle, seed=seed)
    rows = []
    for username, _name in RATERS:
        user = next((u for u in raters if u.username == username), None) or User.objects.filter(
            username=username).first()
        if user is None:
            continue
        password = secrets.token_urlsafe(9)
        user.set_password(password)
        user.save(update_fields=["password"])
        where = str(user.region or "")
        rows.append((f"{user.get_role_display()}（{user.display_name}）", username, password, where))
    return rows


def _demo_quality(seed: int) -> None:
    """Data quality (naeq.quality.demo): synthetic option responses of a demo paper at the sample schools with
    injected copying, a proctor's answers and preknowledge, one finished screening run and an investigation case
    on its top-ranked flagged school, investigating, for the demo national account to decide. Idempotent."""
    from naeq.cycles.selectors import cycle_current
    from naeq.quality.demo import demo_quality

    cycle = cycle_current()
    if cycle is None:
        return
    out = demo_quality(cycle, seed=seed, coordinator=f"{DEMO_PREFIX}province_coordinator")
    click.echo(f"  screening run #{out['run']} of {out['truth']['instrument']}: {out['status']}"
               f"{'' if out['created'] else ' (already there)'}", err=True)
    case = out["case"]
    if case["case"] is None:
        click.echo(f"  investigation case: none ({case['reason']})", err=True)
    else:
        click.echo(f"  investigation case {case['number']} (#{case['case']}): {case['state']}, investigator "
                   f"{case['investigator']}, {case['evidence']} evidence{'' if case['created'] else ' (already there)'}"
                   f" — decide it at /quality/cases/{case['case']}/", err=True)


def _demo_results() -> None:
    """Issue 8's stages on the demo's data: one estimation run per calibrated subject (naeq.analysis.demo), the PE
    indicators when PE records exist, the county/provincial/national reports (naeq.reports.demo), the problem
    letters and a few rectification plans (naeq.rectification.demo). Each step is idempotent."""
    from django.db import transaction

    from naeq.accounts.models import User
    from naeq.analysis.demo import demo_analysis
    from naeq.analysis.models import EstimationRun
    from naeq.core.errors import InvalidInput
    from naeq.cycles.selectors import cycle_current
    from naeq.rectification.demo import demo_rectification
    from naeq.reports.demo import demo_reports

    cycle = cycle_current()
    admin = User.objects.filter(username=f"{DEMO_PREFIX}national_admin").first()
    if cycle is None or admin is None:
        return
    out = demo_analysis(actor=admin, cycle=cycle)
    for code, r in out["subjects"].items():
        why = r.get("reason") or r.get("error") or ""
        click.echo(f"  estimation run of {code}: #{r['run'] or '-'} {r['status']}{' · ' + why if why else ''}",
                   err=True)
    if out.get("balanced"):
        click.echo(f"  balanced-county evaluation: {out['balanced']}", err=True)
    if not EstimationRun.objects.filter(cycle=cycle, calibration_run__isnull=True, status="done").exists():
        from naeq.analysis.pe import pe_start

        try:
            with transaction.atomic():
                pe = pe_start(actor=admin, cycle=cycle)
            pe.refresh_from_db()
            click.echo(f"  PE indicators: run #{pe.pk} {pe.status}{' · ' + pe.error if pe.error else ''}", err=True)
        except InvalidInput as exc:
            click.echo(f"  PE indicators: not estimated · {exc.message}", err=True)
    rep = demo_reports(actor=admin)
    click.echo(f"  reports: batch #{rep.get('batch') or '-'} {rep['status']}, {rep.get('reports', 0)} reports"
               f"{' · ' + rep['error'] if rep.get('error') else ''}", err=True)
    rect = demo_rectification(cycle)
    click.echo(f"  problem letters issued: {rect['letters']}, rectification plans: {rect['plans']}", err=True)


# --------------------------------------------------------------------------------------------------- serve


@click.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True,
              help="HOST:PORT to listen on.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes. Default: one per CPU core (each is one event loop; Django's pages run in "
                   "its threads, the answer-save hot path on the loop itself).")
@click.option("--threads", type=click.IntRange(min=1), default=8, show_default=True,
              help="Threads per worker for Django's pages (each keeps its database connection).")
@click.option("--save-connections", type=click.IntRange(min=1, max=16), default=2, show_default=True,
              help="Database connections per worker for group-committed answer saves (PostgreSQL).")
@click.option("--keepalive", type=click.IntRange(min=0), default=5, show_default=True,
              help="Seconds an idle keep-alive connection is held open.")
@click.option("--backlog", type=click.IntRange(min=64), default=2048, show_default=True)
@click.option("--max-requests", type=click.IntRange(min=0), default=0, show_default=True,
              help="Recycle a worker after this many requests (0: never).")
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="Log every request to stderr (costs throughput on the hot path).")
@click.option("--migrate", "run_migrate", is_flag=True, help="Apply database migrations before serving.")
def serve(bind: str, workers: int | None, threads: int, save_connections: int, keepalive: int, backlog: int,
          max_requests: int, access_log: bool, run_migrate: bool) -> None:
    """Serve naeq in production with uvicorn (HTTP parsed in C by httptools, event loop by uvloop).

    The application is naeq.asgi: the answer-save hot path answered on the event loop with group commit
    (PostgreSQL), every other request by Django. Reads the same environment as every verb (DATABASE_URL,
    NAEQ_DATA_DIR, NAEQ_SECRET_KEY, NAEQ_ALLOWED_HOSTS); Django runs on a fixed pool of threads per worker, each
    keeping its database connection (NAEQ_CONN_MAX_AGE, default 60 s here). SIGTERM stops gracefully; a worker
    that dies is replaced. See docs/operations.md.
    """
    import uvicorn

    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter(f"{bind!r} is not HOST:PORT", param_hint="--bind")
    os.environ.setdefault("NAEQ_CONN_MAX_AGE", "60")
    os.environ["NAEQ_THREADS"] = str(threads)
    os.environ["NAEQ_SAVE_CONNECTIONS"] = str(save_connections)
    _setup()
    if run_migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=1)
    from django.db import connections

    connections.close_all()  # never hand a connection opened here to the workers
    uvicorn.run("naeq.asgi:application", host=host.strip("[]"), port=int(port),
                workers=workers or os.cpu_count() or 1, http="httptools", loop="uvloop", lifespan="on",
                backlog=backlog, timeout_keep_alive=keepalive, access_log=access_log,
                limit_max_requests=max_requests or None, log_level="info", server_header=False,
                proxy_headers=False, timeout_graceful_shutdown=20)
