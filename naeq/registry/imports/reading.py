"""Reading an uploaded .xlsx or .csv and checking every row; every problem is collected in one pass."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from naeq.core.errors import ProblemCollector
from naeq.registry.imports.columns import (
    COUNT_FIELDS,
    DATA_SHEET,
    FIELD_HEADER,
    HEADER_ALIASES,
    HEADER_SCAN_ROWS,
    HEADERS,
    LEVEL_LABELS,
    MAX_BYTES,
    MAX_CLASSES,
    MAX_ROWS,
    MAX_STUDENTS,
    NOTES_SHEET,
    OWNERSHIP_LABELS,
    URBAN_RURAL_LABELS,
    _ur_option,
)
from naeq.registry.models import SchoolLevel, UrbanRural

# ------------------------------------------------------------------------------------------------ reading


def _norm(value: Any) -> str:
    """Text of a cell: full-width digits and letters made ASCII (NFKC), surrounding blanks removed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


def _norm_header(value: Any) -> str:
    text = re.sub(r"\s+", "", _norm(value)).strip("*＊")
    text = re.sub(r"[(（][^)）]*[)）]$", "", text)  # "学校标识码（10位）", "举办者(必填)"
    return HEADER_ALIASES.get(text, text)


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


@dataclass
class _Sheet:
    rows: list[list[Any]]  # raw cell values; row i is spreadsheet row i + 1
    merged: bool = False


def _read_xlsx(data: bytes, problems: ProblemCollector) -> _Sheet | None:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), data_only=True)
    except Exception:  # openpyxl raises many types for a damaged file
        problems.add(_("无法读取该Excel文件，文件可能已损坏；请用模板重新填写并另存为 .xlsx。"))
        return None
    sheets = [ws for ws in wb.worksheets if ws.title not in (NOTES_SHEET,)]
    ws = wb[DATA_SHEET] if DATA_SHEET in wb.sheetnames else (sheets[0] if sheets else wb.worksheets[0])
    if ws.max_row > MAX_ROWS + HEADER_SCAN_ROWS + 1000:
        problems.add(_("工作表“%(sheet)s”有%(n)d行，超过上限。") % {"sheet": ws.title, "n": ws.max_row})
        return None
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    merged = False
    for rng in ws.merged_cells.ranges:  # a merged block reads as its top-left value in every cell
        merged = True
        value = rows[rng.min_row - 1][rng.min_col - 1] if rng.min_row - 1 < len(rows) else None
        for r in range(rng.min_row - 1, min(rng.max_row, len(rows))):
            for c in range(rng.min_col - 1, rng.max_col):
                if c < len(rows[r]):
                    rows[r][c] = value
    return _Sheet(rows=rows, merged=merged)


def _decode(data: bytes, problems: ProblemCollector) -> str | None:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    problems.add(_("无法识别文件编码；请保存为 UTF-8 或 GB18030 编码的 CSV，或直接上传 .xlsx。"))
    return None


def _read_csv(data: bytes, problems: ProblemCollector) -> _Sheet | None:
    text = _decode(data, problems)
    if text is None:
        return None
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    rows: list[list[Any]] = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    return _Sheet(rows=rows)


