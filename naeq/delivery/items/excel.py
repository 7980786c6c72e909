"""The item workbook: reading it into an :class:`InstrumentSpec`, writing one (the demo bank and the template
use the same writer, so the demo goes through the real import path), and the upload template.

Sheets: 说明 (the instrument), 题目 (one item a row), 共享材料 (shared stimuli), 题本 (booklets: ordered blocks),
and 填写说明 (notes, ignored on reading). The syntax of every column is in docs/items.md.
"""

from __future__ import annotations

import io
import re
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from naeq.core.errors import InvalidInput, Problem
from naeq.delivery.items.spec import (
    BOOKLET_SHEET,
    COLUMN,
    INFO_SHEET,
    ITEM_SHEET,
    NOTES_SHEET,
    OPTIONAL_COLUMNS,
    RECORD_LABELS,
    RECORD_NAMES,
    STIMULUS_SHEET,
    BookletSpec,
    InstrumentSpec,
    ItemSpec,
    StimulusSpec,
)
from naeq.delivery.media import media_kind
from naeq.delivery.models import InstrumentKind, ItemType

ITEM_HEADERS = tuple(COLUMN.values())
ITEM_OPTIONAL = tuple(COLUMN[k] for k in OPTIONAL_COLUMNS)
STIMULUS_HEADERS = ("编号", "标题", "内容", "图片/音频", "播放次数")
STIMULUS_OPTIONAL = ("播放次数",)
#: Header spellings accepted besides the Chinese ones (the constraint keys they fill).
HEADER_ALIASES = {"play_limit": "播放次数", "record": "录音", "record_seconds": "录音时长",
                  "录音时长（秒）": "录音时长"}
BOOKLET_HEADERS = ("题本号", "题块顺序")
INFO_KEYS = ("工具代码", "名称", "类别", "作答时限", "页面随机")
MAX_ROWS = 2000

#: 作答限制 keys (Chinese) -> constraint names; integer-valued ones are parsed as integers.
CONSTRAINT_KEYS = {"最小": "min", "最大": "max", "小数位": "decimals", "最少选": "min_choices",
                   "最多选": "max_choices", "字数": "max_length", "最多字数": "max_length", "步长": "step",
                   "填空项": "text_option", "部分得分": "partial_credit"}
CONSTRAINT_NAMES = {"min": "最小", "max": "最大", "decimals": "小数位", "min_choices": "最少选",
                    "max_choices": "最多选", "max_length": "字数", "step": "步长", "text_option": "填空项",
                    "partial_credit": "部分得分"}
INT_CONSTRAINTS = {"decimals", "min_choices", "max_choices", "max_length"}
_OPTION = re.compile(r"^\s*([A-Za-z0-9]{1,8})\s*(?:[.．、:：]|=|＝)\s*(.+?)\s*$")
_SPLIT = re.compile(r"[,，、;；\s]+")
_SHOW_IF = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*(?:=|＝|in|IN|属于)\s*(.+?)\s*$")
_SKIP = re.compile(r"^\s*选\s*(.+?)\s*跳至第?\s*(\d+)\s*屏?\s*$")
#: A media file with its own play limit: ``listen.mp3（2次）`` (also half-width parentheses).
_PLAYS = re.compile(r"^(.+?)[（(]\s*([^（）()]*?)\s*次?\s*[）)]$")
YES, NO = ("是", "Y", "y", "yes", "1", "true", "True", "必答"), ("否", "N", "n", "no", "0", "false", "False", "")


def type_names() -> dict[str, str]:
    """Every accepted spelling of a type (code, full Chinese label, label before a parenthesis) -> code."""
    names: dict[str, str] = {}
    for value, label in ItemType.choices:
        names[value] = value
        names[str(label)] = value
        names[str(label).split("（")[0]] = value
    names["矩阵题"] = names["表格题"] = ItemType.MATRIX
    return names


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _number(s: str) -> float | int | None:
    try:
        f = float(s)
    except ValueError:
        return None
    return int(f) if f.is_integer() and "." not in s else f


