"""Test sessions: generated from the cycle's schedule, opened and closed by the school, recorded by proctors.

Generation (:func:`sessions_generate`) walks the participating sample schools of the active school run. A row
of the school run is one school and one tested grade: grade 4 follows the configuration's ``primary`` schedule,
grade 8 the ``middle`` one (a nine- or twelve-year school sampled in both grades gets both). For each schedule
entry it makes one formal session per respondent kind of the entry's *online* instruments (delivery ``online``,
``online_objective_paper_constructed`` or ``county_choice``; paper-only instruments and the PE field test have
no online session). The principal's session is made once per school. Every sample county gets the county-level
entries (the county manager questionnaire window) as sessions with no school.

Local time: where the configuration lists the province (``local_time.regions``), the schedule's clock times are
local times. The province's :attr:`Region.local_time_offset_hours` is its offset from Beijing time; a listed
province whose offset is still 0 is taken as −2 h (Xinjiang and Tibet run about two hours behind Beijing).
Sessions store aware datetimes in that offset (``utc_offset_minutes`` = 480 + 60 · offset, ``local_time`` set).

A session accepts sign-ins (:func:`session_accepts`) while it is open and, for a formal session, from 30 minutes
before its start until 30 minutes after its end (no end: "至全部完成"). Practice sessions accept while open.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput
from naeq.cycles.models import Cycle
from naeq.cycles.selectors import ScheduleEntry, schedule_for
from naeq.delivery.access import (
    require_incident_recorder,
    require_practice_creator,
    require_session_runner,
)
from naeq.delivery.models import (
    Attempt,
    AttemptStatus,
    Incident,
    Respondent,
    SessionKind,
    SessionStatus,
    TestSession,
)
from naeq.delivery.takers import participating_schools, require_generator, sample_counties
from naeq.registry.models import Region, School
from naeq.sampling.models import CountyParticipation
from naeq.sampling.selectors import cycle_for

#: Key alphabet without the look-alikes 0/O, 1/I/L.
KEY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
KEY_LENGTH = 6
#: A formal session accepts sign-ins from this long before its start until this long after its end.
GRACE = dt.timedelta(minutes=30)
#: Delivery modes that have an online part (the county decides for ``county_choice``: the session exists and is
#: simply not opened where the county chose paper).
ONLINE_MODES = frozenset({"online", "online_objective_paper_constructed", "county_choice"})
#: Offset assumed for a local-time province whose registry row has no offset yet.
DEFAULT_LOCAL_OFFSET_HOURS = -2
BEIJING_MINUTES = 480
LEVEL_GRADE = {"primary": 4, "middle": 8}
GRADE_LEVEL = {4: "primary", 8: "middle"}
RESPONDENT_LABEL: dict[str, str] = {Respondent.STUDENT: "学生", Respondent.TEACHER: "教师",
                                    Respondent.PRINCIPAL: "校长", Respondent.COUNTY_MANAGER: "县级教育管理人员"}


def new_key() -> str:
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


def new_code(taken: set[str] | None = None) -> str:
    """A session number "S" + 7 digits, not in ``taken`` (every existing number, which the new one is added to);
    without ``taken`` the database is asked."""
    while True:
        code = f"S{secrets.randbelow(10**7):07d}"
        if taken is None:
            if not TestSession.objects.filter(code=code).exists():
                return code
        elif code not in taken:
            taken.add(code)
            return code


def session_accepts(session: TestSession, now: dt.datetime | None = None) -> bool:
    """Whether ``session`` lets test takers sign in and work now (see the module docstring)."""
    if session.status != SessionStatus.OPEN:
        return False
    if session.kind == SessionKind.PRACTICE:
        return True
    now = now or timezone.now()
    if now < session.starts_at - GRACE:
        return False
    return session.ends_at is None or now <= session.ends_at + GRACE


# ------------------------------------------------------------------------------------------- generation


def utc_offset_minutes(cycle: Cycle, county: Region) -> tuple[int, bool]:
    """(offset from UTC in minutes, local time?) of the schedule's clock times for a county."""
    province_code = county.path.split("/", 1)[0]
    if not cycle.config.is_local_time(province_code):
        return BEIJING_MINUTES, False
    province = Region.objects.filter(code=province_code).only("local_time_offset_hours").first()
    hours = province.local_time_offset_hours if province is not None else 0
    return BEIJING_MINUTES + 60 * (hours or DEFAULT_LOCAL_OFFSET_HOURS), True


