"""School rosters: templates, parsing of uploaded .xlsx/.csv files, validation, atomic replacement.

A sampled school uploads three lists (issue 3, step 4): the students of each tested grade (all of them: the draw of
30 per grade happens afterwards, "随机抽取，不按班级"), the teachers of the tested grades with their subjects and
head-teacher classes, and the principal. The county then reviews and the province reviews (the ROSTER submission of
:mod:`naeq.registry.review`).

Every problem of a file is collected in one pass, each with the file, the Excel row, the column header and a
Chinese reason; any problem means nothing changes. A good file replaces that part of the school's roster in one
transaction, audited with the counts before and after — never the names: minors' data stays out of the audit log.

Registry sits below cycles in the layers, so the subject vocabulary is passed in by the caller (the cycle's subject
list, code → name); :data:`DEFAULT_SUBJECTS` (the national subject list) is used when none is given.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, ProtectedError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Role
from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, PermissionDenied, ProblemCollector
from naeq.registry import review
from naeq.registry.access import school_access
from naeq.registry.models import Principal, School, Sex, Student, Submission, SubmissionKind, Teacher
from naeq.registry.services import submission_require_editable

__all__ = [
    "DEFAULT_SUBJECTS",
    "HEADERS",
    "ROSTER_KINDS",
    "ROSTER_UPLOADER_ROLES",
    "RosterImportResult",
    "RosterOverview",
    "roster_access_for_upload",
    "roster_counts",
    "roster_import",
    "roster_overview",
    "roster_template_csv",
    "roster_template_xlsx",
]

ROSTER_KINDS = ("students", "teachers", "principal")
KIND_LABELS = {
    "students": gettext_lazy("学生名单"),
    "teachers": gettext_lazy("教师名单"),
    "principal": gettext_lazy("校长信息"),
}

#: The column headers of each template, in order. Files are matched by header text, so columns may be reordered.
HEADERS: dict[str, tuple[str, ...]] = {
    "students": ("年级", "班级", "班内序号", "姓名", "性别", "出生年月"),
    "teachers": ("姓名", "性别", "任教年级", "任教学科", "是否班主任", "班主任班级"),
    "principal": ("姓名", "性别"),
}
#: Columns that may be left empty (the head-teacher class of a teacher who is not a head teacher).
OPTIONAL = {"班主任班级"}

#: The national subject list (DOMAIN.md; the 2024 cycle file), code -> name.
DEFAULT_SUBJECTS: dict[str, str] = {
    "moral": "德育", "chinese": "语文", "math": "数学", "english": "英语", "science": "科学", "arts": "艺术",
    "labor": "劳动", "pe": "体育与健康", "mental_health": "心理健康",
}

#: Who uploads rosters: the school's own staff, and the county's officers for the schools of their county.
ROSTER_UPLOADER_ROLES = frozenset({Role.SCHOOL_HEAD, Role.SCHOOL_INFO_OFFICER, Role.COUNTY_LIAISON,
                                   Role.COUNTY_INFO_OFFICER})

MAX_ROWS = 10_000
MAX_BYTES = 5 * 1024 * 1024
MAX_SEQ = 999
NAME_MAX = 30
#: Plausible age (cycle year minus birth year) for a grade: grade + 3 .. grade + 9, i.e. 7..13 for grade 4 and
#: 11..17 for grade 8 (children start primary school at 6; early starters and repeaters leave a margin).
AGE_BELOW_GRADE, AGE_ABOVE_GRADE = 3, 9

_SEX = {"男": Sex.MALE, "女": Sex.FEMALE, "M": Sex.MALE, "F": Sex.FEMALE}
_YES = {"是", "Y", "YES", "1", "TRUE"}
_NO = {"否", "N", "NO", "0", "FALSE", ""}
_GRADE_WORDS = {"四": 4, "八": 8, "4": 4, "8": 8}
_SUBJECT_SPLIT = re.compile(r"[、,，;；/\s]+")
_MONTH = re.compile(r"^(\d{4})[-./年](\d{1,2})月?$")


@dataclass(frozen=True)
class RosterImportResult:
    """What an upload changed: row counts before and after, by grade (``"4"``, ``"8"``) and in total."""

    kind: str
    school_code: str
    rows: int
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)

    def changes(self) -> list[tuple[str, int, int]]:
        keys = sorted(set(self.before) | set(self.after), key=lambda k: (k == "total", k))
        return [(k, self.before.get(k, 0), self.after.get(k, 0)) for k in keys]


# ---------------------------------------------------------------------------------------------------- access


def roster_access_for_upload(*, actor: Any, school_code: str) -> School:
    """The school, if the actor may upload its rosters: its own head or information officer, or a county liaison
    or information officer of its county. Others who can see the school get PermissionDenied; the rest NotFound."""
    school = school_access(actor=actor, code=school_code)
    j = jurisdiction_of(actor)
    if j.role not in ROSTER_UPLOADER_ROLES:
        raise PermissionDenied(_("只有样本校本校人员和所属县级人员可以上传名单。"))
    return school


# ---------------------------------------------------------------------------------------------------- templates


_NOTES: dict[str, tuple[tuple[str, str], ...]] = {
    "students": (
        ("年级", "4 或 8（也可写“四年级”“八年级”），须为本校测试年级"),
        ("班级", "班级序号，1 至本校该年级班级数"),
        ("班内序号", "学生在班内的序号，同一年级同一班级内不得重复"),
        ("姓名", "学生姓名"),
        ("性别", "男 或 女"),
        ("出生年月", "YYYY-MM，例如 2014-09"),
    ),
    "teachers": (
        ("姓名", "教师姓名；同一教师任教两个年级时每个年级填一行"),
        ("性别", "男 或 女"),
        ("任教年级", "4 或 8，须为本校测试年级"),
        ("任教学科", "一门或多门，用“、”或“,”分隔，例如：数学、体育与健康"),
        ("是否班主任", "是 或 否"),
        ("班主任班级", "是班主任时必填：所带班级序号；每个班级只能有一位班主任"),
    ),
    "principal": (
        ("姓名", "校长姓名；只填一行"),
        ("性别", "男 或 女"),
    ),
}


def _check_kind(kind: str) -> None:
    if kind not in ROSTER_KINDS:
        raise InvalidInput(_("未知的名单类型：%(kind)s。") % {"kind": kind})


def roster_template_xlsx(kind: str) -> bytes:
    """An empty Excel template with the Chinese headers, drop-down lists and a sheet of instructions."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    _check_kind(kind)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = str(KIND_LABELS[kind])
    headers = HEADERS[kind]
    ws.append(list(headers))
    for i, h in enumerate(headers):
        cell = ws.cell(row=1, column=i + 1)
        cell.font = Font(bold=True)
        ws.column_dimensions[cell.column_letter].width = 24 if h == "任教学科" else 14
        if h in ("性别", "是否班主任"):
            dv = DataValidation(type="list", formula1='"男,女"' if h == "性别" else '"是,否"', allow_blank=True)
            ws.add_data_validation(dv)
            dv.add(f"{cell.column_letter}2:{cell.column_letter}{MAX_ROWS}")
        if h == "出生年月":
            ws.column_dimensions[cell.column_letter].number_format = "@"  # text: Excel keeps "2014-09" as typed
    ws.freeze_panes = "A2"
    notes = wb.create_sheet("填写说明")
    notes.append(["列名", "填写要求"])
    for h, note in _NOTES[kind]:
        notes.append([h, note])
    notes.column_dimensions["B"].width = 70
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def roster_template_csv(kind: str) -> bytes:
    """An empty CSV template (UTF-8 with a byte-order mark, so Excel opens the Chinese headers correctly)."""
    _check_kind(kind)
    return ("\ufeff" + ",".join(HEADERS[kind]) + "\r\n").encode("utf-8")


