"""Roster templates, upload validation and atomic replacement (naeq.registry.rosters).

Every error is checked for its Excel row, its column header and its Chinese reason; every failing upload is
checked to change nothing (rows, audit log). Names below are generated, not real people's.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.registry.models import Principal, School, Student, Teacher
from naeq.registry.rosters import (
    HEADERS,
    roster_counts,
    roster_import,
    roster_template_csv,
    roster_template_xlsx,
)
from tests.personas import World

YEAR = 2024
S = HEADERS["students"]
T = HEADERS["teachers"]


def xlsx(rows: list[list[Any]], header: tuple[str, ...] | list[str]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(list(header))
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def student_rows(n: int = 4, grade: int = 8) -> list[list[Any]]:
    """n students of a grade, over the persona school's classes (grade 4: 1 class, grade 8: 2 classes)."""
    classes = 1 if grade == 4 else 2
    born = YEAR - grade - 6
    return [[grade, 1 + i % classes, 1 + i // classes, f"学生{i:02d}", "男" if i % 2 else "女",
             f"{born}-0{1 + i % 9}"] for i in range(n)]


def problems_of(exc: pytest.ExceptionInfo[InvalidInput]) -> set[tuple[int | None, str | None]]:
    return {(p.row, p.field) for p in exc.value.problems}


def reason_at(exc: pytest.ExceptionInfo[InvalidInput], row: int, field: str) -> str:
    return next(p.reason for p in exc.value.problems if p.row == row and p.field == field)


@pytest.fixture
def school(world: World) -> School:
    return world.schools["A1a-1"]  # nine-year school: grade 4 with 1 class, grade 8 with 2 classes


@pytest.fixture
def head(world: World) -> Any:
    return world.users["school_head@A"]


# ---------------------------------------------------------------------------------------------------- templates


@pytest.mark.parametrize("kind", ["students", "teachers", "principal"])
def test_templates_carry_the_chinese_headers(kind: str) -> None:
    wb = load_workbook(io.BytesIO(roster_template_xlsx(kind)))
    first = wb.worksheets[0]
    assert [c.value for c in next(first.iter_rows(max_row=1))] == list(HEADERS[kind])
    assert first.max_row == 1  # no sample row that could be uploaded by mistake
    assert first.column_dimensions["F"].number_format == ("@" if kind == "students" else "General")
    assert wb.worksheets[1].title == "填写说明"
    assert roster_template_csv(kind).decode("utf-8-sig").strip() == ",".join(HEADERS[kind])


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(InvalidInput):
        roster_template_xlsx("parents")


# ---------------------------------------------------------------------------------------------------- students


def test_students_upload_replaces_the_roster_and_audits_counts_not_names(school: School, head: Any) -> None:
    result = roster_import(actor=head, year=YEAR, school_code=school.code, kind="students",
                           file_name="学生.xlsx", data=xlsx(student_rows(6), S))
    assert result.before == {"total": 0} and result.after == {"8": 6, "total": 6} and result.rows == 6
    assert Student.objects.filter(school=school, grade=8).count() == 6
    s = Student.objects.get(school=school, grade=8, class_no=2, seq=1)
    assert (s.name, s.sex, s.birth_month) == ("学生01", "M", "2010-02")

    second = student_rows(3, grade=4)
    result = roster_import(actor=head, year=YEAR, school_code=school.code, kind="students",
                           file_name="学生2.xlsx", data=xlsx([*second, *student_rows(2)], S))
    assert result.before == {"8": 6, "total": 6}
    assert result.after == {"4": 3, "8": 2, "total": 5}
    assert result.changes() == [("4", 0, 3), ("8", 6, 2), ("total", 6, 5)]
    assert Student.objects.filter(school=school).count() == 5

    event = AuditEvent.objects.filter(action="registry.roster.students.import").latest("id")
    assert event.object_id == school.code
    assert event.before == {"year": YEAR, "counts": {"8": 6, "total": 6}}
    assert event.after["counts"] == {"4": 3, "8": 2, "total": 5}
    assert "学生0" not in str(event.before) + str(event.after)