def _read(file_name: str, data: bytes, problems: ProblemCollector) -> _Sheet | None:
    if not data:
        problems.add(_("文件是空的。"))
        return None
    if len(data) > MAX_BYTES:
        problems.add(_("文件超过 %(mb)d MB。") % {"mb": MAX_BYTES // (1024 * 1024)})
        return None
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, problems)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        problems.add(_("这是旧版 Excel（.xls）文件；请在 Excel 中“另存为” .xlsx 后上传。"))
        return None
    if not file_name.lower().endswith((".csv", ".txt")):
        problems.add(_("只接受 .xlsx 或 .csv 文件。"))
        return None
    return _read_csv(data, problems)


# ------------------------------------------------------------------------------------------------ header


def _find_header(sheet: _Sheet, problems: ProblemCollector) -> tuple[int, list[str]] | None:
    """(index of the last header row, header per column). Accepts a title row above and a two-row header."""
    for i, row in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
        headers = [_norm_header(v) for v in row]
        if "学校标识码" not in headers:
            continue
        known = sum(h in HEADERS for h in headers)
        if i + 1 < len(sheet.rows):
            below = sheet.rows[i + 1]
            combined = []
            for c, h in enumerate(headers):
                b = _norm_header(below[c]) if c < len(below) else ""
                combined.append(h + b if b and b != h and h not in HEADERS else h)
            if sum(h in HEADERS for h in combined) > known:
                return i + 1, combined
        return i, headers
    problems.add(_("找不到列标题行：前%(n)d行中没有“学校标识码”列。请使用模板，不要删除或改动列标题。")
                 % {"n": HEADER_SCAN_ROWS})
    return None


def _columns(sheet: _Sheet, header_index: int, headers: list[str],
             problems: ProblemCollector) -> dict[str, int]:
    """Header -> column index; reports unknown, duplicate and missing headers and data under no header."""
    row_no = header_index + 1
    columns: dict[str, int] = {}
    data_rows = sheet.rows[header_index + 1:]
    for c, h in enumerate(headers):
        letter = _column_letter(c)
        if not h:
            if any(c < len(r) and _norm(r[c]) for r in data_rows):
                problems.add(_("第%(col)s列没有列标题，但填有数据；请删除该列或使用模板的列。") % {"col": letter},
                             row=row_no, field=letter)
            continue
        if h not in HEADERS:
            problems.add(_("未知的列“%(h)s”（第%(col)s列）；模板只有这些列：%(all)s。")
                         % {"h": h, "col": letter, "all": "、".join(HEADERS)}, row=row_no, field=h)
            continue
        if h in columns:
            problems.add(_("列“%(h)s”出现了两次（第%(a)s列和第%(b)s列）。")
                         % {"h": h, "a": _column_letter(columns[h]), "b": letter}, row=row_no, field=h)
            continue
        columns[h] = c
    for h in HEADERS:
        if h not in columns:
            problems.add(_("缺少列“%(h)s”。") % {"h": h}, row=row_no, field=h)
    return columns


# ------------------------------------------------------------------------------------------------ rows


@dataclass(frozen=True)
class SchoolRecord:
    row: int
    code: str
    name: str
    level: str
    urban_rural: str
    ownership: str
    g4_enrollment: int
    g4_classes: int
    g8_enrollment: int
    g8_classes: int

    def values(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in HEADERS.values()}


class _Row:
    """The cells of one data row, checked one column at a time; problems go to the collector."""

    def __init__(self, problems: ProblemCollector, row: int, cells: dict[str, Any]):
        self.problems, self.row, self.cells, self.ok = problems, row, cells, True

    def err(self, header: str, reason: str, value: Any = None) -> None:
        self.ok = False
        self.problems.add(reason, row=self.row, field=header, value=value)

    def code(self, county_code: str) -> str:
        h = "学校标识码"
        if h not in self.cells:
            return ""
        raw = self.cells[h]
        text = _norm(raw).lstrip("'")
        if not text:
            self.err(h, _("学校标识码不能为空。"))
            return ""
        if re.fullmatch(r"[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+", text):
            self.err(h, _("学校标识码被写成了科学计数法（%(v)s），后几位数字已丢失；请将该列设为文本格式，"
                          "重新填写完整的10位代码。") % {"v": text}, text)
            return ""
        if isinstance(raw, float) and not raw.is_integer():
            self.err(h, _("学校标识码应为10位数字，实为“%(v)s”。") % {"v": text}, text)
            return ""
        text = re.sub(r"\.0+$", "", text)
        if not re.fullmatch(r"[0-9]{10}", text):
            digits = len(re.sub(r"[^0-9]", "", text))
            self.err(h, _("学校标识码应为10位数字，实为“%(v)s”（%(n)d位）。") % {"v": text, "n": digits}, text)
            return ""
        if text[0] != "1" or text[1:7] != county_code:
            self.err(h, _("学校标识码“%(v)s”不属于本县（区）：应以“1%(county)s”开头（1 + 县级行政区划代码 + "
                          "3位序号）。") % {"v": text, "county": county_code}, text)
            return ""
        return text

    def name(self) -> str:
        h = "学校名称"
        if h not in self.cells:
            return ""
        raw = self.cells[h]  # names keep their full-width punctuation: no NFKC here
        text = re.sub(r"\s+", " ", raw if isinstance(raw, str) else _norm(raw)).strip()
        if not text:
            self.err(h, _("学校名称不能为空。"))
        elif len(text) > 100:
            self.err(h, _("学校名称不能超过100字。"), text)
        return text

    def choice(self, h: str, labels: dict[str, str], options: list[str]) -> str:
        if h not in self.cells:
            return ""
        text = re.sub(r"\s+", "", _norm(self.cells[h]))
        if not text:
            self.err(h, _("“%(h)s”不能为空。") % {"h": h})
            return ""
        if text in labels:
            return labels[text]
        self.err(h, _("“%(v)s”不是有效的%(h)s；可填：%(options)s。")
                 % {"v": text, "h": h, "options": "、".join(options)}, text)
        return ""

    def urban_rural(self) -> str:
        h = "城乡分类代码"
        if h not in self.cells:
            return ""
        text = _norm(self.cells[h])
        if not text:
            self.err(h, _("“%(h)s”不能为空。") % {"h": h})
            return ""
        m = re.fullmatch(r"([0-9]{3})(?:\.0+)?\s*(\S*)", text)
        if m and m.group(1) in UrbanRural.values and m.group(2) in ("", UrbanRural(m.group(1)).label):
            return m.group(1)
        compact = re.sub(r"\s+", "", text)
        if compact in URBAN_RURAL_LABELS:
            return URBAN_RURAL_LABELS[compact]
        self.err(h, _("“%(v)s”不是有效的城乡分类代码；可填：%(options)s。")
                 % {"v": text, "options": "、".join(_ur_option(v) for v in UrbanRural.values)}, text)
        return ""

    def count(self, h: str, high: int) -> int:
        if h not in self.cells:
            return 0
        raw = self.cells[h]
        if isinstance(raw, float) and not raw.is_integer():
            self.err(h, _("“%(h)s”应为整数，实为%(v)s。") % {"h": h, "v": _norm(raw)}, raw)
            return 0
        text = _norm(raw)
        if re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})+", text):
            text = text.replace(",", "")
        if text == "":
            return 0
        if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
            self.err(h, _("“%(h)s”应为整数，实为“%(v)s”。") % {"h": h, "v": text}, text)
            return 0
        if text.startswith("-"):
            self.err(h, _("“%(h)s”不能为负数（%(v)s）。") % {"h": h, "v": text}, text)
            return 0
        if "." in text and not re.fullmatch(r"[0-9]+\.0+", text):
            self.err(h, _("“%(h)s”应为整数，实为%(v)s。") % {"h": h, "v": text}, text)
            return 0
        value = int(text.split(".")[0])
        if value > high:
            self.err(h, _("“%(h)s”为%(v)d，超过合理上限%(max)d，请核对。") % {"h": h, "v": value, "max": high}, value)
            return 0
        return value

    def grades(self, level: str, counts: dict[str, int]) -> None:
        """Classes against students, and the grades against the level."""
        for g in (4, 8):
            students, classes = counts[f"g{g}_enrollment"], counts[f"g{g}_classes"]
            hs, hc = FIELD_HEADER[f"g{g}_enrollment"], FIELD_HEADER[f"g{g}_classes"]
            if students > 0 and classes == 0:
                self.err(hc, _("%(hs)s为%(s)d，%(hc)s不能为0。") % {"hs": hs, "s": students, "hc": hc})
            elif classes > students:
                self.err(hc, _("%(hc)s（%(c)d）多于%(hs)s（%(s)d）。")
                         % {"hc": hc, "c": classes, "hs": hs, "s": students})
        g4, g8 = counts["g4_enrollment"], counts["g8_enrollment"]
        label = SchoolLevel(level).label if level else ""
        if level == SchoolLevel.PRIMARY and g8 > 0:
            self.err("八年级学生数", _("办学类型为“%(l)s”的学校不能有八年级学生（填了%(n)d人）。")
                     % {"l": label, "n": g8})
        if level in (SchoolLevel.JUNIOR, SchoolLevel.COMPLETE_MIDDLE) and g4 > 0:
            self.err("四年级学生数", _("办学类型为“%(l)s”的学校不能有四年级学生（填了%(n)d人）。")
                     % {"l": label, "n": g4})
        if level in (SchoolLevel.NINE_YEAR, SchoolLevel.TWELVE_YEAR) and g4 == 0 and g8 == 0:
            self.err("四年级学生数", _("办学类型为“%(l)s”的学校四年级和八年级学生数不能都为0。") % {"l": label})


