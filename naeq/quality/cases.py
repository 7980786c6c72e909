"""Writes of investigation cases (调查取证, stage 3 of the screen): open one from a screened unit or by hand,
assign an investigator, start, take notes, collect and upload evidence, decide, reopen.

Every write is atomic, checked by :mod:`naeq.quality.access`, audited (``quality.case_*``) and appended to the
case's log (:class:`CaseEvent`). A case moves ``open → investigating → cleared | data_flagged | data_excluded`` (an
open case may be decided directly); :func:`case_reopen` moves a decided case back to investigating. Decisions are
materialised as :class:`DataMark` rows (one per test taker and instrument): *data excluded* drops the data out of
calibration (through :mod:`naeq.core.exclusions`) and estimation, *data flagged* keeps them with the mark,
*cleared* marks nothing. A stronger mark another case already wrote is kept (excluded beats flagged); reopening
removes this case's marks only.

Visibility follows the access module: a case the actor may not see raises :class:`NotFound` (the same as a case
that does not exist); a visible case the actor may not act on in that way (an investigator deciding) raises
:class:`PermissionDenied`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, NotFound, PermissionDenied, Problem
from naeq.cycles.models import Cycle
from naeq.delivery.models import Attempt, Instrument, InstrumentKind, TestTaker
from naeq.quality import access
from naeq.quality.evidence import check_upload, clean_original_name, evidence_store, evidence_unlink
from naeq.quality.models import (
    DECIDED,
    Case,
    CaseEvent,
    CaseEvidence,
    CaseState,
    DataMark,
    EventKind,
    EvidenceKind,
    MarkKind,
    ScreenedCluster,
    ScreenedPair,
    ScreenedPerson,
    ScreenedUnit,
    UnitLevel,
)
from naeq.registry.models import Region, School
from naeq.scaling.models import CalibrationPerson, CalibrationRun, RunStatus

#: A decision -> the mark it writes (cleared writes none).
MARK_OF = {CaseState.DATA_FLAGGED: MarkKind.FLAGGED, CaseState.DATA_EXCLUDED: MarkKind.EXCLUDED}
UNDECIDED = (CaseState.OPEN, CaseState.INVESTIGATING)
TOP_PAIRS = 20
MAX_UPLOADS = 50


# ------------------------------------------------------------------------------------------------ helpers


def _uid(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


def _event(case: Case, actor: Any, kind: str, *, text: str = "", from_state: str = "", to_state: str = "",
           data: dict[str, Any] | None = None) -> CaseEvent:
    return CaseEvent.objects.create(case=case, actor=_uid(actor), kind=kind, text=text, from_state=from_state,
                                    to_state=to_state, data=data or {})


def _audit(actor: Any, action: str, case: Case, before: dict[str, Any] | None, **extra: Any) -> None:
    audit_record(actor=actor, action=f"quality.{action}", object_type="quality.Case", object_id=case.pk,
                 before=before, after={**case.as_audit(), **extra})


def _locked(actor: Any, case_id: int) -> Case:
    """The case if the actor may see it (else NotFound), locked for the write."""
    access.case_access(actor=actor, case_id=case_id)
    return (Case.objects.select_for_update(of=("self",)).select_related("cycle", "county", "school", "run")
            .get(pk=case_id))


def _require_investigate(actor: Any, case: Case) -> None:
    if not access.may_investigate(actor=actor, case=case):
        raise PermissionDenied(_("只有国家监测中心人员或本案件的调查人可以进行此操作。"), code="not_investigator")


def _require_decider(actor: Any) -> None:
    if not access.may_decide(actor=actor):
        raise PermissionDenied(_("只有国家监测中心人员可以作出或撤销决定。"), code="not_decider")


def _require_undecided(case: Case, what: str) -> None:
    if case.state not in UNDECIDED:
        raise InvalidInput(_("案件%(number)s已作出决定（%(state)s），不能%(what)s；如需继续调查，请先重新调查。") % {
            "number": case.number, "state": case.get_state_display(), "what": what}, code="case_decided")


def _reason(text: Any, field: str = "reason") -> str:
    value = str(text or "").strip()
    if not value:
        raise InvalidInput(_("请填写理由。"), code="reason_required",
                           problems=[Problem(reason=_("不能为空。"), field=field, value="")])
    return value


def _next_number(cycle: Cycle) -> str:
    Cycle.objects.select_for_update().filter(pk=cycle.pk).first()  # serialise numbering within the cycle
    prefix = f"ZL{cycle.year}-"
    last = Case.objects.filter(number__startswith=prefix).order_by("-number").values_list("number", flat=True).first()
    seq = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{seq:04d}"


def unit_persons(*, cycle: Cycle, instrument_code: str, level: str, county_id: int, school_id: int | None,
                 run_id: int | None = None) -> list[int]:
    """Every test taker of a school (or county) with data in the instrument: screened by the run, with an attempt
    online, or estimated by a calibration run of the cycle."""
    where = Q(school_id=school_id) if level == UnitLevel.SCHOOL else Q(county_id=county_id)
    takers = TestTaker.objects.filter(where, cycle=cycle)
    ids: set[int] = set(Attempt.objects.filter(test_taker__in=takers, instrument__cycle=cycle,
                                               instrument__code=instrument_code)
                        .values_list("test_taker_id", flat=True))
    runs = CalibrationRun.objects.filter(cycle=cycle, instrument_code=instrument_code, status=RunStatus.DONE)
    ids |= set(CalibrationPerson.objects.filter(run__in=runs, test_taker__in=takers)
               .values_list("test_taker_id", flat=True))
    if run_id is not None:
        ids |= set(ScreenedPerson.objects.filter(run_id=run_id, test_taker__in=takers)
                   .values_list("test_taker_id", flat=True))
    return sorted(ids)


def case_persons(case: Case) -> list[int]:
    """The test takers a decision of the case applies to: its ``persons``, or every test taker of the unit."""
    if case.persons:
        return sorted(int(p) for p in case.persons)
    return unit_persons(cycle=case.cycle, instrument_code=case.instrument_code, level=case.level,
                        county_id=case.county_id, school_id=case.school_id, run_id=case.run_id)


def _clean_persons(persons: Iterable[Any] | None, allowed: list[int]) -> list[int]:
    if persons is None:
        return []
    try:
        got = sorted({int(p) for p in persons})
    except (TypeError, ValueError) as exc:
        raise InvalidInput(_("涉及考生应为测试对象编号。"), code="bad_persons") from exc
    unknown = sorted(set(got) - set(allowed))
    if unknown:
        raise InvalidInput(_("有%(n)d名考生不属于该单位在该工具中的测试对象。") % {"n": len(unknown)},
                           code="bad_persons",
                           problems=[Problem(reason=_("不属于该单位。"), field="persons", value=p)
                                     for p in unknown[:20]])
    return got


def _open_elsewhere(cycle: Cycle, instrument_code: str, level: str, county_id: int, school_id: int | None) -> None:
    where = Q(school__isnull=True) if school_id is None else Q(school_id=school_id)
    qs = Case.objects.filter(where, cycle=cycle, instrument_code=instrument_code, level=level, county_id=county_id,
                             state__in=UNDECIDED)
    other = qs.values_list("number", flat=True).first()
    if other:
        raise InvalidInput(_("该单位在该工具中已有未结案件%(number)s，请在该案件中继续调查。") % {"number": other},
                           code="case_exists")


def _snapshot(unit: ScreenedUnit) -> dict[str, Any]:
    where = Q(school_id=unit.school_id) if unit.level == UnitLevel.SCHOOL else Q(county_id=unit.county_id)
    pairs = list(ScreenedPair.objects.filter(where, run_id=unit.run_id).order_by("omega_p", "id")
                 .values("id", "person_a_id", "person_b_id", "same_room", "common_items", "matches",
                         "identical_incorrect", "omega", "omega_p", "omega_p_bonferroni", "flag", "cluster")
                 [:TOP_PAIRS])
    cwhere = Q(school_id=unit.school_id) if unit.level == UnitLevel.SCHOOL else Q(path=unit.path)
    clusters = list(ScreenedCluster.objects.filter(cwhere, run_id=unit.run_id).order_by("number")
                    .values("number", "school_id", "size", "source_id", "members"))
    return {"run": unit.run_id, "unit": {"id": unit.pk, "level": unit.level, "county": unit.county_id,
                                         "school": unit.school_id, "rank": unit.rank, "n_persons": unit.n_persons,
                                         "combined_p": unit.combined_p, "combined_q": unit.combined_q,
                                         "flag": unit.flag, "drivers": unit.drivers, "indicators": unit.indicators},
            "pairs": pairs, "clusters": clusters}


def _new_case(actor: Any, *, cycle: Cycle, instrument_code: str, level: str, county: Region,
              school: School | None, title: str, persons: list[int], run_id: int | None = None,
              unit: ScreenedUnit | None = None, indicators: dict[str, Any] | None = None) -> Case:
    case = Case(cycle=cycle, number=_next_number(cycle), run_id=run_id, unit=unit, instrument_code=instrument_code,
                level=level, county=county, school=school, path=county.path, title=title[:200],
                indicators=indicators or {}, persons=persons, state=CaseState.OPEN, opened_by=_uid(actor))
    case.full_clean()
    case.save()
    return case


# ------------------------------------------------------------------------------------------------ open


@transaction.atomic
def case_open(*, actor: Any, unit_id: int, persons: Iterable[Any] | None = None,
              title: str | None = None) -> Case:
    """Open a case on a screened county or school (any unit of a run; usually a flagged one): the unit's
    indicators are snapshotted into the case and a SNAPSHOT evidence (the unit's row, its top pairs and its
    clusters). One undecided case per unit and instrument. National staff only (others: NotFound)."""
    access.require_screener(actor=actor)
    unit = (ScreenedUnit.objects.select_related("run", "run__cycle", "county", "school").filter(pk=unit_id).first())
    if unit is None:
        raise NotFound(_("没有找到该甄别单位。"))
    run = unit.run
    if run.status != RunStatus.DONE:
        raise InvalidInput(_("该甄别记录尚未完成，不能据此立案。"), code="run_not_done")
    _open_elsewhere(run.cycle, run.instrument_code, unit.level, unit.county_id, unit.school_id)
    allowed = unit_persons(cycle=run.cycle, instrument_code=run.instrument_code, level=unit.level,
                           county_id=unit.county_id, school_id=unit.school_id, run_id=run.pk)
    chosen = _clean_persons(persons, allowed)
    name = unit.school.name if unit.school else unit.county.name
    heading = str(title or "").strip() or _("%(name)s %(instrument)s 数据异常调查") % {
        "name": name, "instrument": run.instrument_code}
    case = _new_case(actor, cycle=run.cycle, instrument_code=run.instrument_code, level=unit.level,
                     county=unit.county, school=unit.school, title=heading, persons=chosen, run_id=run.pk,
                     unit=unit, indicators=unit.indicators)
    snap = _snapshot(unit)
    CaseEvidence.objects.create(case=case, kind=EvidenceKind.SNAPSHOT,
                                title=_("甄别统计快照（甄别记录#%(run)d，第%(rank)d位）") % {
                                    "run": run.pk, "rank": unit.rank},
                                ref_type="quality.ScreenedUnit", ref_id=str(unit.pk), payload=snap,
                                added_by=_uid(actor))
    _event(case, actor, EventKind.OPENED, to_state=CaseState.OPEN,
           data={"run": run.pk, "unit": unit.pk, "persons": len(chosen)})
    _audit(actor, "case_open", case, None)
    return case


@transaction.atomic
def case_open_manual(*, actor: Any, cycle: Cycle, instrument_code: str, county: Region | None = None,
                     school: School | None = None, title: str, reason: str) -> Case:
    """Open a case on a county or school reported by other means (a complaint, an inspector's report): no
    indicators. National staff only (others: NotFound)."""
    access.require_screener(actor=actor)
    problems: list[Problem] = []
    code = str(instrument_code or "").strip()
    if not Instrument.objects.filter(cycle=cycle, code=code, kind=InstrumentKind.TEST).exists():
        problems.append(Problem(reason=_("%(year)s年周期没有代码为“%(code)s”的测试卷。") % {
            "year": cycle.year, "code": code}, field="instrument_code", value=code))
    if school is not None:
        county = school.county
        level = UnitLevel.SCHOOL
    else:
        level = UnitLevel.COUNTY
    if county is None:
        problems.append(Problem(reason=_("请选择区县或学校。"), field="county", value=""))
    heading = str(title or "").strip()
    if not heading:
        problems.append(Problem(reason=_("不能为空。"), field="title", value=""))
    text = str(reason or "").strip()
    if not text:
        problems.append(Problem(reason=_("不能为空。"), field="reason", value=""))
    if problems or county is None:
        raise InvalidInput(_("无法立案。"), code="bad_case", problems=problems)
    _open_elsewhere(cycle, code, level, county.pk, school.pk if school else None)
    case = _new_case(actor, cycle=cycle, instrument_code=code, level=level, county=county, school=school,
                     title=heading, persons=[])
    _event(case, actor, EventKind.OPENED, to_state=CaseState.OPEN, text=text, data={"manual": True})
    _audit(actor, "case_open", case, None, reason=text)
    return case


# ------------------------------------------------------------------------------------------------ investigate


@transaction.atomic
def case_assign(*, actor: Any, case_id: int, investigator: Any) -> Case:
    """Assign the investigator (national staff, or a province coordinator of the case's province). National staff
    only."""
    case = _locked(actor, case_id)
    _require_decider(actor)
    _require_undecided(case, _("指派调查人"))
    if investigator is None or not access.may_be_investigator(user=investigator, case=case):
        raise InvalidInput(_("该用户不能担任本案件的调查人：调查人应为国家监测中心人员或案件所在省的省级协调员。"),
                           code="bad_investigator",
                           problems=[Problem(reason=_("不能担任调查人。"), field="investigator",
                                             value=getattr(investigator, "username", ""))])
    before = case.as_audit()
    case.investigator = investigator
    case.save(update_fields=["investigator"])
    _event(case, actor, EventKind.ASSIGNED, text=str(getattr(investigator, "username", "")),
           data={"investigator": investigator.pk})
    _audit(actor, "case_assign", case, before)
    return case


@transaction.atomic
def case_start(*, actor: Any, case_id: int) -> Case:
    """Open → investigating (national staff or the case's investigator)."""
    case = _locked(actor, case_id)
    _require_investigate(actor, case)
    if case.state != CaseState.OPEN:
        raise InvalidInput(_("案件%(number)s的状态为“%(state)s”，只有待调查的案件可以开始调查。") % {
            "number": case.number, "state": case.get_state_display()}, code="bad_transition")
    before = case.as_audit()
    case.state = CaseState.INVESTIGATING
    case.save(update_fields=["state"])
    _event(case, actor, EventKind.STATE, from_state=CaseState.OPEN, to_state=CaseState.INVESTIGATING)
    _audit(actor, "case_start", case, before)
    return case


@transaction.atomic
def case_note(*, actor: Any, case_id: int, text: str) -> CaseEvent:
    """A note of the investigation (national staff or the case's investigator), while undecided."""
    case = _locked(actor, case_id)
    _require_investigate(actor, case)
    _require_undecided(case, _("添加调查记录"))
    body = str(text or "").strip()
    if not body:
        raise InvalidInput(_("调查记录不能为空。"), code="note_empty",
                           problems=[Problem(reason=_("不能为空。"), field="text", value="")])
    if len(body) > 5000:
        raise InvalidInput(_("调查记录不能超过5000字。"), code="note_too_long",
                           problems=[Problem(reason=_("超过5000字。"), field="text", value=len(body))])
    ev = _event(case, actor, EventKind.NOTE, text=body)
    _audit(actor, "case_note", case, None, note=body)
    return ev


def _json(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return v


def _sessions_where(case: Case) -> Q:
    return Q(school_id=case.school_id) if case.level == UnitLevel.SCHOOL else Q(county_id=case.county_id)


@transaction.atomic
def evidence_collect(*, actor: Any, case_id: int) -> list[CaseEvidence]:
    """Attach, with a copy as they are now, the incident reports and incident cases and the session records of the
    case's school (or county) in the cycle. Idempotent: what is attached already is not attached again. Returns
    the new evidence."""
    from naeq.custody.models import SessionRecord
    from naeq.incidents.models import IncidentCase, IncidentReport

    case = _locked(actor, case_id)
    _require_investigate(actor, case)
    _require_undecided(case, _("收集证据"))
    have = set(CaseEvidence.objects.filter(case=case).exclude(ref_type="").values_list("ref_type", "ref_id"))
    where = _sessions_where(case)
    found: list[tuple[str, str, str, str, dict[str, Any]]] = []
    reports = IncidentReport.objects.filter(where, cycle=case.cycle).select_related("school")
    for r in reports.order_by("test_date", "id"):
        found.append((EvidenceKind.INCIDENT, "incidents.IncidentReport", str(r.pk),
                      _("应急事件情况报告表：%(school)s %(date)s") % {"school": r.school.name, "date": r.test_date},
                      {"school": r.school_id, "test_date": _json(r.test_date), "no_incident": r.no_incident,
                       "handling": r.handling, "signed_by": r.signed_by, "filed_at": _json(r.filed_at),
                       "cases": list(r.cases.values_list("pk", flat=True))}))
    for c in IncidentCase.objects.filter(where, cycle=case.cycle).order_by("occurred_at", "id"):
        found.append((EvidenceKind.INCIDENT, "incidents.IncidentCase", str(c.pk),
                      _("应急事件：%(category)s（%(grade)d级）%(at)s") % {
                          "category": c.category, "grade": c.grade, "at": c.occurred_at.date()},
                      {"school": c.school_id, "county": c.county_id, "category": c.category, "grade": c.grade,
                       "occurred_at": _json(c.occurred_at), "description": c.description, "state": c.state,
                       "level": c.level, "source": c.source}))
    swhere = (Q(session__school_id=case.school_id) if case.level == UnitLevel.SCHOOL
              else Q(session__county_id=case.county_id))
    for s in (SessionRecord.objects.filter(swhere, session__cycle=case.cycle).select_related("session")
              .order_by("actual_start", "id")):
        found.append((EvidenceKind.SESSION_RECORD, "custody.SessionRecord", str(s.pk),
                      _("测试情况记录表：%(room)s %(at)s") % {"room": s.room, "at": s.actual_start.date()},
                      {"session": s.session_id, "school": s.session.school_id, "room": s.room,
                       "actual_start": _json(s.actual_start), "actual_end": _json(s.actual_end),
                       "expected": s.expected, "present": s.present, "absentees": s.absentees,
                       "pe_exempt": s.pe_exempt, "deviations": s.deviations, "recorded_at": _json(s.recorded_at)}))
    new = [CaseEvidence(case=case, kind=kind, title=title[:200], ref_type=rt, ref_id=rid, payload=payload,
                        added_by=_uid(actor))
           for kind, rt, rid, title, payload in found if (rt, rid) not in have]
    for ev in new:
        ev.save()
    _event(case, actor, EventKind.EVIDENCE, text=_("收集证据：新增%(n)d份，已有%(m)d份。") % {
        "n": len(new), "m": len(found) - len(new)}, data={"added": [e.pk for e in new]})
    _audit(actor, "case_evidence_collect", case, None, added=[[e.ref_type, e.ref_id] for e in new])
    return new


@transaction.atomic
def evidence_upload(*, actor: Any, case_id: int, file_name: str, data: bytes, title: str = "") -> CaseEvidence:
    """Attach a file (PDF, JPG/PNG, XLSX, DOCX; at most 20 MB) to an undecided case, stored under the data
    directory with its SHA-256 (national staff or the case's investigator)."""
    case = _locked(actor, case_id)
    _require_investigate(actor, case)
    _require_undecided(case, _("上传材料"))
    if CaseEvidence.objects.filter(case=case, kind=EvidenceKind.UPLOAD).count() >= MAX_UPLOADS:
        raise InvalidInput(_("每个案件最多上传%(n)d个文件。") % {"n": MAX_UPLOADS}, code="too_many_files")
    ext, content_type = check_upload(file_name, data)
    stored = evidence_store(case.pk, ext, data)
    shown = clean_original_name(file_name)
    ev = CaseEvidence(case=case, kind=EvidenceKind.UPLOAD, title=(str(title or "").strip() or shown)[:200],
                      stored_name=stored, original_name=shown, content_type=content_type, size=len(data),
                      sha256=hashlib.sha256(data).hexdigest(), added_by=_uid(actor))
    try:
        ev.full_clean()
        ev.save()
    except Exception:
        evidence_unlink(case.pk, stored)
        raise
    _event(case, actor, EventKind.EVIDENCE, text=ev.title, data={"evidence": ev.pk, "sha256": ev.sha256})
    _audit(actor, "case_evidence_upload", case, None, evidence={"id": ev.pk, "name": shown, "size": ev.size,
                                                                "sha256": ev.sha256})
    return ev


# ------------------------------------------------------------------------------------------------ decide


def _write_marks(case: Case, mark: str, persons: list[int]) -> dict[str, int]:
    """This case's marks for ``persons``; an existing mark of another case is kept unless this one is stronger
    (excluded beats flagged). Returns counts (written, kept)."""
    existing = {t: (c, m) for t, c, m in DataMark.objects.filter(
        cycle=case.cycle, instrument_code=case.instrument_code, test_taker_id__in=persons)
        .values_list("test_taker_id", "case_id", "mark")}
    new, upgrade = [], []
    kept = 0
    for p in persons:
        got = existing.get(p)
        if got is None:
            new.append(DataMark(case=case, cycle=case.cycle, instrument_code=case.instrument_code, test_taker_id=p,
                                mark=mark))
        elif got[0] != case.pk and got[1] == MarkKind.FLAGGED and mark == MarkKind.EXCLUDED:
            upgrade.append(p)
        else:
            kept += 1
    DataMark.objects.bulk_create(new, batch_size=2000)
    if upgrade:
        DataMark.objects.filter(cycle=case.cycle, instrument_code=case.instrument_code,
                                test_taker_id__in=upgrade).update(case=case, mark=mark)
    return {"written": len(new) + len(upgrade), "kept": kept}


@transaction.atomic
def case_decide(*, actor: Any, case_id: int, state: str, reason: str,
                persons: Iterable[Any] | None = None) -> Case:
    """Decide an open or investigating case: cleared, data flagged or data excluded, with a reason. National
    staff only. Writes the DataMark rows of the decision (``persons``, else the case's persons, else every test
    taker of the unit in the instrument) and changes nothing else."""
    case = _locked(actor, case_id)
    _require_decider(actor)
    if state not in DECIDED:
        raise InvalidInput(_("决定只能是：排除异常、数据标记或数据剔除。"), code="bad_decision",
                           problems=[Problem(reason=_("不是可选的决定。"), field="state", value=state)])
    _require_undecided(case, _("再次作出决定"))
    text = _reason(reason)
    if persons is not None:
        allowed = unit_persons(cycle=case.cycle, instrument_code=case.instrument_code, level=case.level,
                               county_id=case.county_id, school_id=case.school_id, run_id=case.run_id)
        chosen = _clean_persons(persons, allowed)
        if chosen:
            case.persons = chosen
    before = case.as_audit()
    old_state = case.state
    counts = {"written": 0, "kept": 0}
    mark = MARK_OF.get(CaseState(state))
    targets = case_persons(case) if mark else []
    if mark:
        counts = _write_marks(case, mark, targets)
    case.state = state
    case.decision_reason = text
    case.decided_by = _uid(actor)
    case.decided_at = timezone.now()
    case.full_clean()
    case.save()
    _event(case, actor, EventKind.DECIDED, from_state=old_state, to_state=state, text=text,
           data={"persons": len(targets), **counts})
    _audit(actor, "case_decide", case, before, marks=counts, n_persons=len(targets))
    return case


@transaction.atomic
def case_reopen(*, actor: Any, case_id: int, reason: str) -> Case:
    """A decided case back to investigating: its marks are removed (other cases' marks stay). National staff
    only."""
    case = _locked(actor, case_id)
    _require_decider(actor)
    if case.state not in DECIDED:
        raise InvalidInput(_("案件%(number)s尚未作出决定，无需重新调查。") % {"number": case.number},
                           code="bad_transition")
    text = _reason(reason)
    before = case.as_audit()
    old_state = case.state
    removed, _detail = DataMark.objects.filter(case=case).delete()
    case.state = CaseState.INVESTIGATING
    case.decision_reason = ""
    case.decided_by = None
    case.decided_at = None
    case.full_clean()
    case.save()
    _event(case, actor, EventKind.REOPENED, from_state=old_state, to_state=CaseState.INVESTIGATING, text=text,
           data={"marks_removed": removed})
    _audit(actor, "case_reopen", case, before, reason=text, marks_removed=removed)
    return case
