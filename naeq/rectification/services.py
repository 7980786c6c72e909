"""Writes of problem letters and rectification plans. Each is atomic, checked by :mod:`naeq.rectification.access`
and audited (``rectification.*``). An object the actor may not see raises :class:`NotFound`; a visible one the
actor may not change in that way raises :class:`PermissionDenied`; a change the state forbids raises
:class:`InvalidInput` with a stable code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.analysis.models import Estimate
from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, NotFound, PermissionDenied, Problem
from naeq.core.filestore import FileStore, clean_original_name
from naeq.cycles.models import Cycle
from naeq.rectification import access
from naeq.rectification.letters import Found, Rules, derive_all
from naeq.rectification.models import (
    EDITABLE,
    UNDER_WAY,
    LetterStatus,
    PlanEvidence,
    PlanReview,
    PlanState,
    PlanUpdate,
    ProblemLetter,
    RectificationPlan,
    ReviewDecision,
)
from naeq.rectification.models import Problem as LetterProblem
from naeq.registry.models import Region

STORE = FileStore(folder="rectification-evidence", extensions=("pdf", "png", "jpg", "jpeg", "xlsx", "docx"),
                  max_bytes=20 * 1024 * 1024)


def _uid(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


def _text(value: Any, field: str, what: str, limit: int = 5000) -> str:
    text = str(value or "").strip()
    if not text:
        raise InvalidInput(_("请填写%(what)s。") % {"what": what}, code=f"{field}_required",
                           problems=[Problem(reason=_("不能为空。"), field=field, value="")])
    if len(text) > limit:
        raise InvalidInput(_("%(what)s不能超过%(n)d字。") % {"what": what, "n": limit}, code=f"{field}_too_long",
                           problems=[Problem(reason=_("过长。"), field=field, value=len(text))])
    return text


# ------------------------------------------------------------------------------------------------ letters


def _require_drafter(actor: Any) -> None:
    if not access.may_draft(actor=actor):
        raise NotFound(_("没有找到该页面。"))


def _save_problems(letter: ProblemLetter, found: Sequence[Found]) -> None:
    for seq, f in enumerate(found, start=1):
        p = LetterProblem(letter=letter, seq=seq, instrument_code=f.instrument_code, rule=f.rule,
                          region_id=f.region_id, path=f.path, estimate=f.estimate, indicator=f.indicator[:120],
                          value=f.value, comparison=f.comparison[:200], target_statistic=f.target[0],
                          target_group_var=f.target[1], target_group_value=f.target[2], target_key=f.target[3],
                          better=f.better, evidence=f.evidence, text=f.text)
        p.full_clean(exclude=["letter", "estimate", "region"])
        p.save()


@transaction.atomic
def letter_draft(*, actor: Any, cycle: Cycle, province: Region, rules: Rules | None = None) -> ProblemLetter:
    """Draft (or re-derive, while still a draft) the letter of a province from the cycle's latest estimation runs.
    A province with no problem gets no letter: :class:`InvalidInput` ``no_problems``."""
    _require_drafter(actor)
    if province.level != "province":
        raise InvalidInput(_("问题函只发给省级。"), code="not_province")
    rules = rules or Rules()
    found = derive_all(cycle.pk, province, rules)
    letter = ProblemLetter.objects.select_for_update().filter(cycle=cycle, province=province).first()
    if letter is not None and letter.issued:
        raise InvalidInput(_("问题函%(n)s已发出，不能修改。") % {"n": letter.number}, code="letter_issued")
    if not found:
        raise InvalidInput(_("%(p)s在%(y)s年监测中没有发现需要列出的问题，不起草问题函。") % {
            "p": province.name, "y": cycle.year}, code="no_problems")
    before = letter.as_audit() if letter else None
    if letter is None:
        letter = ProblemLetter(cycle=cycle, province=province, path=province.path, created_by=_uid(actor))
    letter.title = _("关于%(p)s%(y)s年国家义务教育质量监测发现问题的函") % {"p": province.name, "y": cycle.year}
    letter.rules = {**rules.as_dict(), "runs": sorted({f.evidence["run"] for f in found})}
    letter.full_clean()
    letter.save()
    letter.problems.all().delete()
    _save_problems(letter, found)
    audit_record(actor=actor, action="rectification.letter_draft", object_type="rectification.ProblemLetter",
                 object_id=letter.pk, before=before, after={**letter.as_audit(), "problems": len(found)})
    return letter


def _draft_letter(actor: Any, letter_id: int) -> ProblemLetter:
    _require_drafter(actor)
    letter = access.letter_access(actor=actor, letter_id=letter_id)
    letter = ProblemLetter.objects.select_for_update().get(pk=letter.pk)
    if letter.issued:
        raise InvalidInput(_("问题函%(n)s已发出，不能修改。") % {"n": letter.number}, code="letter_issued")
    return letter


@transaction.atomic
def problem_edit(*, actor: Any, problem_id: int, text: str) -> LetterProblem:
    """National staff rewrite a problem's text while its letter is a draft."""
    _require_drafter(actor)
    problem = access.problem_access(actor=actor, problem_id=problem_id)
    _draft_letter(actor, problem.letter_id)
    before = {"text": problem.text}
    problem.text = _text(text, "text", _("问题表述"))
    problem.save(update_fields=["text"])
    audit_record(actor=actor, action="rectification.problem_edit", object_type="rectification.Problem",
                 object_id=problem.pk, before=before, after={"text": problem.text})
    return problem


