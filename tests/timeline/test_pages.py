"""The 工作进度 pages as a county liaison, a school head and the province use them: overdue highlighted, mark done,
review, the summary form with an attachment, return for revision shown to the unit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from naeq.timeline.models import MilestoneStatus, Report, State
from tests.personas import World

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def on_day(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    """Pages use today's date: pin it to 2024-05-10 (staff lists due 05-04 are overdue, practice due 05-12)."""
    day = dt.date(2024, 5, 10)
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: day)
    return day


def test_liaison_sees_overdue_marks_done_and_province_reviews(client: Client, sample: World, cycle: Any,
                                                             on_day: dt.date) -> None:
    county = sample.regions["A1a"].code
    client.force_login(sample.users["county_liaison@A"])
    home = client.get("/timeline/").content.decode()
    assert 'id="timeline-overdue"' in home and "测试工作人员名单" in home and "border-left:4px solid #c0392b" in home
    assert sample.schools["A1a-1"].name in home and sample.regions["A1b"].name not in home
    page = client.get(f"/timeline/units/{county}/").content.decode()
    assert 'id="m-staff_lists" class="overdue"' in page
    r = client.post(f"/timeline/units/{county}/staff_lists/submit/", {"note": "名单已汇总"})
    assert r.status_code == 302
    st = MilestoneStatus.objects.get(milestone="staff_lists")
    assert st.state == State.SUBMITTED and st.note == "名单已汇总"
    page = client.get(f"/timeline/units/{county}/").content.decode()
    assert 'id="m-staff_lists" class="overdue"' not in page and "逾期提交" in page
    client.force_login(sample.users["province_coordinator@A"])
    reviews = client.get("/timeline/reviews/").content.decode()
    assert "测试工作人员名单" in reviews
    client.post(f"/timeline/units/{county}/staff_lists/review/", {"decision": "return", "reason": ""})
    st.refresh_from_db()
    assert st.state == State.SUBMITTED  # a return without a reason is refused
    client.post(f"/timeline/units/{county}/staff_lists/review/", {"decision": "return", "reason": "缺主监测员"})
    st.refresh_from_db()
    assert (st.state, st.reason) == (State.RETURNED, "缺主监测员")
    client.force_login(sample.users["county_liaison@A"])
    assert "缺主监测员" in client.get(f"/timeline/units/{county}/").content.decode()


def test_summary_form_attachment_and_return(client: Client, sample: World, cycle: Any, on_day: dt.date,
                                           settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    county = sample.regions["A1a"].code
    client.force_login(sample.users["county_liaison@A"])
    form = client.get(f"/timeline/reports/{county}/").content.decode()
    assert "一、基本概况" in form and "<textarea" in form
    r = client.post(f"/timeline/reports/{county}/", {"overview": "概况", "submit": "1"}, follow=True)
    assert "报告尚未填写完整" in r.content.decode() and "二、主要做法与成效" in r.content.decode()
    assert Report.objects.get().state == State.DRAFT
    client.post(f"/timeline/reports/{county}/attachments/",
                {"file": SimpleUploadedFile("总结附件.pdf", PDF, content_type="application/pdf")})
    bad = client.post(f"/timeline/reports/{county}/attachments/",
                      {"file": SimpleUploadedFile("x.pdf", b"not a pdf")}, follow=True).content.decode()
    assert "与扩展名 .pdf 不符" in bad
    rep = Report.objects.get()
    att = rep.attachments.get()
    client.post(f"/timeline/reports/{county}/", {"overview": "概况", "practice": "做法", "problems": "问题",
                                                 "submit": "1"})
    rep.refresh_from_db()
    assert rep.state == State.SUBMITTED
    assert "<textarea" not in client.get(f"/timeline/reports/{county}/").content.decode()
    client.force_login(sample.users["province_coordinator@A"])
    download = client.get(f"/timeline/reports/{county}/attachments/{att.pk}/")
    assert download.status_code == 200 and download.content == PDF
    assert download["Content-Type"] == "application/pdf"
    client.post(f"/timeline/reports/{county}/review/", {"decision": "return", "reason": "请补充工具回邮情况"})
    client.force_login(sample.users["province_coordinator@B"])
    assert client.get(f"/timeline/reports/{county}/attachments/{att.pk}/").status_code == 404
    client.force_login(sample.users["county_liaison@A"])
    page = client.get(f"/timeline/reports/{county}/").content.decode()
    assert "请补充工具回邮情况" in page and "<textarea" in page


def test_home_query_count_is_bounded(client: Client, sample: World, cycle: Any, on_day: dt.date,
                                                   django_assert_max_num_queries: Any) -> None:
    client.force_login(sample.users["national_admin@A"])
    with django_assert_max_num_queries(40):
        body = client.get("/timeline/").content.decode()
    assert sample.regions["A"].name in body and sample.regions["B"].name in body
