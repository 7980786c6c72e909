"""Trainings, attendance import (all or nothing, per-row errors) and the coverage table.

Seeds: 2024-nanchang-city-plan.txt (6)：
"对责任督学、样本校校长、副校长、主监测员、监测员、信息员、保密员、司时员等进行统一培训";
2023-dongli-district-rules.txt："组织本校监测工作人员培训，确保所有监测工作人员掌握测试规范、明确工作职责。"
"""

from __future__ import annotations

from typing import Any

import pytest

from naeq.core.errors import InvalidInput, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.readiness import selectors, services
from naeq.readiness.attendance import template_bytes
from naeq.readiness.config import config_for
from naeq.readiness.models import TrainingAttendance, TrainingLevel
from tests.personas import World
from tests.readiness.conftest import workbook

FORM = {"title": "测试程序与工作规范培训", "topics": ["procedure", "pe"], "date": "2024-05-08", "place": "县教育局",
        "trainer": "督导室"}


def _create(actor: Any, cycle: Any, **over: Any) -> Any:
    return services.training_create(actor=actor, cycle=cycle, **{**FORM, **over})


def test_county_records_its_training_audited(sample: World, cycle: Any) -> None:
    liaison = sample.users["county_liaison@A"]
    event = _create(liaison, cycle)
    assert event.level == TrainingLevel.COUNTY and event.region == sample.regions["A1a"] and event.school is None
    audit = AuditEvent.objects.get(action="readiness.training_create", object_id=str(event.pk))
    assert audit.actor == liaison and audit.after["topics"] == ["procedure", "pe"]


def test_school_records_its_internal_training(sample: World, cycle: Any) -> None:
    event = _create(sample.users["school_head@A"], cycle)
    assert event.level == TrainingLevel.SCHOOL and event.school == sample.schools["A1a-1"]