@transaction.atomic
def problem_remove(*, actor: Any, problem_id: int) -> None:
    """Drop a problem from a draft letter (national staff's judgement); the others keep their order."""
    _require_drafter(actor)
    problem = access.problem_access(actor=actor, problem_id=problem_id)
    letter = _draft_letter(actor, problem.letter_id)
    if letter.problems.count() <= 1:
        raise InvalidInput(_("问题函至少要列出一个问题。"), code="last_problem")
    before = {"seq": problem.seq, "rule": problem.rule, "text": problem.text}
    problem.delete()
    audit_record(actor=actor, action="rectification.problem_remove", object_type="rectification.Problem",
                 object_id=problem_id, before=before, after=None)


def _next_number(year: int) -> str:
    prefix = f"监测函〔{year}〕"
    taken = [n for n in ProblemLetter.objects.filter(number__startswith=prefix).values_list("number", flat=True)]
    last = max((int(n[len(prefix):-1]) for n in taken if n.endswith("号") and n[len(prefix):-1].isdigit()),
               default=0)
    return f"{prefix}{last + 1}号"


@transaction.atomic
def letter_issue(*, actor: Any, letter_id: int) -> ProblemLetter:
    """Issue a draft letter: it gets its number 监测函〔年〕N号 and never changes again."""
    letter = _draft_letter(actor, letter_id)
    if not letter.problems.exists():
        raise InvalidInput(_("问题函没有列出问题，不能发出。"), code="no_problems")
    Cycle.objects.select_for_update().filter(pk=letter.cycle_id).first()  # serialise numbering
    before = letter.as_audit()
    letter.status = LetterStatus.ISSUED
    letter.number = _next_number(letter.cycle.year)
    letter.issued_by = _uid(actor)
    letter.issued_at = timezone.now()
    letter.full_clean()
    letter.save()
    audit_record(actor=actor, action="rectification.letter_issue", object_type="rectification.ProblemLetter",
                 object_id=letter.pk, before=before, after=letter.as_audit())
    return letter