def test_student_errors_are_all_reported_with_row_and_column_and_nothing_changes(school: School, head: Any) -> None:
    roster_import(actor=head, year=YEAR, school_code=school.code, kind="students", file_name="ok.xlsx",
                  data=xlsx(student_rows(2), S))
    events = AuditEvent.objects.count()
    rows = [
        [8, 1, 1, "甲", "男", "2010-05"],       # row 2: fine
        [8, 1, 1, "乙", "女", "2010-06"],       # row 3: duplicate seat of row 2
        [5, 1, 2, "丙", "男", "2010-06"],       # row 4: grade 5 is not a tested grade
        [8, 3, 1, "丁", "男", "2010-06"],       # row 5: class 3, the school has 2 grade-8 classes
        [8, 2, 1, "", "X", "2010/13"],          # row 6: empty name, bad sex, bad month
        [4, 1, 1, "戊", "女", "2003-01"],       # row 7: 21 years old in grade 4
        [8, 2, "二", "己", "女", "2010-01"],    # row 8: seq not a number
    ]
    with pytest.raises(InvalidInput) as exc:
        roster_import(actor=head, year=YEAR, school_code=school.code, kind="students", file_name="bad.xlsx",
                      data=xlsx(rows, S))
    assert problems_of(exc) == {(3, "班内序号"), (4, "年级"), (5, "班级"), (6, "姓名"), (6, "性别"), (6, "出生年月"),
                                (7, "出生年月"), (8, "班内序号")}
    assert all(p.file == "bad.xlsx" for p in exc.value.problems)
    assert "与第 2 行重复" in reason_at(exc, 3, "班内序号")
    assert "本校不测试" not in reason_at(exc, 4, "年级") and "4 或 8" in reason_at(exc, 4, "年级")
    assert "共 2 个班" in reason_at(exc, 5, "班级")
    assert reason_at(exc, 6, "姓名") == "不能为空。"
    assert "男" in reason_at(exc, 6, "性别")
    assert "YYYY-MM" in reason_at(exc, 6, "出生年月")
    assert "7 至 13 岁" in reason_at(exc, 7, "出生年月")
    assert "未做任何修改" in exc.value.message
    assert Student.objects.filter(school=school).count() == 2  # the earlier roster is intact
    assert AuditEvent.objects.count() == events


def test_a_grade_the_school_does_not_test(school: School, head: Any) -> None:
    School.objects.filter(pk=school.pk).update(g4_enrollment=0, g4_classes=0)
    with pytest.raises(InvalidInput) as exc:
        roster_import(actor=head, year=YEAR, school_code=school.code, kind="students", file_name="s.xlsx",
                      data=xlsx(student_rows(1, grade=4), S))
    assert "本校不测试 4 年级" in reason_at(exc, 2, "年级")


