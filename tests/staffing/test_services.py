"""Services: validation with precise messages, access (who edits which post), the hard single-post rule, audit,
and the all-or-nothing staff-list import."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.staffing import services
from naeq.staffing.documents import IMPORT_HEADER, import_template, read_import_sheet
from naeq.staffing.models import StaffAssignment, StaffMember
from tests.staffing.helpers import person, phone


def _assign(sw: Any, persona: str, post: str, who: StaffMember, school_key: str | None = "A1a-1",
            **kw: Any) -> StaffAssignment:
    return services.assignment_create(actor=sw.user(persona), cycle=sw.cycle, county=sw.world.regions["A1a"],
                                      post_code=post, person_id=who.pk,
                                      school=sw.world.schools[school_key] if school_key else None, **kw)


def test_person_create_is_validated_field_by_field(sw: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        services.person_create(actor=sw.user("county_liaison@A"), county=sw.world.regions["A1a"], cycle=sw.cycle,
                               name="甲", gender="x", phone="12345", id_last4="110101199001011234",
                               home_school="1440101001", subjects=["数学", "书法"])
    got = {p.field: p.reason for p in exc.value.problems}
    assert got == {
        "姓名": "姓名应为2至40个字符。",
        "性别": "性别应为“男”或“女”。",
        "手机号": "手机号应为以1开头的11位数字。",
        "身份证后四位": "身份证后四位应为3位数字加1位数字或X；只填后四位，不填完整身份证号。",
        "工作单位学校标识码": "学校标识码“1440101001”不是本县（区）的学校。",
        "任教学科": "未知的学科“书法”，可填：德育、语文、数学、英语、科学、艺术、劳动、体育与健康、心理健康。",
    }
    assert not StaffMember.objects.exists()


def test_person_create_writes_an_audit_event(sw: Any) -> None:
    who = services.person_create(actor=sw.user("county_liaison@A"), county=sw.world.regions["A1a"], cycle=sw.cycle,
                                 name="测试人员", gender="女", phone="139 1234 5678", id_last4="123x",
                                 subjects=["数学", "math"])
    assert (who.phone, who.id_last4, who.subjects, who.gender) == ("13912345678", "123X", ["math"], "F")
    event = AuditEvent.objects.get(action="staffing.person_create")
    assert event.object_id == str(who.pk) and event.after["name"] == "测试人员"
    assert event.actor_label == "county_liaison_a"


def test_who_may_add_people(sw: Any) -> None:
    county = sw.world.regions["A1a"]
    for persona in ("city_viewer@A", "province_coordinator@A", "national_admin@A", "inspector@A"):
        with pytest.raises(PermissionDenied):
            services.person_create(actor=sw.user(persona), county=county, cycle=sw.cycle, name="某某",
                                   gender="男", phone=phone())
    # A school head adds people working at their school, not at another one nor without a school.
    for home in (sw.world.schools["A1a-2"].code, ""):
        with pytest.raises(PermissionDenied):
            services.person_create(actor=sw.user("school_head@A"), county=county, cycle=sw.cycle, name="某某",
                                   gender="男", phone=phone(), home_school=home)
    services.person_create(actor=sw.user("school_head@A"), county=county, cycle=sw.cycle, name="某某",
                           gender="男", phone=phone(), home_school=sw.world.schools["A1a-1"].code)
    with pytest.raises(PermissionDenied):  # county B1a's liaison is not A1a's
        services.person_create(actor=sw.user("county_liaison@B"), county=county, cycle=sw.cycle, name="某某",
                               gender="男", phone=phone())


def test_county_sends_chief_proctor_school_arranges_custodians(sw: Any) -> None:
    """"县级实施工作领导小组按照要求为各样本校选派责任督学、主监测员"; "要督促样本校按规定安排校内测试工作人员"."""
    who = person(sw, "county_liaison@A", "A1a", name="外校主任", home=sw.world.schools["A1a-2"])
    staff = person(sw, "school_head@A", "A1a", name="本校职员", home=sw.world.schools["A1a-1"])
    with pytest.raises(PermissionDenied, match="您的账户不能安排“主监测员”岗位。"):
        _assign(sw, "school_head@A", "chief_proctor", who)
    with pytest.raises(PermissionDenied, match="您的账户不能安排“保密员”岗位。"):
        _assign(sw, "county_liaison@A", "custodian", staff)
    with pytest.raises(PermissionDenied):
        _assign(sw, "city_viewer@A", "chief_proctor", who)
    a = _assign(sw, "county_liaison@A", "chief_proctor", who)
    b = _assign(sw, "school_head@A", "custodian", staff)
    assert (a.badge_no, b.badge_no) == ("2024-310101-0001", "2024-310101-0002")
    assert AuditEvent.objects.filter(action="staffing.assignment_create").count() == 2


def test_second_chief_proctor_is_refused_in_chinese(sw: Any) -> None:
    """"主监测员 每样本校 1 人" is a hard rule: the save is refused (and the database holds it too)."""
    first = person(sw, "county_liaison@A", "A1a", name="主任甲", home=sw.world.schools["A1a-2"])
    second = person(sw, "county_liaison@A", "A1a", name="主任乙", home=sw.world.schools["A1a-2"])
    _assign(sw, "county_liaison@A", "chief_proctor", first)
    with pytest.raises(InvalidInput) as exc:
        _assign(sw, "county_liaison@A", "chief_proctor", second)
    assert exc.value.message == "“主监测员”每校只设1人，已由主任甲担任；请先撤销再安排。"
    assert StaffAssignment.objects.filter(post="chief_proctor").count() == 1


def test_single_post_is_also_held_by_the_database(sw: Any) -> None:
    from django.db import IntegrityError, transaction

    a = _assign(sw, "county_liaison@A", "chief_proctor",
                person(sw, "county_liaison@A", "A1a", name="主任甲", home=sw.world.schools["A1a-2"]))
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffAssignment.objects.create(cycle=a.cycle, post="chief_proctor", single=True, county=a.county,
                                       path=a.path, school=a.school, person=a.person, badge_no="x")


def test_wrong_unit_day_and_slot_are_refused(sw: Any) -> None:
    who = person(sw, "county_liaison@A", "A1a", name="督学甲")
    with pytest.raises(InvalidInput, match="不是本县（区）2024年的样本校"):
        services.assignment_create(actor=sw.user("county_liaison@A"), cycle=sw.cycle,
                                   county=sw.world.regions["A1b"], post_code="inspector", person_id=who.pk,
                                   school=sw.world.schools["A1b-2"])
    with pytest.raises(InvalidInput, match="“组长”是县级岗位，不属于某所学校。"):
        _assign(sw, "county_liaison@A", "county_leader", who)
    with pytest.raises(InvalidInput, match="“责任督学”是学校岗位，请填写任职学校。"):
        _assign(sw, "county_liaison@A", "inspector", who, school_key=None)
    with pytest.raises(InvalidInput, match=r"2024-06-01不是本周期的测试日（2024-05-22、2024-05-23）。"):
        _assign(sw, "county_liaison@A", "inspector", who, day=dt.date(2024, 6, 1))
    with pytest.raises(InvalidInput, match="填写时段时须同时填写测试日期。"):
        _assign(sw, "county_liaison@A", "inspector", who, slot="上午")
    with pytest.raises(InvalidInput, match="未知的岗位“校车司机”"):
        _assign(sw, "county_liaison@A", "校车司机", who)
    assert not StaffAssignment.objects.exists()


def test_school_b1b2_not_drawn_and_other_province_people_are_invisible(sw: Any) -> None:
    who_b = person(sw, "county_liaison@B", "B1a", name="乙省人员")
    with pytest.raises(InvalidInput, match="没有找到该人员"):
        _assign(sw, "county_liaison@A", "inspector", who_b)


def test_unassign_and_delete_person(sw: Any) -> None:
    who = person(sw, "county_liaison@A", "A1a", name="督学甲")
    a = _assign(sw, "county_liaison@A", "inspector", who)
    with pytest.raises(PermissionDenied):
        services.assignment_delete(actor=sw.user("school_head@A"), assignment_id=a.pk)
    with pytest.raises(NotFound):
        services.assignment_delete(actor=sw.user("county_liaison@B"), assignment_id=a.pk)
    with pytest.raises(InvalidInput, match="督学甲仍有岗位安排，请先撤销其岗位。"):
        services.person_delete(actor=sw.user("county_liaison@A"), person_id=who.pk)
    services.assignment_delete(actor=sw.user("county_liaison@A"), assignment_id=a.pk)
    services.person_delete(actor=sw.user("county_liaison@A"), person_id=who.pk)
    assert not StaffMember.objects.exists()
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "staffing.assignment_delete", "staffing.person_delete"}


# --------------------------------------------------------------------------------------------- import


def _sheet(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append([h for h, _k, _n in IMPORT_HEADER])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _import(sw: Any, persona: str, data: bytes) -> dict[str, int]:
    rows = read_import_sheet(file_name="名单.xlsx", data=data)
    return services.staff_import(actor=sw.user(persona), cycle=sw.cycle, county=sw.world.regions["A1a"], rows=rows,
                                 file_name="名单.xlsx")


def test_template_has_instructions_and_posts() -> None:
    wb = load_workbook(io.BytesIO(import_template(post_names=["主监测员", "保密员"])))
    assert wb.sheetnames == ["人员名单", "说明", "岗位"]
    assert [c.value for c in wb["人员名单"][1]] == [h for h, _k, _n in IMPORT_HEADER]
    assert [r[0] for r in wb["岗位"].iter_rows(min_row=2, values_only=True)] == ["主监测员", "保密员"]


def test_import_reports_every_row_and_imports_nothing(sw: Any) -> None:
    s1, s2 = sw.world.schools["A1a-1"].code, sw.world.schools["A1a-2"].code
    data = _sheet([
        ["主任甲", "男", "13900000001", "", s2, "教务主任", "德育", "主监测员", s1, "", ""],
        ["主任乙", "女", "13900000002", "", s2, "教务主任", "", "主监测员", s1, "", ""],  # second chief proctor
        ["督学丙", "男", "1390000", "", "", "督学", "", "责任督学", s1, "", ""],  # bad phone
        ["督学丁", "男", "13900000004", "", "", "督学", "", "责任督学", "", "", ""],  # no school
        ["职员戊", "男", "13900000005", "", s1, "", "", "保密员", s1, "", ""],  # school post, county importer
    ])
    with pytest.raises(InvalidInput) as exc:
        _import(sw, "county_liaison@A", data)
    got = [(p.file, p.row, p.field, p.reason) for p in exc.value.problems]
    assert got == [
        ("名单.xlsx", 3, "岗位", "“主监测员”每校只设1人，已由主任甲担任；请先撤销再安排。"),
        ("名单.xlsx", 4, "手机号", "手机号应为以1开头的11位数字。"),
        ("名单.xlsx", 5, "任职学校标识码", "“责任督学”是学校岗位，请填写任职学校。"),
        ("名单.xlsx", 6, "岗位", "您的账户不能安排“保密员”岗位。"),
    ]
    assert not StaffMember.objects.exists() and not StaffAssignment.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="staffing.").exists()


def test_import_success_reuses_people_and_is_audited(sw: Any) -> None:
    s1, s2 = sw.world.schools["A1a-1"].code, sw.world.schools["A1a-2"].code
    data = _sheet([
        ["主任甲", "男", "13900000001", "012X", s2, "教务主任", "德育", "主监测员", s1, "2024-05-22", "上午"],
        ["督学乙", "女", "13900000002", "", "", "督学", "", "责任督学", s1, "", ""],
        ["督学乙", "女", "13900000002", "", "", "督学", "", "责任督学", s2, "", ""],
        ["组长丙", "男", "13900000003", "", "", "副县长", "", "组长", "", "", ""],
        ["候补丁", "男", "13900000004", "", "", "干部", "", "", "", "", ""],
    ])
    assert _import(sw, "county_liaison@A", data) == {"rows": 5, "people_created": 4, "assignments": 4}
    chief = StaffAssignment.objects.get(post="chief_proctor")
    assert (chief.day, chief.slot, chief.person.id_last4) == (dt.date(2024, 5, 22), "am", "012X")
    assert AuditEvent.objects.get(action="staffing.import").after["assignments"] == 4


def test_school_head_imports_own_posts_only(sw: Any) -> None:
    s1 = sw.world.schools["A1a-1"].code
    ok = _sheet([["职员甲", "男", "13900000011", "", s1, "", "", "保密员", s1, "", ""]])
    assert _import(sw, "school_head@A", ok)["assignments"] == 1
    with pytest.raises(PermissionDenied):
        _import(sw, "city_viewer@A", ok)
    elsewhere = _sheet([["职员乙", "男", "13900000012", "", "", "", "", "", "", "", ""]])
    with pytest.raises(InvalidInput) as exc:
        _import(sw, "school_head@A", elsewhere)
    assert [(p.row, p.field, p.reason) for p in exc.value.problems] == [
        (2, "工作单位学校标识码", "您的账户不能在此添加人员。")]


def test_import_sheet_needs_its_columns() -> None:
    wb = Workbook()
    wb.active.append(["名字", "手机"])
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(InvalidInput) as exc:
        read_import_sheet(file_name="x.xlsx", data=buf.getvalue())
    assert [(p.row, p.field) for p in exc.value.problems] == [(1, "姓名"), (1, "性别"), (1, "手机号")]
    with pytest.raises(InvalidInput, match="无法读取该文件"):
        read_import_sheet(file_name="x.xlsx", data=b"not a workbook")
