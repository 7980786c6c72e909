"""The self-checks as Excel: one sheet per kind, one column per checklist item, scoped and audited."""

from __future__ import annotations

import io
from typing import Any

from django.test import Client
from openpyxl import load_workbook

from naeq.core.models import AuditEvent
from naeq.readiness import services
from naeq.readiness.config import config_for
from tests.personas import World
from tests.readiness.conftest import PNG, full_answers


def test_checks_export(client: Client, sample: World, cycle: Any) -> None:
    for persona, key in (("school_head@A", "A1a-1"), ("school_head@B", "B1a-1")):
        code = sample.schools[key].code
        answers = full_answers(cycle)
        answers["two_locks"] = {"value": "no", "remedy": "加装第二把锁", "remedy_date": "2024-05-20"}
        services.check_save(actor=sample.users[persona], cycle=cycle, kind="school", code=code, raw=answers)
        services.evidence_add(actor=sample.users[persona], cycle=cycle, kind="school", code=code,
                              item_id="cabinet_photo", file_name="柜.png", data=PNG)
    client.force_login(sample.users["city_viewer@A"])
    r = client.get("/readiness/checks.xlsx")
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content), read_only=True)
    checklist = config_for(cycle.year).checklists["school"]
    ws = wb[checklist.title[:31]]
    rows = [list(x) for x in ws.iter_rows(values_only=True)]
    assert rows[0][:4] == ["县（区）", "单位标识码", "单位名称", "状态"]
    assert len(rows) == 2 and rows[1][1] == sample.schools["A1a-1"].code and rows[1][3] == "草稿"
    col = {i.id: 7 + n for n, i in enumerate(checklist.items)}
    assert rows[1][col["cabinet_photo"]] == "1个文件"
    assert rows[1][col["two_locks"]] == "否（整改：加装第二把锁 2024-05-20）"
    assert AuditEvent.objects.get(action="readiness.checks_export").after == {"rows": 1}
    client.force_login(sample.users["student@A"])
    assert client.get("/readiness/checks.xlsx").status_code == 404