def entry_window(entry: ScheduleEntry, offset_minutes: int) -> tuple[dt.datetime, dt.datetime | None]:
    """The aware start and end of a schedule entry in the given UTC offset. A multi-day window without clock
    times runs from the first day's midnight to the end of its last day; "至全部完成" has no end."""
    tz = dt.timezone(dt.timedelta(minutes=offset_minutes))
    start = dt.datetime.combine(entry.date, entry.start or dt.time(0, 0), tzinfo=tz)
    if entry.end is not None:
        end_day = entry.end_date or entry.date
        return start, dt.datetime.combine(end_day, entry.end, tzinfo=tz)
    if entry.end_date is not None:
        return start, dt.datetime.combine(entry.end_date + dt.timedelta(days=1), dt.time(0, 0), tzinfo=tz)
    return start, None


def _online_by_respondent(cycle: Cycle, entry: ScheduleEntry, level: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for code in entry.instruments:
        inst = cycle.config.instrument(code)
        if inst.delivery.get(level) not in ONLINE_MODES:
            continue
        out.setdefault(inst.respondent, []).append(code)
    return out


def _title(entry: ScheduleEntry, respondent: str, groups: int) -> str:
    return entry.title if groups == 1 else f"{entry.title}（{RESPONDENT_LABEL.get(respondent, respondent)}）"


def _identity(county_id: int, school_id: int | None, level: str, grade: int | None, respondent: str,
              starts_at: dt.datetime, title: str) -> tuple[Any, ...]:
    return (county_id, school_id, level, grade, SessionKind.FORMAL, respondent, starts_at.timestamp(), title)


def _participation_of(cycle: Cycle) -> dict[int, str]:
    return {row.county_id: row.participation for row in sample_counties(cycle)}


def _planned(cycle: Cycle) -> Iterable[dict[str, Any]]:
    """Every formal session the schedule asks for, as TestSession keyword arguments (no code or key yet)."""
    participation = _participation_of(cycle)
    offsets: dict[int, tuple[int, bool]] = {}
    principal_done: set[tuple[int, float, str]] = set()
    for row in participating_schools(cycle):
        level = GRADE_LEVEL.get(row.grade)
        if level is None:
            continue
        county = row.county
        if county.pk not in offsets:
            offsets[county.pk] = utc_offset_minutes(cycle, county)
        offset, local = offsets[county.pk]
        part = participation.get(county.pk, CountyParticipation.SAMPLE)
        for entry in schedule_for(cycle, school_level=level, participation=part,
                                  province_code=county.path.split("/", 1)[0]):
            groups = _online_by_respondent(cycle, entry, level)
            start, end = entry_window(entry, offset)
            for respondent, codes in groups.items():
                title = _title(entry, respondent, len(groups))
                grade: int | None = row.grade
                if respondent == Respondent.PRINCIPAL:
                    once = (row.school_id, start.timestamp(), title)
                    if once in principal_done:
                        continue
                    principal_done.add(once)
                    grade = None
                yield dict(cycle=cycle, county_id=county.pk, school_id=row.school_id, path=row.path, level=level,
                           grade=grade, respondent=respondent, kind=SessionKind.FORMAL, title=title,
                           instruments=codes, starts_at=start, ends_at=end, utc_offset_minutes=offset,
                           local_time=local)
    for crow in sample_counties(cycle):
        county = crow.county
        if county.pk not in offsets:
            offsets[county.pk] = utc_offset_minutes(cycle, county)
        offset, local = offsets[county.pk]
        for entry in schedule_for(cycle, school_level="county", participation=crow.participation,
                                  province_code=county.path.split("/", 1)[0]):
            groups = _online_by_respondent(cycle, entry, "county")
            start, end = entry_window(entry, offset)
            for respondent, codes in groups.items():
                yield dict(cycle=cycle, county_id=county.pk, school_id=None, path=county.path, level="county",
                           grade=None, respondent=respondent, kind=SessionKind.FORMAL,
                           title=_title(entry, respondent, len(groups)), instruments=codes, starts_at=start,
                           ends_at=end, utc_offset_minutes=offset, local_time=local)


@transaction.atomic
def sessions_generate(*, actor: Any, year: int | None) -> dict[str, int]:
    """Create the formal sessions of the cycle of ``year`` from its schedule and sample; idempotent (a session
    that exists is kept with its code, key and status). Returns the number created per respondent kind."""
    require_generator(actor)
    cycle = cycle_for(year)
    existing = {
        _identity(s.county_id, s.school_id, s.level, s.grade, s.respondent, s.starts_at, s.title)
        for s in TestSession.objects.filter(cycle=cycle, kind=SessionKind.FORMAL).only(
            "county_id", "school_id", "level", "grade", "respondent", "starts_at", "title")
    }
    taken = set(TestSession.objects.values_list("code", flat=True))
    rows: list[TestSession] = []
    for spec in _planned(cycle):
        ident = _identity(spec["county_id"], spec["school_id"], spec["level"], spec["grade"], spec["respondent"],
                          spec["starts_at"], spec["title"])
        if ident in existing:
            continue
        existing.add(ident)
        rows.append(TestSession(code=new_code(taken), key=new_key(), **spec))
    TestSession.objects.bulk_create(rows, batch_size=2000)
    created = {str(r): sum(1 for s in rows if s.respondent == r) for r in Respondent}
    audit_record(actor=actor, action="delivery.sessions_generate", object_type="cycles.Cycle", object_id=cycle.pk,
                 after={"year": cycle.year, "created": created})
    return created


# ------------------------------------------------------------------------------------------- running


def _state(s: TestSession) -> dict[str, Any]:
    return {"code": s.code, "status": s.status, "opened_at": s.opened_at, "closed_at": s.closed_at,
            "actual_start": s.actual_start, "actual_end": s.actual_end}


def _locked(session: TestSession) -> TestSession:
    return TestSession.objects.select_for_update().get(pk=session.pk)


@transaction.atomic
def session_open(*, actor: Any, session_id: int, now: dt.datetime | None = None) -> TestSession:
    """Open a scheduled session: test takers can sign in (within its window, for a formal session)."""
    session = _locked(require_session_runner(actor=actor, session_id=session_id))
    if session.status != SessionStatus.SCHEDULED:
        raise InvalidInput(_("只能开启未开始的场次（当前状态：%(status)s）。")
                           % {"status": session.get_status_display()}, code="not_scheduled")
    before = _state(session)
    session.status = SessionStatus.OPEN
    session.opened_at = now or timezone.now()
    session.save(update_fields=["status", "opened_at"])
    audit_record(actor=actor, action="delivery.session_open", object_type="delivery.TestSession",
                 object_id=session.pk, before=before, after=_state(session))
    return session


@transaction.atomic
def session_close(*, actor: Any, session_id: int, force: bool = False,
                  now: dt.datetime | None = None) -> TestSession:
    """Close an open session. Refused while somebody is still answering, unless ``force`` (the proctor confirms
    that the time is up): their saved answers are kept, the attempts stay unsubmitted and the hot path refuses
    further saves. Whoever never signed in is then shown as absent in the proctor view."""
    from naeq.delivery.selectors import session_signed_in, session_takers

    session = _locked(require_session_runner(actor=actor, session_id=session_id))
    if session.status != SessionStatus.OPEN:
        raise InvalidInput(_("只能结束进行中的场次。"), code="not_open")
    answering = Attempt.objects.filter(session=session, status=AttemptStatus.IN_PROGRESS).count()
    if answering and not force:
        raise InvalidInput(_("仍有%(n)s人正在作答，确认时间已到后请勾选“强制结束”。") % {"n": answering},
                           code="still_answering", details={"in_progress": answering})
    before = _state(session)
    session.status = SessionStatus.CLOSED
    session.closed_at = now or timezone.now()
    session.save(update_fields=["status", "closed_at"])
    signed = session_signed_in(session)
    absent = sorted(t.code for t in session_takers(session) if t.pk not in signed)
    audit_record(actor=actor, action="delivery.session_close", object_type="delivery.TestSession",
                 object_id=session.pk, before=before,
                 after={**_state(session), "forced_in_progress": answering if force else 0, "absent": absent})
    return session


@transaction.atomic
def session_record_times(*, actor: Any, session_id: int, actual_start: dt.datetime | None = None,
                         actual_end: dt.datetime | None = None) -> TestSession:
    """Record when the sitting actually started and ended (either may be given alone)."""
    session = _locked(require_session_runner(actor=actor, session_id=session_id))
    if actual_start is None and actual_end is None:
        raise InvalidInput(_("请填写实际开考时间或实际结束时间。"), code="no_times")
    start = actual_start or session.actual_start
    end = actual_end or session.actual_end
    if start is not None and end is not None and end <= start:
        raise InvalidInput(_("实际结束时间必须晚于实际开考时间。"), code="end_before_start")
    before = _state(session)
    session.actual_start, session.actual_end = start, end
    session.save(update_fields=["actual_start", "actual_end"])
    audit_record(actor=actor, action="delivery.session_times", object_type="delivery.TestSession",
                 object_id=session.pk, before=before, after=_state(session))
    return session


@transaction.atomic
def incident_record(*, actor: Any, session_id: int, category: str, grade: int, description: str,
                    at: dt.datetime | None = None) -> Incident:
    """Record an incident (应急事件). Grade 3 (severe) is flagged for the city at once: it is listed on the
    completion page of the city, province and nation, and the audit event names the city."""
    session = require_incident_recorder(actor=actor, session_id=session_id)
    if category not in Incident.Category.values:
        raise InvalidInput(_("应急事件类别无效。"), code="bad_category")
    if grade not in (1, 2, 3):
        raise InvalidInput(_("应急事件级别只能是Ⅰ、Ⅱ或Ⅲ级。"), code="bad_grade")
    text = (description or "").strip()
    if not text:
        raise InvalidInput(_("请填写情况说明。"), code="no_description")
    if len(text) > 2000:
        raise InvalidInput(_("情况说明不能超过2000字。"), code="description_too_long")
    incident = Incident.objects.create(session=session, category=category, grade=grade, description=text,
                                       at=at or timezone.now(), recorded_by=actor)
    parts = session.path.strip("/").split("/")
    audit_record(actor=actor, action="delivery.incident_record", object_type="delivery.Incident",
                 object_id=incident.pk,
                 after={"session": session.code, "category": category, "grade": grade, "description": text,
                        "escalate_to_city": parts[1] if grade == 3 and len(parts) > 1 else None})
    return incident


@transaction.atomic
def session_key_regenerate(*, actor: Any, session_id: int) -> TestSession:
    """A new key (e.g. the old one leaked). Signed-in test takers stay signed in."""
    session = _locked(require_session_runner(actor=actor, session_id=session_id))
    if session.status == SessionStatus.CLOSED:
        raise InvalidInput(_("场次已结束，不能更换登录码。"), code="closed")
    session.key = new_key()
    session.save(update_fields=["key"])
    audit_record(actor=actor, action="delivery.session_key_regenerate", object_type="delivery.TestSession",
                 object_id=session.pk, after={"code": session.code})
    return session


@transaction.atomic
def practice_session_create(*, actor: Any, school_id: int, instrument_codes: list[str], grade: int | None = None,
                            respondent: str = Respondent.STUDENT, title: str = "",
                            starts_at: dt.datetime | None = None) -> TestSession:
    """A practice session at the actor's school: the listed instruments, repeated attempts allowed, a printable
    login code as key. It starts scheduled; the school opens it."""
    require_practice_creator(actor=actor, school_id=school_id)
    school = School.objects.select_related("county").get(pk=school_id)
    cycle = cycle_for(None)
    if respondent not in (Respondent.STUDENT, Respondent.TEACHER, Respondent.PRINCIPAL):
        raise InvalidInput(_("练习场次的作答对象无效。"), code="bad_respondent")
    if respondent != Respondent.PRINCIPAL and grade not in (4, 8):
        raise InvalidInput(_("请选择年级（四年级或八年级）。"), code="bad_grade")
    if respondent != Respondent.PRINCIPAL and grade not in school.grades:
        raise InvalidInput(_("该校没有%(grade)s年级。") % {"grade": grade}, code="bad_grade")
    codes = [c.strip() for c in instrument_codes if c and c.strip()]
    if not codes:
        raise InvalidInput(_("请至少选择一个监测工具。"), code="no_instruments")
    known = {i.code: i for i in cycle.config.instruments}
    for code in codes:
        inst = known.get(code)
        if inst is None:
            raise InvalidInput(_("监测工具代码不存在：%(code)s") % {"code": code}, code="bad_instrument")
        if inst.respondent != respondent:
            raise InvalidInput(_("监测工具%(code)s不是该作答对象的。") % {"code": code}, code="bad_instrument")
    level = GRADE_LEVEL.get(grade or 0, "primary" if 4 in school.grades else "middle")
    start = starts_at or timezone.now()
    offset = int((start.utcoffset() or dt.timedelta(minutes=BEIJING_MINUTES)).total_seconds() // 60)
    session = TestSession.objects.create(
        cycle=cycle, county=school.county, school=school, path=school.path, level=level,
        grade=grade if respondent != Respondent.PRINCIPAL else None, respondent=respondent,
        kind=SessionKind.PRACTICE, title=(title.strip() or _("练习"))[:100], instruments=codes, starts_at=start,
        ends_at=None, utc_offset_minutes=offset, code=new_code(), key=new_key())
    audit_record(actor=actor, action="delivery.practice_session_create", object_type="delivery.TestSession",
                 object_id=session.pk, after={"code": session.code, "school": school.code, "grade": grade,
                                              "respondent": respondent, "instruments": codes})
    return session