def _records(sheet: _Sheet, header_index: int, columns: dict[str, int], county_code: str,
             problems: ProblemCollector) -> list[SchoolRecord]:
    records: list[SchoolRecord] = []
    seen: dict[str, int] = {}
    data = sheet.rows[header_index + 1:]
    if len([r for r in data if any(_norm(v) for v in r)]) > MAX_ROWS:
        problems.add(_("数据超过%(n)d行。") % {"n": MAX_ROWS})
        return []
    for offset, raw in enumerate(data):
        row_no = header_index + 2 + offset
        if not any(_norm(v) for v in raw):
            continue  # blank rows anywhere are skipped
        cells = {h: (raw[c] if c < len(raw) else None) for h, c in columns.items()}
        r = _Row(problems, row_no, cells)
        code = r.code(county_code)
        name = r.name()
        level = r.choice("办学类型", LEVEL_LABELS, [str(label) for label in SchoolLevel.labels])
        ur = r.urban_rural()
        ownership = r.choice("举办者", OWNERSHIP_LABELS, ["公办", "民办"])
        before = len(problems.problems)
        counts = {f: r.count(FIELD_HEADER[f], MAX_STUDENTS if "enrollment" in f else MAX_CLASSES)
                  for f in COUNT_FIELDS}
        if level and len(problems.problems) == before:
            r.grades(level, counts)
        if code:
            if code in seen:
                r.err("学校标识码", _("学校标识码“%(v)s”与第%(first)d行重复（第%(first)d行和第%(row)d行）。")
                      % {"v": code, "first": seen[code], "row": row_no}, code)
            else:
                seen[code] = row_no
        if r.ok:
            records.append(SchoolRecord(row=row_no, code=code, name=name, level=level, urban_rural=ur,
                                        ownership=ownership, **counts))
    if not seen and not problems.problems:
        problems.add(_("文件中没有学校数据。"))
    return records


def parse_registry_file(*, file_name: str, data: bytes, county_code: str) -> list[SchoolRecord]:
    """Read and check one county's file; raise InvalidInput with every problem, or return its schools."""
    problems = ProblemCollector(file=file_name)
    sheet = _read(file_name, data, problems)
    records: list[SchoolRecord] = []
    if sheet is not None:
        found = _find_header(sheet, problems)
        if found is not None:
            header_index, headers = found
            columns = _columns(sheet, header_index, headers, problems)
            records = _records(sheet, header_index, columns, county_code, problems)
    problems.raise_if_any(_("文件有%(n)d处错误，未导入任何数据。") % {"n": len(problems.problems)})
    return records


