"""实施人员 pages (naeq.staffing): the county staff overview with its violations panel, the per-school staff page
with its forms, the person edit page, the staff-list import, and the downloads (staff lists as Excel and PDF,
badges as PDF, the import template).

Each view parses its input, makes one call to a selector or service of :mod:`naeq.staffing`, and renders. Access is
decided in :mod:`naeq.staffing.access` (missing and out-of-jurisdiction both 404; a reader writing gets 403).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.custody.selectors import test_rooms_of
from naeq.registry.models import School
from naeq.staffing import access, documents, selectors, services
from naeq.staffing.config import catalogue_for
from naeq.staffing.models import Gender, Slot


def _year(request: HttpRequest) -> int | None:
    raw = (request.GET.get("year") or request.POST.get("year") or "").strip()
    return int(raw) if raw.isdigit() else None


def _report(request: HttpRequest, exc: InvalidInput) -> None:
    messages.error(request, exc.message)
    for p in exc.problems[:50]:
        messages.error(request, str(p))


def _file(data: bytes, name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{name}"
    return response


def _back(request: HttpRequest, county_code: str) -> HttpResponse:
    school = (request.POST.get("next_school") or "").strip()
    if school.isdigit():
        return redirect("web:staffing_school", code=school)
    return redirect("web:staffing_county", code=county_code)


@require_GET
@login_required
def staffing_home(request: HttpRequest) -> HttpResponse:
    j = jurisdiction_of(request.user)
    if not j.is_staff_role:
        raise NotFound(_("没有找到该页面。"))
    if j.school_id is not None:
        code = School.objects.filter(pk=j.school_id).values_list("code", flat=True).first()
        if code is None:
            raise NotFound(_("没有找到该学校。"))
        return redirect("web:staffing_school", code=code)
    from naeq.sampling.models import RunStatus, SampledCounty, Stage

    cycle = selectors.cycle_for(_year(request))
    counties = SampledCounty.objects.filter(run__cycle=cycle, run__stage=Stage.COUNTY, run__status=RunStatus.DONE)
    if not j.is_national:
        counties = counties.filter(path__startswith=j.path)
    counts = dict(access.assignments_visible(actor=request.user).filter(cycle=cycle).values_list("county_id")
                  .annotate(n=Count("id")).values_list("county_id", "n"))
    rows = [(c.county, c.get_participation_display(), counts.get(c.county_id, 0))
            for c in counties.select_related("county").order_by("county__code")]
    return render(request, "web/staffing/home.html", {"cycle": cycle, "rows": rows})


@require_GET
@login_required
def staffing_county(request: HttpRequest, code: str) -> HttpResponse:
    year = _year(request)
    data = selectors.county_staff(actor=request.user, code=code, year=year,
                                  rooms=test_rooms_of(year=year, county_code=code))
    editable = access.may_edit_county(actor=request.user, county=data.county)
    return render(request, "web/staffing/county.html", {
        "d": data, "editable": editable, "genders": Gender.choices, "subjects": data.cycle.config.subjects,
        "county_posts": data.catalogue.posts_at("county"),
        "school_posts": [p for p in data.catalogue.posts_at("school") if p.sent_by == "county"],
        "slots": Slot.choices, "days": services.test_days(data.cycle, data.county),
        "may_import": access.may_import(actor=request.user, county=data.county),
        "may_badges": editable})


@require_GET
@login_required
def staffing_school(request: HttpRequest, code: str) -> HttpResponse:
    year = _year(request)
    data = selectors.school_staff(actor=request.user, code=code, year=year,
                                  rooms=test_rooms_of(year=year, school_code=code))
    editable_posts = [r for r in data.rows if r.editable]
    j = jurisdiction_of(request.user)
    return render(request, "web/staffing/school.html", {
        "d": data, "editable_posts": editable_posts, "genders": Gender.choices,
        "subjects": data.cycle.config.subjects, "slots": Slot.choices,
        "days": services.test_days(data.cycle, data.school.county),
        "may_add_person": (j.role in access.SCHOOL_EDITORS and j.school_id == data.school.pk)
        or access.may_edit_county(actor=request.user, county=data.school.county),
        "may_import": access.may_import(actor=request.user, county=data.school.county),
        "may_badges": access.may_edit_county(actor=request.user, county=data.school.county),
        "county_reader": j.school_id is None})


def _person_data(request: HttpRequest) -> dict[str, Any]:
    p = request.POST
    return {"name": p.get("name") or "", "gender": p.get("gender") or "", "phone": p.get("phone") or "",
            "id_last4": p.get("id_last4") or "", "home_school": p.get("home_school") or "",
            "position": p.get("position") or "", "subjects": p.getlist("subjects")}


@require_POST
@login_required
def staffing_person_add(request: HttpRequest, code: str) -> HttpResponse:
    county = access.import_county_access(actor=request.user, code=code)
    cycle = selectors.cycle_for(_year(request))
    try:
        person = services.person_create(actor=request.user, county=county, cycle=cycle, **_person_data(request))
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已添加人员%(name)s。") % {"name": person.name})
    return _back(request, county.code)


@require_POST
@login_required
def staffing_assign(request: HttpRequest, code: str) -> HttpResponse:
    county = access.import_county_access(actor=request.user, code=code)
    cycle = selectors.cycle_for(_year(request))
    school_code = (request.POST.get("school") or "").strip()
    person_raw = (request.POST.get("person") or "").strip()
    try:
        school = None
        if school_code:
            school = School.objects.filter(code=school_code, county=county).first()
            if school is None:
                raise InvalidInput(_("本县（区）没有学校标识码为%(code)s的学校。") % {"code": school_code},
                                   code="no_school")
        if not person_raw.isdigit():
            raise InvalidInput(_("请选择人员。"), code="no_person")
        a = services.assignment_create(actor=request.user, cycle=cycle, county=county,
                                       post_code=request.POST.get("post") or "", person_id=int(person_raw),
                                       school=school, day=request.POST.get("day") or None,
                                       slot=request.POST.get("slot") or "")
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已安排%(name)s，胸牌编号%(no)s。") % {"name": a.person.name, "no": a.badge_no})
    return _back(request, county.code)


@require_POST
@login_required
def staffing_unassign(request: HttpRequest, assignment_id: int) -> HttpResponse:
    a = access.assignment_access(actor=request.user, assignment_id=assignment_id)
    try:
        services.assignment_delete(actor=request.user, assignment_id=assignment_id)
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已撤销该岗位安排。"))
    return _back(request, a.county.code)


@require_http_methods(["GET", "POST"])
@login_required
def staffing_person_edit(request: HttpRequest, person_id: int) -> HttpResponse:
    person = access.person_access(actor=request.user, person_id=person_id)
    cycle = selectors.cycle_for(_year(request))
    if request.method == "POST":
        access.require_person_editor(actor=request.user, person_id=person_id)
        try:
            services.person_update(actor=request.user, person_id=person_id, cycle=cycle, **_person_data(request))
        except InvalidInput as exc:
            _report(request, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("web:staffing_person_edit", person_id=person_id)
    assignments = access.assignments_visible(actor=request.user).filter(person=person).select_related(
        "school", "cycle")
    return render(request, "web/staffing/person.html", {
        "p": person, "genders": Gender.choices, "subjects": cycle.config.subjects,
        "editable": access.may_edit_person(actor=request.user, person=person),
        "assignments": [(a, (catalogue_for(a.cycle.year).post(a.post) or a.post)) for a in assignments]})


@require_POST
@login_required
def staffing_person_delete(request: HttpRequest, person_id: int) -> HttpResponse:
    person = access.require_person_editor(actor=request.user, person_id=person_id)
    county_code = person.county.code
    try:
        services.person_delete(actor=request.user, person_id=person_id)
    except InvalidInput as exc:
        _report(request, exc)
        return redirect("web:staffing_person_edit", person_id=person_id)
    messages.success(request, _("已删除该人员。"))
    if jurisdiction_of(request.user).school_id is not None:
        return redirect("web:staffing_home")
    return redirect("web:staffing_county", code=county_code)


@require_http_methods(["GET", "POST"])
@login_required
def staffing_import(request: HttpRequest, code: str) -> HttpResponse:
    county = access.require_importer(actor=request.user, code=code)
    cycle = selectors.cycle_for(_year(request))
    problems: list[Any] = []
    error = ""
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise InvalidInput(_("请选择要上传的Excel文件。"), code="no_file")
            name = upload.name or "upload.xlsx"
            rows = documents.read_import_sheet(file_name=name, data=upload.read())
            result = services.staff_import(actor=request.user, cycle=cycle, county=county, rows=rows,
                                           file_name=name)
        except InvalidInput as exc:
            error, problems, status = exc.message, exc.problems, 400
        else:
            messages.success(request, _("已导入%(rows)s行：新增人员%(people)s人，岗位安排%(a)s个。") % {
                "rows": result["rows"], "people": result["people_created"], "a": result["assignments"]})
            j = jurisdiction_of(request.user)
            if j.school_id is not None:
                return redirect("web:staffing_home")
            return redirect("web:staffing_county", code=county.code)
    return render(request, "web/staffing/import.html", {"county": county, "cycle": cycle, "error": error,
                                                          "problems": problems}, status=status)


@require_GET
@login_required
def staffing_template(request: HttpRequest) -> HttpResponse:
    if not jurisdiction_of(request.user).is_staff_role:
        raise NotFound(_("没有找到该页面。"))
    cycle = selectors.cycle_for(_year(request))
    data = documents.import_template(post_names=[p.name for p in catalogue_for(cycle.year).posts])
    return _file(data, "staff-list-template.xlsx", documents.XLSX)


def _county_lines(request: HttpRequest, code: str) -> tuple[Any, Any, list[documents.StaffLine]]:
    county = access.county_access(actor=request.user, code=code)
    cycle = selectors.cycle_for(_year(request))
    rows = selectors.badge_rows(actor=request.user, cycle=cycle, county=county)
    return county, cycle, selectors.staff_lines(rows, catalogue_for(cycle.year))


def _school_lines(request: HttpRequest, code: str) -> tuple[Any, Any, list[documents.StaffLine]]:
    school = access.school_access(actor=request.user, code=code)
    cycle = selectors.cycle_for(_year(request))
    rows = selectors.badge_rows(actor=request.user, cycle=cycle, county=school.county, school=school)
    return school, cycle, selectors.staff_lines(rows, catalogue_for(cycle.year))


@require_GET
@login_required
def staffing_county_xlsx(request: HttpRequest, code: str) -> HttpResponse:
    county, cycle, lines = _county_lines(request, code)
    title = _("%(county)s %(cycle)s 实施人员名单") % {"county": county.name, "cycle": cycle.name}
    return _file(documents.staff_list_xlsx(lines, title=title), f"staff-{county.code}.xlsx", documents.XLSX)


@require_GET
@login_required
def staffing_county_pdf(request: HttpRequest, code: str) -> HttpResponse:
    county, cycle, lines = _county_lines(request, code)
    title = _("%(county)s %(cycle)s 实施人员名单") % {"county": county.name, "cycle": cycle.name}
    return _file(documents.staff_list_pdf(lines, title=title), f"staff-{county.code}.pdf", "application/pdf")


@require_GET
@login_required
def staffing_county_badges(request: HttpRequest, code: str) -> HttpResponse:
    county, cycle, lines = _county_lines(request, code)
    if not access.may_edit_county(actor=request.user, county=county):
        raise PermissionDenied(_("胸牌由县级实施工作领导小组统一制作并配发，您的账户只能查看名单。"))
    return _file(documents.badges_pdf(lines, cycle_name=cycle.name), f"badges-{county.code}.pdf", "application/pdf")


@require_GET
@login_required
def staffing_school_xlsx(request: HttpRequest, code: str) -> HttpResponse:
    school, cycle, lines = _school_lines(request, code)
    title = _("%(school)s %(cycle)s 实施人员名单") % {"school": school.name, "cycle": cycle.name}
    return _file(documents.staff_list_xlsx(lines, title=title), f"staff-{school.code}.xlsx", documents.XLSX)


@require_GET
@login_required
def staffing_school_pdf(request: HttpRequest, code: str) -> HttpResponse:
    school, cycle, lines = _school_lines(request, code)
    title = _("%(school)s %(cycle)s 实施人员名单") % {"school": school.name, "cycle": cycle.name}
    return _file(documents.staff_list_pdf(lines, title=title), f"staff-{school.code}.pdf", "application/pdf")


@require_GET
@login_required
def staffing_school_badges(request: HttpRequest, code: str) -> HttpResponse:
    school, cycle, lines = _school_lines(request, code)
    if not access.may_edit_county(actor=request.user, county=school.county):
        raise PermissionDenied(_("胸牌由县级实施工作领导小组统一制作并配发，您的账户只能查看名单。"))
    return _file(documents.badges_pdf(lines, cycle_name=cycle.name), f"badges-{school.code}.pdf",
                 "application/pdf")


