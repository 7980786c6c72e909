"""The only place that decides who may see or change the PE field test's data.

From the seeds (2024-nanchang-city-plan.txt): the school's PE proctors — two arranged by the school, two sent by the
county — "按要求测试并如实记录学生测试数据，协助信息员将体育测试数据录入系统中，核查体育测试数据录入的准确性". So:

* **Read** (rooms, entry grids, completion, indicators): national staff everything; province and city staff their
  region; county staff their county; the school's staff (head, information officer, inspector, chief proctor) their
  school. Test takers and raters see nothing.
* **Rooms** (generate, rename, regroup, name the recorder and the reviewer): the school's head and information
  officer for their school; the county's liaison and information officer for the schools of their county.
* **Entry** (save, submit, import, whole-room missing items): the room's recorder only. **Review** (confirm,
  return): the room's reviewer only. Recorder and reviewer are two different accounts of the school (head,
  information officer, inspector, chief proctor) or of the county (liaison, information officer).
* **Unlock** a confirmed room, with a reason: the county's liaison and information officer.
* **Entry window**: the provincial coordinator for the province.

Missing and out-of-jurisdiction objects raise the same :class:`NotFound`; a reader trying to write gets
:class:`PermissionDenied`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import Jurisdiction, jurisdiction_of
from naeq.accounts.roles import Role
from naeq.core.errors import NotFound, PermissionDenied
from naeq.pe.models import ExamRoom, PeRecord
from naeq.registry.models import Region, School

COUNTY_OFFICERS = frozenset({Role.COUNTY_LIAISON, Role.COUNTY_INFO_OFFICER})
SCHOOL_OFFICERS = frozenset({Role.SCHOOL_HEAD, Role.SCHOOL_INFO_OFFICER})
#: School accounts that may be a room's recorder or reviewer.
SCHOOL_ENTRY_ROLES = frozenset({Role.SCHOOL_HEAD, Role.SCHOOL_INFO_OFFICER, Role.INSPECTOR, Role.CHIEF_PROCTOR})


def _staff(actor: Any) -> Jurisdiction:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        raise NotFound(_("没有找到该页面。"))
    return j


def _room_missing() -> NotFound:
    return NotFound(_("没有找到该考场。"))


def rooms_visible(*, actor: Any) -> QuerySet[ExamRoom]:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return ExamRoom.objects.none()
    if j.school_id is not None:
        return ExamRoom.objects.filter(school_id=j.school_id)
    if j.is_national:
        return ExamRoom.objects.all()
    return ExamRoom.objects.filter(path__startswith=j.path)


def records_visible(*, actor: Any) -> QuerySet[PeRecord]:
    j = jurisdiction_of(actor)
    if not j.is_staff_role:
        return PeRecord.objects.none()
    if j.school_id is not None:
        return PeRecord.objects.filter(room__school_id=j.school_id)
    if j.is_national:
        return PeRecord.objects.all()
    return PeRecord.objects.filter(path__startswith=j.path)


def region_access(*, actor: Any, code: str) -> Region:
    """A region (province, city or county) whose completion and indicators the actor may read."""
    j = _staff(actor)
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise NotFound(_("没有找到该地区。"))
    if j.school_id is not None:
        raise NotFound(_("没有找到该地区。"))
    if not j.is_national and not region.path.startswith(j.path):
        raise NotFound(_("没有找到该地区。"))
    return region


def school_access(*, actor: Any, code: str) -> School:
    j = _staff(actor)
    school = School.objects.select_related("county").filter(code=code).first()
    if school is None:
        raise NotFound(_("没有找到该学校。"))
    if j.school_id is not None and j.school_id != school.pk:
        raise NotFound(_("没有找到该学校。"))
    if j.school_id is None and not j.is_national and not school.path.startswith(j.path):
        raise NotFound(_("没有找到该学校。"))
    return school


def room_access(*, actor: Any, room_id: int) -> ExamRoom:
    room = (rooms_visible(actor=actor).select_related("school", "school__county", "cycle", "recorder", "reviewer")
            .filter(pk=room_id).first())
    if room is None:
        raise _room_missing()
    return room


def may_manage_rooms(*, actor: Any, school: School) -> bool:
    j = jurisdiction_of(actor)
    if j.role in COUNTY_OFFICERS:
        return j.path == school.path
    return j.role in SCHOOL_OFFICERS and j.school_id == school.pk


def require_room_manager(*, actor: Any, school: School) -> None:
    if not may_manage_rooms(actor=actor, school=school):
        raise PermissionDenied(_("您的账户不能编排该校的体育测试考场。"))


def is_recorder(*, actor: Any, room: ExamRoom) -> bool:
    return room.recorder_id is not None and getattr(actor, "pk", None) == room.recorder_id


def is_reviewer(*, actor: Any, room: ExamRoom) -> bool:
    return room.reviewer_id is not None and getattr(actor, "pk", None) == room.reviewer_id


def require_recorder(*, actor: Any, room: ExamRoom) -> None:
    if not is_recorder(actor=actor, room=room):
        raise PermissionDenied(_("只有本考场的录入员可以录入和提交成绩。"))


def require_reviewer(*, actor: Any, room: ExamRoom) -> None:
    if not is_reviewer(actor=actor, room=room):
        raise PermissionDenied(_("只有本考场的审核员可以审核成绩。"))


def may_unlock(*, actor: Any, room: ExamRoom) -> bool:
    j = jurisdiction_of(actor)
    return j.role in COUNTY_OFFICERS and j.path == room.path


def require_unlocker(*, actor: Any, room: ExamRoom) -> None:
    if not may_unlock(actor=actor, room=room):
        raise PermissionDenied(_("已审核锁定的考场只能由县级联络员或信息员说明理由后解锁。"))


def may_set_window(*, actor: Any, province: Region) -> bool:
    j = jurisdiction_of(actor)
    return j.role == Role.PROVINCE_COORDINATOR and j.path == province.path


def require_window_setter(*, actor: Any, province: Region) -> None:
    if not may_set_window(actor=actor, province=province):
        raise PermissionDenied(_("体育测试录入时间由省级协调员设置。"))


def entry_accounts(*, school: School) -> QuerySet[Any]:
    """Accounts that may be a recorder or reviewer of a room at ``school``: the school's staff accounts and the
    county officers of its county (who may be sent to the school)."""
    user_model = get_user_model()
    return user_model.objects.filter(is_active=True).filter(
        Q(role__in=list(SCHOOL_ENTRY_ROLES), school_id=school.pk)
        | Q(role__in=list(COUNTY_OFFICERS), scope_path=school.path)).order_by("username")