# ---------------------------------------------------------------------------------------------------- reading


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return f"{value.year:04d}-{value.month:02d}"
    return str(value).strip()


def _read_rows(file_name: str, data: bytes, problems: ProblemCollector) -> list[list[str]] | None:
    """All rows of the first sheet (or the CSV) as text, header first; None after reporting an unreadable file."""
    if len(data) > MAX_BYTES:
        problems.add(_("文件超过 %(mb)d MB。") % {"mb": MAX_BYTES // (1024 * 1024)})
        return None
    lower = file_name.lower()
    if lower.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            ws = wb.worksheets[0]
            rows = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
            wb.close()
        except Exception:  # openpyxl raises many types for a damaged or mislabelled file
            problems.add(_("无法读取该文件：不是有效的 Excel（.xlsx）文件。"))
            return None
        return rows
    if lower.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes almost any byte string
            problems.add(_("无法识别 CSV 文件的编码，请另存为 UTF-8。"))
            return None
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    problems.add(_("只支持 .xlsx 或 .csv 文件。"))
    return None


def _records(kind: str, rows: list[list[str]], problems: ProblemCollector) -> list[tuple[int, dict[str, str]]]:
    """Data rows as (Excel row number, header -> text), skipping blank rows; reports missing headers."""
    if not rows:
        problems.add(_("文件是空的。"), row=1)
        return []
    header = [h.strip().replace("\ufeff", "") for h in rows[0]]
    index: dict[str, int] = {}
    for i, h in enumerate(header):
        if h and h not in index:
            index[h] = i
    missing = [h for h in HEADERS[kind] if h not in index]
    for h in missing:
        problems.add(_("缺少列“%(header)s”。") % {"header": h}, row=1, field=h)
    if missing:
        return []
    out = []
    for n, row in enumerate(rows[1:], start=2):
        cells = {h: (row[i].strip() if i < len(row) else "") for h, i in index.items() if h in HEADERS[kind]}
        if not any(cells.values()):
            continue
        out.append((n, cells))
    if len(out) > MAX_ROWS:
        problems.add(_("数据行超过 %(n)d 行。") % {"n": MAX_ROWS})
        return []
    if not out:
        problems.add(_("文件里没有数据行。"), row=2)
    return out


# ---------------------------------------------------------------------------------------------------- validation


class _RowChecker:
    """Parses the cells of one row, reporting each problem against the row and column."""

    def __init__(self, problems: ProblemCollector, school: School, year: int, row: int, cells: dict[str, str]):
        self.p, self.school, self.year, self.row, self.cells = problems, school, year, row, cells
        self.ok = True

    def err(self, header: str, reason: str) -> None:
        self.p.add(reason, row=self.row, field=header, value=self.cells.get(header))
        self.ok = False

    def text(self, header: str) -> str | None:
        value = self.cells.get(header, "")
        if not value:
            if header not in OPTIONAL:
                self.err(header, _("不能为空。"))
            return None
        return value

    def name(self, header: str = "姓名") -> str | None:
        value = self.text(header)
        if value is not None and len(value) > NAME_MAX:
            self.err(header, _("姓名过长（最多 %(n)d 个字）。") % {"n": NAME_MAX})
            return None
        return value

    def sex(self) -> str | None:
        value = self.text("性别")
        if value is None:
            return None
        sex = _SEX.get(value.upper())
        if sex is None:
            self.err("性别", _("性别只能填“男”或“女”。"))
        return sex

    def integer(self, header: str, low: int, high: int) -> int | None:
        value = self.text(header)
        if value is None:
            return None
        if not value.isdigit():
            self.err(header, _("应为正整数。"))
            return None
        number = int(value)
        if not low <= number <= high:
            self.err(header, _("应在 %(low)d 到 %(high)d 之间。") % {"low": low, "high": high})
            return None
        return number

    def grade(self, header: str) -> int | None:
        value = self.text(header)
        if value is None:
            return None
        key = value.replace("年级", "").strip()
        grade = _GRADE_WORDS.get(key)
        if grade is None:
            self.err(header, _("年级只能是 4 或 8。"))
            return None
        if grade not in self.school.grades:
            tested = "、".join(str(g) for g in self.school.grades) or _("无")
            self.err(header, _("本校不测试 %(grade)d 年级（本校测试年级：%(tested)s）。")
                     % {"grade": grade, "tested": tested})
            return None
        return grade

    def class_no(self, header: str, grade: int | None) -> int | None:
        if grade is None:
            self.text(header)  # still report an empty cell
            return None
        classes = int(getattr(self.school, f"g{grade}_classes"))
        value = self.text(header)
        if value is None:
            return None
        if not value.isdigit():
            self.err(header, _("应为正整数。"))
            return None
        number = int(value)
        if not 1 <= number <= classes:
            self.err(header, _("班级应在 1 到 %(n)d 之间（本校 %(grade)d 年级共 %(n)d 个班）。")
                     % {"n": classes, "grade": grade})
            return None
        return number

    def birth_month(self, grade: int | None) -> str | None:
        value = self.text("出生年月")
        if value is None:
            return None
        m = _MONTH.match(value)
        if m is None or not 1 <= int(m.group(2)) <= 12:
            self.err("出生年月", _("出生年月应写成 YYYY-MM，例如 2014-09。"))
            return None
        birth_year, month = int(m.group(1)), int(m.group(2))
        if grade is not None:
            age = self.year - birth_year
            low, high = grade + AGE_BELOW_GRADE, grade + AGE_ABOVE_GRADE
            if not low <= age <= high:
                reason = _("出生年月与年级不符：%(year)d 年 %(grade)d 年级学生应在 %(low)d 至 %(high)d 岁之间。")
                self.err("出生年月", reason % {"year": self.year, "grade": grade, "low": low, "high": high})
                return None
        return f"{birth_year:04d}-{month:02d}"

    def yes_no(self, header: str) -> bool | None:
        value = self.cells.get(header, "").upper()
        if value in _YES:
            return True
        if value in _NO:
            if not value:
                self.err(header, _("不能为空。"))
                return None
            return False
        self.err(header, _("只能填“是”或“否”。"))
        return None

    def subjects(self, header: str, vocabulary: Mapping[str, str]) -> str | None:
        value = self.text(header)
        if value is None:
            return None
        by_name = {name: code for code, name in vocabulary.items()}
        codes: list[str] = []
        unknown: list[str] = []
        for part in (s for s in _SUBJECT_SPLIT.split(value) if s):
            code = part if part in vocabulary else by_name.get(part)
            if code is None:
                unknown.append(part)
            elif code not in codes:
                codes.append(code)
        if unknown:
            self.err(header, _("未知学科：%(unknown)s（可填：%(known)s）。")
                     % {"unknown": "、".join(unknown), "known": "、".join(vocabulary.values())})
            return None
        return ",".join(codes)


def _parse_students(records: list[tuple[int, dict[str, str]]], school: School, year: int,
                    problems: ProblemCollector) -> list[Student]:
    seats: dict[tuple[int, int, int], int] = {}
    out = []
    for row, cells in records:
        c = _RowChecker(problems, school, year, row, cells)
        grade = c.grade("年级")
        class_no = c.class_no("班级", grade)
        seq = c.integer("班内序号", 1, MAX_SEQ)
        name = c.name()
        sex = c.sex()
        birth = c.birth_month(grade)
        if grade is not None and class_no is not None and seq is not None:
            first = seats.setdefault((grade, class_no, seq), row)
            if first != row:
                c.err("班内序号", _("与第 %(row)d 行重复：%(grade)d 年级 %(class_no)d 班已有班内序号 %(seq)d。")
                      % {"row": first, "grade": grade, "class_no": class_no, "seq": seq})
        if c.ok:
            assert grade is not None and class_no is not None and seq is not None
            assert name is not None and sex is not None and birth is not None
            out.append(Student(school=school, grade=grade, class_no=class_no, seq=seq, name=name, sex=sex,
                               birth_month=birth))
    return out


def _parse_teachers(records: list[tuple[int, dict[str, str]]], school: School, year: int,
                    problems: ProblemCollector, vocabulary: Mapping[str, str]) -> list[Teacher]:
    heads: dict[tuple[int, int], int] = {}
    out = []
    for row, cells in records:
        c = _RowChecker(problems, school, year, row, cells)
        name = c.name()
        sex = c.sex()
        grade = c.grade("任教年级")
        subjects = c.subjects("任教学科", vocabulary)
        is_head = c.yes_no("是否班主任")
        head_class: int | None = None
        if is_head:
            if not cells.get("班主任班级"):
                c.err("班主任班级", _("是班主任时必须填写所带班级。"))
            else:
                head_class = c.class_no("班主任班级", grade)
            if grade is not None and head_class is not None:
                first = heads.setdefault((grade, head_class), row)
                if first != row:
                    c.err("班主任班级", _("%(grade)d 年级 %(class_no)d 班已有班主任（第 %(row)d 行），每班只能有一位。")
                          % {"grade": grade, "class_no": head_class, "row": first})
        elif is_head is False and cells.get("班主任班级"):
            c.err("班主任班级", _("不是班主任时不应填写班主任班级。"))
        if c.ok:
            assert name is not None and sex is not None and grade is not None and subjects is not None
            out.append(Teacher(school=school, name=name, sex=sex, grade=grade, subjects=subjects,
                               head_teacher_class=head_class))
    return out


def _parse_principal(records: list[tuple[int, dict[str, str]]], school: School, year: int,
                     problems: ProblemCollector) -> list[Principal]:
    out = []
    for n, (row, cells) in enumerate(records):
        c = _RowChecker(problems, school, year, row, cells)
        if n > 0:
            c.err("姓名", _("只能填写一位校长（第 %(row)d 行已填写）。") % {"row": records[0][0]})
            continue
        name = c.name()
        sex = c.sex()
        if c.ok:
            assert name is not None and sex is not None
            out.append(Principal(school=school, name=name, sex=sex))
    return out


# ---------------------------------------------------------------------------------------------------- import


def roster_counts(school: School, kind: str) -> dict[str, int]:
    """Rows of one roster part of a school, by grade and in total (no names)."""
    _check_kind(kind)
    if kind == "principal":
        return {"total": Principal.objects.filter(school=school).count()}
    model: type[Student] | type[Teacher] = Student if kind == "students" else Teacher
    by_grade = dict(model.objects.filter(school=school).values_list("grade").annotate(n=Count("id"))
                    .values_list("grade", "n"))
    counts = {str(g): int(n) for g, n in sorted(by_grade.items())}
    counts["total"] = sum(counts.values())
    return counts


_MODELS: dict[str, Any] = {"students": Student, "teachers": Teacher, "principal": Principal}


def _require_editable(*, year: int, school: School) -> None:
    """Rosters change only while the school's ROSTER submission for the year is a draft or returned (or absent)."""
    submission_require_editable(kind=SubmissionKind.ROSTER, year=year, school=school)


@transaction.atomic
def roster_import(*, actor: Any, year: int, school_code: str, kind: str, file_name: str, data: bytes,
                  subjects: Mapping[str, str] | None = None) -> RosterImportResult:
    """Replace one part (``kind``: students / teachers / principal) of a school's roster with an uploaded file.

    ``subjects`` (code -> name) is the cycle's subject list for the teachers' 任教学科 column; it defaults to
    :data:`DEFAULT_SUBJECTS`. Raises :class:`InvalidInput` with every problem (file, Excel row, column header,
    reason) and changes nothing when the file has any problem.
    """
    _check_kind(kind)
    school = roster_access_for_upload(actor=actor, school_code=school_code)
    school = School.objects.select_for_update().select_related("county").get(pk=school.pk)
    _require_editable(year=year, school=school)
    problems = ProblemCollector(file=file_name)
    rows = _read_rows(file_name, data, problems)
    records = _records(kind, rows, problems) if rows is not None else []
    objects: list[Any]
    if kind == "students":
        objects = _parse_students(records, school, year, problems)
    elif kind == "teachers":
        objects = _parse_teachers(records, school, year, problems, subjects or DEFAULT_SUBJECTS)
    else:
        objects = _parse_principal(records, school, year, problems)
    problems.raise_if_any(_("名单文件有 %(n)d 处错误，未做任何修改。") % {"n": len(problems.problems)})

    before = roster_counts(school, kind)
    for obj in objects:  # field-level checks only: the rows were validated above, uniqueness by the database
        obj.full_clean(validate_unique=False, validate_constraints=False)
    try:
        _MODELS[kind].objects.filter(school=school).delete()
    except ProtectedError as exc:
        raise InvalidInput(_("该校学生已被抽样，学生名单不能再替换。")) from exc
    _MODELS[kind].objects.bulk_create(objects, batch_size=1000)
    after = roster_counts(school, kind)
    audit_record(actor=actor, action=f"registry.roster.{kind}.import", object_type="school", object_id=school.code,
                 before={"year": year, "counts": before},
                 after={"year": year, "counts": after, "file": file_name, "rows": len(objects)})
    return RosterImportResult(kind=kind, school_code=school.code, rows=len(objects), before=before, after=after)


# ---------------------------------------------------------------------------------------------------- the page


@dataclass(frozen=True)
class RosterOverview:
    """What the roster page shows: counts of each part (never names), who may upload, the review state."""

    school: School
    year: int
    counts: dict[str, dict[str, int]]
    may_upload: bool
    may_submit: bool  # the school's staff (or county officers for it) hand the rosters to the county
    submission: Submission | None  # the school's ROSTER submission for the year, if any
    editable: bool  # uploads allowed now (no submission yet, or draft / returned)


def roster_overview(*, actor: Any, school_code: str, year: int) -> RosterOverview:
    """The roster state of a school the actor can see (NotFound otherwise)."""
    school = school_access(actor=actor, code=school_code)
    counts = {kind: roster_counts(school, kind) for kind in ROSTER_KINDS}
    submission = _roster_submission(year=year, school=school)
    editable = submission is None or submission.status in review.EDITABLE
    role = jurisdiction_of(actor).role
    return RosterOverview(school=school, year=year, counts=counts, may_upload=role in ROSTER_UPLOADER_ROLES,
                          may_submit=review.chain_for(SubmissionKind.ROSTER).may_submit(role), submission=submission,
                          editable=editable)


def _roster_submission(*, year: int, school: School) -> Submission | None:
    return Submission.objects.filter(kind=SubmissionKind.ROSTER, year=year, school=school).first()


def _roster_complete(submission: Any) -> None:
    """Before a school submits its roster: students, teachers and the principal are all there (the student draw
    needs the grade lists; the teacher and principal questionnaires need the staff)."""
    school = submission.school
    missing = [label for label, present in (
        (_("学生名单"), Student.objects.filter(school=school).exists()),
        (_("教师名单"), Teacher.objects.filter(school=school).exists()),
        (_("校长信息"), Principal.objects.filter(school=school).exists()),
    ) if not present]
    if missing:
        raise InvalidInput(_("名单不完整，尚缺：%(parts)s。请上传后再提交。") % {"parts": "、".join(missing)},
                           code="roster_incomplete", details={"missing": missing})


review.register_submit_check(SubmissionKind.ROSTER, _roster_complete)
