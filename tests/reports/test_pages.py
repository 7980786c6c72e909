"""The reports pages: every URL × every persona (missing and forbidden are the same 404), the report inside the
platform layout, the PDF download (audited), the start form and rerun, the status for the progress bars."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from naeq.accounts.roles import Role
from naeq.core.models import AuditEvent
from naeq.reports import services
from naeq.reports.models import Report, ReportBatch
from tests.reports.conftest import ReportsWorld

NATIONAL = {Role.NATIONAL_ADMIN, Role.NATIONAL_ANALYST}


@pytest.fixture
def batch(rw: ReportsWorld, django_capture_on_commit_callbacks: Any) -> ReportBatch:
    """Province A's report, its two counties' and the national report (one process: the matrix is about access)."""
    with django_capture_on_commit_callbacks(execute=True):
        services.report_batch_start(actor=rw.analyst, cycle=rw.cycle, levels=["county", "province"],
                                    region=rw.world.regions["A"], workers=1)
        b = services.report_batch_start(actor=rw.analyst, cycle=rw.cycle, levels=["nation", "county"],
                                        region=None, workers=1)
    b.refresh_from_db()
    assert b.status == "done"
    return b


def _client(rw: ReportsWorld, persona: str) -> Client:
    c = Client()
    c.force_login(rw.world.users[persona])
    return c


def _may_read(role: str, persona_province: str, report: Report, rw: ReportsWorld) -> bool:
    """The rule, written independently of naeq.reports.access."""
    if role in NATIONAL:
        return True
    if report.level == "nation":
        return False
    anchor: str | None = {str(Role.PROVINCE_COORDINATOR): persona_province,
                          str(Role.CITY_VIEWER): f"{persona_province}1",
              str(Role.COUNTY_LIAISON): f"{persona_province}1a",
              str(Role.COUNTY_MANAGER): f"{persona_province}1a"}.get(
        str(role))
    if anchor is None:
        return False
    return report.path.startswith(rw.world.regions[anchor].path)


def test_authorisation_matrix(rw: ReportsWorld, batch: ReportBatch) -> None:
    reports = list(Report.objects.all())
    assert len(reports) == 3 + 5  # province A + A1a + A1b; nation + four counties
    missing = max(r.pk for r in reports) + 100
    for persona, user in rw.world.users.items():
        if persona.endswith("@B") and user.role in NATIONAL:
            continue
        c = _client(rw, persona)
        home = c.get(reverse("web:reports_home"), {"batch": batch.pk})
        assert home.status_code == 200, persona
        generator = user.role in NATIONAL
        assert ('id="start-form"' in home.content.decode()) is generator, persona
        status = c.get(reverse("web:reports_status")).json()["runs"]
        assert [b["id"] for b in status] == ([b.pk for b in ReportBatch.objects.order_by("-created_at", "-id")]
                                             if generator else []), persona
        for r in reports:
            ok = _may_read(user.role, persona[-1], r, rw)
            page = c.get(reverse("web:report", args=[r.pk]))
            pdf = c.get(reverse("web:report_pdf", args=[r.pk]))
            assert page.status_code == (200 if ok else 404), (persona, r.title)
            assert pdf.status_code == (200 if ok else 404), (persona, r.title)
            if ok:
                assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
                assert r.title in page.content.decode()
            listed = f'href="{reverse("web:report", args=[r.pk])}"' in home.content.decode()
            newest = max(x.batch_id for x in reports if (x.level, x.path) == (r.level, r.path))
            assert listed is (ok and r.batch_id == (batch.pk if generator else newest)), (persona, r.title)
        assert c.get(reverse("web:report", args=[missing])).status_code == 404
        assert c.get(reverse("web:report_pdf", args=[missing])).status_code == 404
        start = c.post(reverse("web:reports_start"), {"cycle": rw.cycle.pk, "level": ["nation"], "workers": "1"})
        rerun = c.post(reverse("web:reports_rerun", args=[batch.pk]))
        if generator:
            assert start.status_code == 302 and rerun.status_code == 302
        else:
            assert start.status_code == 404 and rerun.status_code == 404, persona
    anon = Client()
    assert anon.get(reverse("web:report", args=[reports[0].pk])).status_code == 302  # to the sign-in page


def test_report_page_and_audited_download(rw: ReportsWorld, batch: ReportBatch) -> None:
    county = rw.world.regions["A1a"]
    r = Report.objects.get(batch=batch, path=county.path)
    c = _client(rw, "county_liaison@A")
    page = c.get(reverse("web:report", args=[r.pk])).content.decode()
    assert '<article class="naeq-report">' in page and "校际差异率" in page and "主要结果" in page
    assert "data:image/png;base64," in page and 'href="/reports/' in page
    before = AuditEvent.objects.filter(action="reports.download").count()
    pdf = c.get(reverse("web:report_pdf", args=[r.pk]))
    assert pdf.status_code == 200 and pdf["Cache-Control"] == "private, no-store"
    ev = AuditEvent.objects.filter(action="reports.download").order_by("-id").first()
    assert AuditEvent.objects.filter(action="reports.download").count() == before + 1
    assert ev is not None and ev.actor == rw.world.users["county_liaison@A"]
    assert ev.after == {"kind": "pdf", "sha256": r.pdf_sha256, "path": county.path, "batch": batch.pk}


def test_start_form_reports_problems(rw: ReportsWorld, batch: ReportBatch) -> None:
    c = _client(rw, "national_analyst@A")
    resp = c.post(reverse("web:reports_start"), {"cycle": rw.cycle.pk, "level": ["school"], "region": "999999"},
                  follow=True)
    assert "没有代码为“999999”的地区。" in resp.content.decode()
    resp = c.post(reverse("web:reports_start"), {"cycle": rw.cycle.pk, "level": ["school"]}, follow=True)
    assert "报告层级只能是 county、province 或 nation。" in resp.content.decode()
    assert ReportBatch.objects.count() == 2
