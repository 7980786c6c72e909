"""Writes of staff lists: people, their posts, and the bulk import of a staff list.

Every service is atomic, takes the acting user keyword-only, checks access through :mod:`naeq.staffing.access`,
validates with precise Chinese messages and writes an audit event in the same transaction. Rule violations
(counts, conflicts, the chief proctor's school and subjects) are listed by :mod:`naeq.staffing.rules`, not
refused; what is refused is input that is wrong (unknown post, bad phone number, a school that is not a sample
school of the county, a day that is not a test day) and the hard rule of a single post: a second person on a post
that allows one ("每样本校 1 人").
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, Problem, ProblemCollector
from naeq.cycles.models import Cycle
from naeq.registry.models import Region, School
from naeq.staffing import access
from naeq.staffing.config import Post, catalogue_for
from naeq.staffing.models import Gender, Slot, StaffAssignment, StaffMember
from naeq.staffing.rules import overlaps
from naeq.staffing.units import is_sample_school, participation_of

PHONE = re.compile(r"^1[0-9]{10}$")
ID_LAST4 = re.compile(r"^[0-9]{3}[0-9X]$")
GENDERS = {"M": "M", "F": "F", "男": "M", "女": "F"}


def _bad(field: str, reason: str) -> InvalidInput:
    return InvalidInput(reason, code="invalid_staff", problems=[Problem(reason=reason, field=field)])


def _clean_person(cycle: Cycle | None, county: Region, data: dict[str, Any]) -> dict[str, Any]:
    """Validated person fields; every fault collected, each naming its field."""
    c = ProblemCollector()
    name = str(data.get("name") or "").strip()
    if not 2 <= len(name) <= 40:
        c.add(_("姓名应为2至40个字符。"), field=_("姓名"), value=name)
    gender = GENDERS.get(str(data.get("gender") or "").strip())
    if gender is None:
        c.add(_("性别应为“男”或“女”。"), field=_("性别"), value=data.get("gender"))
    phone = re.sub(r"[\s-]", "", str(data.get("phone") or ""))
    if not PHONE.match(phone):
        c.add(_("手机号应为以1开头的11位数字。"), field=_("手机号"), value=data.get("phone"))
    last4 = str(data.get("id_last4") or "").strip().upper()
    if last4 and not ID_LAST4.match(last4):
        c.add(_("身份证后四位应为3位数字加1位数字或X；只填后四位，不填完整身份证号。"), field=_("身份证后四位"),
              value=last4)
    home = data.get("home_school")
    if isinstance(home, str):
        code = home.strip()
        home = None
        if code:
            home = School.objects.filter(code=code).first()
            if home is None or home.county_id != county.pk:
                c.add(_("学校标识码“%(code)s”不是本县（区）的学校。") % {"code": code}, field=_("工作单位学校标识码"))
                home = None
    elif home is not None and home.county_id != county.pk:
        c.add(_("工作单位应为本县（区）的学校。"), field=_("工作单位学校标识码"))
    position = str(data.get("position") or "").strip()
    if len(position) > 40:
        c.add(_("职务不能超过40个字符。"), field=_("职务"))
    raw_subjects = data.get("subjects") or []
    if isinstance(raw_subjects, str):
        raw_subjects = [s for s in re.split(r"[、,，;；\s]+", raw_subjects) if s]
    subjects: list[str] = []
    if raw_subjects:
        known = {s.code: s.code for s in cycle.config.subjects} if cycle else {}
        if cycle:
            known.update({s.name: s.code for s in cycle.config.subjects})
        for s in raw_subjects:
            if s not in known:
                c.add(_("未知的学科“%(s)s”，可填：%(known)s。") % {
                    "s": s, "known": "、".join(x.name for x in cycle.config.subjects) if cycle else ""},
                    field=_("任教学科"))
            elif known[s] not in subjects:
                subjects.append(known[s])
    c.raise_if_any(_("人员信息有误。"))
    return {"name": name, "gender": gender, "phone": phone, "id_last4": last4, "home_school": home,
            "position": position, "subjects": subjects}


@transaction.atomic
def person_create(*, actor: Any, county: Region, cycle: Cycle | None, **data: Any) -> StaffMember:
    """Add a person to the county's staff pool."""
    fields = _clean_person(cycle, county, data)
    access.require_person_creator(actor=actor, county=county, home_school=fields["home_school"])
    return _person_insert(actor, county, fields)


