"""``naeq estimate`` over files: the numbers are the engine's (and so R survey's), replicate weights in the same
file or a separate one give the same result, and bad input is reported with file, row, column and a Chinese
reason, exit code 1, nothing written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from naeq.cli import main
from naeq.engines.estimation import Design, mean
from naeq.engines.estimation.results import NO_SUPPRESSION
from tests.engines.estimation.conftest import REF, load, reference

DATA = REF / "data.csv"
BASE = ["estimate", "--persons", str(DATA), "--weight", "w", "--rep-prefix", "jk"]


def run(args: list[str]) -> tuple[int, str]:
    r = CliRunner().invoke(main, args, prog_name="naeq", catch_exceptions=False)
    return r.exit_code, r.output


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_help_lists_the_options() -> None:
    code, out = run(["estimate", "--help"])
    assert code == 0
    for opt in ("--persons", "--replicates", "--method", "--rho", "--by", "--stat", "--cuts", "--vs-total"):
        assert opt in out


def test_means_and_percentiles_match_r_survey_and_run_json_records_the_inputs(tmp_path: Path) -> None:
    out = tmp_path / "est.csv"
    code, text = run([*BASE, "--by", "county", "--stat", "mean", "--stat", "percentile", "--vs-total",
                      "--out", str(out)])
    assert code == 0, text
    got = rows(out)
    ref = {(r["statistic"], r["group"], r["term"]): r for r in reference() if r["design"] == "jk2"}
    for r in got:
        group = "all" if r["grouping"] == "all" else f"county={r['county']}"
        key = (r["statistic"], group, r["term"])
        if key in ref:
            assert float(r["value"]) == pytest.approx(float(ref[key]["value"]), rel=1e-8)
            assert float(r["se"]) == pytest.approx(float(ref[key]["se"]), rel=1e-8)
    assert sum((r["statistic"], "all" if r["grouping"] == "all" else f"county={r['county']}", r["term"]) in ref
               for r in got) == 4 + 4 * 5
    diffs = rows(tmp_path / "est_differences.csv")
    r_diff = ref[("difference", "county=1-all", "mean")]
    d1 = next(d for d in diffs if d["a"] == "1:mean")
    assert float(d1["difference"]) == pytest.approx(float(r_diff["value"]), rel=1e-8)
    assert float(d1["se"]) == pytest.approx(float(r_diff["se"]), rel=1e-8)
    assert d1["significant"] == ("1" if float(d1["p"]) < 0.05 else "0")
    record = json.loads((tmp_path / "est.run.json").read_text(encoding="utf-8"))
    assert record["inputs"]["persons"]["sha256"] == __import__("hashlib").sha256(DATA.read_bytes()).hexdigest()
    assert record["options"]["method"] == "JK2" and record["counts"]["replicates"] == 30


def test_a_separate_replicate_file_in_another_row_order_gives_the_same_numbers(tmp_path: Path) -> None:
    data = load()
    n = len(data["col"]["person"])
    perm = np.random.default_rng(0).permutation(n)
    rep = tmp_path / "reps.csv"
    with rep.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["person", *[f"rep{r + 1}" for r in range(data["fay"].shape[1])]])
        for i in perm:
            w.writerow([int(data["col"]["person"][i]), *map(repr, data["fay"][i].tolist())])
    out = tmp_path / "fay.csv"
    code, text = run(["estimate", "--persons", str(DATA), "--weight", "w", "--replicates", str(rep), "--method",
                      "Fay", "--rho", "0.5", "--out", str(out)])
    assert code == 0, text
    got = rows(out)[0]
    c = data["col"]
    e = mean(Design(c["w"], data["fay"], method="Fay", rho=0.5), data["pvs"], rules=NO_SUPPRESSION)
    assert float(got["value"]) == pytest.approx(e.value[0], rel=1e-12)
    assert float(got["se"]) == pytest.approx(e.se[0], rel=1e-12)


def test_small_groups_are_suppressed_and_not_printed(tmp_path: Path) -> None:
    out = tmp_path / "est.csv"
    code, text = run([*BASE, "--by", "school", "--out", str(out)])
    assert code == 0, text
    school_rows = [r for r in rows(out) if r["grouping"] == "school"]
    assert school_rows and all(r["suppressed"] == "1" and r["value"] == "" for r in school_rows)
    assert "样本量不足" in school_rows[0]["reason"] and "学校数不足" in school_rows[0]["reason"]
    code, _ = run([*BASE, "--by", "school", "--show-suppressed", "--out", str(out)])
    assert code == 0 and all(r["value"] != "" for r in rows(out) if r["grouping"] == "school")


def _bad_copy(tmp_path: Path, line: int, column: str, value: str) -> Path:
    with DATA.open() as fh:
        body = list(csv.reader(fh))
    body[line - 1][body[0].index(column)] = value
    p = tmp_path / "bad.csv"
    with p.open("w", newline="") as fh:
        csv.writer(fh).writerows(body)
    return p


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("w", "abc", "不是有限数值"),
    ("w", "-1", "应不小于0"),
    ("pv3", "", "值为空"),
    ("jk7", "x", "不是有限数值"),
    ("county", "", "值为空"),
])
def test_bad_cells_are_reported_with_file_row_and_column_and_nothing_is_written(
        tmp_path: Path, column: str, value: str, reason: str) -> None:
    bad = _bad_copy(tmp_path, 7, column, value)
    out = tmp_path / "out" / "est.csv"
    code, text = run(["estimate", "--persons", str(bad), "--weight", "w", "--rep-prefix", "jk", "--by", "county",
                      "--out", str(out)])
    assert code == 1
    assert "bad.csv" in text and "row 7" in text and column in text and reason in text, text
    assert not (tmp_path / "out").exists()


def test_missing_columns_duplicates_and_replicate_mismatches(tmp_path: Path) -> None:
    out = tmp_path / "est.csv"
    code, text = run([*BASE, "--weight", "weight_missing", "--out", str(out)])
    assert code == 1 and "缺少列" in text and "weight_missing" in text
    dup = _bad_copy(tmp_path, 3, "person", "1")
    code, text = run(["estimate", "--persons", str(dup), "--weight", "w", "--rep-prefix", "jk", "--out", str(out)])
    assert code == 1 and "row 3" in text and "重复" in text
    rep = tmp_path / "reps.csv"
    rep.write_text("person,rep1,rep2\n1,1,2\n99999,1,2\n", encoding="utf-8")
    code, text = run(["estimate", "--persons", str(DATA), "--weight", "w", "--replicates", str(rep),
                      "--out", str(out)])
    assert code == 1 and "reps.csv" in text and "row 3" in text and "不在人员文件中" in text and "没有复制权重" in text
    assert not out.exists()


def test_bad_options_are_refused_before_reading(tmp_path: Path) -> None:
    out = tmp_path / "est.csv"
    code, text = run([*BASE, "--rho", "0.5", "--out", str(out)])
    assert code == 1 and "--rho" in text
    code, text = run([*BASE, "--stat", "levels", "--cuts", "500,400,600", "--out", str(out)])
    assert code == 1 and "递增" in text
    code, text = run([*BASE, "--stat", "regression", "--out", str(out)])
    assert code == 1 and "--x" in text
    assert not out.exists()


def test_parquet_input_gives_the_csv_numbers(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = load()
    table = pa.table({k: (v.astype(np.int64) if k in ("person", "county", "school", "sex") else v)
                      for k, v in data["col"].items()})
    pq.write_table(table, tmp_path / "persons.parquet")
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run([*BASE, "--by", "county", "--out", str(a)])[0] == 0
    code, text = run(["estimate", "--persons", str(tmp_path / "persons.parquet"), "--weight", "w", "--rep-prefix",
                      "jk", "--by", "county", "--out", str(b)])
    assert code == 0, text
    ra, rb = rows(a), rows(b)
    assert [r["county"] for r in ra] == [r["county"] for r in rb]
    for x, y in zip(ra, rb, strict=True):
        assert float(x["value"]) == pytest.approx(float(y["value"]), rel=1e-12)
        assert float(x["se"]) == pytest.approx(float(y["se"]), rel=1e-12)


def test_levels_regression_and_proportions_through_the_cli_match_r(tmp_path: Path) -> None:
    out = tmp_path / "est.csv"
    code, text = run([*BASE, "--stat", "levels", "--stat", "regression", "--stat", "proportion", "--stat",
                      "between_school", "--cuts", "420,500,580", "--category", "II,III,IV", "--x", "x1,sex",
                      "--contrast", "sex", "--out", str(out)])
    assert code == 0, text
    ref = {(r["statistic"], r["term"]): r for r in reference() if r["design"] == "jk2" and r["group"] == "all"}
    got = {(r["statistic"], r["term"]): r for r in rows(out) if r["grouping"] == "all"}
    for key in [("levels", f"level[{c}]") for c in ("I", "II", "III", "IV")] + \
            [("regression", t) for t in ("(Intercept)", "x1", "sex")]:
        assert float(got[key]["value"]) == pytest.approx(float(ref[key]["value"]), rel=1e-8), key
        assert float(got[key]["se"]) == pytest.approx(float(ref[key]["se"]), rel=1e-8), key
    share = float(got[("proportion", "p[II|III|IV]")]["value"])
    assert share == pytest.approx(1 - float(ref[("levels", "level[I]")]["value"]), rel=1e-8)
    assert 0 <= float(got[("between_school", "variance_share")]["value"]) < 1
    sex_diff = next(d for d in rows(tmp_path / "est_differences.csv")
                    if d["kind"] == "contrast" and d["statistic"] == "levels" and d["a"] == "1:level[I]")
    assert sex_diff["b"] == "0:level[I]" and sex_diff["significant"] in ("0", "1")
