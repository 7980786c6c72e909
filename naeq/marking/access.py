"""The only place that decides who may see or do what in constructed-response scoring (主观题评分).

* **Organisers** — national centre staff: the national administrator organises marking (rubrics, responses,
  raters, assignment, settings, suspension, export); the national analyst reads the overview, agreement and
  drift pages. Marking centres at provinces are not modelled yet, so provincial coordinators see nothing here.
* **Raters** (评分员): only the responses assigned to them, one at a time, anonymised behind a response ID (no
  name, school or test ID), with the item's rubric and anchor papers — never an item key. A suspended rater's
  queue is empty.
* **Arbiters**: the national administrator and senior raters (RaterProfile.senior) resolve the arbitration
  queue and the responses raters flagged.

Missing and forbidden look the same (:class:`NotFound`); a reader who tries to write gets
:class:`PermissionDenied`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Role
from naeq.core.errors import NotFound, PermissionDenied
from naeq.marking.models import Arbitration, Assignment, AssignmentStatus, MarkResponse, RaterProfile

ORGANISERS = frozenset({Role.NATIONAL_ADMIN})
READERS = frozenset({Role.NATIONAL_ADMIN, Role.NATIONAL_ANALYST})


def _missing() -> NotFound:
    return NotFound(_("没有找到该页面。"))


def is_reader(actor: Any) -> bool:
    """National staff; ``None`` is the system (the command line, which is the national centre's own tool)."""
    return actor is None or jurisdiction_of(actor).role in READERS


def is_organiser(actor: Any) -> bool:
    return jurisdiction_of(actor).role in ORGANISERS


def require_reader(*, actor: Any) -> None:
    """National staff read the marking pages; anyone else finds nothing."""
    if not is_reader(actor):
        raise _missing()


def require_organiser(*, actor: Any) -> None:
    """The national administrator organises marking (the system, ``actor=None``, too: CLI and demo)."""
    if actor is None:
        return
    require_reader(actor=actor)
    if not is_organiser(actor):
        raise PermissionDenied(_("您的账户只能查看评分情况，不能组织评分。"))


def rater_profile(actor: Any) -> RaterProfile | None:
    """The actor's rater profile when the actor is a rater account, else None."""
    j = jurisdiction_of(actor)
    if j.role != Role.RATER:
        return None
    return RaterProfile.objects.filter(user_id=actor.pk).first()


def require_rater(*, actor: Any) -> RaterProfile:
    profile = rater_profile(actor)
    if profile is None:
        raise _missing()
    return profile


def is_arbiter(actor: Any) -> bool:
    if is_organiser(actor):
        return True
    profile = rater_profile(actor)
    return profile is not None and profile.senior and not profile.suspended


def require_arbiter(*, actor: Any) -> None:
    if actor is None:
        return
    if not is_arbiter(actor):
        if is_reader(actor):
            raise PermissionDenied(_("您的账户只能查看评分情况，不能仲裁。"))
        raise _missing()


def assignments_of(*, actor: Any) -> QuerySet[Assignment]:
    """The actor's own live assignments (a rater's queue); nothing for anyone else or a suspended rater."""
    profile = rater_profile(actor)
    if profile is None or profile.suspended:
        return Assignment.objects.none()
    return Assignment.objects.filter(rater_id=actor.pk).exclude(status=AssignmentStatus.WITHDRAWN)


def assignment_access(*, actor: Any, assignment_id: int) -> Assignment:
    """One of the actor's own assignments; someone else's looks missing."""
    a = (assignments_of(actor=actor).select_related("response").filter(pk=assignment_id).first())
    if a is None:
        raise NotFound(_("没有找到该评分任务。"))
    return a


def arbitration_access(*, actor: Any, arbitration_id: int) -> Arbitration:
    require_arbiter(actor=actor)
    arb = Arbitration.objects.select_related("response").filter(pk=arbitration_id).first()
    if arb is None:
        raise NotFound(_("没有找到该仲裁任务。"))
    return arb


def flagged_access(*, actor: Any, assignment_id: int) -> Assignment:
    require_arbiter(actor=actor)
    a = (Assignment.objects.select_related("response")
         .filter(pk=assignment_id, status=AssignmentStatus.FLAGGED).first())
    if a is None:
        raise NotFound(_("没有找到该评分任务。"))
    return a


def response_image_access(*, actor: Any, code: str) -> MarkResponse:
    """The scanned image of a response: its raters (while it is in their queue), arbiters and national staff."""
    r = MarkResponse.objects.filter(code=code).exclude(image="").first()
    if r is None:
        raise NotFound(_("没有找到该答卷。"))
    if is_reader(actor) or is_arbiter(actor):
        return r
    if assignments_of(actor=actor).filter(response=r).exists():
        return r
    raise NotFound(_("没有找到该答卷。"))
