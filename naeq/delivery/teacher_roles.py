"""Teachers pick the roles they hold; each role brings its questionnaire; a wrong pick is reset only with approval.

The roles on offer come from the cycle configuration's teacher questionnaires: ``head_teacher`` (班主任) for a
questionnaire with ``teacher_role: head_teacher``, and ``subject:<code>`` (e.g. 数学教师) for each
``teacher_role: subject_teacher`` questionnaire's subject. A teacher who holds several roles picks them all.

The pick is locked at once (DOMAIN.md: "a wrong pick is reset only with approval"). To change it, the teacher
(from the test-taker side) or the school's information officer files a :class:`RoleResetRequest` with a reason;
the county's liaison or information officer, or the province or nation above them, decides. Approval clears and
unlocks the roles. The teacher then picks again; in-progress attempts of questionnaires the new pick no longer
includes are removed at that moment (with their saved answers; the audit event records how many), so a
questionnaire the teacher keeps keeps its answers. Submitted questionnaires are never removed.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput
from naeq.cycles.models import Cycle
from naeq.delivery.access import require_reset_approver, require_reset_filer
from naeq.delivery.models import Attempt, AttemptStatus, Respondent, RoleResetRequest, TestTaker

HEAD_TEACHER = "head_teacher"


def _taker_actor(taker: TestTaker) -> Any:
    from naeq.delivery.attempts import taker_actor

    return taker_actor(taker)


def role_of(inst: Any) -> str | None:
    """The role key a teacher questionnaire of the configuration belongs to."""
    if inst.respondent != Respondent.TEACHER:
        return None
    if inst.teacher_role == HEAD_TEACHER:
        return HEAD_TEACHER
    if inst.subject:
        return f"subject:{inst.subject}"
    return None


def role_choices(cycle: Cycle) -> list[tuple[str, str]]:
    """(role key, Chinese label) of every role the cycle's teacher questionnaires ask about, in config order."""
    names = {s.code: s.name for s in cycle.config.subjects}
    out: dict[str, str] = {}
    for inst in cycle.config.instruments:
        key = role_of(inst)
        if key is None or key in out:
            continue
        out[key] = "班主任" if key == HEAD_TEACHER else f"{names.get(inst.subject or '', inst.subject)}教师"
    return list(out.items())


def matching_instruments(cycle: Cycle, roles: list[str]) -> list[str]:
    """The teacher questionnaire codes the roles bring, in config order."""
    wanted = set(roles)
    return [i.code for i in cycle.config.instruments if role_of(i) in wanted]


def _teacher(taker: TestTaker) -> None:
    if taker.kind != Respondent.TEACHER:
        raise InvalidInput(_("只有教师需要选择角色。"), code="not_teacher")


@transaction.atomic
def roles_pick(*, taker: TestTaker, roles: list[str]) -> TestTaker:
    """The teacher's pick, locked at once."""
    _teacher(taker)
    taker = TestTaker.objects.select_for_update().select_related("cycle").get(pk=taker.pk)
    if taker.roles_locked:
        raise InvalidInput(_("角色已确认，不能自行修改；如选错请提交重置申请。"), code="roles_locked")
    valid = dict(role_choices(taker.cycle))
    picked = list(dict.fromkeys(r for r in roles if r))
    if not picked:
        raise InvalidInput(_("请至少选择一个您担任的角色。"), code="no_roles")
    for r in picked:
        if r not in valid:
            raise InvalidInput(_("角色无效：%(role)s") % {"role": r}, code="bad_role")
    keep = set(matching_instruments(taker.cycle, picked))
    stale = (Attempt.objects.filter(test_taker=taker, status=AttemptStatus.IN_PROGRESS)
             .exclude(instrument__code__in=keep))
    removed = sorted(stale.values_list("instrument__code", flat=True))
    stale.delete()
    taker.roles = picked
    taker.roles_locked = True
    taker.save(update_fields=["roles", "roles_locked"])
    audit_record(actor=_taker_actor(taker), action="delivery.roles_pick", object_type="delivery.TestTaker",
                 object_id=taker.pk, after={"roles": picked, "removed_attempts": len(removed),
                                            "removed_instruments": removed})
    return taker


def _file(taker: TestTaker, reason: str, actor: Any) -> RoleResetRequest:
    _teacher(taker)
    text = (reason or "").strip()
    if not text:
        raise InvalidInput(_("请填写重置理由。"), code="no_reason")
    if len(text) > 300:
        raise InvalidInput(_("重置理由不能超过300字。"), code="reason_too_long")
    taker = TestTaker.objects.select_for_update().get(pk=taker.pk)
    if not taker.roles_locked:
        raise InvalidInput(_("尚未确认角色，无需重置。"), code="not_locked")
    if RoleResetRequest.objects.filter(test_taker=taker, status=RoleResetRequest.Status.PENDING).exists():
        raise InvalidInput(_("已有一份待审批的重置申请。"), code="pending_exists")
    req = RoleResetRequest.objects.create(test_taker=taker, roles_before=list(taker.roles), reason=text)
    audit_record(actor=actor, action="delivery.role_reset_request", object_type="delivery.RoleResetRequest",
                 object_id=req.pk, after={"taker": taker.code, "roles": taker.roles, "reason": text})
    return req


@transaction.atomic
def role_reset_request_file(*, taker: TestTaker, reason: str) -> RoleResetRequest:
    """Filed by the signed-in teacher."""
    return _file(taker, reason, _taker_actor(taker))


@transaction.atomic
def role_reset_request_file_for(*, actor: Any, taker_id: int, reason: str) -> RoleResetRequest:
    """Filed by the school's information officer for a teacher of the school."""
    taker = require_reset_filer(actor=actor, taker_id=taker_id)
    return _file(taker, reason, actor)


@transaction.atomic
def role_reset_decide(*, actor: Any, request_id: int, approve: bool) -> RoleResetRequest:
    """Approve (roles cleared and unlocked) or reject (the pick stays) a pending request."""
    req = require_reset_approver(actor=actor, request_id=request_id)
    req = RoleResetRequest.objects.select_for_update().select_related("test_taker").get(pk=req.pk)
    if req.status != RoleResetRequest.Status.PENDING:
        raise InvalidInput(_("该申请已处理。"), code="decided")
    taker = TestTaker.objects.select_for_update().get(pk=req.test_taker_id)
    before = {"roles": list(taker.roles), "roles_locked": taker.roles_locked}
    req.status = RoleResetRequest.Status.APPROVED if approve else RoleResetRequest.Status.REJECTED
    req.decided_by = actor
    req.decided_at = timezone.now()
    req.save(update_fields=["status", "decided_by", "decided_at"])
    if approve:
        taker.roles = []
        taker.roles_locked = False
        taker.save(update_fields=["roles", "roles_locked"])
    audit_record(actor=actor, action="delivery.role_reset_decide", object_type="delivery.RoleResetRequest",
                 object_id=req.pk, before=before,
                 after={"status": req.status, "taker": taker.code, "roles": list(taker.roles),
                        "roles_locked": taker.roles_locked})
    return req
