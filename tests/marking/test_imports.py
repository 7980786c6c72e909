"""Imports with real files: the rubric workbook (template round trip; every kind of row error, nothing written)
and scanned paper responses (manifest + zip: unknown test ID, unknown item, missing image, not an image,
duplicates, a bad zip, a missing column; images land in the secret store, never under the static or media roots).

Why paper matters (2024-nanchang-city-plan.txt): "学生数学测试卷	客观题在线作答；主观题电子呈现，纸笔作答" — the
constructed responses of the online test are written on paper cards, so they reach raters as scanned images."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.conf import settings
from openpyxl import Workbook, load_workbook

from naeq.core.errors import InvalidInput
from naeq.delivery.demo_bank import bar_chart_png
from naeq.marking import images, services
from naeq.marking.models import AnchorPaper, MarkResponse, Rubric, Source
from tests.marking.conftest import Marking

POINT_H = ["工具代码", "题目编号", "分值", "评分描述"]
ANCHOR_H = ["工具代码", "题目编号", "样卷编号", "样卷内容", "评定分数", "说明"]
CHECK_H = ["工具代码", "题目编号", "检测卷内容", "标准分"]


def _book(points: list[list[Any]], anchors: list[list[Any]] | None = None,
          checks: list[list[Any]] | None = None, *, point_header: list[str] = POINT_H) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "评分标准"
    ws.append(point_header)
    for r in points:
        ws.append(r)
    for title, head, rows in (("样卷", ANCHOR_H, anchors), ("检测卷", CHECK_H, checks)):
        if rows is not None:
            s = wb.create_sheet(title)
            s.append(head)
            for r in rows:
                s.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD_E01 = [["mtest", "E01", 0, "错误"], ["mtest", "E01", 1, "部分正确"], ["mtest", "E01", 2, "完全正确"]]


def test_template_lists_every_rater_scored_item_and_round_trips(marking: Marking) -> None:
    from naeq.marking.workbook import rubric_template

    items = [(i, q, round(it.max_score), it.stem) for (i, q), it in services.rater_scored_items(marking.cycle).items()]
    assert [(i, q) for i, q, _m, _s in items] == [("mtest", "E01"), ("mtest", "E02")]  # M01 has a key: not rated
    wb = load_workbook(io.BytesIO(rubric_template(items)))
    assert wb.sheetnames == ["说明", "评分标准", "样卷", "检测卷"]
    rows = list(wb["评分标准"].iter_rows(values_only=True))
    assert rows[0] == tuple(POINT_H) and len(rows) == 1 + 3 + 5
    # Filled in, it imports.
    ws = wb["评分标准"]
    for r in range(2, ws.max_row + 1):
        ws.cell(r, 4, f"描述{r}")
    buf = io.BytesIO()
    wb.save(buf)
    result = services.rubric_import(actor=marking.admin, cycle=marking.cycle, data=buf.getvalue(),
                                    filename="rubrics.xlsx")
    assert [(r.item_code, r.version, r.points.count()) for r in result.rubrics] == [("E01", 1, 3), ("E02", 1, 5)]


def test_import_new_version_keeps_the_old_one(marking: Marking) -> None:
    data = _book(GOOD_E01, anchors=[["mtest", "E01", "A1", "12，偶数", 1, "理由缺失"]],
                 checks=[["mtest", "E01", "14，因为能被2整除", 2]])
    services.rubric_import(actor=marking.admin, cycle=marking.cycle, data=data, filename="r.xlsx")
    result = services.rubric_import(actor=marking.admin, cycle=marking.cycle, data=data, filename="r.xlsx")
    assert result.checks == 1
    versions = list(Rubric.objects.filter(item_code="E01").order_by("version").values_list("version", "is_current"))
    assert versions == [(1, False), (2, True)]
    assert AnchorPaper.objects.filter(rubric__version=2, code="A1", score=1).exists()
    assert MarkResponse.objects.filter(source=Source.CHECK, check_score=2).count() == 2


@pytest.mark.parametrize(("book", "where"), [
    (lambda: _book([*GOOD_E01, ["mtest", "E09", 0, "x"]]), ("评分标准", 5, "题目编号", "没有需人工评分的题目“E09”")),
    (lambda: _book([*GOOD_E01, ["mtest", "M01", 0, "x"]]), ("评分标准", 5, "题目编号", "M01")),  # has a key
    (lambda: _book([*GOOD_E01[:2], ["mtest", "E01", 3, "x"]]), ("评分标准", 4, "分值", "0至2的整数")),
    (lambda: _book([*GOOD_E01, ["mtest", "E01", 1, "又一条"]]), ("评分标准", 5, "分值", "分值1重复")),
    (lambda: _book([*GOOD_E01[:2], ["mtest", "E01", 2, ""]]), ("评分标准", 4, "评分描述", "不能为空")),
    (lambda: _book(GOOD_E01[:2]), ("评分标准", None, "分值", "缺少分值2")),
    (lambda: _book(GOOD_E01, anchors=[["mtest", "E01", "A1", "t", 1], ["mtest", "E01", "A1", "u", 2]]),
     ("样卷", 3, "样卷编号", "重复")),
    (lambda: _book(GOOD_E01, anchors=[["mtest", "E01", "A1", "t", 5]]), ("样卷", 2, "评定分数", "0至2")),
    (lambda: _book(GOOD_E01, checks=[["mtest", "E01", "t", "两分"]]), ("检测卷", 2, "标准分", "0至2")),
    (lambda: _book(GOOD_E01, checks=[["mtest", "E01", "", 1]]), ("检测卷", 2, "检测卷内容", "不能为空")),
    (lambda: _book(GOOD_E01, point_header=["工具", "题目", "分", "描述"]), ("评分标准", 1, None, "表头")),
])
def test_rubric_row_errors_change_nothing(marking: Marking, book: Any, where: tuple[Any, ...]) -> None:
    with pytest.raises(InvalidInput) as exc:
        services.rubric_import(actor=marking.admin, cycle=marking.cycle, data=book(), filename="bad.xlsx")
    assert exc.value.message == "评分标准文件有误，未导入任何内容。"
    sheet, row, field, text = where
    hit = [p for p in exc.value.problems if p.row == row and p.field == field and text in p.reason]
    assert hit, [str(p) for p in exc.value.problems]
    assert hit[0].file == "bad.xlsx" and sheet in hit[0].reason
    assert not Rubric.objects.exists() and not MarkResponse.objects.filter(source=Source.CHECK).exists()


def test_not_a_workbook(marking: Marking) -> None:
    with pytest.raises(InvalidInput, match="不是有效的Excel"):
        services.rubric_import(actor=marking.admin, cycle=marking.cycle, data=b"PK not really", filename="x.xlsx")
    wb = Workbook()
    wb.active.title = "其他"
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(InvalidInput, match="缺少“评分标准”工作表"):
        services.rubric_import(actor=marking.admin, cycle=marking.cycle, data=buf.getvalue(), filename="x.xlsx")


# ------------------------------------------------------------------------------------------------ paper


PNG = bar_chart_png()
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(f"scans/{name}", data)
    return buf.getvalue()


def _csv(rows: list[list[str]], header: str = "test_id,instrument,item,image") -> bytes:
    return ("\n".join([header, *(",".join(r) for r in rows)]) + "\n").encode("utf-8")


def test_paper_import_stores_images_secretly_and_anonymously(marking: Marking) -> None:
    t1, t2 = marking.takers[0].code, marking.takers[1].code
    n = services.paper_import(actor=marking.admin, cycle=marking.cycle,
                              manifest=_csv([[t1, "mtest", "E02", "a.png"], [t2, "mtest", "E02", "b.jpg"]]),
                              manifest_name="manifest.csv", archive=_zip({"a.png": PNG, "b.jpg": JPEG}),
                              archive_name="scans.zip")
    assert n == 2
    r = MarkResponse.objects.get(source=Source.PAPER, test_taker=marking.takers[0])
    assert r.image == f"{r.code}.png" and t1 not in r.image  # named by the anonymous ID, not the scan
    path = images.image_path(marking.cycle.pk, r.image)
    assert path.read_bytes() == PNG
    assert str(path).startswith(str(settings.DATA_DIR))
    for public in (settings.STATIC_ROOT, getattr(settings, "MEDIA_ROOT", None)):
        if public:
            assert not str(path).startswith(str(public))


def test_paper_import_from_excel_manifest(marking: Marking) -> None:
    wb = Workbook()
    wb.active.append(["测试编号", "工具代码", "题目编号", "图像文件"])
    wb.active.append([marking.takers[2].code, "mtest", "E02", "c.png"])
    buf = io.BytesIO()
    wb.save(buf)
    assert services.paper_import(actor=marking.admin, cycle=marking.cycle, manifest=buf.getvalue(),
                                 manifest_name="m.xlsx", archive=_zip({"c.png": PNG}), archive_name="z.zip") == 1


def test_paper_import_reports_every_row_and_changes_nothing(marking: Marking) -> None:
    t1, t2, t3 = (t.code for t in marking.takers[:3])
    services.paper_import(actor=marking.admin, cycle=marking.cycle, manifest=_csv([[t3, "mtest", "E02", "ok.png"]]),
                          manifest_name="first.csv", archive=_zip({"ok.png": PNG}), archive_name="z.zip")
    before = MarkResponse.objects.count()
    rows = [
        ["T99999", "mtest", "E02", "a.png"],       # row 2: unknown test ID
        [t1, "mtest", "M01", "a.png"],             # row 3: not a rater-scored item
        [t1, "mtest", "E02", "missing.png"],       # row 4: image not in the zip
        [t2, "mtest", "E02", "notes.png"],         # row 5: not an image
        [t2, "mtest", "E02", "a.png"],             # row 6: duplicate of row 5's test ID and item
        [t3, "mtest", "E02", "a.png"],             # row 7: already imported
    ]
    archive = _zip({"a.png": PNG, "notes.png": b"%PDF-1.4 not an image"})
    # Blank fields are reported first, on their own (the file's shape before its content).
    with pytest.raises(InvalidInput) as exc:
        services.paper_import(actor=marking.admin, cycle=marking.cycle,
                              manifest=_csv([*rows, [t1, "", "E01", "a.png"]]), manifest_name="manifest.csv",
                              archive=archive, archive_name="scans.zip")
    assert exc.value.message == "扫描清单有误，未导入任何内容。"
    assert [(p.row, p.field, p.reason) for p in exc.value.problems] == [(8, "instrument", "不能为空。")]
    with pytest.raises(InvalidInput) as exc:
        services.paper_import(actor=marking.admin, cycle=marking.cycle, manifest=_csv(rows),
                              manifest_name="manifest.csv", archive=archive, archive_name="scans.zip")
    got = {(p.row, p.field): p.reason for p in exc.value.problems}
    assert exc.value.message == "扫描答卷导入有误，未导入任何内容。"
    assert "未知的测试编号“T99999”" in got[(2, "test_id")]
    assert "没有需人工评分的题目“M01”" in got[(3, "item")]
    assert "中没有图像文件“missing.png”" in got[(4, "image")]
    assert "不是PNG或JPEG图像" in got[(5, "image")]
    assert "重复" in got[(6, "test_id")]
    assert "已导入过" in got[(7, "test_id")]
    assert all(p.file == "manifest.csv" for p in exc.value.problems)
    assert MarkResponse.objects.count() == before


def test_paper_import_file_level_errors(marking: Marking) -> None:
    with pytest.raises(InvalidInput, match="不是有效的zip"):
        services.paper_import(actor=marking.admin, cycle=marking.cycle,
                              manifest=_csv([[marking.takers[0].code, "mtest", "E02", "a.png"]]),
                              manifest_name="m.csv", archive=b"not a zip", archive_name="z.zip")
    with pytest.raises(InvalidInput, match="缺少列：image"):
        services.paper_import(actor=marking.admin, cycle=marking.cycle, manifest=_csv([], "test_id,instrument,item"),
                              manifest_name="m.csv", archive=_zip({}), archive_name="z.zip")
    with pytest.raises(InvalidInput, match="不是UTF-8"):
        services.paper_import(actor=marking.admin, cycle=marking.cycle, manifest="测试".encode("gbk"),
                              manifest_name="m.csv", archive=_zip({}), archive_name="z.zip")
    assert not MarkResponse.objects.filter(source=Source.PAPER).exists()