def letter_download(*, actor: Any, letter_id: int) -> tuple[ProblemLetter, bytes]:
    """The letter as PDF (:mod:`naeq.rectification.pdf`) for an actor who may see it (else :class:`NotFound`),
    audited (``rectification.letter_download`` with the PDF's SHA-256)."""
    from naeq.rectification.pdf import letter_pdf

    letter = access.letter_access(actor=actor, letter_id=letter_id)
    data = letter_pdf(letter)
    audit_record(actor=actor, action="rectification.letter_download", object_type="rectification.ProblemLetter",
                 object_id=letter.pk, after={"number": letter.number, "status": letter.status,
                                             "sha256": hashlib.sha256(data).hexdigest()})
    return letter, data


# ------------------------------------------------------------------------------------------------ plans


def _measures(value: Any) -> list[str]:
    items = value if isinstance(value, list | tuple) else str(value or "").splitlines()
    out = [str(m).strip() for m in items if str(m).strip()]
    if not out:
        raise InvalidInput(_("请至少填写一条整改措施。"), code="measures_required",
                           problems=[Problem(reason=_("不能为空。"), field="measures", value="")])
    return out[:50]


def _number(value: Any, field: str, what: str) -> float:
    try:
        return float(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise InvalidInput(_("%(what)s应为数字。") % {"what": what}, code=f"bad_{field}",
                           problems=[Problem(reason=_("不是数字。"), field=field, value=value)]) from exc


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise InvalidInput(_("整改时限应为日期（年-月-日）。"), code="bad_deadline",
                           problems=[Problem(reason=_("不是日期。"), field="deadline", value=value)]) from exc


def baseline_for(problem: LetterProblem, unit: Region) -> Estimate | None:
    """The unit's own estimate of the problem's target indicator in the run the problem rests on."""
    return (Estimate.objects.filter(run_id=problem.estimate.run_id, path=unit.path, level=unit.level,
                                    statistic=problem.target_statistic, group_var=problem.target_group_var,
                                    group_value=problem.target_group_value, key=problem.target_key,
                                    suppressed=False).first())


def _check_target(plan: RectificationPlan) -> None:
    if plan.baseline is not None and (plan.target_value - plan.baseline) * plan.better < 0:
        raise InvalidInput(_("目标值应比基线值（%(b).3f）更好。") % {"b": plan.baseline}, code="target_worse",
                           problems=[Problem(reason=_("目标值不如基线。"), field="target_value",
                                             value=plan.target_value)])


@transaction.atomic
def plan_create(*, actor: Any, problem_id: int, unit: Region, department: str, target_value: Any,
                deadline: Any, measures: Any) -> RectificationPlan:
    """A draft plan for a problem of an issued letter, by the writer of the responsible unit (the province or one
    of its counties). The target indicator is the problem's; the baseline is the unit's estimate of it."""
    problem = access.problem_access(actor=actor, problem_id=problem_id)
    if not problem.letter.issued:
        raise InvalidInput(_("问题函尚未发出。"), code="letter_not_issued")
    if not unit.path.startswith(problem.letter.path) or unit.level not in ("province", "county"):
        raise InvalidInput(_("整改责任单位应为本省或本省的县（区）。"), code="bad_unit")
    if problem.region.level == "county" and unit.pk != problem.region_id:
        raise InvalidInput(_("该问题属于%(c)s，整改责任单位应为该县（区）。") % {"c": problem.region.name},
                           code="bad_unit")
    if not access.may_write_plan_for(actor=actor, unit=unit):
        raise PermissionDenied(_("只有整改责任单位（省级协调员或县级联络员）可以填报整改方案。"), code="not_writer")
    base = baseline_for(problem, unit)
    plan = RectificationPlan(
        problem=problem, unit=unit, path=unit.path, department=_text(department, "department", _("牵头部门"), 120),
        instrument_code=problem.instrument_code, target_statistic=problem.target_statistic,
        target_group_var=problem.target_group_var, target_group_value=problem.target_group_value,
        target_key=problem.target_key, indicator=problem.indicator, better=problem.better,
        baseline=base.value if base else None, baseline_se=base.se if base else None, baseline_estimate=base,
        target_value=_number(target_value, "target_value", _("目标值")), deadline=_date(deadline),
        measures=_measures(measures), state=PlanState.DRAFT, created_by=_uid(actor))
    _check_target(plan)
    if plan.deadline <= timezone.localdate():
        raise InvalidInput(_("整改时限应在今天之后。"), code="deadline_past",
                           problems=[Problem(reason=_("已过。"), field="deadline", value=str(plan.deadline))])
    plan.full_clean(exclude=["problem", "unit", "baseline_estimate"])
    plan.save()
    audit_record(actor=actor, action="rectification.plan_create", object_type="rectification.RectificationPlan",
                 object_id=plan.pk, before=None, after=plan.as_audit())
    return plan


def _plan(actor: Any, plan_id: int) -> RectificationPlan:
    access.plan_access(actor=actor, plan_id=plan_id)
    return RectificationPlan.objects.select_for_update(of=("self",)).select_related("unit", "problem").get(
        pk=plan_id)


def _require_writer(actor: Any, plan: RectificationPlan) -> None:
    if not access.may_write_plan_for(actor=actor, unit=plan.unit):
        raise PermissionDenied(_("只有整改责任单位可以进行此操作。"), code="not_writer")


def _require_state(plan: RectificationPlan, allowed: Sequence[str], what: str) -> None:
    if plan.state not in allowed:
        raise InvalidInput(_("整改方案当前状态为“%(s)s”，不能%(what)s。") % {"s": plan.get_state_display(),
                                                                       "what": what}, code="bad_transition")


def _audit(actor: Any, action: str, plan: RectificationPlan, before: Any, **extra: Any) -> None:
    audit_record(actor=actor, action=f"rectification.{action}", object_type="rectification.RectificationPlan",
                 object_id=plan.pk, before=before, after={**plan.as_audit(), **extra})


@transaction.atomic
def plan_edit(*, actor: Any, plan_id: int, department: Any = None, target_value: Any = None,
              deadline: Any = None, measures: Any = None) -> RectificationPlan:
    """Change a draft or returned plan (the responsible unit)."""
    plan = _plan(actor, plan_id)
    _require_writer(actor, plan)
    _require_state(plan, EDITABLE, _("修改"))
    before = plan.as_audit()
    if department is not None:
        plan.department = _text(department, "department", _("牵头部门"), 120)
    if target_value is not None:
        plan.target_value = _number(target_value, "target_value", _("目标值"))
    if deadline is not None:
        plan.deadline = _date(deadline)
    if measures is not None:
        plan.measures = _measures(measures)
    _check_target(plan)
    plan.full_clean()
    plan.save()
    _audit(actor, "plan_edit", plan, before)
    return plan


@transaction.atomic
def plan_submit(*, actor: Any, plan_id: int) -> RectificationPlan:
    """Draft or returned → submitted, for review by the supervising level."""
    plan = _plan(actor, plan_id)
    _require_writer(actor, plan)
    _require_state(plan, EDITABLE, _("提交"))
    before = plan.as_audit()
    plan.state = PlanState.SUBMITTED
    plan.submitted_at = timezone.now()
    plan.save(update_fields=["state", "submitted_at"])
    _audit(actor, "plan_submit", plan, before)
    return plan


@transaction.atomic
def plan_review(*, actor: Any, plan_id: int, decision: str, comment: str = "") -> PlanReview:
    """The supervising level approves a submitted plan or returns it with a comment."""
    plan = _plan(actor, plan_id)
    if not access.may_review(actor=actor, plan=plan):
        raise PermissionDenied(_("只有上一级（国家监测中心审核省级方案，省级审核县级方案）可以审核。"),
                               code="not_reviewer")
    _require_state(plan, (PlanState.SUBMITTED,), _("审核"))
    if decision not in ReviewDecision.values:
        raise InvalidInput(_("审核意见只能是通过或退回修改。"), code="bad_decision",
                           problems=[Problem(reason=_("不是可选的意见。"), field="decision", value=decision)])
    note = str(comment or "").strip()
    if decision == ReviewDecision.RETURN:
        note = _text(comment, "comment", _("退回理由"))
    before = plan.as_audit()
    review = PlanReview(plan=plan, decision=decision, comment=note, reviewer=_uid(actor))
    review.full_clean(exclude=["plan"])
    review.save()
    plan.state = PlanState.APPROVED if decision == ReviewDecision.APPROVE else PlanState.RETURNED
    if plan.state == PlanState.APPROVED:
        plan.approved_at = timezone.now()
    plan.save(update_fields=["state", "approved_at"])
    _audit(actor, "plan_review", plan, before, decision=decision, comment=note)
    return review


@transaction.atomic
def plan_update_add(*, actor: Any, plan_id: int, text: str, percent: Any,
                    files: Sequence[tuple[str, bytes]] = ()) -> PlanUpdate:
    """A progress update (text, percent done, evidence files) on an approved or in-progress plan; the first one
    moves it to in progress."""
    plan = _plan(actor, plan_id)
    _require_writer(actor, plan)
    _require_state(plan, UNDER_WAY, _("填报进展"))
    body = _text(text, "text", _("进展情况"))
    try:
        pct = int(str(percent).strip())
    except (TypeError, ValueError):
        pct = -1
    if not 0 <= pct <= 100:
        raise InvalidInput(_("完成比例应为0到100之间的整数。"), code="bad_percent",
                           problems=[Problem(reason=_("不在0–100之间。"), field="percent", value=percent)])
    checked = [(clean_original_name(name), data, *STORE.check_upload(name, data)) for name, data in files]
    before = plan.as_audit()
    update = PlanUpdate.objects.create(plan=plan, text=body, percent=pct, created_by=_uid(actor))
    stored: list[str] = []
    try:
        for shown, data, ext, ctype in checked:
            name = STORE.store(plan.pk, ext, data)
            stored.append(name)
            PlanEvidence.objects.create(update=update, stored_name=name, original_name=shown, content_type=ctype,
                                        size=len(data), sha256=hashlib.sha256(data).hexdigest())
    except Exception:
        for name in stored:
            STORE.unlink(plan.pk, name)
        raise
    if plan.state == PlanState.APPROVED:
        plan.state = PlanState.IN_PROGRESS
        plan.save(update_fields=["state"])
    _audit(actor, "plan_update", plan, before, update={"id": update.pk, "percent": pct,
                                                       "files": [c[0] for c in checked]})
    return update


@transaction.atomic
def plan_complete(*, actor: Any, plan_id: int) -> RectificationPlan:
    """In progress → completed, once the latest update reports 100%."""
    plan = _plan(actor, plan_id)
    _require_writer(actor, plan)
    _require_state(plan, (PlanState.IN_PROGRESS,), _("标记完成"))
    last = plan.updates.order_by("-created_at", "-id").first()
    if last is None or last.percent < 100:
        raise InvalidInput(_("最近一次进展的完成比例未达到100%，不能标记完成。"), code="not_done")
    before = plan.as_audit()
    plan.state = PlanState.COMPLETED
    plan.completed_at = timezone.now()
    plan.save(update_fields=["state", "completed_at"])
    _audit(actor, "plan_complete", plan, before)
    return plan


def evidence_get(*, actor: Any, plan_id: int, evidence_id: int) -> tuple[PlanEvidence, bytes]:
    plan = access.plan_access(actor=actor, plan_id=plan_id)
    ev = PlanEvidence.objects.filter(pk=evidence_id, update__plan=plan).first()
    data = STORE.read(plan.pk, ev.stored_name) if ev else None
    if ev is None or data is None:
        raise NotFound(_("没有找到该佐证材料。"))
    return ev, data
