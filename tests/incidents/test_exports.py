"""The Excel exports of the incidents app: the schools' incident report forms and the hotline call log — scoped
to the reader's jurisdiction, phone numbers masked, each export audited."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from naeq.core.models import AuditEvent
from naeq.incidents import services
from tests.delivery.factories import make_session
from tests.personas import World

pytestmark = pytest.mark.django_db
CST = dt.timezone(dt.timedelta(hours=8))


def _rows(content: bytes) -> list[list[Any]]:
    ws = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def test_call_log_export_masks_phones_and_stays_in_the_county(client: Client, world: World, cycle: Any) -> None:
    when = timezone.now() - dt.timedelta(hours=2)
    for persona, phone in (("county_liaison@A", "13912345678"), ("county_liaison@B", "13800000000")):
        services.call_record(actor=world.users[persona], received_at=when, caller_type="parent", topic="question",
                             summary="询问测试时间", caller_phone=phone, cycle=cycle)
    client.force_login(world.users["county_liaison@A"])
    r = client.get("/incidents/hotline.xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = _rows(r.content)
    assert rows[0][:5] == ["来电时间", "县（区）", "涉及学校", "来电人类型", "来电号码"]
    assert len(rows) == 2 and rows[1][1] == world.regions["A1a"].name
    assert rows[1][4] == "139******78" and "13912345678" not in str(rows)
    assert AuditEvent.objects.filter(action="incidents.calls_export", actor=world.users["county_liaison@A"]).exists()
    client.force_login(world.users["school_head@A"])  # the hotline is the county's: not for schools
    assert client.get("/incidents/hotline.xlsx").status_code == 404


def test_report_forms_export_lists_the_forms_of_the_jurisdiction(client: Client, world: World, cycle: Any) -> None:
    day = dt.date(2024, 5, 22)
    for key, persona in (("A1a-1", "school_head@A"), ("B1a-1", "school_head@B")):
        make_session(cycle, world.schools[key], instruments=["math"], status="closed",
                     starts_at=dt.datetime.combine(day, dt.time(8, 30), tzinfo=CST))
        services.report_file(actor=world.users[persona], school_code=world.schools[key].code, test_date=day,
                             no_incident=True, handling="", signed_by="校长甲", cycle=cycle)
    client.force_login(world.users["province_coordinator@A"])
    rows = _rows(client.get("/incidents/reports.xlsx").content)
    assert [r[1] for r in rows[1:]] == [world.schools["A1a-1"].code]
    assert rows[1][3:5] == ["2024-05-22", "是"] and rows[1][7] == "校长甲"
    assert AuditEvent.objects.get(action="incidents.reports_export").after == {"rows": 1}
    client.force_login(world.users["student@A"])
    assert client.get("/incidents/reports.xlsx").status_code == 404