class _Reader:
    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        self.problems: list[Problem] = []

    def bad(self, sheet: str, row: int | None, column: str | None, reason: str) -> None:
        self.problems.append(Problem(reason=reason, file=sheet, row=row, field=column))

    def rows(self, wb: Any, sheet: str, headers: tuple[str, ...], required: bool,
             optional: tuple[str, ...] = ()) -> list[tuple[int, dict[str, Any]]]:
        if sheet not in wb.sheetnames:
            if required:
                self.bad(sheet, None, None, _("工作簿中没有“%(sheet)s”工作表。") % {"sheet": sheet})
            return []
        ws = wb[sheet]
        it = ws.iter_rows(values_only=True)
        head = [_text(h) for h in next(it, ())]
        head = [HEADER_ALIASES.get(h, h) if HEADER_ALIASES.get(h) in headers else h for h in head]
        missing = [h for h in headers if h not in head and h not in optional]
        for h in missing:
            self.bad(sheet, 1, h, _("缺少列“%(col)s”。") % {"col": h})
        unknown = [h for h in head if h and h not in headers]
        for h in unknown:
            self.bad(sheet, 1, h, _("不认识的列“%(col)s”。") % {"col": h})
        if missing:
            return []
        out = []
        for n, values in enumerate(it, start=2):
            if n > MAX_ROWS + 1:
                self.bad(sheet, n, None, _("行数超过%(max)d行。") % {"max": MAX_ROWS})
                break
            row = {h: values[i] if i < len(values) else None for i, h in enumerate(head) if h}
            if all(_text(v) == "" for v in row.values()):
                continue
            out.append((n, row))
        return out

    # ------------------------------------------------------------------------------------------- columns

    def options(self, sheet: str, n: int, code: str, raw: str, column: str) -> list[dict[str, str]]:
        out = []
        for line in (ln for ln in raw.splitlines() if ln.strip()):
            m = _OPTION.match(line)
            if not m:
                self.bad(sheet, n, column, _("%(code)s：选项“%(line)s”应写成“A. 文字”或“1=文字”，每行一个。") % {
                    "code": code, "line": line.strip()})
                continue
            out.append({"value": m.group(1), "label": m.group(2)})
        return out

    def media(self, sheet: str, n: int, code: str, raw: str, column: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for token in (t for t in _SPLIT.split(raw) if t):
            m = _PLAYS.match(token)
            name = m.group(1) if m else token
            entry: dict[str, Any] = {"kind": media_kind(name) or "image", "file": name, "alt": ""}
            if m:
                num = _number(m.group(2))
                if not isinstance(num, int) or num < 1:
                    self.bad(sheet, n, column, _("%(code)s：“%(token)s”的播放次数必须是不小于1的整数，"
                                                 "应写成“文件名（2次）”。") % {"code": code, "token": token})
                else:
                    entry["play_limit"] = num
            out.append(entry)
        return out

    def play_limit(self, sheet: str, n: int, code: str, raw: str) -> int | None:
        if raw == "":
            return None
        num = _number(raw)
        if not isinstance(num, int) or num < 1:
            self.bad(sheet, n, COLUMN["play_limit"], _("%(code)s：播放次数“%(raw)s”必须是不小于1的整数。") % {
                "code": code, "raw": raw})
            return None
        return num

    def performance(self, n: int, code: str, t: dict[str, str]) -> dict[str, Any]:
        """The 播放次数 / 录音 / 录音时长 columns as constraint keys (ranges and applicability: validate.py)."""
        out: dict[str, Any] = {}
        limit = self.play_limit(ITEM_SHEET, n, code, t["play_limit"])
        if limit is not None:
            out["play_limit"] = limit
        if t["record"]:
            kind = RECORD_NAMES.get(t["record"].strip().lower()) or RECORD_NAMES.get(t["record"].strip())
            if kind is None:
                self.bad(ITEM_SHEET, n, COLUMN["record"], _("%(code)s：录音“%(raw)s”看不懂，只能填“口语”（speaking）"
                                                            "或“演唱”（singing），不录音的题留空。") % {
                    "code": code, "raw": t["record"]})
            else:
                out["record"] = kind
        if t["record_seconds"]:
            num = _number(t["record_seconds"])
            if not isinstance(num, int):
                self.bad(ITEM_SHEET, n, COLUMN["record_seconds"], _("%(code)s：录音时长“%(raw)s”必须是整数（秒）。") % {
                    "code": code, "raw": t["record_seconds"]})
            else:
                out["record_seconds"] = num
        return out

    def key(self, n: int, code: str, type_: str, raw: str, options: list[dict[str, str]]) -> Any:
        if raw == "":
            return None
        col = COLUMN["key"]
        if type_ == ItemType.MULTIPLE:
            parts = [p for p in _SPLIT.split(raw) if p]
            values = {o["value"] for o in options}
            if len(parts) == 1 and parts[0] not in values and all(ch in values for ch in parts[0]):
                parts = list(parts[0])  # "AC" for A and C
            return parts
        if type_ == ItemType.MATRIX:  # one option value per row, in row order
            return {str(n): p for n, p in enumerate((p for p in _SPLIT.split(raw) if p), start=1)}
        if type_ == ItemType.RANKING:
            return [p for p in _SPLIT.split(raw) if p]
        if type_ in (ItemType.NUMERIC, ItemType.SLIDER):
            num = _number(raw)
            if num is None:
                self.bad(ITEM_SHEET, n, col, _("%(code)s：答案“%(raw)s”不是数字。") % {"code": code, "raw": raw})
            return num
        if type_ in (ItemType.TEXT, ItemType.SINGLE_TEXT):
            return [p.strip() for p in raw.split("|") if p.strip()]
        return raw

    def constraints(self, n: int, code: str, raw: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        col = COLUMN["constraints"]
        for part in (p.strip() for p in re.split(r"[;；\n]", raw) if p.strip()):
            k, sep, v = part.replace("＝", "=").partition("=")
            name = CONSTRAINT_KEYS.get(k.strip())
            if not sep or name is None:
                self.bad(ITEM_SHEET, n, col, _("%(code)s：作答限制“%(part)s”看不懂，应写成“最小=0;最大=100;小数位=1”，"
                                               "可用：%(keys)s。") % {"code": code, "part": part,
                                                                    "keys": "、".join(CONSTRAINT_KEYS)})
                continue
            v = v.strip()
            if name == "text_option":
                out[name] = v
                continue
            if name == "partial_credit":
                if v not in ("是", "否"):
                    self.bad(ITEM_SHEET, n, col, _("%(code)s：部分得分只能填“是”或“否”。") % {"code": code})
                out[name] = v == "是"
                continue
            num = _number(v)
            if num is None or (name in INT_CONSTRAINTS and not isinstance(num, int)):
                self.bad(ITEM_SHEET, n, col, _("%(code)s：作答限制“%(part)s”的值必须是%(what)s。") % {
                    "code": code, "part": part, "what": _("整数") if name in INT_CONSTRAINTS else _("数字")})
                continue
            out[name] = num
        return out

    def show_if(self, n: int, code: str, raw: str) -> dict[str, Any] | None:
        if not raw:
            return None
        m = _SHOW_IF.match(raw)
        if not m:
            self.bad(ITEM_SHEET, n, COLUMN["show_if"], _("%(code)s：显示条件“%(raw)s”应写成“Q04=2”或“Q04 in 2,3”。")
                     % {"code": code, "raw": raw})
            return None
        return {"item": m.group(1), "in": [p for p in _SPLIT.split(m.group(2)) if p]}

    def skip(self, n: int, code: str, raw: str) -> dict[str, Any] | None:
        if not raw:
            return None
        m = _SKIP.match(raw)
        if not m:
            self.bad(ITEM_SHEET, n, COLUMN["skip"], _("%(code)s：跳转“%(raw)s”应写成“选1跳至第3屏”或“选1,2跳至第3屏”。")
                     % {"code": code, "raw": raw})
            return None
        return {"in": [p for p in _SPLIT.split(m.group(1)) if p], "to_screen": int(m.group(2))}

    # ------------------------------------------------------------------------------------------- sheets

    def item(self, n: int, row: dict[str, Any], last_screen: dict[str, int]) -> ItemSpec:
        t = {k: _text(row.get(h)) for k, h in COLUMN.items()}
        code = t["code"]
        type_ = type_names().get(t["type"], "")
        if not type_:
            self.bad(ITEM_SHEET, n, COLUMN["type"], _("%(code)s：题型“%(type)s”不认识，应为：%(names)s。") % {
                "code": code, "type": t["type"], "names": "、".join(str(label) for label in ItemType.labels)})
        options = self.options(ITEM_SHEET, n, code, t["options"], COLUMN["options"])
        screen: int = last_screen.get(t["block"] or "Q", 0) + 1
        if t["screen"]:
            num = _number(t["screen"])
            if not isinstance(num, int):
                self.bad(ITEM_SHEET, n, COLUMN["screen"], _("%(code)s：屏号必须是正整数。") % {"code": code})
            else:
                screen = num
        max_score: float = 0.0
        if t["max_score"]:
            num = _number(t["max_score"])
            if num is None:
                self.bad(ITEM_SHEET, n, COLUMN["max_score"], _("%(code)s：满分必须是数字。") % {"code": code})
            else:
                max_score = float(num)
        if t["required"] not in YES + NO:
            self.bad(ITEM_SHEET, n, COLUMN["required"], _("%(code)s：必答只能填“是”或“否”。") % {"code": code})
        return ItemSpec(
            code=code, type=type_, stem=t["stem"], block=t["block"] or "Q", screen=screen, options=options,
            rows=[r.strip() for r in t["rows"].splitlines() if r.strip()],
            key=self.key(n, code, type_, t["key"], options), max_score=max_score,
            constraints=self.constraints(n, code, t["constraints"]) | self.performance(n, code, t),
            show_if=self.show_if(n, code, t["show_if"]),
            skip=self.skip(n, code, t["skip"]), stimulus=t["stimulus"] or None,
            media=self.media(ITEM_SHEET, n, code, t["media"], COLUMN["media"]), required=t["required"] in YES,
            dimension=t["dimension"], indicator_1=t["indicator_1"], indicator_2=t["indicator_2"],
            indicator_3=t["indicator_3"], source=ITEM_SHEET, row=n)

    def info(self, wb: Any) -> dict[str, str]:
        if INFO_SHEET not in wb.sheetnames:
            self.bad(INFO_SHEET, None, None, _("工作簿中没有“%(sheet)s”工作表。") % {"sheet": INFO_SHEET})
            return {}
        out: dict[str, str] = {}
        for n, values in enumerate(wb[INFO_SHEET].iter_rows(values_only=True), start=1):
            k, v = (_text(values[0]) if values else ""), (_text(values[1]) if len(values) > 1 else "")
            if k in INFO_KEYS:
                out[k] = v
            elif k and k not in ("项目",):
                self.bad(INFO_SHEET, n, "A", _("不认识的项目“%(k)s”，应为：%(keys)s。") % {
                    "k": k, "keys": "、".join(INFO_KEYS)})
        if not out.get("工具代码"):
            self.bad(INFO_SHEET, None, "工具代码", _("没有填写工具代码。"))
        return out

    def read(self, data: bytes) -> InstrumentSpec:
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
            raise InvalidInput(_("%(file)s 不是有效的 Excel（.xlsx）文件。") % {"file": self.file_name},
                               code="bad_workbook",
                               problems=[Problem(reason=str(exc)[:200], file=self.file_name)]) from exc
        info = self.info(wb)
        spec = InstrumentSpec(code=info.get("工具代码", ""), name=info.get("名称", ""))
        kind = info.get("类别", "")
        kinds = {str(label): value for value, label in InstrumentKind.choices} | {v: v for v in InstrumentKind.values}
        kinds |= {"测试": InstrumentKind.TEST}
        if kind and kind not in kinds:
            self.bad(INFO_SHEET, None, "类别", _("类别只能是“测试卷”或“问卷”。"))
        spec.kind = kinds.get(kind, "")
        limit = info.get("作答时限", "")
        if limit:
            num = _number(limit)
            if not isinstance(num, int) or not 1 <= num <= 600:
                self.bad(INFO_SHEET, None, "作答时限", _("作答时限必须是1～600的整数（分钟）。"))
            else:
                spec.time_limit_minutes = num
        shuffle = info.get("页面随机", "")
        if shuffle not in YES + NO:
            self.bad(INFO_SHEET, None, "页面随机", _("页面随机只能填“是”或“否”。"))
        spec.shuffle_pages = shuffle in YES and shuffle != ""
        last_screen: dict[str, int] = {}
        for n, row in self.rows(wb, ITEM_SHEET, ITEM_HEADERS, required=True, optional=ITEM_OPTIONAL):
            item = self.item(n, row, last_screen)
            last_screen[item.block] = item.screen
            spec.items.append(item)
        for n, row in self.rows(wb, STIMULUS_SHEET, STIMULUS_HEADERS, required=False, optional=STIMULUS_OPTIONAL):
            code = _text(row.get("编号"))
            media = self.media(STIMULUS_SHEET, n, code, _text(row.get("图片/音频")), "图片/音频")
            plays = self.play_limit(STIMULUS_SHEET, n, code, _text(row.get("播放次数")))
            if plays is not None:
                audio = [m for m in media if m["kind"] == "audio"]
                if not audio:
                    self.bad(STIMULUS_SHEET, n, "播放次数", _("%(code)s：填写了播放次数，但这段材料没有音频。") % {
                        "code": code})
                for m in audio:
                    m.setdefault("play_limit", plays)  # a file's own （n次） wins
            spec.stimuli.append(StimulusSpec(code=code, title=_text(row.get("标题")), body=_text(row.get("内容")),
                                             media=media, row=n))
        for n, row in self.rows(wb, BOOKLET_SHEET, BOOKLET_HEADERS, required=False):
            num = _number(_text(row.get("题本号")))
            if not isinstance(num, int):
                self.bad(BOOKLET_SHEET, n, "题本号", _("题本号必须是整数。"))
                continue
            spec.booklets.append(BookletSpec(number=num, row=n,
                                             blocks=[p for p in _SPLIT.split(_text(row.get("题块顺序"))) if p]))
        return spec


def workbook_read(data: bytes, *, file_name: str = "items.xlsx") -> tuple[InstrumentSpec, list[Problem]]:
    """Read a workbook. Returns the spec and the problems of reading (the rules are checked separately)."""
    reader = _Reader(file_name)
    spec = reader.read(data)
    return spec, reader.problems


# ------------------------------------------------------------------------------------------------ writing


def _options_text(options: list[dict[str, str]]) -> str:
    sep = "." if all(o["value"].isalpha() for o in options) else "="
    return "\n".join(f"{o['value']}{sep} {o['label']}" if sep == "." else f"{o['value']}={o['label']}"
                     for o in options)


def _key_text(item: ItemSpec) -> str:
    k = item.key
    if k is None:
        return ""
    if item.type in (ItemType.TEXT, ItemType.SINGLE_TEXT):
        return "|".join(k)
    if isinstance(k, dict):  # matrix: row number -> value, written in row order
        return ",".join(str(k.get(str(n), "")) for n in range(1, len(item.rows) + 1))
    if isinstance(k, list):
        return ",".join(str(v) for v in k)
    return str(k)


def _constraints_text(c: dict[str, Any]) -> str:
    def text(v: Any) -> str:
        return ("是" if v else "否") if isinstance(v, bool) else str(v)

    return ";".join(f"{CONSTRAINT_NAMES[k]}={text(v)}" for k, v in c.items() if k in CONSTRAINT_NAMES)


def _media_text(media: list[dict[str, Any]], common: int | None = None) -> str:
    """File names one a line; an audio's own play limit (unless it is ``common``) as ``name（n次）``."""
    return "\n".join(f"{m['file']}（{m['play_limit']}次）" if m.get("play_limit") and m.get("play_limit") != common
                     else m["file"] for m in media)


def _common_limit(media: list[dict[str, Any]]) -> int | None:
    """The play limit every audio of a stimulus shares (the 播放次数 column), if they share one."""
    limits = {m.get("play_limit") for m in media if m.get("kind") == "audio"}
    return limits.pop() if len(limits) == 1 and None not in limits else None


def stimulus_row(s: StimulusSpec) -> list[Any]:
    common = _common_limit(s.media)
    return [s.code, s.title, s.body, _media_text(s.media, common), common]


def item_row(item: ItemSpec) -> list[Any]:
    labels = {value: str(label) for value, label in ItemType.choices}
    c = item.constraints
    return [item.code, item.block, item.screen, labels.get(item.type, item.type), item.stem,
            _options_text(item.options), "\n".join(item.rows), _key_text(item), item.max_score or None,
            _constraints_text(item.constraints),
            f"{item.show_if['item']} in {','.join(map(str, item.show_if['in']))}" if item.show_if else "",
            f"选{','.join(map(str, item.skip['in']))}跳至第{item.skip['to_screen']}屏" if item.skip else "",
            item.stimulus or "", _media_text(item.media), "是" if item.required else "",
            item.dimension, item.indicator_1, item.indicator_2, item.indicator_3,
            c.get("play_limit"), RECORD_LABELS.get(c["record"], c["record"]) if c.get("record") else None,
            c.get("record_seconds")]


def workbook_write(spec: InstrumentSpec | None = None, *, notes: bool = True) -> bytes:
    """A workbook in the import format: the template (``spec`` None) or an instrument (the demo bank)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    wb = Workbook()
    info = wb.active
    info.title = INFO_SHEET
    info.append(["项目", "内容"])
    kinds = {value: str(label) for value, label in InstrumentKind.choices}
    values = ([spec.code, spec.name, kinds.get(spec.kind, ""), spec.time_limit_minutes or "",
               "是" if spec.shuffle_pages else "否"] if spec else ["", "", "", "", "否"])
    for k, v in zip(INFO_KEYS, values, strict=True):
        info.append([k, v])
    info.column_dimensions["A"].width, info.column_dimensions["B"].width = 14, 40
    kind_dv = DataValidation(type="list", formula1='"测试卷,问卷"', allow_blank=True)
    kind_dv.add("B4")
    info.add_data_validation(kind_dv)

    sheets = ((ITEM_SHEET, ITEM_HEADERS), (STIMULUS_SHEET, STIMULUS_HEADERS), (BOOKLET_SHEET, BOOKLET_HEADERS))
    for name, headers in sheets:
        ws = wb.create_sheet(name)
        ws.append(list(headers))
        for cell in ws[1]:
            cell.font, cell.fill, cell.alignment = bold, fill, Alignment(horizontal="center")
        ws.freeze_panes = "A2"
    items_ws = wb[ITEM_SHEET]
    for letter, width in zip("ABCDEFGHIJ", (10, 8, 6, 14, 40, 30, 24, 10, 6, 22), strict=True):
        items_ws.column_dimensions[letter].width = width
    record_col = get_column_letter(ITEM_HEADERS.index(COLUMN["record"]) + 1)
    record_dv = DataValidation(type="list", formula1='"' + ",".join(RECORD_LABELS.values()) + '"', allow_blank=True)
    record_dv.add(f"{record_col}2:{record_col}2000")
    items_ws.add_data_validation(record_dv)
    for key in OPTIONAL_COLUMNS:  # a header note on the columns of performance tasks, like the 填写说明 sheet
        cell = items_ws.cell(row=1, column=ITEM_HEADERS.index(COLUMN[key]) + 1)
        cell.comment = Comment(_(dict(NOTES)[COLUMN[key]]), "naeq")
    dv = DataValidation(type="list", formula1='"' + ",".join(str(label).split("（")[0] for label in ItemType.labels)
                        + '"', allow_blank=False, showErrorMessage=True, errorTitle=_("请从下拉列表中选择"),
                        error=_("只能填写下拉列表中的值。"))
    dv.add("D2:D2000")
    items_ws.add_data_validation(dv)
    if spec is not None:
        for item in spec.items:
            items_ws.append(item_row(item))
        for s in spec.stimuli:
            wb[STIMULUS_SHEET].append(stimulus_row(s))
        for b in spec.booklets:
            wb[BOOKLET_SHEET].append([b.number, ",".join(b.blocks)])
    if notes:
        ws = wb.create_sheet(NOTES_SHEET)
        ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 14, 100
        for title, note in NOTES:
            ws.append([_(title) if title == "填写说明" else title, _(note) if note else ""])
        ws["A1"].font = Font(bold=True, size=14)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


NOTES = (
    ("填写说明", ""),
    ("说明", gettext_noop("工具代码必须是本周期配置中在线作答的工具代码；类别为测试卷或问卷（以周期配置为准）；"
                         "作答时限为分钟数；页面随机填是或否。")),
    ("题目编号", gettext_noop("字母、数字、下划线或连字符，不超过40个字符，不能重复。")),
    ("题块、屏号", gettext_noop("题块如 B1、B2（问卷可留空，默认为 Q）；同一题块的题目连续排列；屏号在题块内编号，"
                            "不能减小；屏号留空时每题单独一屏。")),
    ("题型", gettext_noop("单选题、多选题、判断题、量表题、矩阵（表格）题、数值填空题、文本填空题、单选+填空题、"
                         "排序题、滑块题、开放题（屏幕呈现、纸笔作答）。")),
    ("选项", gettext_noop("每行一个，写成“A. 文字”或“1=文字”。矩阵题的选项是列（量表点）。")),
    ("子题/行", gettext_noop("矩阵题的各行陈述、排序题待排序的各项，每行一个。")),
    ("答案", gettext_noop("测试卷的客观题必填：单选/判断填选项编号；多选填“A,C”；数值填数字；"
                         "矩阵每行一个编号用逗号分隔；排序填1～n的排列；"
                         "填空可用“|”分隔多个可接受答案。问卷题和开放题不填。")),
    ("满分", gettext_noop("测试卷有答案的题和开放题必须大于0；问卷题留空。")),
    ("作答限制", gettext_noop("用分号分隔：最小=0;最大=100;小数位=1（数值、滑块）；最少选=1;最多选=3（多选）；"
                           "字数=200（填空）；填空项=9（单选+填空）；部分得分=是（多选、矩阵）。")),
    ("显示条件", gettext_noop("只能引用前面的题目：“Q04=2”或“Q04 in 2,3”。")),
    ("跳转", gettext_noop("只能跳到后面的屏：“选1跳至第3屏”或“选1,2跳至第3屏”。")),
    ("共享材料", gettext_noop("填“共享材料”工作表中的编号，同一单元的题目共用一段材料。")),
    ("图片/音频", gettext_noop("文件名（png、jpg、jpeg、gif、mp3、ogg、wav、m4a），"
                              "随工作簿上传的文件夹或 zip 中必须有同名文件。"
                              "某个音频单独限制播放次数时写成“文件名（2次）”。")),
    ("播放次数", gettext_noop("听力题：本题音频每次作答最多播放几次（不小于1的整数），留空为不限。"
                            "共享材料工作表的“播放次数”限制该材料的每个音频；材料音频未填时取使用它的题目中最小的播放次数。")),
    ("录音", gettext_noop("录音作答的题（只能是开放题，满分大于0）：填“口语”（英语口语）或“演唱”；不录音的题留空。")),
    ("录音时长", gettext_noop("录音的固定时长，5～600秒的整数；只用于录音题，留空为60秒。")),
    ("维度、指标", gettext_noop("每道题必填维度；一、二、三级指标按指标体系填写。")),
    ("题本", gettext_noop("题本号与题块顺序（如“B1,B3”）；每个题块至少在一个题本中。"
                         "不填时全部题块按顺序组成1号题本。")),
    ("导入", gettext_noop("任何一处有误都不会导入，所有问题会连同工作表、行号、列名一起列出。")),
)
