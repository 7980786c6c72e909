"""``naeq paper`` through click's CliRunner: every verb's --help, the happy path of template → import → queue →
resolve → score, and exit 1 with the precise message on bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from naeq.cli import main
from naeq.papercapture.models import PaperResponse, ReviewEntry, ScanBatch
from tests.papercapture.conftest import HEADER, PaperWorld
from tests.papercapture.helpers import scan_csv

VERBS = ["template", "cards", "booklet", "import", "queue", "resolve", "score"]


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(verb: str) -> None:
    result = CliRunner().invoke(main, ["paper", verb, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_import_queue_resolve_score(pw: PaperWorld, tmp_path: Path) -> None:
    runner = CliRunner()
    year = str(pw.cycle.year)
    as_ = ["--as", pw.user("national_admin@A").username]
    out = tmp_path / "t.csv"
    result = runner.invoke(main, ["paper", "template", "--cycle", year, "--instrument", "psci", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8-sig") == HEADER
    scan = tmp_path / "scan.csv"
    scan.write_bytes(scan_csv(["B1,1,A0001,1,B,AC,,D,", "B1,2,A0002,2,,,,A,C"]))
    result = runner.invoke(main, ["paper", "import", *as_, "--cycle", year, "--instrument", "psci", str(scan)])
    assert result.exit_code == 0, result.output
    batch = ScanBatch.objects.get()
    assert result.output.strip() == f"batch {batch.pk}: 2 sheets, 1 problems in the review queue, status review"
    result = runner.invoke(main, ["paper", "queue", *as_])
    entry = ReviewEntry.objects.get()
    assert f"{entry.pk}\t{batch.pk}\t2\tB1/1\tA0001\tblank\tP03\t\t第3题未涂。" in result.output
    result = runner.invoke(main, ["paper", "score", *as_, str(batch.pk)])
    assert result.exit_code == 1 and "复核队列中还有1个问题未处理，处理完之前不评分。" in result.output
    result = runner.invoke(main, ["paper", "resolve", *as_, str(entry.pk), "--resolution", "confirm"])
    assert result.exit_code == 0 and result.output.strip() == f"entry {entry.pk}: confirm 99"
    result = runner.invoke(main, ["paper", "score", *as_, str(batch.pk)])
    assert result.exit_code == 0 and result.output.strip() == f"batch {batch.pk}: released, 9 scored responses"
    assert PaperResponse.objects.count() == 9


def test_bad_input_exits_1_with_the_message(pw: PaperWorld, tmp_path: Path) -> None:
    runner = CliRunner()
    as_ = ["--as", pw.user("national_admin@A").username]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"batch,sheet,test_id\nB1,1,A0001\n")
    result = runner.invoke(main, ["paper", "import", *as_, "--instrument", "psci", str(bad)])
    assert result.exit_code == 1 and "缺少列“booklet”。" in result.output
    result = runner.invoke(main, ["paper", "import", *as_, "--instrument", "nope", str(bad)])
    assert result.exit_code == 1 and "没有已发布的工具“nope”" in result.output
    result = runner.invoke(main, ["paper", "booklet", "--as", "nobody", "--instrument", "psci", "--number", "1",
                                  "-o", str(tmp_path / "b.pdf")])
    assert result.exit_code == 1 and "没有找到账户“nobody”。" in result.output
    result = runner.invoke(main, ["paper", "booklet", "--as", pw.user("county_liaison@A").username,
                                  "--instrument", "psci", "--number", "1", "-o", str(tmp_path / "b.pdf")])
    assert result.exit_code == 1 and "没有找到该页面。" in result.output and not (tmp_path / "b.pdf").exists()
    result = runner.invoke(main, ["paper", "cards", *as_, "--instrument", "psci", "--school",
                                  pw.world.schools["A1a-1"].code, "-o", str(tmp_path / "c.pdf")])
    assert result.exit_code == 0 and (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF")
    assert not ScanBatch.objects.exists()
