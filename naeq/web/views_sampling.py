"""Sampling pages: draws and runs (national), sampled counties and county progress (province, city, county), a
school's sample, students, participation, test takers, exports and printed documents.

Each view parses its input, makes one call to a selector or service (:mod:`naeq.sampling`), and renders. Access
is decided in :mod:`naeq.sampling.access`; a missing and a forbidden object both give 404, a read-only account
writing gives 403. A service's :class:`InvalidInput` on a form is shown as messages on the page it came from.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_POST

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.core.errors import InvalidInput
from naeq.sampling import exports
from naeq.sampling.access import may_draw, may_see_names, may_write_participation, may_write_school
from naeq.sampling.models import RunStatus, SchoolParticipation
from naeq.sampling.selectors import (
    county_progress,
    county_sample,
    cycle_for,
    run_get,
    run_list,
    school_documents,
    school_sample,
)
from naeq.sampling.services import (
    school_participation_set,
    students_draw,
    test_takers_import,
    test_takers_submit,
    weights_compute,
)
from naeq.sampling.tasks import sample_draw_enqueue

NOTICE_RULES = (
    gettext_noop("测试期间请保持安静，服从监测人员安排。"),
    gettext_noop("请携带测试信息条，按测试编号就座。"),
    gettext_noop("测试结束后不得将题本、答题卡带出测试教室。"),
)


def _year(request: HttpRequest) -> int | None:
    raw = request.GET.get("year") or request.POST.get("year")
    if not raw:
        return None
    if not raw.isdigit() or len(raw) != 4:
        raise InvalidInput(_("年度必须是四位数字。"), code="bad_year")
    return int(raw)


def _report(request: HttpRequest, exc: InvalidInput) -> None:
    messages.error(request, exc.message)
    for p in exc.problems[:50]:
        messages.error(request, str(p))


def _xlsx(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=exports.XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _pdf(data: bytes, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ------------------------------------------------------------------------------------------- national


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The sampling entry point: national staff see the runs, region staff the counties, a school its sample."""
    j = jurisdiction_of(request.user)
    if j.is_staff_role and j.is_national:
        return redirect("web:sampling_runs")
    if j.is_staff_role and j.school_id is not None:
        school = getattr(request.user, "school", None)
        return redirect("web:sampling_school", code=school.code if school else "-")
    return redirect("web:sampling_counties")


@require_GET
@login_required
def runs(request: HttpRequest) -> HttpResponse:
    year = _year(request)
    rows = list(run_list(actor=request.user, year=year)[:200])
    return render(request, "web/sampling_runs.html", {"runs": rows, "cycle": cycle_for(year),
                                                       "can_draw": may_draw(actor=request.user)})


@require_POST
@login_required
def draw(request: HttpRequest) -> HttpResponse:
    stage = request.POST.get("stage", "")
    seed_raw = request.POST.get("seed", "").strip()
    # A seed that is not a non-negative integer is passed as -1: the service checks access first, then rejects it.
    seed = None if not seed_raw else int(seed_raw) if seed_raw.isdigit() else -1
    try:
        year = _year(request) or cycle_for(None).year
        run, _job = sample_draw_enqueue(
            actor=request.user, year=year, stage=stage, seed=seed,
            agreement=tuple(request.POST.get("agreement", "").replace("，", ",").split(",")),
            application=tuple(request.POST.get("application", "").replace("，", ",").split(",")),
            replace_existing=request.POST.get("replace") == "1")
    except InvalidInput as exc:
        _report(request, exc)
        return redirect("web:sampling_runs")
    return redirect("web:sampling_run", run_id=run.pk)


@require_POST
@login_required
def weights(request: HttpRequest) -> HttpResponse:
    try:
        run = weights_compute(actor=request.user, year=_year(request) or cycle_for(None).year)
    except InvalidInput as exc:
        _report(request, exc)
        return redirect("web:sampling_runs")
    return redirect("web:sampling_run", run_id=run.pk)


@require_GET
@login_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = run_get(actor=request.user, run_id=run_id)
    working = run.status in (RunStatus.QUEUED, RunStatus.RUNNING)
    return render(request, "web/sampling_run.html", {"run": run, "working": working})


# ------------------------------------------------------------------------------------------- regions


@require_GET
@login_required
def counties(request: HttpRequest) -> HttpResponse:
    year = _year(request)
    rows = county_progress(actor=request.user, year=year)
    return render(request, "web/sampling_counties.html", {"rows": rows, "cycle": cycle_for(year)})


@require_GET
@login_required
def counties_export(request: HttpRequest) -> HttpResponse:
    rows = county_progress(actor=request.user, year=_year(request))
    return _xlsx(exports.progress_xlsx(rows), "sample-counties.xlsx")


