"""The scan import: a real CSV and a real .xlsx with every error a scanner produces go to the review queue; a
structurally broken file is refused whole with a precise message and changes nothing.

Seed 2023-national-briefing.txt: "学生科学测试卷：纸笔测试，题卡分离；共6套题本", and for the constructed responses of
the middle school "测试生对照计算机界面上的题本号填涂答题卡上的题本号" — the booklet number on the card is the
student's copy and can differ from the one assigned. Missing codes (DOMAIN.md): 99 omitted (blank), 97 out of range
(here: multiple marks on a single-choice item or a mark that is not an option)."""

from __future__ import annotations

import pytest

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.papercapture import services
from naeq.papercapture.models import BatchStatus, ReviewEntry, ScanBatch, ScanCard
from tests.papercapture.conftest import HEADER, PaperWorld
from tests.papercapture.helpers import EXPECTED_ENTRIES, SCAN_LINES, scan_csv, scan_xlsx


def _import(pw: PaperWorld, data: bytes, name: str = "scan.csv", persona: str = "national_admin@A") -> ScanBatch:
    return services.batch_import(actor=pw.user(persona), cycle=pw.cycle, instrument=pw.instrument, name=name,
                                 data=data)


def _entries(batch: ScanBatch) -> set[tuple[int, str, str]]:
    return set(ReviewEntry.objects.filter(batch=batch, resolved_at__isnull=True)
               .values_list("card__row", "kind", "item"))


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_every_scanner_error_goes_to_the_review_queue(pw: PaperWorld, kind: str) -> None:
    data = scan_csv() if kind == "csv" else scan_xlsx()
    batch = _import(pw, data, name=f"scan.{kind}")
    assert batch.sheets == len(SCAN_LINES) and batch.status == BatchStatus.REVIEW
    assert batch.label == "B001、B002"
    assert _entries(batch) == EXPECTED_ENTRIES
    card = ScanCard.objects.get(batch=batch, row=7)
    assert card.booklet is None and card.booklet_read == "13" and card.test_taker == pw.takers["A0005"]
    assert ScanCard.objects.get(batch=batch, row=6).test_taker is None
    details = dict(ReviewEntry.objects.filter(batch=batch).values_list("card__row", "detail").filter(
        kind__in=["booklet_mismatch", "unknown_test_id"]))
    assert details[5] == "答题卡上的题本号为1，分配给该学生的是2。"
    assert details[6] == "测试编号“Z9999”不是本批次范围内分配了psci的测试对象。"
    assert ReviewEntry.objects.get(batch=batch, card__row=4, item="P01").detail == (
        "第1题是单选题，识别到多个涂点“AB”。")
    assert ReviewEntry.objects.get(batch=batch, card__row=9, item="P06").detail == "第6题的涂点“E”不是选项（A/B/C）。"
    event = AuditEvent.objects.get(action="papercapture.import")
    assert event.after["entries"]["duplicate_test_id"] == 2 and event.after["sheets"] == 8


def _refused(pw: PaperWorld, data: bytes, name: str = "scan.csv") -> InvalidInput:
    before = (ScanBatch.objects.count(), ScanCard.objects.count(), AuditEvent.objects.count())
    with pytest.raises(InvalidInput) as exc:
        _import(pw, data, name=name)
    assert (ScanBatch.objects.count(), ScanCard.objects.count(), AuditEvent.objects.count()) == before
    return exc.value


def test_a_file_that_is_not_utf8_is_refused_whole(pw: PaperWorld) -> None:
    data = (HEADER + "B001,1,A0001,1,B,AC,A,D,备注\n").encode("gb18030")
    err = _refused(pw, data)
    assert err.code == "scan_encoding"
    assert err.message.startswith("scan.csv不是UTF-8编码的CSV文件（第")