@transaction.atomic
def person_add_system(*, county: Region, cycle: Cycle | None, **data: Any) -> StaffMember:
    """The same checks as :func:`person_create` without an acting account (demo data, audited as system)."""
    return _person_insert(None, county, _clean_person(cycle, county, data))


def _person_insert(actor: Any, county: Region, fields: dict[str, Any]) -> StaffMember:
    if StaffMember.objects.filter(county=county, name=fields["name"], phone=fields["phone"]).exists():
        raise _bad(_("姓名"), _("本县（区）已有同名同手机号的人员%(name)s。") % {"name": fields["name"]})
    person = StaffMember(county=county, path=county.path, created_by=actor if getattr(actor, "pk", None) else None,
                         **fields)
    person.full_clean()
    person.save()
    audit_record(actor=actor, action="staffing.person_create", object_type="staffing.StaffMember",
                 object_id=person.pk, after=person.as_audit())
    return person


@transaction.atomic
def person_update(*, actor: Any, person_id: int, cycle: Cycle | None, **data: Any) -> StaffMember:
    person = access.require_person_editor(actor=actor, person_id=person_id)
    before = person.as_audit()
    fields = _clean_person(cycle, person.county, data)
    j_school_editor = access.jurisdiction_of(actor).role in access.SCHOOL_EDITORS
    if j_school_editor and fields["home_school"] != person.home_school:
        raise _bad(_("工作单位学校标识码"), _("学校账户不能把人员改到其他单位。"))
    if StaffMember.objects.filter(county=person.county, name=fields["name"], phone=fields["phone"]).exclude(
            pk=person.pk).exists():
        raise _bad(_("姓名"), _("本县（区）已有同名同手机号的人员%(name)s。") % {"name": fields["name"]})
    for k, v in fields.items():
        setattr(person, k, v)
    person.full_clean()
    person.save()
    audit_record(actor=actor, action="staffing.person_update", object_type="staffing.StaffMember",
                 object_id=person.pk, before=before, after=person.as_audit())
    return person


@transaction.atomic
def person_delete(*, actor: Any, person_id: int) -> None:
    person = access.require_person_editor(actor=actor, person_id=person_id)
    if person.assignments.exists():
        raise InvalidInput(_("%(name)s仍有岗位安排，请先撤销其岗位。") % {"name": person.name}, code="person_assigned")
    before = person.as_audit()
    pk = person.pk
    person.delete()
    audit_record(actor=actor, action="staffing.person_delete", object_type="staffing.StaffMember", object_id=pk,
                 before=before)


def test_days(cycle: Cycle, county: Region) -> list[dt.date]:
    """The days of the cycle's schedule for the county's participation type (every level, multi-day windows
    expanded)."""
    days: set[dt.date] = set()
    for level_days in cycle.config.schedule_of(participation_of(cycle, county)).values():
        for d in level_days:
            if d.end_date is None:
                days.add(d.date)
    return sorted(days)


def _post(cycle: Cycle, code: str) -> Post:
    catalogue = catalogue_for(cycle.year)
    post = catalogue.by_name(code.strip())
    if post is None:
        raise _bad(_("岗位"), _("未知的岗位“%(post)s”，可填：%(known)s。") % {
            "post": code, "known": "、".join(p.name for p in catalogue.posts)})
    return post


def _next_badge(cycle: Cycle, county: Region) -> str:
    prefix = f"{cycle.year}-{county.code}-"
    last = StaffAssignment.objects.filter(cycle=cycle, badge_no__startswith=prefix).aggregate(m=Max("badge_no"))["m"]
    n = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{n:04d}"


