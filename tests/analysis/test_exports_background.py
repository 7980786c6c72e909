"""Background variables in the analysts' export (issue 8): read as the estimation reads them
(naeq.analysis.background) — from every student questionnaire of the cycle, joined by test taker, here from
questionnaire ``bgq`` given in sessions of its own, not with the test (the 2024 schedule: "学生问卷" sessions in the
afternoon) — as ``BQ_<item>`` with the options' labels, and the run's recoded factors and the migrant /
disadvantaged groups under their own names with their labels, read back from the .sav and .dta with pyreadstat."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.analysis.test_exports import YEAR_KEY, ExportWorld, _stuid, exw  # noqa: F401  (fixture)
from tests.analysis.test_groups import FACTORS, GROUPS, HARDSHIP, HUKOU, SLEEP, _start, gw  # noqa: F401

MIG = {"1": 0.0, "2": 1.0, "3": 1.0, "4": np.nan}           # 本县 0, 本省其他县 / 外省 1, 不知道 no group
ECO = {"1": 1.0, "2": 0.0, "3": np.nan, "99": np.nan}        # 是 1, 不是 0, 不知道 / omitted no group
SLP8 = {"1": 1.0, "2": 1.0, "3": 0.0, "4": 0.0}              # grade 8: ≥ 9 h (options 1, 2) 达到规定时间


def _build(ew: ExportWorld, tmp_path: Path, fmt: str, actor: str = "national_analyst@A", **kw: Any) -> Any:
    from naeq.analysis import exports

    return exports.build(ew.user(actor), ew.cycle, YEAR_KEY, out_dir=tmp_path / f"{fmt}-{actor}", fmt=fmt, **kw)


def _rows(ew: ExportWorld) -> dict[str, Any]:
    """STUID -> test taker of the exported students (every student but the excluded and the uncalibrated)."""
    return {_stuid(ew, t.code): t for t in ew.takers if t.pk not in (ew.excluded, ew.not_calibrated)}


def _same(got: Any, want: float) -> bool:
    got = float("nan") if got is None or got == "" else float(got)
    return (np.isnan(got) and np.isnan(want)) or got == want


@pytest.mark.django_db
def test_sav_has_the_separate_session_questionnaire_and_the_groups(gw: ExportWorld, tmp_path: Path) -> None:  # noqa: F811
    import pyreadstat

    res = _build(gw, tmp_path, "sav", factors=FACTORS, groups=GROUPS)
    df, meta = pyreadstat.read_sav(str(res.directory / res.data_file), user_missing=True)
    rows = _rows(gw)
    assert sorted(df["STUID"]) == sorted(rows)
    for name in ("BQ_MIG", "BQ_ECO", "BQ_SLP", "BQ_HW1", "BQ_RD2", "migrant", "disadvantaged", "sleep"):
        assert name in df.columns, name
    assert "homework_time" not in df.columns  # a plain item spec is its BQ_HW1 column
    labels = meta.variable_value_labels
    assert {int(k): v for k, v in labels["BQ_MIG"].items()} == {
        **{j + 1: h for j, h in enumerate(HUKOU)}, 97: "无效作答", 99: "未作答"}
    assert {int(k): v for k, v in labels["BQ_SLP"].items() if k < 90} == {j + 1: s for j, s in enumerate(SLEEP)}
    assert {int(k): v for k, v in labels["BQ_ECO"].items() if k < 90} == {j + 1: s for j, s in enumerate(HARDSHIP)}
    assert {int(k): v for k, v in labels["migrant"].items()} == {1: "随迁子女", 0: "非随迁子女"}
    assert {int(k): v for k, v in labels["disadvantaged"].items()} == {1: "家庭经济困难学生", 0: "其他学生"}
    assert {int(k): v for k, v in labels["sleep"].items()} == {1: "达到规定时间", 0: "未达到规定时间"}
    assert "MIG" in meta.column_names_to_labels["migrant"] and "随迁子女" in meta.column_names_to_labels["migrant"]
    assert "学生问卷bgq" in _codebook_text(res)
    bg: dict[int, dict[str, str]] = gw.bg  # type: ignore[attr-defined]
    for r in df.to_dict("records"):
        a = bg[rows[r["STUID"]].pk]
        assert r["BQ_MIG"] == float(a["MIG"]) and r["BQ_ECO"] == float(a["ECO"]) and r["BQ_SLP"] == float(a["SLP"])
        assert _same(r["migrant"], MIG[a["MIG"]]), (a, r["migrant"])
        assert _same(r["disadvantaged"], ECO[a["ECO"]]), (a, r["disadvantaged"])
        assert _same(r["sleep"], SLP8[a["SLP"]]), (a, r["sleep"])
    assert {0.0, 1.0} <= set(df["migrant"].dropna()) and df["migrant"].isna().any()


def _codebook_text(res: Any) -> str:
    return (res.directory / "codebook.csv").read_bytes().decode("utf-8-sig")


@pytest.mark.django_db
def test_dta_has_group_labels_and_the_county_liaison_her_county(gw: ExportWorld, tmp_path: Path) -> None:  # noqa: F811
    import pyreadstat

    res = _build(gw, tmp_path, "dta", actor="county_liaison@A", groups=GROUPS, factors={})
    assert res.pseudonymised
    df, meta = pyreadstat.read_dta(str(res.directory / res.data_file))
    rows = _rows(gw)
    mine = {s for s, t in rows.items() if t.path.startswith(res.scope.path)}
    assert sorted(df["STUID"]) == sorted(mine) and 0 < len(mine) < len(rows)
    assert "TEST_ID" not in df.columns and "SCHOOL_CODE" not in df.columns
    assert {int(k): v for k, v in meta.variable_value_labels["migrant"].items()} == {1: "随迁子女", 0: "非随迁子女"}
    bg: dict[int, dict[str, str]] = gw.bg  # type: ignore[attr-defined]
    for r in df.to_dict("records"):
        assert _same(r["migrant"], MIG[bg[rows[r["STUID"]].pk]["MIG"]])
    assert "sleep" not in df.columns


@pytest.mark.django_db
def test_the_latest_runs_groups_by_default(gw: ExportWorld, tmp_path: Path) -> None:  # noqa: F811
    import pyreadstat

    plain = _build(gw, tmp_path / "before", "sav")
    df0, _m = pyreadstat.read_sav(str(plain.directory / plain.data_file))
    assert "BQ_MIG" in df0.columns and "migrant" not in df0.columns  # no run yet: items only
    _start(gw, {"groups": GROUPS, "factors": FACTORS})
    res = _build(gw, tmp_path / "after", "sav")
    df, meta = pyreadstat.read_sav(str(res.directory / res.data_file))
    assert {"migrant", "disadvantaged", "sleep"} <= set(df.columns)
    assert {int(k): v for k, v in meta.variable_value_labels["sleep"].items()} == {1: "达到规定时间",
                                                                                   0: "未达到规定时间"}


@pytest.mark.django_db
def test_bad_group_spec_refused_and_missing_item_noted(gw: ExportWorld, tmp_path: Path) -> None:  # noqa: F811
    from naeq.analysis import exports
    from naeq.core.errors import InvalidInput
    from naeq.core.models import AuditEvent

    before = AuditEvent.objects.filter(action="analysis.export").count()
    with pytest.raises(InvalidInput) as exc:
        _build(gw, tmp_path, "csv", groups={"migrant": "MIG"})  # a group needs its "1" / "0" codes
    assert [p.field for p in exc.value.problems] == ["groups.migrant"]
    assert AuditEvent.objects.filter(action="analysis.export").count() == before
    assert not (tmp_path / "csv-national_analyst@A").exists()
    scope = exports.export_scope(actor=gw.user("national_analyst@A"))
    table = exports.assemble(gw.cycle, YEAR_KEY, gw.run, scope, pseudonymise=True, factors={},
                             groups={"migrant": {"item": "NOPE", "codes": {"1": [1], "0": [2]}}})
    assert "migrant" not in table.columns and "BQ_MIG" in table.columns
    assert any("migrant" in n and "NOPE" in n for n in table.notes)


@pytest.mark.django_db
def test_cli_groups_option(gw: ExportWorld, tmp_path: Path) -> None:  # noqa: F811
    import json

    import pyreadstat
    from click.testing import CliRunner

    from naeq.cli import main

    runner = CliRunner()
    base = ["analysis", "export", "--as", gw.user("national_analyst@A").username, "--cycle", str(gw.cycle.year),
            "--instrument", YEAR_KEY, "--format", "sav", "--quiet"]
    out = tmp_path / "cli"
    result = runner.invoke(main, [*base, "--out", str(out), "--groups", json.dumps(GROUPS)])
    assert result.exit_code == 0, result.output
    _df, meta = pyreadstat.read_sav(str(next(out.glob("*.sav"))))
    assert {int(k): v for k, v in meta.variable_value_labels["disadvantaged"].items()} == {
        1: "家庭经济困难学生", 0: "其他学生"}
    bad = runner.invoke(main, [*base, "--out", str(tmp_path / "b"), "--groups", "{migrant"])
    assert bad.exit_code != 0 and "--groups" in bad.output and not (tmp_path / "b").exists()
