"""``naeq screen`` on real files: outputs, an injected anomaly found, and bad input of every kind named precisely
(file, row, column, reason) with nothing written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from naeq.cli import main
from tests.engines.forensics.simulate import copy_answers, simulate

LETTERS = "ABCD"


def _write(path: Path, header: list[str], rows: list[list[object]]) -> str:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(8)
    sim = simulate(rng, n_schools=12, size=20, n_items=30, schools_per_county=3)
    x = copy_answers(rng, sim.x, 20, np.arange(21, 27), 0.9)  # school 1: one source, six copies
    persons = [f"P{i:04d}" for i in range(len(x))]
    items = [f"M{j:02d}" for j in range(x.shape[1])]
    f = {
        "responses": _write(tmp_path / "responses.csv", ["person", "item", "option"],
                            [[persons[i], items[j], LETTERS[x[i, j]] if (i + j) % 97 else ""]
                             for i in range(len(x)) for j in range(x.shape[1])]),
        "keys": _write(tmp_path / "keys.csv", ["item", "key"], [[items[j], LETTERS[k]] for j, k in
                                                                enumerate(sim.key)]),
        "grouping": _write(tmp_path / "grouping.csv", ["person", "room", "school", "county"],
                           [[p, f"R{i % 2}", f"S{sim.school[i]:02d}", f"C{sim.county[i]}"]
                            for i, p in enumerate(persons)]),
        "background": _write(tmp_path / "background.csv", ["school", "ses", "urban"],
                             [[f"S{s:02d}", round(float(v), 3), s % 2] for s, v in enumerate(rng.normal(size=12))]),
        "participation": _write(tmp_path / "participation.csv", ["school", "sampled", "absent", "exempt"],
                                [[f"S{s:02d}", 22, int(rng.integers(0, 3)), int(rng.integers(0, 2))]
                                 for s in range(12)]),
        "timings": _write(tmp_path / "timings.csv", ["person", "item", "seconds"],
                          [[persons[i], items[j], round(float(np.exp(rng.normal(3, 0.5))), 1)]
                           for i in range(len(x)) for j in range(0, x.shape[1], 5)]),
        "pe": _write(tmp_path / "pe.csv", ["person", "test", "value"],
                     [[p, "run50m", f"{rng.normal(8.5, 0.7):.1f}"] for p in persons]),
        "questionnaire": _write(tmp_path / "questionnaire.csv", ["person", "block", "item", "value"],
                                [[p, "Q1", f"Q1_{k}", int(rng.integers(1, 5))] for p in persons for k in range(5)]),
    }
    return tmp_path, f, persons


def _args(f, out, **override):
    merged = {**f, **override}
    args = ["screen", "--out", str(out), "--quiet"]
    for name, path in merged.items():
        if path is not None:
            args += [f"--{name}", path]
    return args


def test_screen_writes_every_output_and_finds_the_copying(files):
    tmp, f, persons = files
    out = tmp / "out"
    res = CliRunner().invoke(main, _args(f, out))
    assert res.exit_code == 0, res.output
    for name in ("pairs.csv", "persons.csv", "clusters.csv", "schools.csv", "counties.csv", "run.json"):
        assert (out / name).exists()
    pairs = list(csv.DictReader((out / "pairs.csv").open(encoding="utf-8")))
    flagged = [p for p in pairs if p["flag"] == "1"]
    assert flagged and all(p["school"] == "S01" for p in flagged)
    assert {"P0020"} <= {p["source"] for p in flagged} | {p["copier"] for p in flagged}
    clusters = list(csv.DictReader((out / "clusters.csv").open(encoding="utf-8")))
    assert len(clusters) == 1 and clusters[0]["source_candidate"] == "P0020"
    schools = list(csv.DictReader((out / "schools.csv").open(encoding="utf-8")))
    assert schools[0]["unit"] == "S01" and schools[0]["flag"] == "1" and "pairs_omega" in schools[0]["drivers"]
    for col in ("mean_above_prediction_p", "absent_p", "time_short_p", "pe_heaping_p", "straightlining_p"):
        assert col in schools[0]
    counties = list(csv.DictReader((out / "counties.csv").open(encoding="utf-8")))
    assert counties[0]["unit"] == "C0" and "between_variance_small_p" in counties[0]
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["summary"]["persons"] == len(persons) and run["summary"]["clusters"] == 1
    assert set(run["inputs"]) >= {"responses", "keys", "grouping", "timings", "pe"}


def _bad(tmp: Path, name: str, text: str) -> str:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return str(p)


@pytest.mark.parametrize(("kind", "expect"), [
    ("missing_column", ["keys_bad.csv", "第1行", "列“key”", "缺少必需的列"]),
    ("unknown_person", ["responses_bad.csv", "第3行", "列“person”", "未知的考生“X9”"]),
    ("duplicate", ["responses_bad.csv", "第3行", "列“item”", "重复（第2行已出现）"]),
    ("not_number", ["timings_bad.csv", "第2行", "列“seconds”", "“fast”不是数字"]),
    ("negative_time", ["timings_bad.csv", "第2行", "列“seconds”", "应大于0"]),
    ("two_counties", ["grouping_bad.csv", "第3行", "列“county”", "学校“S00”已在第2行属于区县“C0”"]),
    ("empty", ["keys_bad.csv", "文件为空"]),
    ("ragged", ["keys_bad.csv", "第2行", "有 3 个字段"]),
    ("absent_above_sampled", ["participation_bad.csv", "第2行", "列“absent”", "大于抽样人数"]),
    ("missing_file", ["nothere.csv", "文件不存在"]),
])
def test_bad_input_is_named_precisely_and_nothing_is_written(files, kind, expect):
    tmp, f, _ = files
    override: dict[str, str] = {}
    if kind == "missing_column":
        override["keys"] = _bad(tmp, "keys_bad.csv", "item,answer\nM00,A\n")
    elif kind == "unknown_person":
        override["responses"] = _bad(tmp, "responses_bad.csv", "person,item,option\nP0000,M00,A\nX9,M00,B\n")
    elif kind == "duplicate":
        override["responses"] = _bad(tmp, "responses_bad.csv", "person,item,option\nP0000,M00,A\nP0000,M00,B\n")
    elif kind == "not_number":
        override["timings"] = _bad(tmp, "timings_bad.csv", "person,item,seconds\nP0000,M00,fast\n")
    elif kind == "negative_time":
        override["timings"] = _bad(tmp, "timings_bad.csv", "person,item,seconds\nP0000,M00,-3\n")
    elif kind == "two_counties":
        override["grouping"] = _bad(tmp, "grouping_bad.csv", "person,room,school,county\nP0000,R0,S00,C0\n"
                                    "P0001,R0,S00,C1\n")
    elif kind == "empty":
        override["keys"] = _bad(tmp, "keys_bad.csv", "")
    elif kind == "ragged":
        override["keys"] = _bad(tmp, "keys_bad.csv", "item,key\nM00,A,extra\n")
    elif kind == "absent_above_sampled":
        override["participation"] = _bad(tmp, "participation_bad.csv", "school,sampled,absent\nS00,20,25\n")
    elif kind == "missing_file":
        override["pe"] = str(tmp / "nothere.csv")
    out = tmp / f"out_{kind}"
    res = CliRunner().invoke(main, _args(f, out, **override))
    assert res.exit_code == 1, res.output
    for piece in expect:
        assert piece in res.output
    assert not out.exists()


def test_pairs_within_rooms(files):
    tmp, f, _ = files
    out = tmp / "out_rooms"
    res = CliRunner().invoke(main, [*_args(f, out), "--pair-scope", "room", "--fast"])
    assert res.exit_code == 0, res.output
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    # 12 schools × 2 rooms × C(10, 2) pairs instead of 12 × C(20, 2)
    assert run["summary"]["pairs"] == 12 * 2 * 45
    pairs = list(csv.DictReader((out / "pairs.csv").open(encoding="utf-8")))
    assert pairs and all(p["same_room"] == "1" for p in pairs)
    lines = Path(f["grouping"]).read_text(encoding="utf-8").splitlines()
    no_room = _write(tmp / "grouping_noroom.csv", ["person", "school", "county"],
                     [row[:1] + row[2:] for row in csv.reader(lines[1:])])
    res = CliRunner().invoke(main, [*_args(f, tmp / "out_nr", grouping=no_room), "--pair-scope", "room"])
    assert res.exit_code == 1 and "grouping_noroom.csv 第1行 列“room”" in res.output


def test_given_item_parameters_are_used_and_checked(files):
    tmp, f, _ = files
    items = [f"M{j:02d}" for j in range(30)]
    good = _write(tmp / "items.csv", ["item", "model", "a", "b1"], [[it, "2pl", 1.2, 0.1 * j - 1.5]
                                                                   for j, it in enumerate(items)])
    out = tmp / "out_items"
    res = CliRunner().invoke(main, _args(f, out, items=good))
    assert res.exit_code == 0, res.output
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["inputs"]["items"]["sha256"]
    short = _write(tmp / "items_short.csv", ["item", "a", "b"], [[it, 1.0, 0.0] for it in items[:-1]])
    res = CliRunner().invoke(main, _args(f, tmp / "out_short", items=short))
    assert res.exit_code == 1 and "items_short.csv" in res.output and "缺少题目“M29”的参数" in res.output
    bad_a = _write(tmp / "items_bad.csv", ["item", "a", "b"], [[it, -1.0 if j == 3 else 1.0, 0.0]
                                                               for j, it in enumerate(items)])
    res = CliRunner().invoke(main, _args(f, tmp / "out_bad", items=bad_a))
    assert res.exit_code == 1 and "items_bad.csv 第5行 列“a”" in res.output and "应大于0" in res.output


def test_parquet_responses_give_the_same_result(files):
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp, f, _ = files
    rows = list(csv.reader(Path(f["responses"]).read_text(encoding="utf-8").splitlines()))
    cols = list(zip(*rows[1:], strict=True))
    pq.write_table(pa.table({h: list(c) for h, c in zip(rows[0], cols, strict=True)}), tmp / "responses.parquet")
    a, b = tmp / "out_csv", tmp / "out_parquet"
    base = {"responses": f["responses"], "keys": f["keys"], "grouping": f["grouping"]}
    assert CliRunner().invoke(main, [*_args(base, a), "--fast"]).exit_code == 0
    res = CliRunner().invoke(main, [*_args({**base, "responses": str(tmp / "responses.parquet")}, b), "--fast"])
    assert res.exit_code == 0, res.output
    assert (a / "schools.csv").read_text(encoding="utf-8") == (b / "schools.csv").read_text(encoding="utf-8")
    bad = tmp / "bad.parquet"
    pq.write_table(pa.table({"person": ["P0000", "NOPE"], "item": ["M00", "M01"], "option": ["A", "B"]}), bad)
    res = CliRunner().invoke(main, _args({**base, "responses": str(bad)}, tmp / "out_bad"))
    assert res.exit_code == 1 and "bad.parquet 第3行 列“person”" in res.output


def test_help_lists_the_files():
    res = CliRunner().invoke(main, ["screen", "--help"])
    assert res.exit_code == 0
    for opt in ("--responses", "--keys", "--grouping", "--timings", "--pe", "--questionnaire", "--fdr"):
        assert opt in res.output