def parse_day(raw: Any) -> dt.date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw).strip())
    except ValueError:
        raise _bad(_("测试日期"), _("测试日期格式应为YYYY-MM-DD。")) from None


SLOT_NAMES = {"": "", "全天": "", "am": "am", "上午": "am", "pm": "pm", "下午": "pm"}


def _check_unit(cycle: Cycle, county: Region, post: Post, school: School | None) -> None:
    if post.level == "county" and school is not None:
        raise _bad(_("岗位"), _("“%(post)s”是县级岗位，不属于某所学校。") % {"post": post.name})
    if post.level == "school":
        if school is None:
            raise _bad(_("任职学校标识码"), _("“%(post)s”是学校岗位，请填写任职学校。") % {"post": post.name})
        if school.county_id != county.pk or not is_sample_school(cycle, school):
            raise _bad(_("任职学校标识码"), _("%(school)s不是本县（区）%(year)s年的样本校。") % {
                "school": school.name, "year": cycle.year})


@transaction.atomic
def assignment_create(*, actor: Any, cycle: Cycle, county: Region, post_code: str, person_id: int,
                      school: School | None = None, day: Any = None, slot: str = "") -> StaffAssignment:
    """Put a person on a post of the county team (no school) or of one sample school of the county."""
    post = _post(cycle, post_code)
    _check_unit(cycle, county, post, school)
    access.require_post_editor(actor=actor, post=post, county=county, school=school)
    person = access.people_visible(actor=actor).filter(pk=person_id, county=county).first()
    if person is None:
        raise _bad(_("人员"), _("没有找到该人员，或其不属于本县（区）。"))
    return _assignment_insert(actor, cycle, county, post, person, school, day, slot)


@transaction.atomic
def assignment_add_system(*, cycle: Cycle, county: Region, post_code: str, person: StaffMember,
                          school: School | None = None, day: Any = None, slot: str = "") -> StaffAssignment:
    """The same checks as :func:`assignment_create` without an acting account (demo data, audited as system)."""
    post = _post(cycle, post_code)
    _check_unit(cycle, county, post, school)
    if person.county_id != county.pk:
        raise _bad(_("人员"), _("该人员不属于本县（区）。"))
    return _assignment_insert(None, cycle, county, post, person, school, day, slot)


def _assignment_insert(actor: Any, cycle: Cycle, county: Region, post: Post, person: StaffMember,
                       school: School | None, day: Any, slot: str) -> StaffAssignment:
    the_day = parse_day(day)
    days = test_days(cycle, county)
    if the_day is not None and days and the_day not in days:
        raise _bad(_("测试日期"), _("%(day)s不是本周期的测试日（%(days)s）。") % {
            "day": the_day.isoformat(), "days": "、".join(d.isoformat() for d in days)})
    slot_code = SLOT_NAMES.get(str(slot or "").strip())
    if slot_code is None:
        raise _bad(_("时段"), _("时段应为“全天”“上午”或“下午”。"))
    if slot_code and the_day is None:
        raise _bad(_("时段"), _("填写时段时须同时填写测试日期。"))
    same_unit = StaffAssignment.objects.filter(cycle=cycle, county=county, school=school, post=post.code)
    if post.single:
        holder = same_unit.select_related("person").first()
        if holder is not None:
            raise _bad(_("岗位"), _("“%(post)s”每%(unit)s只设1人，已由%(name)s担任；请先撤销再安排。") % {
                "post": post.name, "unit": _("校") if school else _("县"), "name": holder.person.name})
    new = StaffAssignment(cycle=cycle, post=post.code, single=post.single, county=county, path=county.path,
                          school=school, person=person, day=the_day, slot=slot_code, badge_no="")
    for other in same_unit.filter(person=person):
        if overlaps(other, new):
            raise _bad(_("人员"), _("%(name)s已在该岗位上。") % {"name": person.name})
    new.badge_no = _next_badge(cycle, county)
    new.full_clean()
    new.save()
    audit_record(actor=actor, action="staffing.assignment_create", object_type="staffing.StaffAssignment",
                 object_id=new.pk, after=new.as_audit())
    return new


