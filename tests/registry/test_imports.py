"""The registry upload: real .xlsx/.csv files broken the way county officers break them. Each test checks the
response, then the database, then the audit trail."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.registry.imports import (
    HEADERS,
    registry_import,
    registry_template_csv,
    registry_template_xlsx,
)
from naeq.registry.models import Region, RegionLevel, School, SubmissionKind
from naeq.registry.services import submission_review, submission_submit
from tests.personas import World
from tests.registry.helpers import csv_bytes, row, xlsx

YEAR = 2026
COUNTY = "310101"  # A1a; the world's schools there: 1310101001, 1310101002 (nine-year, 45/1, 60/2, 121)


def _snapshot() -> list[tuple]:
    return list(School.objects.order_by("code").values_list(
        "code", "name", "level", "urban_rural", "ownership", "g4_enrollment", "g4_classes", "g8_enrollment",
        "g8_classes", "county__code"))


def _import(world: World, data: bytes, name: str = "学校.xlsx", persona: str = "county_liaison@A", **kw):
    return registry_import(actor=world.users[persona], year=YEAR, county_code=COUNTY, file_name=name, data=data,
                           **kw)


def _current_rows(**changes) -> list[list]:
    rows = {"1310101001": row("1310101001", "甲省一市a县第1学校"),
            "1310101002": row("1310101002", "甲省一市a县第2学校")}
    for code, r in changes.items():
        rows[code] = r
    return [r for r in rows.values() if r is not None]


def test_template_has_headers_notes_and_dropdowns() -> None:
    wb = load_workbook(io.BytesIO(registry_template_xlsx()))
    assert wb.sheetnames == ["学校信息", "填写说明"]
    ws = wb["学校信息"]
    assert [c.value for c in ws[1]] == list(HEADERS)
    lists = {str(dv.sqref).split(":")[0][0]: dv.formula1 for dv in ws.data_validations.dataValidation
             if dv.type == "list"}
    assert set(lists) == {"C", "D", "E"}
    assert "九年一贯制学校" in lists["C"] and "111 主城区" in lists["D"] and "民办" in lists["E"]
    assert ws["A2"].number_format == "@"  # codes stay text
    assert "学校标识码" in [c.value for c in wb["填写说明"]["A"]]
    assert registry_template_csv().decode("utf-8-sig").strip() == ",".join(HEADERS)


def test_good_upload_shows_what_changed_and_applies(world: World) -> None:
    data = xlsx(_current_rows(**{
        "1310101001": row("1310101001", "甲省一市a县第一学校", g4=50, c4=2),
        "1310101003": row("1310101003", "新建小学", level="小学", ur="210 乡中心区", owner="民办", g8=0, c8=0),
    }))
    result = _import(world, data)
    assert result.applied and (len(result.added), len(result.removed), result.unchanged) == (1, 0, 1)
    assert result.added[0].code == "1310101003" and result.added[0].row == 4
    [change] = result.changed
    assert change.code == "1310101001"
    assert [(c.field, c.old, c.new) for c in change.changes] == [
        ("学校名称", "甲省一市a县第1学校", "甲省一市a县第一学校"), ("四年级学生数", "45", "50"),
        ("四年级班级数", "1", "2")]
    new = School.objects.get(code="1310101003")
    assert (new.level, new.urban_rural, new.ownership, new.g4_enrollment, new.g8_enrollment, new.path) == (
        "primary", "210", "private", 45, 0, world.regions["A1a"].path)
    assert School.objects.get(code="1310101001").g4_classes == 2
    [event] = AuditEvent.objects.filter(action="registry.import")
    assert event.object_id == COUNTY and event.actor == world.users["county_liaison@A"]
    assert event.before["schools"]["1310101001"]["g4_enrollment"] == 45
    assert event.after["schools"]["1310101001"]["g4_enrollment"] == 50
    assert event.after["added"] == 1 and "1310101003" in event.after["schools"]

    # The same file again changes nothing and records nothing.
    again = _import(world, data)
    assert not again.has_changes and again.unchanged == 3 and not again.applied
    assert AuditEvent.objects.filter(action="registry.import").count() == 1


def test_referenced_school_cannot_be_removed_unreferenced_can(world: World) -> None:
    _import(world, xlsx(_current_rows(**{"1310101003": row("1310101003", "待撤并学校")})))
    before = _snapshot()
    with pytest.raises(InvalidInput) as exc:
        _import(world, xlsx(_current_rows(**{"1310101001": None})))
    [p] = exc.value.problems
    assert p.field == "学校标识码" and p.value == "1310101001" and p.row is None
    assert "甲省一市a县第1学校" in p.reason and "账户（7条）" in p.reason and "不能删除" in p.reason
    assert _snapshot() == before
    result = _import(world, xlsx(_current_rows()))
    assert result.removed == [("1310101003", "待撤并学校")]
    assert not School.objects.filter(code="1310101003").exists()
    last = AuditEvent.objects.filter(action="registry.import").order_by("-id").first()
    assert last is not None and last.before["schools"]["1310101003"]["name"] == "待撤并学校"


def test_broken_file_reports_every_error_and_imports_nothing(world: World) -> None:
    rows = [
        row("１３１０１０１００３", "全角数字学校"),  # 3: full-width digits are read: fine
        row(1310101004.0, "数字格式学校"),  # 4: a code stored as a number (float) keeps its digits: fine
        row("1.3101E+09", "科学计数法学校"),  # 5
        row("1440101005", "外县学校"),  # 6: wrong county prefix
        row("1310101001", "重复学校"),  # 7: duplicate of row 3? no: of the registry row below (row 8)
        row("1310101001", "甲省一市a县第1学校"),  # 8: duplicate of row 7
        [None] * 9,  # 9: blank row, skipped
        row("1310101006", "小数学校", g4="12.5"),  # 10
        row("1310101007", "负数学校", g8=-3),  # 11
        row("1310101008", "无班级学校", c4=0),  # 12
        row("1310101009", "班多人少学校", g8=3, c8=5),  # 13
        row("1310101010", "小学有八年级", level="小学"),  # 14
        row("1310101011", "初中有四年级", level="初中"),  # 15
        row("1310101012", "一贯制无学生", g4=0, c4=0, g8="", c8=None),  # 16
        row("1310101013", "", level="中学", ur="999", owner="集体"),  # 17: empty name, unknown values
        row("131010101", "九位代码"),  # 18
    ]
    before = _snapshot()
    with pytest.raises(InvalidInput) as exc:
        _import(world, xlsx(rows, title="甲省一市a县属地学校信息（2026年）"))
    got = {(p.row, p.field) for p in exc.value.problems}
    # Row numbers are the spreadsheet's: title row 1, header row 2, data from row 3.
    assert got == {
        (5, "学校标识码"), (6, "学校标识码"), (8, "学校标识码"), (10, "四年级学生数"), (11, "八年级学生数"),
        (12, "四年级班级数"), (13, "八年级班级数"), (14, "八年级学生数"), (15, "四年级学生数"),
        (16, "四年级学生数"), (17, "学校名称"), (17, "办学类型"), (17, "城乡分类代码"), (17, "举办者"),
        (18, "学校标识码"),
    }
    reasons = {(p.row, p.field): p.reason for p in exc.value.problems}
    assert "科学计数法" in reasons[(5, "学校标识码")]
    assert "1310101" in reasons[(6, "学校标识码")]
    assert "第7行" in reasons[(8, "学校标识码")] and "第8行" in reasons[(8, "学校标识码")]
    assert "12.5" in reasons[(10, "四年级学生数")]
    assert "负数" in reasons[(11, "八年级学生数")]
    assert "9位" in reasons[(18, "学校标识码")]
    assert all(p.file == "学校.xlsx" for p in exc.value.problems)
    assert _snapshot() == before
    assert not AuditEvent.objects.filter(action="registry.import").exists()


def test_header_problems(world: World) -> None:
    header = [*HEADERS, "备注"]
    header[3] = "城乡类别"  # unknown spelling: reported, and 城乡分类代码 is then missing
    with pytest.raises(InvalidInput) as exc:
        _import(world, xlsx([[*row("1310101003"), "新校"]], header=header))
    assert {(p.row, p.field) for p in exc.value.problems} == {(1, "城乡类别"), (1, "备注"), (1, "城乡分类代码")}
    with pytest.raises(InvalidInput) as none:
        _import(world, xlsx([row("1310101003")], header=["代码", "名称"]))
    assert "学校标识码" in none.value.problems[0].reason


def test_forgiving_forms_are_read(world: World) -> None:
    """Two-row merged header, a title row, codes as integers, labels with codes, blank and trailing rows."""
    rows = _current_rows(**{"1310101003": [1310101003, " 新 建 小学 ", "小学", 112, "公办", "1,024", "20.0", 0,
                                           None],
                            "1310101004": ["１３１０１０１００４", "全角（数字）初中", "初中", "１２１", "民办", "", "",
                                           "４５", "２"]})
    result = _import(world, xlsx([*rows, [None] * 9, [None] * 9], title="属地学校信息", two_row_header=True))
    assert [r.code for r in result.added] == ["1310101003", "1310101004"]
    s = School.objects.get(code="1310101003")
    assert (s.name, s.urban_rural, s.g4_enrollment, s.g4_classes) == ("新 建 小学", "112", 1024, 20)
    s = School.objects.get(code="1310101004")
    assert (s.name, s.urban_rural, s.ownership, s.g4_enrollment, s.g8_enrollment, s.g8_classes) == (
        "全角（数字）初中", "121", "private", 0, 45, 2)


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_in_the_encodings_excel_saves(world: World, encoding: str) -> None:
    rows = _current_rows(**{"1310101003": row("1310101003", "新建学校（乡中心）", ur="210 乡中心区")})
    result = _import(world, csv_bytes(rows, encoding=encoding), name="学校.csv")
    assert result.applied and School.objects.get(code="1310101003").name == "新建学校（乡中心）"


def test_csv_errors_name_the_line(world: World) -> None:
    with pytest.raises(InvalidInput) as exc:
        _import(world, csv_bytes([row("1310101001"), row("1310101002", g4="四十")], encoding="gb18030"),
                name="学校.csv")
    [p] = exc.value.problems
    assert (p.file, p.row, p.field) == ("学校.csv", 3, "四年级学生数") and "四十" in p.reason


def test_code_registered_in_another_county(world: World) -> None:
    other = Region.objects.get(code="310102")
    School.objects.create(code="1310101099", name="错挂学校", county=other, path=other.path, level="primary",
                          urban_rural="121", g4_enrollment=10, g4_classes=1)
    with pytest.raises(InvalidInput) as exc:
        _import(world, xlsx(_current_rows(**{"1310101099": row("1310101099", "错挂学校")})))
    [p] = exc.value.problems
    assert (p.row, p.field) == (4, "学校标识码") and other.name in p.reason


def test_not_a_spreadsheet(world: World) -> None:
    for name, data, words in (("学校.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100, ".xlsx"),
                              ("学校.xlsx", b"PK\x03\x04broken", "无法读取"), ("学校.pdf", b"%PDF-1.4", ".csv"),
                              ("学校.csv", b"", "空")):
        with pytest.raises(InvalidInput) as exc:
            _import(world, data, name=name)
        assert words in exc.value.problems[0].reason


def test_upload_only_while_draft_or_returned(world: World) -> None:
    liaison = world.users["county_liaison@A"]
    s = submission_submit(actor=liaison, kind=SubmissionKind.REGISTRY, year=YEAR, county_code=COUNTY)
    data = xlsx(_current_rows(**{"1310101003": row("1310101003")}))
    with pytest.raises(InvalidInput) as exc:
        _import(world, data)
    assert exc.value.code == "submission_not_editable"
    assert not School.objects.filter(code="1310101003").exists()
    submission_review(actor=world.users["province_coordinator@A"], submission_id=s.pk, approve=False,
                      reason="缺少新建学校")
    assert _import(world, data).applied


@pytest.mark.parametrize(("persona", "error"), [
    ("province_coordinator@A", PermissionDenied), ("city_viewer@A", PermissionDenied),
    ("national_admin@A", PermissionDenied), ("county_liaison@B", NotFound), ("school_head@A", NotFound),
    ("student@A", NotFound)])
def test_only_the_county_uploads(world: World, persona: str, error: type) -> None:
    before = _snapshot()
    with pytest.raises(error):
        _import(world, xlsx(_current_rows(**{"1310101003": row("1310101003")})), persona=persona)
    assert _snapshot() == before


def test_system_import_and_region_level(world: World) -> None:
    result = registry_import(actor=None, year=YEAR, county_code=COUNTY, file_name="a.xlsx",
                             data=xlsx(_current_rows()))
    assert not result.has_changes
    with pytest.raises(NotFound):
        registry_import(actor=None, year=YEAR, county_code="310100", file_name="a.xlsx", data=xlsx([]))
    assert Region.objects.filter(code="310100", level=RegionLevel.CITY).exists()
