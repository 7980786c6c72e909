"""``naeq calibrate`` over real CSV and Parquet files: the outputs, reproducibility, anchors, and every kind of bad
input (exit 1 naming the file, row, column and reason; nothing written)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from naeq.cli import main
from naeq.engines.irt.simulate import rotated_booklets, simulate_items, simulate_responses

N = 300


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """300 persons, 10 items (8 2PL, 2 GPCM with 3 categories) in 3 rotated booklets, with known truth."""
    d = tmp_path_factory.mktemp("calib")
    rng = np.random.default_rng(2026)
    params = simulate_items(["2pl"] * 8 + ["gpcm"] * 2, seed=rng, n_categories=3)
    theta = rng.normal(0, 1, N)
    booklet = rng.integers(0, 3, N)
    r = simulate_responses(params, theta, seed=rng, design=rotated_booklets(10, 3, 2), booklet=booklet)
    persons = [f"p{i:04d}" for i in range(N)]
    rows = [[persons[p], r.items[j], int(s), int(booklet[p]) + 1]
            for p, j, s in zip(r.person.tolist(), r.item.tolist(), r.score.tolist(), strict=True)]
    resp = _write_csv(d / "responses.csv", ["person", "item", "score", "booklet"], rows)
    items = _write_csv(d / "items.csv", ["item", "max_score", "model"],
                       [[i, int(k) - 1, ""] for i, k in zip(r.items, r.n_categories, strict=True)])
    sex = np.where(rng.random(N) < 0.5, "F", "M")
    ses = 0.6 * theta + rng.normal(0, 0.8, N)
    bg = _write_csv(d / "background.csv", ["person", "ses", "sex"],
                    [[p, "" if i % 37 == 0 else round(float(ses[i]), 4), sex[i]] for i, p in enumerate(persons)])
    return {"dir": d, "responses": resp, "items": items, "background": bg, "rows": rows, "params": params,
            "theta": theta}


def _run(*args: Any) -> Any:
    return CliRunner().invoke(main, ["calibrate", *map(str, args), "--quiet"], catch_exceptions=False)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_help_documents_the_files() -> None:
    result = CliRunner().invoke(main, ["calibrate", "--help"])
    assert result.exit_code == 0
    for word in ("--responses", "--items", "--background", "--anchors", "--dif", "--pvs", "--cuts", "--seed"):
        assert word in result.output


def test_calibrates_and_writes_every_file(data: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = _run("--responses", data["responses"], "--items", data["items"], "--out", out, "--seed", 5,
                  "--background", data["background"], "--dif", "sex", "--cuts", "420,500,580")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["dif.csv", "fit.csv", "items.csv", "persons.csv", "pvs.csv",
                                                     "run.json"]
    items = _read(out / "items.csv")
    assert [r["item"] for r in items] == list(data["params"].items)
    assert [r["model"] for r in items] == ["2pl"] * 8 + ["gpcm"] * 2
    assert all(float(r["a_se"]) > 0 and float(r["b1_se"]) > 0 for r in items)
    assert all(r["b2"] == "" for r in items[:8]) and all(r["b2"] != "" for r in items[8:])
    # Known truth: 300 persons, ~6-7 items each -> SE(b) ~ 0.15-0.25 against a spread of ~1; a correlation
    # above 0.9 fails for swapped items, a wrong booklet layout or a sign error.
    est = [float(r["b1"]) for r in items[:8]]
    assert np.corrcoef(est, data["params"].b[:8, 0])[0, 1] > 0.9
    persons = _read(out / "persons.csv")
    assert len(persons) == N and persons[0]["person"] == "p0000"
    eap = np.array([float(p["eap"]) for p in persons])
    assert np.corrcoef(eap, data["theta"])[0, 1] > 0.75  # ~7 items per person: reliability around 0.6-0.7
    pvs = _read(out / "pvs.csv")
    assert len(pvs) == N and {"pv1", "pv5", "pv5_scale"} <= set(pvs[0])
    dif = _read(out / "dif.csv")
    assert {r["variable"] for r in dif} == {"sex"} and len(dif) == 10 and {r["ets"] for r in dif} <= {"A", "B", "C"}
    fit = _read(out / "fit.csv")
    assert len(fit) == 10 and all(r["sx2_p"] != "" for r in fit)
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["seed"] == 5 and run["code_version"].startswith("naeq ")
    assert run["inputs"]["responses"]["file"] == "responses.csv" and len(run["inputs"]["responses"]["sha256"]) == 64
    assert {"background", "items"} <= set(run["inputs"]) and run["options"]["cuts"] == [420.0, 500.0, 580.0]
    assert {"read", "calibrate", "pvs", "write"} <= set(run["timings"])
    assert isinstance(run["warnings"], list)
    assert run["summary"]["levels"]["labels"] == ["待提高", "中等", "良好", "优秀"]
    assert abs(sum(run["summary"]["levels"]["shares"]) - 1) < 1e-9
    # The reporting scale puts this population's PVs at mean 500, SD 100 (that is how it is fitted).
    assert abs(run["summary"]["pv"]["mean"] - 500) < 1e-6 and abs(run["summary"]["pv"]["sd"] - 100) < 0.5


def test_parquet_and_shuffled_rows_give_the_same_output(data: dict[str, Any], tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert _run("--responses", data["responses"], "--items", data["items"], "--out", a, "--seed", 5,
                "--background", data["background"], "--categorical", "sex").exit_code == 0
    rows = list(data["rows"])
    order = np.random.default_rng(1).permutation(len(rows))
    cols = list(zip(*[rows[i] for i in order], strict=True))
    table = pa.table({"person": pa.array(cols[0]), "item": pa.array(cols[1]),
                      "score": pa.array(cols[2], pa.int64()), "booklet": pa.array(cols[3], pa.int16())})
    pq.write_table(table, tmp_path / "responses.parquet")
    pq.write_table(pa.table({"item": [r["item"] for r in _read(data["items"])],
                             "max_score": [int(r["max_score"]) for r in _read(data["items"])]}),
                   tmp_path / "items.parquet")
    assert _run("--responses", tmp_path / "responses.parquet", "--items", tmp_path / "items.parquet", "--out", b,
                "--seed", 5, "--background", data["background"], "--categorical", "sex").exit_code == 0
    for name in ("items.csv", "persons.csv", "pvs.csv", "fit.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_seed_fixes_the_plausible_values(data: dict[str, Any], tmp_path: Path) -> None:
    outs = []
    for k, seed in enumerate((5, 5, 6)):
        out = tmp_path / str(k)
        assert _run("--responses", data["responses"], "--items", data["items"], "--out", out, "--seed", seed,
                    "--background", data["background"], "--categorical", "sex").exit_code == 0
        outs.append((out / "pvs.csv").read_bytes())
    assert outs[0] == outs[1] and outs[0] != outs[2]


def test_without_background_no_plausible_values(data: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _run("--responses", data["responses"], "--items", data["items"], "--out", out, "--seed", 1).exit_code == 0
    assert not (out / "pvs.csv").exists() and not (out / "dif.csv").exists() and (out / "persons.csv").exists()


def test_anchor_items_keep_their_parameters(data: dict[str, Any], tmp_path: Path) -> None:
    """A base run's items.csv is the anchor file: anchored items keep their parameters exactly (marked
    anchored, no SEs) and the other items are estimated on the base metric."""
    base = tmp_path / "base"
    assert _run("--responses", data["responses"], "--items", data["items"], "--out", base, "--seed", 1).exit_code == 0
    rows = _read(base / "items.csv")
    anchors = _write_csv(tmp_path / "anchors.csv", ["item", "a", "c", "b1", "b2"],
                         [[r["item"], r["a"], r["c"], r["b1"], r["b2"]] for r in rows[:4] + rows[8:9]])
    out = tmp_path / "linked"
    result = _run("--responses", data["responses"], "--items", data["items"], "--out", out, "--seed", 1,
                  "--anchors", anchors)
    assert result.exit_code == 0, result.output
    linked = _read(out / "items.csv")
    for old, new in zip(rows[:4] + rows[8:9], linked[:4] + linked[8:9], strict=True):
        assert (new["anchored"], new["a"], new["b1"], new["b2"], new["a_se"]) == (
            "1", old["a"], old["b1"], old["b2"], "")
    free = [(float(o["b1"]), float(n["b1"])) for o, n in zip(rows[4:8], linked[4:8], strict=True)]
    # Same data, anchors from the same calibration: the free items land where they were (EM tolerance 1e-4,
    # the population mean/SD now estimated instead of fixed: a few hundredths at most).
    assert all(abs(o - n) < 0.05 for o, n in free), free
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["inputs"]["anchors"]["file"] == "anchors.csv"


# ------------------------------------------------------------------------------------------ bad input


def _bad(tmp_path: Path, *args: Any) -> str:
    out = tmp_path / "never"
    result = CliRunner().invoke(main, ["calibrate", *map(str, args), "--out", str(out), "--seed", "1", "--quiet"])
    assert result.exit_code == 1, result.output
    assert not out.exists()  # nothing written
    return result.output


def _items(tmp_path: Path, rows: list[list[Any]], header: tuple[str, ...] = ("item", "max_score", "model")) -> Path:
    return _write_csv(tmp_path / "items_bad.csv", list(header), rows)


def _resp(tmp_path: Path, rows: list[list[Any]], header: tuple[str, ...] = ("person", "item", "score")) -> Path:
    return _write_csv(tmp_path / "resp_bad.csv", list(header), rows)


GOOD_ITEMS = [["q1", 1, ""], ["q2", 2, ""]]
GOOD_RESP = [["s1", "q1", 1], ["s1", "q2", 2], ["s2", "q1", 0], ["s2", "q2", 1]]


@pytest.mark.parametrize(("rows", "expect"), [
    ([["s1", "q1", "1.5"]], ("row 2", "score", "非负整数", "1.5")),
    ([["s1", "q1", "-1"]], ("row 2", "score", "非负整数")),
    ([["s1", "q1", ""]], ("row 2", "score", "未施测的题目不写行")),
    ([["s1", "q1", "x"]], ("row 2", "score", "“x”")),
    ([["s1", "q2", 3]], ("row 2", "score", "超过该题满分2")),
    ([["s1", "q9", 1]], ("row 2", "item", "不在题目表中")),
    ([["", "q1", 1]], ("row 2", "person", "标识为空")),
    ([["s1", "q1", 1], ["s1", "q1", 0]], ("row 3", "item", "重复出现")),
])
def test_bad_response_rows(tmp_path: Path, rows: list[list[Any]], expect: tuple[str, ...]) -> None:
    out = _bad(tmp_path, "--responses", _resp(tmp_path, rows), "--items", _items(tmp_path, GOOD_ITEMS))
    assert "resp_bad.csv" in out
    for word in expect:
        assert word in out, (word, out)


def test_every_bad_row_is_listed_at_once(tmp_path: Path) -> None:
    rows = [["s1", "q1", "1.5"], ["s2", "q9", 1], ["s3", "q2", 7]]
    out = _bad(tmp_path, "--responses", _resp(tmp_path, rows), "--items", _items(tmp_path, GOOD_ITEMS))
    assert "row 2" in out and "row 3" in out and "row 4" in out


def test_booklet_must_not_vary_within_a_person(tmp_path: Path) -> None:
    resp = _resp(tmp_path, [["s1", "q1", 1, 1], ["s1", "q2", 0, 2]], header=("person", "item", "score", "booklet"))
    out = _bad(tmp_path, "--responses", resp, "--items", _items(tmp_path, GOOD_ITEMS))
    assert "row 3" in out and "booklet" in out and "前后不一致" in out


@pytest.mark.parametrize(("rows", "header", "expect"), [
    ([["q1", 0, ""]], ("item", "max_score", "model"), ("row 2", "max_score", "至少为1")),
    ([["q1", "two", ""]], ("item", "max_score", "model"), ("row 2", "max_score", "非负整数")),
    ([["q1", 1, ""], ["q1", 1, ""]], ("item", "max_score", "model"), ("row 3", "item", "重复出现")),
    ([["q1", 1, "4pl"]], ("item", "max_score", "model"), ("row 2", "model", "未知")),
    ([["q1", 2, "3pl"]], ("item", "max_score", "model"), ("row 2", "model", "pcm 或 gpcm")),
    ([["q1"]], ("item",), ("row 1", "缺少列", "max_score")),
])
def test_bad_item_tables(tmp_path: Path, rows: list[list[Any]], header: tuple[str, ...],
                         expect: tuple[str, ...]) -> None:
    out = _bad(tmp_path, "--responses", _resp(tmp_path, GOOD_RESP), "--items", _items(tmp_path, rows, header))
    assert "items_bad.csv" in out
    for word in expect:
        assert word in out, (word, out)


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    items = _items(tmp_path, GOOD_ITEMS)
    assert "不存在" in _bad(tmp_path, "--responses", tmp_path / "nope.csv", "--items", items)
    (tmp_path / "r.txt").write_text("person,item,score\n", encoding="utf-8")
    assert ".txt" in _bad(tmp_path, "--responses", tmp_path / "r.txt", "--items", items)
    empty = _resp(tmp_path, [])
    assert "没有数据行" in _bad(tmp_path, "--responses", empty, "--items", items)
    missing = _resp(tmp_path, [["s1", "q1"]], header=("person", "item"))
    assert "缺少列" in _bad(tmp_path, "--responses", missing, "--items", items)
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    assert "无法读取" in _bad(tmp_path, "--responses", tmp_path / "broken.parquet", "--items", items)


def test_an_unobserved_score_category_names_the_item(tmp_path: Path) -> None:
    rows = [["s1", "q1", 1], ["s1", "q2", 0], ["s2", "q1", 0], ["s2", "q2", 1]]  # nobody scored 2 on q2
    out = _bad(tmp_path, "--responses", _resp(tmp_path, rows), "--items", _items(tmp_path, GOOD_ITEMS))
    assert "q2" in out and "无人获得" in out


def test_bad_background(tmp_path: Path) -> None:
    resp, items = _resp(tmp_path, GOOD_RESP), _items(tmp_path, GOOD_ITEMS)
    cases = [
        ([["s1", "0.5"]], ("没有背景数据", "s2")),
        ([["s1", "0.5"], ["s2", "high"]], ("row 3", "ses", "应为数值", "high")),
        ([["s1", "0.5"], ["s1", "0.1"], ["s2", "1"]], ("row 3", "person", "重复出现")),
    ]
    for rows, expect in cases:
        bg = _write_csv(tmp_path / "bg_bad.csv", ["person", "ses"], rows)
        out = _bad(tmp_path, "--responses", resp, "--items", items, "--background", bg)
        assert "bg_bad.csv" in out
        for word in expect:
            assert word in out, (word, out)
    bg = _write_csv(tmp_path / "bg_bad.csv", ["person", "ses"], [["s1", "1"], ["s2", "2"]])
    out = _bad(tmp_path, "--responses", resp, "--items", items, "--background", bg, "--dif", "sex")
    assert "缺少列" in out and "sex" in out


def test_bad_anchors(tmp_path: Path) -> None:
    resp, items = _resp(tmp_path, GOOD_RESP), _items(tmp_path, GOOD_ITEMS)
    cases = [
        ([["q9", "1", "0", "0.1", ""]], ("row 2", "item", "不在题目表中")),
        ([["q2", "1", "0", "0.1", ""]], ("row 2", "b2", "需要 b1 至 b2")),
        ([["q1", "-1", "0", "0.1", ""]], ("row 2", "a", "应大于0")),
        ([["q1", "1", "1.5", "0.1", ""]], ("row 2", "c", "0与1之间")),
        ([["q1", "1", "0", "abc", ""]], ("row 2", "b1", "应为数值")),
        ([["q1", "1", "0", "0.1", "0.3"]], ("row 2", "b2", "不应有 b2")),
    ]
    for rows, expect in cases:
        anchors = _write_csv(tmp_path / "anchors_bad.csv", ["item", "a", "c", "b1", "b2"], rows)
        out = _bad(tmp_path, "--responses", resp, "--items", items, "--anchors", anchors)
        assert "anchors_bad.csv" in out
        for word in expect:
            assert word in out, (word, out)


def test_bad_options(tmp_path: Path) -> None:
    resp, items = _resp(tmp_path, GOOD_RESP), _items(tmp_path, GOOD_ITEMS)
    assert "--background" in _bad(tmp_path, "--responses", resp, "--items", items, "--dif", "sex")
    assert "cuts" in _bad(tmp_path, "--responses", resp, "--items", items, "--cuts", "500,400,600")
    assert "prior_b" in _bad(tmp_path, "--responses", resp, "--items", items, "--prior-b", "0")
    assert "--scale-intercept" in _bad(tmp_path, "--responses", resp, "--items", items, "--scale-slope", "100")


def test_parquet_identifiers_are_trimmed_and_nulls_reported(tmp_path: Path) -> None:
    items = _items(tmp_path, GOOD_ITEMS)
    ok = tmp_path / "ok.parquet"
    pq.write_table(pa.table({"person": ["s1", " s1", "s2", "s2 ", "s3"], "item": ["q1", "q2", " q1", "q2", "q2"],
                             "score": pa.array([1, 2, 0, 1, 0], pa.int8())}), ok)
    out = tmp_path / "out"
    assert _run("--responses", ok, "--items", items, "--out", out, "--seed", 1).exit_code == 0
    assert [r["person"] for r in _read(out / "persons.csv")] == ["s1", "s2", "s3"]
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"person": ["s1", None, "s2"], "item": ["q1", "q2", "q1"],
                             "score": pa.array([1, 2, None], pa.int8())}), bad)
    text = _bad(tmp_path, "--responses", bad, "--items", items)
    assert "row 2" in text and "person" in text and "标识为空" in text  # Parquet rows count from 1
    assert "row 3" in text and "score" in text
