"""``naeq sample`` over files: a synthetic frame in, counties/schools/students/replicates and the run record out;
bad input -> exit 1 with file, row, column and reason."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from naeq.cli import EXIT_BAD_INPUT, main


def _synth(tmp: Path, scale: str, fmt: str) -> Path:
    result = CliRunner().invoke(main, ["synth", "--scale", scale, "--no-db", "--out", str(tmp), "--format", fmt,
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    return tmp


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    src = _synth(tmp_path_factory.mktemp("synth"), "national", "parquet")
    out = tmp_path_factory.mktemp("sample")
    result = CliRunner().invoke(main, ["sample", "--frame", str(src / "schools.parquet"), "--seed", "1", "--out",
                                       str(out), "--format", "parquet", "--quiet"])
    assert result.exit_code == 0, result.output
    return src, out


def test_national_draw_from_a_synth_frame(national: tuple[Path, Path]) -> None:
    src, out = national
    frame = pq.read_table(src / "schools.parquet").to_pydict()
    counties = pq.read_table(out / "counties.parquet").to_pydict()
    schools = pq.read_table(out / "schools.parquet").to_pydict()
    students = pq.read_table(out / "students.parquet").to_pydict()
    assert len(counties["county_code"]) == 340
    sampled = np.array(schools["role"]) == "sampled"
    assert 6_700 <= sampled.sum() <= 6_800
    assert 180_000 < len(students["grade"]) < 210_000
    # Within-county weights sum to the frame enrollment of every sampled county and grade.
    f_county = np.array(frame["county_code"])
    s_county, s_grade, s_w = (np.array(students[k]) for k in ("county", "grade", "weight_county"))
    for county in np.array(counties["county_code"])[:25]:
        for grade in (4, 8):
            total = np.array(frame[f"g{grade}_enrollment"])[f_county == county].sum()
            assert s_w[(s_county == county) & (s_grade == grade)].sum() == pytest.approx(total, rel=1e-9)
    # Replacements point at sampled schools of the same county and grade.
    codes = np.array(schools["school_code"])
    rep = ~sampled
    sampled_set = set(codes[sampled].tolist())
    assert set(np.array(schools["replaces"])[rep].tolist()) <= sampled_set
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 1 and manifest["frame_hash"].startswith("sha256:")
    assert manifest["design"]["counties"]["total"] == 340 and manifest["who"] and manifest["when"]
    assert manifest["code_version"]
    rf = pq.read_table(out / "replicate_factors_national.parquet").to_pydict()
    assert len(rf["psu"]) == 340  # one PSU per county (no designated counties in the default design)


def test_same_seed_same_files(national: tuple[Path, Path], tmp_path: Path) -> None:
    src, out = national
    again = tmp_path / "again"
    result = CliRunner().invoke(main, ["sample", "--frame", str(src / "schools.parquet"), "--seed", "1", "--out",
                                       str(again), "--format", "parquet", "--quiet"])
    assert result.exit_code == 0
    for name in ("counties", "schools", "students"):
        assert pq.read_table(again / f"{name}.parquet").equals(pq.read_table(out / f"{name}.parquet")), name


def test_county_draw_with_rosters(tmp_path: Path) -> None:
    src = _synth(tmp_path / "synth", "county", "csv")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sample", "--frame", str(src / "schools.csv"), "--rosters",
                                       str(src / "students.csv"), "--seed", "4", "--out", str(out), "--booklets",
                                       "12", "--quiet"])
    assert result.exit_code == 0, result.output
    students = _rows(out / "students.csv")
    roster = _rows(src / "students.csv")
    assert len(students) > 100
    for s in students[:200]:
        line = roster[int(s["roster_row"]) - 2]  # roster_row is the CSV line (header = 1)
        assert line["school_code"] == s["school_code"] and line["grade"] == s["grade"]
        assert s["roster_name"] == line["name"]
    per = {}
    for s in students:
        per.setdefault((s["school_code"], s["grade"]), set()).add(s["roster_row"])
    assert all(len(v) <= 30 for v in per.values())
    # Booklets spiralled within school and grade (counts differ by at most 1), valid test IDs numbered 1..n.
    from naeq.engines.booklets import test_id_valid

    by_group: dict[tuple[str, str], list[int]] = {}
    for s in students:
        by_group.setdefault((s["school_code"], s["grade"]), []).append(int(s["booklet"]))
        assert test_id_valid(s["test_id"]) and s["test_id"].startswith(s["school_code"] + s["grade"])
    for books in by_group.values():
        counts = np.bincount(books, minlength=13)[1:]
        assert counts.max() - counts.min() <= 1
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["booklets"] == 12


def test_bad_frame_rows_are_reported_precisely_and_nothing_is_written(tmp_path: Path) -> None:
    frame = tmp_path / "schools.csv"
    frame.write_text("code,county_code,level,urban_rural,g4_enrollment,g8_enrollment\n"
                     "1110101001,110101,primary,111,40,0\n"
                     "1110101002,11010,primary,111,-3,0\n"
                     "1110101001,110101,college,999,12,x\n"
                     "111010100X,110101,primary,111,12,0\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sample", "--frame", str(frame), "--seed", "1", "--out", str(out), "--quiet"])
    assert result.exit_code == EXIT_BAD_INPUT
    text = result.output
    assert f"{frame} row 3, county_code: 区县代码应为 6 位数字，实为“11010”。" in text
    assert f"{frame} row 3, g4_enrollment: 应为非负整数，实为“-3”。" in text
    assert f"{frame} row 4, code: 学校标识码“1110101001”重复。" in text
    assert f"{frame} row 4, level:" in text and f"{frame} row 4, urban_rural:" in text
    assert f"{frame} row 4, g8_enrollment: 应为非负整数，实为“x”。" in text
    assert f"{frame} row 5, code: 学校标识码应为 10 位数字，实为“111010100X”。" in text
    assert not out.exists()


def test_missing_columns_and_bad_design(tmp_path: Path) -> None:
    frame = tmp_path / "schools.csv"
    frame.write_text("code,county_code\n1110101001,110101\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sample", "--frame", str(frame), "--seed", "1", "--out", str(tmp_path / "o"),
                                       "--quiet"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "缺少列：level、urban_rural、g4_enrollment、g8_enrollment" in result.output
    design = tmp_path / "d.yaml"
    design.write_text("name: x\ncounties: {total: 0}\nschools: {per_county: {grade4: 1, grade8: 1}}\n"
                      "students: {per_school: 30}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sample", "--frame", str(frame), "--design", str(design), "--seed", "1",
                                       "--out", str(tmp_path / "o"), "--quiet"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert f"{design} row 2, counties.total: 应在 1 到 3000 之间。" in result.output


def test_help() -> None:
    result = CliRunner().invoke(main, ["sample", "--help"], prog_name="naeq")
    assert result.exit_code == 0
    assert "--frame" in result.output and "--rosters" in result.output and "manifest.json" in result.output


def test_roster_that_does_not_match_the_frame_is_refused(tmp_path: Path) -> None:
    src = _synth(tmp_path / "synth", "county", "csv")
    plain = tmp_path / "plain"
    args = ["sample", "--frame", str(src / "schools.csv"), "--seed", "4", "--quiet"]
    assert CliRunner().invoke(main, [*args, "--out", str(plain)]).exit_code == 0
    sampled = next(r for r in _rows(plain / "schools.csv") if r["role"] == "sampled")
    roster = _rows(src / "students.csv")
    drop = next(i for i, r in enumerate(roster) if r["school_code"] == sampled["school_code"]
                and r["grade"] == sampled["grade"])
    lines = (src / "students.csv").read_text(encoding="utf-8").splitlines()
    short = tmp_path / "rosters.csv"
    short.write_text("\n".join(lines[: drop + 1] + lines[drop + 2:]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [*args, "--rosters", str(short), "--out", str(out)])
    assert result.exit_code == EXIT_BAD_INPUT
    n = int(sampled["enrollment"])
    assert (f"样本校 {sampled['school_code']} {sampled['grade']} 年级：名单 {n - 1} 人，与抽样框在校生数 {n} 人不符。"
            in result.output)
    assert not out.exists()