def test_missing_headers_are_named(school: School, head: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        roster_import(actor=head, year=YEAR, school_code=school.code, kind="students", file_name="s.xlsx",
                      data=xlsx([[8, 1, 1, "甲"]], ["年级", "班级", "班内序号", "姓名"]))
    assert problems_of(exc) == {(1, "性别"), (1, "出生年月")}


def test_excel_dates_and_reordered_columns_and_blank_rows_are_accepted(school: School, head: Any) -> None:
    import datetime as dt

    header = ["姓名", "出生年月", "性别", "班内序号", "班级", "年级", "备注"]
    rows = [["甲", dt.datetime(2010, 3, 1), "女", 1, 1, "八年级", "x"], [None] * 7, ["乙", "2010-04", "M", 2, 1, 8, ""]]
    result = roster_import(actor=head, year=YEAR, school_code=school.code, kind="students", file_name="s.xlsx",
                           data=xlsx(rows, header))
    assert result.after == {"8": 2, "total": 2}
    assert Student.objects.get(school=school, seq=1).birth_month == "2010-03"


def test_csv_in_utf8_and_gb18030(school: School, head: Any) -> None:
    text = ",".join(S) + "\r\n8,1,1,甲,男,2010-05\r\n8,1,2,乙,女,2010-06\r\n"
    for encoding in ("utf-8-sig", "gb18030"):
        result = roster_import(actor=head, year=YEAR, school_code=school.code, kind="students", file_name="s.csv",
                               data=text.encode(encoding))
        assert result.after["total"] == 2
    assert set(Student.objects.filter(school=school).values_list("name", flat=True)) == {"甲", "乙"}


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("s.xlsx", b"not a zip file", "不是有效的 Excel"),
    ("s.txt", b"a,b", "只支持"),
    ("s.csv", b"", "文件是空的"),
    ("s.csv", ",".join(S).encode(), "没有数据行"),
])
def test_unreadable_files(school: School, head: Any, name: str, data: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        roster_import(actor=head, year=YEAR, school_code=school.code, kind="students", file_name=name, data=data)
    assert reason in exc.value.problems[0].reason
    assert exc.value.problems[0].file == name


# ---------------------------------------------------------------------------------------------------- teachers


def test_teachers_with_several_subjects_and_head_teacher_roles(school: School, head: Any) -> None:
    rows = [
        ["教师甲", "女", 8, "数学、体育与健康", "是", 1],
        ["教师乙", "男", 8, "math,mental_health", "是", 2],
        ["教师丙", "男", 4, "心理健康", "否", None],
        ["教师甲", "女", 4, "数学", "是", 1],  # the same teacher also teaches grade 4: one row per grade
    ]
    result = roster_import(actor=head, year=YEAR, school_code=school.code, kind="teachers", file_name="t.xlsx",
                           data=xlsx(rows, T))
    assert result.after == {"4": 2, "8": 2, "total": 4}
    a = Teacher.objects.get(school=school, name="教师甲", grade=8)
    assert (a.subjects, a.head_teacher_class) == ("math,pe", 1)
    assert Teacher.objects.get(school=school, name="教师乙").subjects == "math,mental_health"
    assert Teacher.objects.get(school=school, name="教师丙").head_teacher_class is None


def test_teacher_errors(school: School, head: Any) -> None:
    rows = [
        ["教师甲", "女", 8, "数学", "是", 1],          # row 2: fine
        ["教师乙", "男", 8, "体育", "是", 1],          # row 3: unknown subject; second head teacher of 8-1
        ["教师丙", "男", 8, "数学", "是", None],       # row 4: head teacher without a class
        ["教师丁", "男", 8, "数学", "否", 2],          # row 5: a class though not a head teacher
        ["教师戊", "男", 8, "数学", "也许", None],     # row 6: neither yes nor no
        ["教师己", "男", 8, "", "否", None],           # row 7: no subject
    ]
    with pytest.raises(InvalidInput) as exc:
        roster_import(actor=head, year=YEAR, school_code=school.code, kind="teachers", file_name="t.xlsx",
                      data=xlsx(rows, T))
    assert problems_of(exc) == {(3, "任教学科"), (3, "班主任班级"), (4, "班主任班级"), (5, "班主任班级"),
                                (6, "是否班主任"), (7, "任教学科")}
    assert "未知学科：体育" in reason_at(exc, 3, "任教学科")
    assert "已有班主任（第 2 行）" in reason_at(exc, 3, "班主任班级")
    assert "必须填写" in reason_at(exc, 4, "班主任班级")
    assert Teacher.objects.filter(school=school).count() == 0


def test_subjects_come_from_the_callers_vocabulary(school: School, head: Any) -> None:
    data = xlsx([["教师甲", "女", 8, "劳动", "否", None]], T)
    with pytest.raises(InvalidInput):
        roster_import(actor=head, year=YEAR, school_code=school.code, kind="teachers", file_name="t.xlsx",
                      data=data, subjects={"math": "数学"})
    roster_import(actor=head, year=YEAR, school_code=school.code, kind="teachers", file_name="t.xlsx", data=data)
    assert Teacher.objects.get(school=school).subjects == "labor"


# ---------------------------------------------------------------------------------------------------- principal


def test_one_principal_replaced_and_more_than_one_rejected(school: School, head: Any) -> None:
    roster_import(actor=head, year=YEAR, school_code=school.code, kind="principal", file_name="p.xlsx",
                  data=xlsx([["校长甲", "男"]], HEADERS["principal"]))
    result = roster_import(actor=head, year=YEAR, school_code=school.code, kind="principal", file_name="p.xlsx",
                           data=xlsx([["校长乙", "女"]], HEADERS["principal"]))
    assert result.before == result.after == {"total": 1}
    assert Principal.objects.get(school=school).name == "校长乙"
    with pytest.raises(InvalidInput) as exc:
        roster_import(actor=head, year=YEAR, school_code=school.code, kind="principal", file_name="p.xlsx",
                      data=xlsx([["校长丙", "女"], ["校长丁", "男"]], HEADERS["principal"]))
    assert problems_of(exc) == {(3, "姓名")}
    assert "只能填写一位校长" in reason_at(exc, 3, "姓名")
    assert Principal.objects.get(school=school).name == "校长乙"


# ---------------------------------------------------------------------------------------------------- who may upload


@pytest.mark.parametrize(("persona", "school_key", "outcome"), [
    ("school_head@A", "A1a-1", "ok"),
    ("school_info_officer@A", "A1a-1", "ok"),
    ("county_liaison@A", "A1a-2", "ok"),
    ("county_info_officer@A", "A1a-1", "ok"),
    ("school_head@A", "A1a-2", "missing"),       # another school of the same county
    ("county_liaison@A", "A1b-1", "missing"),    # a school of the sibling county
    ("county_liaison@B", "A1a-1", "missing"),
    ("inspector@A", "A1a-1", "forbidden"),
    ("city_viewer@A", "A1a-1", "forbidden"),
    ("province_coordinator@A", "A1a-1", "forbidden"),
    ("national_admin@A", "A1a-1", "forbidden"),
    ("student@A", "A1a-1", "missing"),
])
def test_who_may_upload(world: World, persona: str, school_key: str, outcome: str) -> None:
    code = world.schools[school_key].code
    data = xlsx(student_rows(2), S)
    call = lambda: roster_import(actor=world.users[persona], year=YEAR, school_code=code,  # noqa: E731
                                 kind="students", file_name="s.xlsx", data=data)
    if outcome == "ok":
        assert call().after["total"] == 2
        return
    with pytest.raises(NotFound if outcome == "missing" else PermissionDenied):
        call()
    assert roster_counts(world.schools[school_key], "students") == {"total": 0}


# ---------------------------------------------------------------------------------------------------- review state


def test_uploads_only_while_the_roster_submission_is_draft_or_returned(world: World, school: School,
                                                                        head: Any) -> None:
    from naeq.registry.models import SubmissionKind
    from naeq.registry.services import submission_review, submission_submit

    def upload(n: int) -> Any:
        return roster_import(actor=head, year=YEAR, school_code=school.code, kind="students", file_name="s.xlsx",
                             data=xlsx(student_rows(n), S))

    upload(2)
    with pytest.raises(InvalidInput) as incomplete:  # no teachers and no principal yet
        submission_submit(actor=head, kind=SubmissionKind.ROSTER, year=YEAR, school_code=school.code)
    assert incomplete.value.code == "roster_incomplete"
    assert incomplete.value.details["missing"] == ["教师名单", "校长信息"]
    Teacher.objects.create(school=school, name="教师甲", sex="F", grade=8, subjects="math", head_teacher_class=1)
    Principal.objects.create(school=school, name="校长甲", sex="M")
    sub = submission_submit(actor=head, kind=SubmissionKind.ROSTER, year=YEAR, school_code=school.code)
    with pytest.raises(InvalidInput) as exc:
        upload(3)
    assert exc.value.code == "submission_not_editable"
    assert roster_counts(school, "students") == {"8": 2, "total": 2}
    # Another year's submission is independent.
    assert roster_import(actor=head, year=YEAR + 1, school_code=school.code, kind="principal", file_name="p.csv",
                         data="姓名,性别\n校长甲,男\n".encode()).after == {"total": 1}
    submission_review(actor=world.users["county_liaison@A"], submission_id=sub.id, approve=False, reason="缺教师名单")
    assert upload(3).after == {"8": 3, "total": 3}


def test_students_already_drawn_cannot_be_replaced(school: School, head: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sampled students protect their roster rows (on_delete=PROTECT); the upload says so in Chinese."""
    from django.db.models import ProtectedError
    from django.db.models.query import QuerySet

    roster_import(actor=head, year=YEAR, school_code=school.code, kind="students", file_name="s.xlsx",
                  data=xlsx(student_rows(2), S))

    def protected(self: Any) -> None:
        raise ProtectedError("protected by sampling.SampledStudent", set())

    monkeypatch.setattr(QuerySet, "delete", protected)
    with pytest.raises(InvalidInput, match="已被抽样"):
        roster_import(actor=head, year=YEAR, school_code=school.code, kind="students", file_name="s.xlsx",
                      data=xlsx(student_rows(3), S))
    monkeypatch.undo()
    assert roster_counts(school, "students") == {"8": 2, "total": 2}
