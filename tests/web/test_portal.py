"""The public portal (issue 5, deliverable 10): the cycle's home page, downloads, help, and each sample school's
notice board "于测试前一天在校内醒目位置设置…公示栏，公示期为 5 天，公示内容包括测试时间、测试学生名单（预留位置）、
举报电话及测试生守则" (2024-nanchang-city-plan.txt 二(二)(6)) — public only while it is posted, and without names."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.test import Client

from naeq.cycles.models import Cycle
from naeq.cycles.selectors import schedule_for
from naeq.sampling.models import SampledSchool, SampledStudent, SchoolParticipation
from naeq.sampling.services import sample_demo
from tests.sampling.conftest import County, county, synth_county_world  # noqa: F401  (fixtures)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/portal/", "/portal/help/", "/portal/downloads/"])
def test_public_pages_need_no_account(client: Client, url: str) -> None:
    from naeq.cycles.services import load_shipped_cycles

    load_shipped_cycles()
    resp = client.get(url)
    assert resp.status_code == 200
    assert "工作人员登录" in resp.content.decode()


@pytest.mark.django_db
def test_home_shows_the_current_cycle_and_its_test_days(client: Client) -> None:
    from naeq.cycles.services import load_shipped_cycles

    cycle = next(c for c in load_shipped_cycles() if c.is_current)
    html = client.get("/portal/").content.decode()
    assert cycle.name in html
    first = min(e.date for e in schedule_for(cycle, school_level="middle") if "student" in e.respondents)
    assert first.isoformat() in html
    assert "数学" in html


@pytest.mark.django_db
def test_blank_templates_download_without_an_account(client: Client) -> None:
    resp = client.get("/portal/downloads/roster-students.xlsx")
    assert resp.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(resp.content))
    assert "填写说明" in book.sheetnames
    assert client.get("/portal/downloads/roster-nothing.xlsx").status_code == 404


def _participating(year: int) -> tuple[SampledSchool, dt.date]:
    row = (SampledSchool.objects.filter(run__cycle__year=year, participation=SchoolParticipation.PARTICIPATING)
           .select_related("school").order_by("school__code").first())
    assert row is not None
    cycle = Cycle.objects.get(year=year)
    first = min(e.date for e in schedule_for(cycle, school_level=row.school.level) if "student" in e.respondents)
    return row, first


def _on(monkeypatch: pytest.MonkeyPatch, day: dt.date) -> None:
    monkeypatch.setattr("naeq.web.views_portal.timezone.localdate", lambda: day)


def test_the_notice_board_is_public_only_while_it_is_posted(client: Client, county: County,  # noqa: F811
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    sample_demo(actor=county.admin, county_actor=county.liaison, county_code=county.code, year=county.year)
    row, first = _participating(county.year)
    url = f"/portal/notice/{row.school.code}/"
    # "于测试前一天 … 公示期为 5 天": from the day before the first test day through four days later.
    for day, shown in [(first - dt.timedelta(days=2), False), (first - dt.timedelta(days=1), True),
                       (first, True), (first + dt.timedelta(days=3), True), (first + dt.timedelta(days=4), False)]:
        _on(monkeypatch, day)
        assert client.get(url).status_code == (200 if shown else 404), day


def test_the_notice_board_shows_times_hotline_rules_and_no_names(client: Client, county: County,  # noqa: F811
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from naeq.registry.models import Region

    sample_demo(actor=county.admin, county_actor=county.liaison, county_code=county.code, year=county.year)
    Region.objects.filter(code=county.code).update(supervision_hotline="0791-12345678")
    row, first = _participating(county.year)
    _on(monkeypatch, first)
    html = client.get(f"/portal/notice/{row.school.code}/").content.decode()
    assert row.school.name in html and "0791-12345678" in html
    assert first.strftime("%m-%d") in html
    assert "测试生守则" in html
    students = SampledStudent.objects.filter(sampled_school__school=row.school).select_related("student")
    assert students.exists()
    for s in students:
        assert s.student.name not in html, "a minor's name must never be on the public page"
        assert s.test_id not in html


def test_a_school_that_is_not_a_participating_sample_school_has_no_notice(client: Client, county: County,  # noqa: F811
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from naeq.registry.models import School

    sample_demo(actor=county.admin, county_actor=county.liaison, county_code=county.code, year=county.year)
    row, first = _participating(county.year)
    _on(monkeypatch, first)
    sampled = SampledSchool.objects.filter(run__cycle__year=county.year).values_list("school_id", flat=True)
    other = School.objects.exclude(pk__in=sampled).first()
    assert other is not None
    missing = client.get(f"/portal/notice/{other.code}/")
    unknown = client.get("/portal/notice/0000000000/")
    assert missing.status_code == unknown.status_code == 404
    SampledSchool.objects.filter(school=row.school).update(participation=SchoolParticipation.REFUSED)
    assert client.get(f"/portal/notice/{row.school.code}/").status_code == 404