def test_training_form_errors_name_each_field(sample: World, cycle: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        _create(sample.users["county_liaison@A"], cycle, title="", topics=["nope"], date="2024/05/08", place="",
                trainer="")
    fields = {p.field for p in exc.value.problems}
    assert fields == {"培训名称", "培训内容", "培训日期", "培训地点", "培训人"}
    assert not AuditEvent.objects.filter(action="readiness.training_create").exists()


@pytest.mark.parametrize("persona", ["city_viewer@A", "inspector@A", "national_analyst@A"])
def test_readers_cannot_record_trainings(sample: World, cycle: Any, persona: str) -> None:
    with pytest.raises(PermissionDenied):
        _create(sample.users[persona], cycle)


def test_attendance_import_replaces_rows_and_is_audited(sample: World, cycle: Any) -> None:
    liaison = sample.users["county_liaison@A"]
    event = _create(liaison, cycle)
    code = sample.schools["A1a-1"].code
    data = workbook([["甲一", "主监测员", code, "是", ""], ["乙二", "pe_proctor", code, "否", "病假"],
                     ["丙三", "信息员", None, "是", "县级信息员"]])
    assert services.attendance_import(actor=liaison, event_id=event.pk, file_name="a.xlsx", data=data) == 3
    rows = {r.person_name: r for r in TrainingAttendance.objects.filter(event=event)}
    assert rows["甲一"].post == "chief_proctor" and rows["甲一"].attended
    assert rows["乙二"].post == "pe_proctor" and not rows["乙二"].attended and rows["乙二"].note == "病假"
    assert rows["丙三"].school is None
    data2 = workbook([["丁四", "保密员", code, "是", ""]])
    services.attendance_import(actor=liaison, event_id=event.pk, file_name="b.xlsx", data=data2)
    assert list(TrainingAttendance.objects.filter(event=event).values_list("person_name", flat=True)) == ["丁四"]
    audits = AuditEvent.objects.filter(action="readiness.attendance_import", object_id=str(event.pk)).order_by("id")
    assert [a.after["rows"] for a in audits] == [3, 1] and audits[1].before == {"rows": 3}


def test_attendance_errors_are_per_row_and_nothing_is_imported(sample: World, cycle: Any) -> None:
    liaison = sample.users["county_liaison@A"]
    event = _create(liaison, cycle)
    own, other = sample.schools["A1a-1"].code, sample.schools["A1b-1"].code
    data = workbook([["甲一", "主监测员", own, "是", ""],          # row 2: fine
                     ["", "监测员", own, "是", ""],                # row 3: no name
                     ["乙二", "厨师", own, "是", ""],              # row 4: unknown post
                     ["丙三", "监测员", "12345", "是", ""],        # row 5: bad code
                     ["丁四", "监测员", own, "也许", ""],          # row 6: yes/no
                     ["甲一", "主监测员", own, "是", ""]])         # row 7: duplicate of row 2
    with pytest.raises(InvalidInput) as exc:
        services.attendance_import(actor=liaison, event_id=event.pk, file_name="a.xlsx", data=data)
    got = {(p.row, p.field) for p in exc.value.problems}
    assert got == {(3, "姓名"), (4, "岗位"), (5, "学校标识码"), (6, "是否参加"), (7, "姓名")}
    assert all(p.file == "a.xlsx" for p in exc.value.problems)
    # A school of another county is outside the county's training.
    with pytest.raises(InvalidInput) as exc2:
        services.attendance_import(actor=liaison, event_id=event.pk, file_name="b.xlsx",
                                   data=workbook([["戊五", "监测员", other, "是", ""]]))
    assert exc2.value.problems[0].row == 2 and "不在本次培训的组织单位范围内" in exc2.value.problems[0].reason
    assert not TrainingAttendance.objects.filter(event=event).exists()
    assert not AuditEvent.objects.filter(action="readiness.attendance_import").exists()


def test_broken_workbook_and_missing_columns(sample: World, cycle: Any) -> None:
    liaison = sample.users["county_liaison@A"]
    event = _create(liaison, cycle)
    with pytest.raises(InvalidInput) as exc:
        services.attendance_import(actor=liaison, event_id=event.pk, file_name="x.xlsx", data=b"not a workbook")
    assert "无法读取" in exc.value.problems[0].reason
    with pytest.raises(InvalidInput) as exc:
        services.attendance_import(actor=liaison, event_id=event.pk, file_name="x.xlsx",
                                   data=workbook([["甲"]], header=["姓名"]))
    assert "岗位" in exc.value.problems[0].reason and exc.value.problems[0].row == 1


def test_template_has_data_and_notes_sheets_listing_posts(cycle: Any) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    wb = load_workbook(BytesIO(template_bytes(config_for(cycle.year))))
    assert wb.sheetnames == ["签到表", "说明"]
    assert [c.value for c in wb["签到表"][1]] == ["姓名", "岗位", "学校标识码", "是否参加", "备注"]
    notes = " ".join(str(c.value) for row in wb["说明"].iter_rows() for c in row if c.value)
    assert "体育监测员" in notes and "pe_proctor" in notes


def test_coverage_shows_which_required_posts_are_trained(sample: World, cycle: Any) -> None:
    liaison = sample.users["county_liaison@A"]
    event = _create(liaison, cycle)
    s1, s2 = sample.schools["A1a-1"].code, sample.schools["A1a-2"].code
    posts = [p.name for p in config_for(cycle.year).required_posts]
    rows = [[f"人{i}", post, s1, "是", ""] for i, post in enumerate(posts)]
    rows += [["缺席者", "保密员", s2, "否", ""], ["到场者", "监测员", s2, "是", ""]]
    services.attendance_import(actor=liaison, event_id=event.pk, file_name="a.xlsx", data=workbook(rows))
    cov = selectors.coverage(actor=liaison, cycle=cycle)
    by_code = {r.school.code: r for r in cov.rows}
    assert set(by_code) == {s1, s2}  # the county's sample schools only
    assert by_code[s1].complete
    assert not by_code[s2].complete and "custodian" in by_code[s2].missing and "proctor" not in by_code[s2].missing
    assert cov.complete == 1
    # The province sees the whole province, the other county's schools with nothing trained.
    prov = selectors.coverage(actor=sample.users["province_coordinator@A"], cycle=cycle)
    assert len(prov.rows) == 4 and prov.complete == 1
