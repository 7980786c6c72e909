"""Sampling pages on a county-scale world: request → response → database → audit, exports, query counts."""

from __future__ import annotations

import io
import re
import subprocess
from typing import Any

import pytest
from django.test import Client
from openpyxl import Workbook, load_workbook

from naeq.accounts.roles import Role
from naeq.accounts.services import user_create
from naeq.core.models import AuditEvent
from naeq.registry.models import Region, Submission, SubmissionKind, SubmissionStatus
from naeq.sampling import services
from naeq.sampling.models import (
    RunStatus,
    SampledSchool,
    SampledStudent,
    SampleRun,
    SchoolParticipation,
    Stage,
    StudentStatus,
)
from tests.sampling.conftest import County, draw_students


@pytest.fixture
def drawn(county: County) -> dict[str, Any]:
    services.sample_draw(actor=county.admin, year=county.year, stage=Stage.COUNTY, seed=21)
    run = services.sample_draw(actor=county.admin, year=county.year, stage=Stage.SCHOOL, seed=21)
    for pk in SampledSchool.objects.filter(participation=SchoolParticipation.PENDING).values_list("pk", flat=True):
        services.school_participation_set(actor=county.liaison, sampled_school_id=pk,
                                          participation=SchoolParticipation.PARTICIPATING)
    codes = sorted(set(SampledSchool.objects.filter(participation=SchoolParticipation.PARTICIPATING)
                       .values_list("school__code", flat=True)))
    for code in codes[:3]:
        draw_students(actor=county.liaison, year=county.year, school_code=code)
    return {"run": run, "codes": codes}