@require_GET
@login_required
def county_detail(request: HttpRequest, code: str) -> HttpResponse:
    sample = county_sample(actor=request.user, code=code, year=_year(request))
    return render(request, "web/sampling_county.html", {"sample": sample})


@require_GET
@login_required
def county_export(request: HttpRequest, code: str) -> HttpResponse:
    sample = county_sample(actor=request.user, code=code, year=_year(request))
    return _xlsx(exports.schools_xlsx(sample.schools), f"sample-schools-{code}.xlsx")


# ------------------------------------------------------------------------------------------- schools


@require_GET
@login_required
def school_detail(request: HttpRequest, code: str) -> HttpResponse:
    year = _year(request)
    sample = school_sample(actor=request.user, code=code, year=year)
    return render(request, "web/sampling_school.html", {
        "sample": sample, "names": may_see_names(actor=request.user), "cycle": cycle_for(year),
        "can_participation": may_write_participation(actor=request.user),
        "can_write": may_write_school(actor=request.user), "PARTICIPATING": SchoolParticipation.PARTICIPATING,
        "REFUSED": SchoolParticipation.REFUSED, "PENDING": SchoolParticipation.PENDING,
    })


@require_POST
@login_required
def school_participation(request: HttpRequest, code: str) -> HttpResponse:
    raw = request.POST.get("sampled_school", "")
    try:
        if not raw.isdigit():
            raise InvalidInput(_("请选择样本校。"), code="bad_row")
        school_participation_set(actor=request.user, sampled_school_id=int(raw),
                                 participation=request.POST.get("participation", ""),
                                 reason=request.POST.get("reason", "")[:200])
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("参与情况已保存。"))
    return redirect("web:sampling_school", code=code)


@require_POST
@login_required
def school_students_draw(request: HttpRequest, code: str) -> HttpResponse:
    try:
        students_draw(actor=request.user, year=_year(request) or cycle_for(None).year, school_code=code)
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("已抽取样本学生。"))
    return redirect("web:sampling_school", code=code)


@require_POST
@login_required
def school_test_takers(request: HttpRequest, code: str) -> HttpResponse:
    upload = request.FILES.get("file")
    try:
        n = test_takers_import(actor=request.user, year=_year(request) or cycle_for(None).year, school_code=code,
                               file_name=(upload.name or "upload.xlsx") if upload else "",
                               data=upload.read() if upload else b"")
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("测试生信息已保存（%(n)s人有变化）。") % {"n": n})
    return redirect("web:sampling_school", code=code)


@require_POST
@login_required
def school_test_takers_submit(request: HttpRequest, code: str) -> HttpResponse:
    try:
        test_takers_submit(actor=request.user, year=_year(request) or cycle_for(None).year, school_code=code)
    except InvalidInput as exc:
        _report(request, exc)
    else:
        messages.success(request, _("测试生信息已提交县级审核。"))
    return redirect("web:sampling_school", code=code)


@require_GET
@login_required
def school_students_export(request: HttpRequest, code: str) -> HttpResponse:
    sample = school_sample(actor=request.user, code=code, year=_year(request))
    return _xlsx(exports.students_xlsx(sample.students, with_names=may_see_names(actor=request.user)),
                 f"sample-students-{code}.xlsx")


@require_GET
@login_required
def school_test_taker_template(request: HttpRequest, code: str) -> HttpResponse:
    sample = school_sample(actor=request.user, code=code, year=_year(request))
    return _xlsx(exports.test_taker_template(sample.students, with_names=may_see_names(actor=request.user)),
                 f"test-takers-{code}.xlsx")


@require_GET
@login_required
def school_slips(request: HttpRequest, code: str) -> HttpResponse:
    from naeq.sampling.documents import credential_slips_pdf

    docs = school_documents(actor=request.user, code=code, year=_year(request))
    return _pdf(credential_slips_pdf(docs.rows, title=_("测试信息条")), f"slips-{code}.pdf")


@require_GET
@login_required
def school_notice(request: HttpRequest, code: str) -> HttpResponse:
    from naeq.sampling.documents import notice_board_pdf

    year = cycle_for(_year(request)).year
    docs = school_documents(actor=request.user, code=code, year=year)
    # The seeds' name for it: 《2024 年国家义务教育质量监测公示栏》.
    title = _("%(year)s年国家义务教育质量监测公示栏") % {"year": year}
    return _pdf(notice_board_pdf(school_name=docs.school_name, title=title,
                                 test_time_lines=docs.test_time_lines, rows=docs.rows, hotline=docs.hotline,
                                 rules=[_(r) for r in NOTICE_RULES]), f"notice-{code}.pdf")

