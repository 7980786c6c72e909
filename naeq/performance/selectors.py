"""Reads of performance tasks: what the test client needs after a reload (plays so far, the headset check, the
recordings the server holds), the headset status of a session's test takers for the proctor, and the singing/oral
room's screen (:func:`room_view`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from naeq.delivery.attempts import booklet_pages
from naeq.delivery.models import (
    Attempt,
    AttemptStatus,
    Booklet,
    Instrument,
    InstrumentStatus,
    Item,
    TestSession,
    TestTaker,
)
from naeq.delivery.selectors import in_clock, instruments_for, session_takers
from naeq.delivery.sessions import session_accepts
from naeq.performance.itemsettings import record_kind
from naeq.performance.models import HeadsetCheck, PlayCount, Recording, RecordingStatus, RerecordPermit, RoomCall

#: The room's small groups (演唱与口语测试室). The seeds' room is set up for five students at once ("配备专用耳机
#: （只测试5名学生）", collected-county-and-school-plans.txt, plan three): five is the default group size.
DEFAULT_GROUP, MIN_GROUP, MAX_GROUP = 5, 1, 30


def recording_payload(rec: Recording) -> dict[str, Any]:
    return {"id": rec.pk, "item": rec.item, "take": rec.take, "status": rec.status, "size": rec.size,
            "received": rec.received, "sha256": rec.sha256}


def attempt_state(attempt: Attempt) -> dict[str, Any]:
    """What the test client needs after a reload. ``rerecord`` names the items the proctor allowed to record
    once more whose permitted take is not complete yet, with the words the client shows."""
    plays = {f"{p.owner_kind}:{p.owner}:{p.media}": p.plays for p in PlayCount.objects.filter(attempt=attempt)}
    check = HeadsetCheck.objects.filter(attempt=attempt).first()
    rows = list(Recording.objects.filter(attempt=attempt).order_by("item", "take"))
    done = {(r.item, r.take) for r in rows if r.status == RecordingStatus.COMPLETE}
    rerecord = {p.item: {"take": p.take, "message": _("监考老师已允许重录（第 %(take)s 次录音），请再录一次。")
                         % {"take": p.take}}
                for p in RerecordPermit.objects.filter(attempt=attempt).order_by("item", "take")
                if (p.item, p.take) not in done}
    return {"plays": plays, "headset": None if check is None else {"heard": check.heard, "tries": check.tries},
            "recordings": [recording_payload(r) for r in rows], "rerecord": rerecord}


def session_headsets(session: TestSession) -> list[dict[str, Any]]:
    """One row per attempt of ``session``: the test taker's code, the headset check (``heard`` None: not yet
    done) and the number of items with a complete recording. The caller has already decided that the actor may
    see the session (the proctor views' funnel, :func:`naeq.delivery.access.session_access`)."""
    attempts = list(Attempt.objects.filter(session=session).select_related("test_taker", "instrument")
                    .order_by("test_taker__code", "instrument__code", "number"))
    checks = {c.attempt_id: c for c in HeadsetCheck.objects.filter(attempt__in=attempts)}
    recorded: dict[int, set[str]] = {}
    for attempt_id, item in (Recording.objects.filter(attempt__in=attempts, status=RecordingStatus.COMPLETE)
                             .values_list("attempt_id", "item")):
        recorded.setdefault(attempt_id, set()).add(item)
    return [{"taker": a.test_taker.code, "attempt": a.pk, "instrument": a.instrument.code, "number": a.number,
             "heard": checks[a.pk].heard if a.pk in checks else None,
             "tries": checks[a.pk].tries if a.pk in checks else 0,
             "checked_at": checks[a.pk].checked_at if a.pk in checks else None,
             "recorded": len(recorded.get(a.pk, ()))} for a in attempts]


# ------------------------------------------------------------------------------------------------ the room


@dataclass
class RoomTask:
    """One recorded item of one student on the room screen. ``state``: ``none`` (not started), ``uploading``
    (``percent`` of the latest take received), ``complete``, or ``rerecord`` (a further take was allowed and is
    not complete yet)."""

    item: str
    kind: str
    state: str = "none"
    take: int = 0
    percent: int = 0
    permit_take: int | None = None
    permit_reason: str = ""
    can_rerecord: bool = False  # complete, never re-recorded, the attempt still in progress


@dataclass
class RoomStudent:
    code: str
    instrument: str
    attempt: int | None
    attempt_status: str
    heard: bool | None
    tries: int
    tasks: list[RoomTask]
    group: int = 0
    called: bool = False

    @property
    def complete(self) -> bool:
        """A complete recording of every task (a permitted re-record still to come is not complete)."""
        return all(t.state == "complete" for t in self.tasks)


@dataclass
class RoomGroup:
    number: int
    students: list[RoomStudent]
    call: RoomCall | None = None
    called_at: dt.datetime | None = None  # in the session's clock
    current: bool = False


@dataclass
class RoomView:
    session: TestSession
    students: list[RoomStudent]
    groups: list[RoomGroup]
    current: RoomGroup | None
    group_size: int  # for the next call: the last call's, or the default
    can_run: bool
    accepts: bool
    listed: list[RoomStudent] = field(default_factory=list)  # after the complete / incomplete filter

    @property
    def n_complete(self) -> int:
        return sum(1 for s in self.students if s.complete)

    @property
    def n_incomplete(self) -> int:
        return len(self.students) - self.n_complete

    @property
    def waiting(self) -> int:
        return sum(1 for s in self.students if not s.called)


def _recorded_items(instruments: list[Instrument]) -> dict[tuple[int, int], list[tuple[str, str]]]:
    """(instrument id, booklet number) → [(item code, record kind)] of the recorded items in booklet order."""
    items: dict[int, list[Item]] = {}
    for item in Item.objects.filter(instrument__in=instruments, type="open").order_by("seq"):
        if record_kind(item) is not None:
            items.setdefault(item.instrument_id, []).append(item)
    out: dict[tuple[int, int], list[tuple[str, str]]] = {}
    by_id = {i.pk: i for i in instruments}
    for booklet in Booklet.objects.filter(instrument_id__in=list(items)):
        pages = booklet_pages(by_id[booklet.instrument_id], booklet, items[booklet.instrument_id])
        out[(booklet.instrument_id, booklet.number)] = [(i.code, record_kind(i) or "") for _n, page in pages
                                                        for i in page]
    return out


def _task(item: str, kind: str, takes: list[Recording], permit: RerecordPermit | None) -> RoomTask:
    task = RoomTask(item=item, kind=kind)
    if permit is not None:
        task.permit_take, task.permit_reason = permit.take, permit.reason
    if not takes:
        return task
    last = takes[-1]
    task.take = last.take
    if last.status == RecordingStatus.UPLOADING:
        task.state = "uploading"
        task.percent = int(100 * last.received // last.size) if last.size else 0
    elif permit is not None and permit.take > last.take:
        task.state = "rerecord"
    else:
        task.state = "complete"
        task.can_rerecord = permit is None
    return task


def room_students(session: TestSession) -> list[RoomStudent]:
    """The session's test takers who have a recorded task in their booklet, in test-ID order, each with the
    headset check and every recorded task's state. A constant number of queries."""
    expected = list(session_takers(session))
    attempts = list(Attempt.objects.filter(session=session).select_related("instrument", "test_taker")
                    .order_by("number"))
    known = {t.pk for t in expected}
    takers: list[TestTaker] = expected + list({a.test_taker_id: a.test_taker for a in attempts
                                               if a.test_taker_id not in known}.values())
    takers.sort(key=lambda t: t.code)
    latest = {(a.test_taker_id, a.instrument.code): a for a in attempts}  # later numbers win
    published = {i.code: i for i in Instrument.objects.filter(
        cycle_id=session.cycle_id, code__in=list(session.instruments or []), status=InstrumentStatus.PUBLISHED)}
    instruments = {i.pk: i for i in [*published.values(), *(a.instrument for a in attempts)]}
    recorded = _recorded_items(list(instruments.values()))
    ids = [a.pk for a in latest.values()]
    checks = {c.attempt_id: c for c in HeadsetCheck.objects.filter(attempt_id__in=ids)}
    takes: dict[tuple[int, str], list[Recording]] = {}
    for rec in Recording.objects.filter(attempt_id__in=ids).order_by("take"):
        takes.setdefault((rec.attempt_id, rec.item), []).append(rec)
    permits = {(p.attempt_id, p.item): p for p in RerecordPermit.objects.filter(attempt_id__in=ids).order_by("take")}
    out = []
    for taker in takers:
        for code in instruments_for(taker, session, session.cycle):
            attempt = latest.get((taker.pk, code))
            inst = attempt.instrument if attempt is not None else published.get(code)
            if inst is None:
                continue
            number = (attempt.booklet if attempt is not None else None) or int(
                (taker.booklets or {}).get(code) or 1)
            items = recorded.get((inst.pk, number), [])
            if not items:
                continue
            check = checks.get(attempt.pk) if attempt is not None else None
            tasks = [_task(item, kind, takes.get((attempt.pk, item), []) if attempt else [],
                           permits.get((attempt.pk, item)) if attempt else None) for item, kind in items]
            if attempt is None or attempt.status != AttemptStatus.IN_PROGRESS:
                for t in tasks:  # the student records on the take page: a submitted attempt cannot re-record
                    t.can_rerecord = False
            out.append(RoomStudent(code=taker.code, instrument=code, attempt=attempt.pk if attempt else None,
                                   attempt_status=attempt.status if attempt else "",
                                   heard=check.heard if check else None, tries=check.tries if check else 0,
                                   tasks=tasks))
    return out


def session_has_recorded_tasks(session: TestSession) -> bool:
    """Whether a published instrument of the session has a recorded (singing or speaking) task."""
    items = Item.objects.filter(instrument__cycle_id=session.cycle_id, instrument__code__in=list(
        session.instruments or []), instrument__status=InstrumentStatus.PUBLISHED, type="open",
        constraints__has_key="record")
    return any(record_kind(i) is not None for i in items.only("type", "constraints"))


def room_taker_codes(session: TestSession) -> list[str]:
    """The test IDs the room calls, in order (a taker with two recorded instruments is called once)."""
    return list(dict.fromkeys(s.code for s in room_students(session)))


def room_view(*, session: TestSession, can_run: bool, show: str = "") -> RoomView:
    """The room screen of ``session`` (the caller decided that the actor may read it and whether they run it):
    the called groups with their times, the group called now, the groups still to come (the remaining takers in
    test-ID order, the next call's size at a time) and every student's tasks. ``show`` filters the list of
    complete recordings: ``complete``, ``incomplete`` or everything."""
    students = room_students(session)
    by_code: dict[str, list[RoomStudent]] = {}
    for st in students:
        by_code.setdefault(st.code, []).append(st)
    calls = list(RoomCall.objects.filter(session=session).select_related("called_by").order_by("group"))
    groups: list[RoomGroup] = []
    called: set[str] = set()
    for call in calls:
        members = [st for code in call.takers for st in by_code.get(code, [])]
        for st in members:
            st.group, st.called = call.group, True
        called.update(call.takers)
        groups.append(RoomGroup(number=call.group, students=members, call=call,
                                called_at=in_clock(session, call.called_at)))
    current = groups[-1] if groups else None
    if current is not None:
        current.current = True
    size = calls[-1].group_size if calls else DEFAULT_GROUP
    waiting = [code for code in dict.fromkeys(st.code for st in students) if code not in called]
    for start in range(0, len(waiting), size):
        number = len(groups) + 1
        members = [st for code in waiting[start:start + size] for st in by_code[code]]
        for st in members:
            st.group = number
        groups.append(RoomGroup(number=number, students=members))
    listed = [st for st in students if show not in ("complete", "incomplete") or st.complete == (show == "complete")]
    return RoomView(session=session, students=students, groups=groups, current=current, group_size=size,
                    can_run=can_run, accepts=session_accepts(session), listed=listed)
