"""Every rule of the item workbook, each with one broken row: the problem names the sheet, the row, the column
and a Chinese reason with the item code, and nothing is imported.

Issue 4, "Instruments and items": "invalid items are rejected with the item and the reason"; "How it will be
checked": "an item import with broken rows".
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from typing import Any

import pytest

from naeq.core.errors import InvalidInput, Problem
from naeq.core.models import AuditEvent
from naeq.delivery.items import BookletSpec, InstrumentSpec, ItemSpec, StimulusSpec, instrument_import, workbook_write
from naeq.delivery.models import Instrument, Item, ItemType, Stimulus

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
D = {"dimension": "数学学业表现", "indicator_1": "知识技能"}


def _opts(*labels: str) -> list[dict[str, str]]:
    return [{"value": "ABCDEF"[i], "label": label} for i, label in enumerate(labels)]


def paper_spec() -> InstrumentSpec:
    """A valid test: one item of every type, two blocks, a unit, two booklets. Rows 2.. in this order."""
    items = [
        ItemSpec("T01", ItemType.SINGLE, "单选", block="B1", screen=1, options=_opts("甲", "乙", "丙"), key="A",
                 max_score=1, media=[{"kind": "image", "file": "pic.png", "alt": ""}], **D),
        ItemSpec("T02", ItemType.MULTIPLE, "多选", block="B1", screen=2, options=_opts("甲", "乙", "丙"),
                 key=["A", "C"], max_score=2, constraints={"min_choices": 1, "max_choices": 3}, **D),
        ItemSpec("T03", ItemType.TRUE_FALSE, "判断", block="B1", screen=3, options=_opts("对", "错"), key="B",
                 max_score=1, **D),
        ItemSpec("T04", ItemType.NUMERIC, "数值", block="B1", screen=4, key=2.5, max_score=1,
                 constraints={"min": 0, "max": 10, "decimals": 1}, **D),
        ItemSpec("T05", ItemType.MATRIX, "矩阵", block="B2", screen=1, rows=["行一", "行二"], options=_opts("是", "否"),
                 key={"1": "A", "2": "B"}, max_score=2, constraints={"partial_credit": True}, **D),
        ItemSpec("T06", ItemType.TEXT, "填空", block="B2", screen=2, key=["北京", "北京市"], max_score=1,
                 constraints={"max_length": 10}, stimulus="U1", **D),
        ItemSpec("T07", ItemType.RANKING, "排序", block="B2", screen=2, rows=["一", "二", "三"], key=["3", "1", "2"],
                 max_score=1, stimulus="U1", **D),
        ItemSpec("T08", ItemType.OPEN, "开放", block="B2", screen=3, max_score=3, **D),
        ItemSpec("T09", ItemType.SLIDER, "滑块", block="B2", screen=4,
                 constraints={"min": 0, "max": 100, "decimals": 0},
                 **D),
        ItemSpec("T10", ItemType.SINGLE_TEXT, "单选加填空", block="B2", screen=5, options=_opts("甲", "其他"),
                 constraints={"text_option": "B", "max_length": 20}, **D),
        ItemSpec("T11", ItemType.LIKERT, "量表", block="B2", screen=6, options=_opts("不同意", "同意"), **D),
    ]
    return InstrumentSpec(code="math", name="数学", kind="test", items=items,
                          stimuli=[StimulusSpec("U1", "单元", "共享材料正文")],
                          booklets=[BookletSpec(1, ["B1", "B2"]), BookletSpec(2, ["B2", "B1"])])


def questionnaire_spec() -> InstrumentSpec:
    items = [
        ItemSpec("Q01", ItemType.SINGLE, "是否住校？", screen=1, options=[{"value": "1", "label": "是"},
                                                                      {"value": "2", "label": "否"}],
                 skip={"in": ["2"], "to_screen": 3}, **D),
        ItemSpec("Q02", ItemType.NUMERIC, "每周住几晚？", screen=2, show_if={"item": "Q01", "in": ["1"]},
                 constraints={"min": 0, "max": 7, "decimals": 0}, **D),
        ItemSpec("Q03", ItemType.TEXT, "建议", screen=3, constraints={"max_length": 50}, **D),
    ]
    return InstrumentSpec(code="questionnaire_1", kind="questionnaire", items=items)


def _xlsx(spec: InstrumentSpec, cells: list[tuple[str, int, str, Any]] = ()) -> bytes:  # type: ignore[assignment]
    from openpyxl import load_workbook

    data = workbook_write(spec)
    if not cells:
        return data
    wb = load_workbook(io.BytesIO(data))
    for sheet, row, column, value in cells:
        ws = wb[sheet]
        headers = [c.value for c in ws[1]]
        col = headers.index(column) + 1 if column in headers else {"A": 1, "B": 2}[column]
        ws.cell(row=row, column=col).value = value
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _problems(cycle: Any, data: bytes, media: dict[str, bytes] | None = None) -> list[Problem]:
    with pytest.raises(InvalidInput) as exc:
        instrument_import(actor=None, year=cycle.year, data=data, file_name="broken.xlsx",
                          media={"pic.png": PNG} if media is None else media)
    assert "没有导入任何内容" in exc.value.message
    return exc.value.problems


def test_the_valid_workbooks_import(cycle: Any, settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    inst = instrument_import(actor=None, year=cycle.year, data=_xlsx(paper_spec()), media={"pic.png": PNG})
    assert inst.items.count() == 11 and inst.booklets.count() == 2 and inst.kind == "test"
    t06 = inst.items.get(code="T06")
    assert t06.key == ["北京", "北京市"] and t06.stimulus is not None and t06.stimulus.code == "U1"
    assert inst.items.get(code="T04").key == 2.5
    assert inst.items.get(code="T07").key == ["3", "1", "2"]
    t05 = inst.items.get(code="T05")
    assert t05.key == {"1": "A", "2": "B"} and t05.constraints == {"partial_credit": True}
    q = instrument_import(actor=None, year=cycle.year, data=_xlsx(questionnaire_spec()))
    assert q.items.get(code="Q02").show_if == {"item": "Q01", "in": ["1"]}
    assert q.items.get(code="Q01").skip == {"in": ["2"], "to_screen": 3}
    assert list(q.booklets.values_list("blocks", flat=True)) == [["Q"]]  # default booklet of all blocks


Mut = Callable[[InstrumentSpec], None]


def _item(target: str, **changes: Any) -> Mut:
    def mutate(spec: InstrumentSpec) -> None:
        it = next(i for i in spec.items if i.code == target)
        for k, v in changes.items():
            setattr(it, k, v)
    return mutate


#: (case, spec, mutation, workbook cell edits, sheet, row, column, reason fragment)
CASES: list[tuple[str, Callable[[], InstrumentSpec], Mut | None, list[Any], str, int | None, str, str]] = [
    ("single key not an option", paper_spec, _item("T01", key="Z"), [],
     "题目", 2, "答案", "T01：答案“Z”不是选项编号之一"),
    ("single without key in a test", paper_spec, _item("T01", key=None), [],
     "题目", 2, "答案", "测试卷的选择题必须填写答案"),
    ("single with one option", paper_spec, _item("T01", options=_opts("甲"), key="A"), [], "题目", 2, "选项",
     "至少需要2个选项"),
    ("duplicate option values", paper_spec, None, [("题目", 2, "选项", "A. 甲\nA. 乙")], "题目", 2, "选项",
     "选项编号重复"),
    ("true/false with three options", paper_spec, _item("T03", options=_opts("对", "错", "不知道")), [], "题目", 4,
     "选项", "判断题必须恰好有两个选项"),
    ("multiple key outside options", paper_spec, _item("T02", key=["A", "F"]), [], "题目", 3, "答案",
     "答案中有不是选项编号的值：F"),
    ("multiple max choices above options", paper_spec, _item("T02", constraints={"max_choices": 5}), [], "题目", 3,
     "作答限制", "最多选"),
    ("multiple min above max", paper_spec, _item("T02", constraints={"min_choices": 3, "max_choices": 2}), [], "题目",
     3, "作答限制", "最少选"),
    ("numeric min not below max", paper_spec, _item("T04", constraints={"min": 5, "max": 5}), [], "题目", 5,
     "作答限制", "最小值必须小于最大值"),
    ("numeric without range", paper_spec, _item("T04", constraints={"decimals": 1}), [], "题目", 5, "作答限制",
     "必须写明最小值和最大值"),
    ("numeric key out of range", paper_spec, _item("T04", key=12), [], "题目", 5, "答案", "不在作答范围"),
    ("numeric key with too many decimals", paper_spec, _item("T04", key=2.55), [], "题目", 5, "答案", "小数位多于"),
    ("numeric negative decimals", paper_spec, _item("T04", constraints={"min": 0, "max": 10, "decimals": -1}), [],
     "题目", 5, "作答限制", "小数位必须是0到6"),
    ("numeric key not a number", paper_spec, None, [("题目", 5, "答案", "两个半")], "题目", 5, "答案", "不是数字"),
    ("matrix without rows", paper_spec, _item("T05", rows=[], key=None), [],
     "题目", 6, "子题/行", "矩阵题至少需要一行"),
    ("matrix key of the wrong length", paper_spec, _item("T05", key={"1": "A"}), [],
     "题目", 6, "答案", "每行一个选项编号"),
    ("matrix key value not an option", paper_spec, _item("T05", key={"1": "A", "2": "Z"}), [],
     "题目", 6, "答案", "每行一个选项编号"),
    ("partial credit on a single choice", paper_spec, _item("T01", constraints={"partial_credit": True}), [],
     "题目", 2, "作答限制", "部分得分只能用于多选题和矩阵题"),
    ("partial credit value", paper_spec, None, [("题目", 3, "作答限制", "部分得分=也许")], "题目", 3, "作答限制",
     "部分得分只能填“是”或“否”"),
    ("text without max length", paper_spec, _item("T06", constraints={}), [], "题目", 7, "作答限制", "字数上限"),
    ("ranking with one row", paper_spec, _item("T07", rows=["一"], key=None), [], "题目", 8, "子题/行", "至少需要两项"),
    ("ranking key not a permutation", paper_spec, _item("T07", key=["1", "1", "2"]), [], "题目", 8, "答案",
     "1～3 的一个排列"),
    ("open item with a key", paper_spec, None, [("题目", 9, "答案", "标准答案")],
     "题目", 9, "答案", "开放题由评分员评分"),
    ("open item without score in a test", paper_spec, _item("T08", max_score=0), [], "题目", 9, "满分",
     "开放题满分必须大于0"),
    ("slider without range", paper_spec, _item("T09", constraints={}), [], "题目", 10, "作答限制", "最小值和最大值"),
    ("single+text without its text option", paper_spec, _item("T10", constraints={"max_length": 20}), [], "题目", 11,
     "作答限制", "带填空的选项"),
    ("keyed test item without score", paper_spec, _item("T01", max_score=0), [], "题目", 2, "满分", "满分必须大于0"),
    ("duplicate item code", paper_spec, _item("T02", code="T01"), [],
     "题目", 3, "题目编号", "题目编号重复（第2行已使用）"),
    ("bad item code", paper_spec, _item("T02", code="T 02/x"), [], "题目", 3, "题目编号", "只能由字母、数字"),
    ("empty stem", paper_spec, _item("T03", stem=""), [], "题目", 4, "题干", "题干不能为空"),
    ("no dimension", paper_spec, _item("T03", dimension=""), [], "题目", 4, "维度", "维度"),
    ("block not contiguous", paper_spec, _item("T06", block="B1", screen=9), [], "题目", 7, "题块",
     "题块“B1”的题目必须连续排列"),
    ("screen going back", paper_spec, _item("T03", screen=1), [], "题目", 4, "屏号", "屏号不能比前一题小"),
    ("stimulus that does not exist", paper_spec, _item("T06", stimulus="U9"), [], "题目", 7, "共享材料",
     "共享材料“U9”不存在"),
    ("media not supplied", paper_spec, _item("T02", media=[{"kind": "image", "file": "nope.png"}]), [], "题目", 3,
     "图片/音频", "没有找到文件“nope.png”"),
    ("media of an unknown type", paper_spec, None, [("题目", 3, "图片/音频", "run.exe")], "题目", 3, "图片/音频",
     "类型不受支持"),
    ("media path traversal", paper_spec, None, [("题目", 3, "图片/音频", "../../secret_key.png")], "题目", 3,
     "图片/音频", "不能包含路径"),
    ("unknown type", paper_spec, None, [("题目", 4, "题型", "猜谜题")], "题目", 4, "题型", "题型“猜谜题”不认识"),
    ("option syntax", paper_spec, None, [("题目", 2, "选项", "甲乙丙")], "题目", 2, "选项", "应写成“A. 文字”"),
    ("constraint syntax", paper_spec, None, [("题目", 5, "作答限制", "范围=0到10")], "题目", 5, "作答限制", "看不懂"),
    ("constraint value", paper_spec, None, [("题目", 5, "作答限制", "最小=0;最大=十")],
     "题目", 5, "作答限制", "必须是数字"),
    ("required value", paper_spec, None, [("题目", 2, "必答", "也许")], "题目", 2, "必答", "只能填“是”或“否”"),
    ("score not a number", paper_spec, None, [("题目", 2, "满分", "一分")], "题目", 2, "满分", "满分必须是数字"),
    ("booklet with unknown block", paper_spec, None, [("题本", 3, "题块顺序", "B2,B7")], "题本", 3, "题块顺序",
     "题块 B7 不存在"),
    ("booklet repeating a block", paper_spec, None, [("题本", 2, "题块顺序", "B1,B1,B2")], "题本", 2, "题块顺序",
     "同一题块出现了两次"),
    ("duplicate booklet number", paper_spec, None, [("题本", 3, "题本号", 1)], "题本", 3, "题本号", "题本号1重复"),
    ("stimulus without content", paper_spec, None, [("共享材料", 2, "内容", None)], "共享材料", 2, "内容",
     "共享材料需要内容"),
    # Questionnaires: no keys, no scores; display conditions look back, skips jump forward.
    ("questionnaire item with a key", questionnaire_spec, None, [("题目", 4, "答案", "好")], "题目", 4, "答案",
     "问卷题不设答案"),
    ("questionnaire in two blocks", questionnaire_spec, _item("Q03", block="Q2", screen=1), [], "题目", 4, "题块",
     "问卷只有一个题块（“Q”）"),
    ("questionnaire item with a score", questionnaire_spec, _item("Q03", max_score=2), [], "题目", 4, "满分",
     "问卷题不计分"),
    ("condition on a later item", questionnaire_spec, _item("Q02", show_if={"item": "Q03", "in": ["1"]}), [],
     "题目", 3, "显示条件", "只能引用前面的题目"),
    ("condition on a value that is no option", questionnaire_spec,
     _item("Q02", show_if={"item": "Q01", "in": ["3"]}), [], "题目", 3, "显示条件", "取值 3 不是题目 Q01 的选项编号"),
    ("condition syntax", questionnaire_spec, None, [("题目", 3, "显示条件", "如果Q01是1")], "题目", 3, "显示条件",
     "应写成“Q04=2”"),
    ("skip backwards", questionnaire_spec, _item("Q03", skip={"in": ["1"], "to_screen": 1}), [], "题目", 4, "跳转",
     "跳转只能跳到本题块中后面已有的屏"),
    ("skip to a screen that does not exist", questionnaire_spec, _item("Q01", skip={"in": ["2"], "to_screen": 9}), [],
     "题目", 2, "跳转", "第9屏"),
    ("skip syntax", questionnaire_spec, None, [("题目", 2, "跳转", "2→3")], "题目", 2, "跳转", "应写成“选1跳至第3屏”"),
    ("skip on a value that is no option", questionnaire_spec, _item("Q01", skip={"in": ["7"], "to_screen": 3}), [],
     "题目", 2, "跳转", "取值 7 不是题目 Q01 的选项编号"),
]


@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_broken_row(cycle: Any, settings: Any, tmp_path: Any, case: str) -> None:
    settings.DATA_DIR = tmp_path
    _name, make, mutate, cells, sheet, row, column, reason = next(c for c in CASES if c[0] == case)
    spec = make()
    if mutate is not None:
        mutate(spec)
    problems = _problems(cycle, _xlsx(spec, cells))
    hits = [p for p in problems if p.file == sheet and p.row == row and p.field == column and reason in p.reason]
    assert hits, [str(p) for p in problems]
    assert Instrument.objects.count() == 0 and Item.objects.count() == 0 and Stimulus.objects.count() == 0
    assert not AuditEvent.objects.filter(action="delivery.instrument_import").exists()
    assert not (tmp_path / "instrument-media").exists() or not any((tmp_path / "instrument-media").iterdir())


def test_block_missing_from_every_booklet(cycle: Any, settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    spec = paper_spec()
    spec.booklets = [BookletSpec(1, ["B1"])]
    problems = _problems(cycle, _xlsx(spec))
    assert any(p.file == "题本" and "题块 B2 不在任何题本中" in p.reason for p in problems)


@pytest.mark.parametrize(("cell", "field", "reason"), [
    (("说明", 2, "B", "pe_field_test"), "工具代码", "不是2024年周期配置中在线作答的工具"),
    (("说明", 2, "B", "history"), "工具代码", "不是2024年周期配置中在线作答的工具"),
    (("说明", 4, "B", "问卷"), "类别", "类别与周期配置不一致：math 是测试卷"),
    (("说明", 5, "B", "九十分钟"), "作答时限", "作答时限必须是1～600的整数"),
])
def test_instrument_sheet_rules(cycle: Any, settings: Any, tmp_path: Any, cell: Any, field: str, reason: str) -> None:
    """The code must be an instrument of the cycle configuration delivered online (the PE field test is not:
    "学生体育现场测试记录卡为纸笔记录"), and its kind follows the configuration."""
    settings.DATA_DIR = tmp_path
    problems = _problems(cycle, _xlsx(paper_spec(), [cell]))
    assert any(p.file == "说明" and p.field == field and reason in p.reason for p in problems), \
        [str(p) for p in problems]
    assert Instrument.objects.count() == 0


def test_every_problem_is_listed_at_once_and_nothing_is_imported(cycle: Any, settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    spec = paper_spec()
    _item("T01", key="Z")(spec)
    _item("T04", key=99)(spec)
    _item("T08", key=None, max_score=0)(spec)
    problems = _problems(cycle, _xlsx(spec, [("题目", 4, "题型", "猜谜题")]))
    rows = {(p.row, p.field) for p in problems}
    assert {(2, "答案"), (5, "答案"), (9, "满分"), (4, "题型")} <= rows
    assert Instrument.objects.count() == 0 and not (tmp_path / "instrument-media").exists()


def test_not_a_workbook(cycle: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        instrument_import(actor=None, year=cycle.year, data=b"not a zip", file_name="x.xlsx")
    assert "x.xlsx 不是有效的 Excel" in exc.value.message


def test_missing_sheet_and_column(cycle: Any) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(workbook_write(copy.deepcopy(paper_spec()))))
    wb["题目"].delete_cols(8)  # 答案
    del wb["说明"]
    out = io.BytesIO()
    wb.save(out)
    with pytest.raises(InvalidInput) as exc:
        instrument_import(actor=None, year=cycle.year, data=out.getvalue())
    found = {(p.file, p.row, p.field) for p in exc.value.problems}
    assert ("题目", 1, "答案") in found and ("说明", None, None) in found


@pytest.mark.parametrize("case", ["unknown type", "true/false with three options"])
def test_one_fault_one_reason(cycle: Any, settings: Any, tmp_path: Any, case: str) -> None:
    """An unreadable item type, or a true/false item without exactly two options, is reported once at its cell,
    not again in other words by a later check."""
    settings.DATA_DIR = tmp_path
    _name, make, mutate, cells, sheet, row, column, _reason = next(c for c in CASES if c[0] == case)
    spec = make()
    if mutate is not None:
        mutate(spec)
    problems = _problems(cycle, _xlsx(spec, cells))
    at_cell = [p.reason for p in problems if p.file == sheet and p.row == row and p.field == column]
    assert len(at_cell) == 1, at_cell