def _sheet(data: bytes) -> list[list[Any]]:
    ws = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def _xlsx(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_draw_page_queues_the_job_and_shows_the_run(client: Client, county: County) -> None:
    client.force_login(county.admin)
    response = client.post("/sampling/runs/draw/", {"stage": "county", "seed": "77", "year": county.year})
    run = SampleRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/sampling/runs/{run.pk}/"
    assert run.status == RunStatus.DONE and run.seed == 77  # jobs run in-process in tests
    page = client.get(response["Location"]).content.decode()
    assert run.frame_hash in page and run.design_hash in page and "77" in page
    assert 'http-equiv="refresh"' not in page  # done: no more refreshing
    runs = client.get("/sampling/runs/").content.decode()
    assert run.frame_hash[:19] in runs
    assert AuditEvent.objects.filter(action="sampling.draw_start", actor=county.admin).exists()


def test_bad_seed_is_refused_with_a_message(client: Client, county: County) -> None:
    client.force_login(county.admin)
    response = client.post("/sampling/runs/draw/", {"stage": "county", "seed": "abc"}, follow=True)
    assert "随机种子必须是非负整数" in response.content.decode()
    assert not SampleRun.objects.exists()


def test_participation_page_records_refusal_and_calls_in_replacement(client: Client, county: County,
                                                                     drawn: dict[str, Any]) -> None:
    row = (SampledSchool.objects.filter(run=drawn["run"], role="sampled", replacements__role="replacement_1")
           .exclude(students__isnull=False).first())
    assert row is not None
    row.participation = SchoolParticipation.PENDING
    row.save()
    client.force_login(county.liaison)
    response = client.post(f"/sampling/schools/{row.school.code}/participation/",
                           {"sampled_school": row.pk, "participation": "refused", "reason": "学校撤并"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.participation == SchoolParticipation.REFUSED and row.participation_reason == "学校撤并"
    r1 = SampledSchool.objects.get(replaces=row, role="replacement_1")
    assert r1.participation == SchoolParticipation.PENDING
    event = AuditEvent.objects.filter(action="sampling.participation_set", object_id=str(row.pk)).last()
    assert event is not None and event.after["participation"] == "refused"
    county_page = client.get(f"/sampling/counties/{county.code}/").content.decode()
    assert f"/sampling/schools/{row.school.code}/" in county_page  # the replacement links to the school it replaces


def test_test_taker_upload_row_errors_then_success_then_submit(client: Client, county: County,
                                                               drawn: dict[str, Any]) -> None:
    # Seeds (2024 plan): the school "上报...测试生基本信息（含缺席测试生），经校长审核后提交县级审核".
    code = drawn["codes"][0]
    client.force_login(county.liaison)
    template = client.get(f"/sampling/schools/{code}/test-takers.xlsx")
    rows = _sheet(template.content)
    header = rows[0]
    assert header[0] == "测试编号" and header[-1] == "测试情况"
    body = rows[1:]
    ids = [r[0] for r in body]
    bad = [header] + [[*r[:-1], "到考"] for r in body]
    bad[2][-1] = "请假"
    bad[3][0] = "12345678901234"
    response = client.post(f"/sampling/schools/{code}/test-takers/",
                           {"file": _upload("takers.xlsx", _xlsx(bad))}, follow=True)
    text = response.content.decode()
    assert "takers.xlsx row 3" in text and "takers.xlsx row 4" in text
    assert set(SampledStudent.objects.filter(test_id__in=ids).values_list("status", flat=True)) == {"pending"}
    response = client.post(f"/sampling/schools/{code}/test-takers/submit/", follow=True)
    assert "未填写测试情况" in response.content.decode()
    good = [header] + [[*r[:-1], "缺考" if i == 0 else "到考"] for i, r in enumerate(body)]
    client.post(f"/sampling/schools/{code}/test-takers/", {"file": _upload("takers.xlsx", _xlsx(good))})
    assert SampledStudent.objects.get(test_id=ids[0]).status == StudentStatus.ABSENT
    assert SampledStudent.objects.filter(test_id__in=ids, status=StudentStatus.PRESENT).count() == len(ids) - 1
    response = client.post(f"/sampling/schools/{code}/test-takers/submit/")
    assert response.status_code == 302
    sub = Submission.objects.get(kind=SubmissionKind.TEST_TAKERS, school__code=code)
    assert sub.status == SubmissionStatus.SUBMITTED and sub.pending_level == "county"
    # Once submitted, the statuses are frozen until the county returns them.
    client.post(f"/sampling/schools/{code}/test-takers/", {"file": _upload("takers.xlsx", _xlsx(bad))})
    assert SampledStudent.objects.get(test_id=ids[0]).status == StudentStatus.ABSENT


def _upload(name: str, data: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/vnd.openxmlformats-officedocument"
                                                      ".spreadsheetml.sheet")


def test_student_exports_are_pseudonymised_above_the_county(client: Client, county: County,
                                                            drawn: dict[str, Any]) -> None:
    code = drawn["codes"][0]
    province = Region.objects.get(level="province")
    coordinator = user_create(actor=None, username="prov", password="x-pass-2026", role=Role.PROVINCE_COORDINATOR,
                              region=province)
    names = set(SampledStudent.objects.filter(sampled_school__school__code=code)
                .values_list("student__name", flat=True))
    client.force_login(coordinator)
    rows = _sheet(client.get(f"/sampling/schools/{code}/students.xlsx").content)
    assert "姓名" not in rows[0] and rows[0][:3] == ["测试编号", "性别", "出生年月"]
    assert not names & {c for r in rows for c in r}
    assert not any(n in client.get(f"/sampling/schools/{code}/").content.decode() for n in names)
    assert client.get(f"/sampling/schools/{code}/slips.pdf").status_code == 403
    client.force_login(county.liaison)
    rows = _sheet(client.get(f"/sampling/schools/{code}/students.xlsx").content)
    assert rows[0][1] == "姓名" and {r[1] for r in rows[1:]} == names


def test_credential_slips_for_the_county(client: Client, county: County, drawn: dict[str, Any]) -> None:
    code = drawn["codes"][0]
    client.force_login(county.liaison)
    response = client.get(f"/sampling/schools/{code}/slips.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    notice = client.get(f"/sampling/schools/{code}/notice.pdf")
    assert notice.status_code == 200 and notice.content.startswith(b"%PDF")


def test_notice_board_prints_the_county_supervision_hotline(client: Client, county: County,
                                                              drawn: dict[str, Any]) -> None:
    """2024 city plan: the county sets up a public supervision hotline (监督专线); the notice board shows it."""
    from naeq.registry.services import county_mailing_update

    county_mailing_update(actor=county.liaison, code=county.code, supervision_hotline="0971-1234567")
    client.force_login(county.liaison)
    pdf = client.get(f"/sampling/schools/{drawn['codes'][0]}/notice.pdf").content
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "0971-1234567" in text
    assert f"{county.year}年国家义务教育质量监测公示栏" in text.replace(" ", "")


def test_progress_table_counts(client: Client, county: County, drawn: dict[str, Any]) -> None:
    client.force_login(county.liaison)
    page = client.get("/sampling/counties/").content.decode()
    row = page[page.index(f"<code>{county.code}</code>"):]
    cells = [int(c.replace(",", "")) for c in re.findall(r'<td class="num">([\d,]+)</td>', row)[:8]]
    sampled = SampledSchool.objects.filter(run=drawn["run"], role="sampled").count()
    drawn_rows = SampledSchool.objects.filter(students__isnull=False).distinct().count()
    assert cells == [sampled, sampled, sampled, 0, drawn_rows, drawn_rows, 0, 0]  # rosters submitted for those
    rows = _sheet(client.get("/sampling/counties/export.xlsx").content)
    assert rows[1][0] == county.code and rows[1][4:] == [sampled, sampled, sampled, 0, drawn_rows, drawn_rows, 0, 0]


@pytest.mark.parametrize("url", ["/sampling/counties/", "/sampling/counties/{county}/", "/sampling/schools/{school}/",
                                 "/sampling/runs/"])
def test_list_pages_use_a_fixed_number_of_queries(client: Client, county: County, drawn: dict[str, Any],
                                                  url: str, django_assert_max_num_queries: Any) -> None:
    client.force_login(county.admin)
    target = url.format(county=county.code, school=drawn["codes"][0])
    # Session, user, cycle and the page's own two or three reads; independent of the 20+ schools and 60 students.
    with django_assert_max_num_queries(12):
        response = client.get(target)
    assert response.status_code == 200


def test_progress_counts_test_takers_approved_by_the_province(client: Client, county: County,
                                                               drawn: dict[str, Any]) -> None:
    from naeq.registry.services import submission_review

    code = drawn["codes"][0]
    ids = list(SampledStudent.objects.filter(sampled_school__school__code=code).values_list("test_id", flat=True))
    services.test_takers_set(actor=county.liaison, year=county.year, school_code=code,
                             statuses=dict.fromkeys(ids, "到考"))
    sub = services.test_takers_submit(actor=county.liaison, year=county.year, school_code=code)
    province = Region.objects.get(level="province")
    coordinator = user_create(actor=None, username="prov2", password="x-pass-2026",
                              role=Role.PROVINCE_COORDINATOR, region=province)
    submission_review(actor=county.liaison, submission_id=sub.pk, approve=True)
    client.force_login(county.liaison)
    rows = _sheet(client.get("/sampling/counties/export.xlsx").content)
    assert rows[1][-1] == 0  # approved by the county, not yet by the province
    submission_review(actor=coordinator, submission_id=sub.pk, approve=True)
    rows = _sheet(client.get("/sampling/counties/export.xlsx").content)
    school_rows = SampledSchool.objects.filter(school__code=code, students__isnull=False).distinct().count()
    assert rows[1][-2] >= school_rows and rows[1][-1] == school_rows
    page = client.get(f"/sampling/schools/{code}/").content.decode()
    assert "已通过" in page


def test_queued_run_page_shows_progress_and_refreshes(client: Client, county: County) -> None:
    run = services.sample_draw_start(actor=county.admin, year=county.year, stage=Stage.COUNTY, seed=4)
    client.force_login(county.admin)
    page = client.get(f"/sampling/runs/{run.pk}/").content.decode()
    assert 'http-equiv="refresh"' in page and "<progress" in page and "排队中" in page
    services.sample_run_execute(run_id=run.pk)
    page = client.get(f"/sampling/runs/{run.pk}/").content.decode()
    assert 'http-equiv="refresh"' not in page and "已完成" in page


def test_test_taker_upload_that_is_not_a_workbook_or_lacks_columns(client: Client, county: County,
                                                                    drawn: dict[str, Any]) -> None:
    code = drawn["codes"][0]
    client.force_login(county.liaison)
    response = client.post(f"/sampling/schools/{code}/test-takers/",
                           {"file": _upload("takers.xlsx", b"not a workbook")}, follow=True)
    assert "无法读取该文件" in response.content.decode()
    response = client.post(f"/sampling/schools/{code}/test-takers/",
                           {"file": _upload("takers.xlsx", _xlsx([["测试编号", "姓名"], ["1", "x"]]))}, follow=True)
    assert "takers.xlsx row 1, 测试情况" in response.content.decode()
    assert set(SampledStudent.objects.values_list("status", flat=True)) == {StudentStatus.PENDING}


def test_school_page_names_the_booklets_by_subject(client: Client, county: County, drawn: dict[str, Any]) -> None:
    code = drawn["codes"][0]
    client.force_login(county.liaison)
    page = client.get(f"/sampling/schools/{code}/").content.decode()
    student = SampledStudent.objects.filter(sampled_school__school__code=code).first()
    assert student is not None and "math" in student.booklets
    assert f"数学 {student.booklets['math']}" in page
    assert "math:" not in page