def test_missing_unknown_duplicate_and_writing_box_columns_are_named(pw: PaperWorld) -> None:
    header = "batch,sheet,test_id,P01,P02,P03,P04,P04,P05,X9\n"
    err = _refused(pw, scan_csv(["B001,1,A0001,B,AC,A,D,D,,"], header=header))
    got = {(p.row, p.field, p.reason) for p in err.problems}
    assert got == {
        (1, "P04", "列名“P04”重复。"),
        (1, "P05", "题目P05是书写框题，不由扫描读取，不应出现在扫描结果中。"),
        (1, "X9", "第10列“X9”不是psci答题卡的列（可用的列见模板）。"),
        (1, "booklet", "缺少列“booklet”。"),
        (1, "P06", "缺少列“P06”。"),
    }
    assert all(p.file == "scan.csv" for p in err.problems)


def test_broken_rows_are_refused_with_row_and_column(pw: PaperWorld) -> None:
    lines = ["B001,1,A0001,1,B,AC,A,D,", "B001,x,A0002,2,,,,A,C", "B001,1,A0003,1,B,AC,A,D,",
             ",3,A0004,2,,,,A,C", "B001,4,A0006,2,,,,A,C,extra"]
    err = _refused(pw, scan_csv(lines))
    got = {(p.row, p.field, p.reason) for p in err.problems}
    assert got == {
        (3, "sheet", "张号应为正整数，现为“x”。"),
        (4, "sheet", "扫描批号B001的第1张在第2行已出现。"),
        (5, "batch", "扫描批号不能为空。"),
        (6, None, "这一行的单元格比列名多。"),
    }


def test_empty_file_and_file_without_rows(pw: PaperWorld) -> None:
    assert _refused(pw, b"").problems[0].reason == "文件是空的：第1行应为列名。"
    assert _refused(pw, HEADER.encode()).problems[0].reason == "文件没有数据行。"
    assert _refused(pw, b"not a workbook", name="scan.xlsx").code == "scan_unreadable"


def test_the_same_file_is_not_imported_twice(pw: PaperWorld) -> None:
    first = _import(pw, scan_csv())
    err = _refused(pw, scan_csv(), name="again.csv")
    assert err.code == "scan_duplicate_file" and f"扫描批次#{first.pk}" in err.message


def test_province_import_sees_only_its_own_test_takers(pw: PaperWorld) -> None:
    lines = ["P1,1,A0001,1,B,AC,A,D,", "P1,2,B0001,1,B,AC,A,D,"]
    batch = _import(pw, scan_csv(lines), persona="province_coordinator@A")
    assert batch.path == pw.world.regions["A"].path
    # Province B's test taker is unknown to province A: missing and forbidden look the same.
    assert _entries(batch) == {(3, "unknown_test_id", "")}
    national = _import(pw, scan_csv(lines[1:]), persona="national_admin@A")
    assert _entries(national) == set()


def test_who_may_import(pw: PaperWorld) -> None:
    with pytest.raises(PermissionDenied):
        _import(pw, scan_csv(), persona="national_analyst@A")
    for persona in ("county_info_officer@A", "city_viewer@A", "school_head@A", "student@A", "rater@A"):
        with pytest.raises(NotFound):
            _import(pw, scan_csv(), persona=persona)
    assert not ScanBatch.objects.exists()


def test_import_and_release_queries_do_not_grow_with_the_number_of_cards(pw: PaperWorld) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(lines: list[str], name: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            batch = _import(pw, scan_csv(lines), name=name)
            services.batch_release(actor=pw.user("national_admin@A"), batch_id=batch.pk)
        return len(ctx.captured_queries)

    small = queries(["S,1,A0001,1,B,AC,A,D,"], "small.csv")
    # A0002–A0006, each on its assigned booklet with every item of it answered: no review entries.
    large = queries([f"L,{n},A000{n},1,B,AC,A,D," if n % 2 else f"L,{n},A000{n},2,,,,D,C" for n in range(2, 7)],
                    "large.csv")
    # Same number of queries for one card and for five (two booklets: one item-table query more).
    assert large - small <= 2, (small, large)
