"""The 数据导出 page (/exports/, web:exports_home): who sees it (authorisation matrix over every persona), the zip
(student file + codebook) limited to the jurisdiction and audited, and the Chinese errors on the form."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from naeq.accounts.roles import Role
from tests.analysis.test_exports import PER_SCHOOL, YEAR_KEY, ExportWorld, exw  # noqa: F401  (the fixture)

#: persona role -> may open the page
MATRIX = {Role.NATIONAL_ADMIN: True, Role.NATIONAL_ANALYST: True, Role.PROVINCE_COORDINATOR: True,
          Role.COUNTY_LIAISON: True, Role.CITY_VIEWER: False, Role.COUNTY_INFO_OFFICER: False,
          Role.COUNTY_MANAGER: False, Role.SCHOOL_HEAD: False, Role.SCHOOL_INFO_OFFICER: False,
          Role.INSPECTOR: False, Role.CHIEF_PROCTOR: False, Role.STUDENT: False, Role.TEACHER: False,
          Role.PRINCIPAL: False, Role.RATER: False}


def _client(ew: ExportWorld, persona: str) -> Client:
    c = Client()
    c.force_login(ew.user(persona))
    return c


def _post(c: Client, ew: ExportWorld, **data: str) -> Any:
    body = {"subject": f"{ew.cycle.year}:{YEAR_KEY}", "format": "csv", "region": "", **data}
    return c.post(reverse("web:exports_home"), body)


def test_matrix_covers_every_role() -> None:
    assert set(MATRIX) == set(Role)


@pytest.mark.parametrize("role", list(MATRIX))
def test_authorisation_matrix(exw: ExportWorld, role: Role) -> None:  # noqa: F811
    from naeq.core.models import AuditEvent

    c = _client(exw, f"{role.value}@A")
    page = c.get(reverse("web:exports_home"))
    assert page.status_code == (200 if MATRIX[role] else 404)
    got = _post(c, exw)
    assert got.status_code == (200 if MATRIX[role] else 404)
    if MATRIX[role]:
        assert got["Content-Type"] == "application/zip"
        assert AuditEvent.objects.filter(action="analysis.export", actor=exw.user(f"{role.value}@A")).count() == 1
    else:
        assert not AuditEvent.objects.filter(action="analysis.export").exists()
    anonymous = Client().get(reverse("web:exports_home"))
    assert anonymous.status_code == 302


def test_form_lists_subjects_regions_and_identified_only_for_admin(exw: ExportWorld) -> None:  # noqa: F811
    html = _client(exw, "county_liaison@A").get(reverse("web:exports_home")).content.decode()
    assert f'value="{exw.cycle.year}:{YEAR_KEY}"' in html and "数据导出" in html
    assert 'value="310101"' in html and 'value="310102"' not in html and 'value="440000"' not in html
    assert 'name="identified"' not in html
    prov = _client(exw, "province_coordinator@A").get(reverse("web:exports_home")).content.decode()
    assert 'value="310102"' in prov and 'value="440101"' not in prov
    admin = _client(exw, "national_admin@A").get(reverse("web:exports_home")).content.decode()
    assert 'name="identified"' in admin and 'value="440101"' in admin


def test_zip_holds_the_county_only(exw: ExportWorld) -> None:  # noqa: F811
    import csv

    got = _post(_client(exw, "county_liaison@A"), exw, format="csv")
    zf = zipfile.ZipFile(io.BytesIO(b"".join(got.streaming_content)))
    data = f"naeq_{exw.cycle.year}_exm_310101.csv"
    assert sorted(zf.namelist()) == sorted([data, "codebook.xlsx", "codebook.csv"])
    assert f'filename="naeq_{exw.cycle.year}_exm_310101_csv.zip"' in got["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(zf.read(data).decode("utf-8"))))
    assert len(rows) == 2 * PER_SCHOOL - 2 and {r["COUNTY"] for r in rows} == {"310101"}


def test_errors_in_chinese_on_the_form(exw: ExportWorld) -> None:  # noqa: F811
    from naeq.core.models import AuditEvent

    c = _client(exw, "county_liaison@A")
    other = _post(c, exw, region="440101")
    assert other.status_code == 404
    assert "没有找到该地区，或该地区不在您的管辖范围内。" in other.content.decode()
    none = _post(c, exw, subject="")
    assert none.status_code == 400 and "请选择监测周期和学科。" in none.content.decode()
    bad = _post(c, exw, format="xls")
    assert bad.status_code == 400 and "不支持的导出格式" in bad.content.decode()
    analyst = _post(_client(exw, "national_analyst@A"), exw, identified="1")
    assert analyst.status_code == 403
    assert "只有国家监测中心管理员" in analyst.content.decode()
    assert not AuditEvent.objects.filter(action="analysis.export").exists()
    admin = _post(_client(exw, "national_admin@A"), exw, identified="1", format="sav")
    assert admin.status_code == 200
    assert (AuditEvent.objects.get(action="analysis.export").after or {})["identified"] is True