@transaction.atomic
def assignment_delete(*, actor: Any, assignment_id: int) -> None:
    a = access.assignment_access(actor=actor, assignment_id=assignment_id)
    post = catalogue_for(a.cycle.year).post(a.post)
    if post is None:  # a post no longer in the catalogue: the county removes it
        if not access.may_edit_county(actor=actor, county=a.county):
            raise access.PermissionDenied(_("您的账户不能撤销该岗位安排。"))
    else:
        access.require_post_editor(actor=actor, post=post, county=a.county, school=a.school)
    before = a.as_audit()
    pk = a.pk
    a.delete()
    audit_record(actor=actor, action="staffing.assignment_delete", object_type="staffing.StaffAssignment",
                 object_id=pk, before=before)


# ------------------------------------------------------------------------------------------- bulk import

IMPORT_COLUMNS = ("姓名", "性别", "手机号", "身份证后四位", "工作单位学校标识码", "职务", "任教学科", "岗位",
                  "任职学校标识码", "测试日期", "时段")


@transaction.atomic
def staff_import(*, actor: Any, cycle: Cycle, county: Region, rows: list[tuple[int, dict[str, Any]]],
                 file_name: str) -> dict[str, int]:
    """Import a staff list: each row a person (matched by name and phone in the county, else added) and, when a
    post is given, one assignment. All rows are checked; on any error nothing is imported and every problem is
    reported with its file, row and column."""
    access.require_importer(actor=actor, code=county.code)
    problems: list[Problem] = []
    created = assigned = 0
    for n, row in rows:
        try:
            with transaction.atomic():
                fields = _clean_person(cycle, county, row)
                person = StaffMember.objects.filter(county=county, name=fields["name"],
                                                    phone=fields["phone"]).first()
                if person is None:
                    try:
                        person = person_create(actor=actor, county=county, cycle=cycle, **row)
                    except access.PermissionDenied as exc:
                        raise _bad(_("工作单位学校标识码"), exc.message) from exc
                    created += 1
                if str(row.get("post") or "").strip():
                    code = str(row.get("school") or "").strip()
                    school = School.objects.filter(code=code).first() if code else None
                    if code and school is None:
                        raise _bad(_("任职学校标识码"), _("没有找到学校标识码“%(code)s”。") % {"code": code})
                    assignment_create(actor=actor, cycle=cycle, county=county, post_code=str(row["post"]),
                                      person_id=person.pk, school=school, day=row.get("day"),
                                      slot=str(row.get("slot") or ""))
                    assigned += 1
        except InvalidInput as exc:
            for p in exc.problems or [Problem(reason=exc.message)]:
                problems.append(Problem(reason=p.reason, file=file_name, row=n, field=p.field, value=p.value))
        except access.PermissionDenied as exc:
            problems.append(Problem(reason=exc.message, file=file_name, row=n, field=_("岗位")))
    if not rows:
        problems.append(Problem(reason=_("表格中没有人员。"), file=file_name))
    if problems:
        raise InvalidInput(_("人员名单有误，未导入任何数据。"), code="invalid_staff_list", problems=problems)
    audit_record(actor=actor, action="staffing.import", object_type="registry.Region", object_id=county.code,
                 after={"file": file_name, "cycle": cycle.year, "rows": len(rows), "people_created": created,
                        "assignments": assigned})
    return {"rows": len(rows), "people_created": created, "assignments": assigned}


__all__ = [
    "IMPORT_COLUMNS",
    "Gender",
    "Slot",
    "assignment_create",
    "assignment_delete",
    "person_create",
    "person_delete",
    "person_update",
    "staff_import",
    "test_days",
]
