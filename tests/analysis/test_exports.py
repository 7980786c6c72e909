"""Analysts' exports (naeq.analysis.exports): the .sav, .dta, Parquet and CSV read back equal the database;
pseudonyms are stable and reveal nothing; replicate weights equal the stored matrices; excluded test takers are
absent, flagged ones marked; jurisdiction and audit; the CLI; and the .sav opened by GNU PSPP when installed.

The world (:func:`exports_build`): the personas' 8 schools in 4 counties of 2 provinces, 6 sampled students per
school with generated names, test ``exm`` and questionnaire ``exq`` in the same formal sessions, a finished
calibration run of ``exm`` (5 PVs, reporting scale 100·θ + 500, cuts 450/520/600) covering every student but
one, a weights run with county (JK2, 4 replicates) and national (Fay, 6 replicates) matrices stored in a shuffled
row order, one excluded and one flagged test taker.
"""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.personas import World

YEAR_KEY = "exm"
A, B = 100.0, 500.0
CUTS = [450.0, 520.0, 600.0]
PER_SCHOOL = 6


@dataclass
class ExportWorld:
    world: World
    cycle: Any
    run: Any
    takers: list[Any]            # every student TestTaker, by id
    names: list[str]             # the students' generated names
    not_calibrated: int          # TestTaker id without a CalibrationPerson
    excluded: int                # TestTaker id excluded by a decision
    flagged: int                 # TestTaker id flagged by a decision
    county_rep: np.ndarray       # replicate rows by SampledStudent id order of ``sampled``
    national_rep: np.ndarray
    sampled: np.ndarray          # SampledStudent ids, stored order
    answers: dict[int, dict[str, str]]  # TestTaker id -> questionnaire item -> code

    def user(self, name: str) -> Any:
        return self.world.users[name]


def exports_build(world: World, cycle: Any, *, seed: int = 7) -> ExportWorld:
    import datetime as dt

    from django.utils import timezone

    from naeq.delivery.models import (
        Attempt,
        AttemptStatus,
        InstrumentKind,
        ItemScore,
        Respondent,
        SessionStatus,
        TestTaker,
    )
    from naeq.registry.models import Student
    from naeq.sampling.adapters import npy_bytes
    from naeq.sampling.models import (
        ReplicateWeights,
        SampledSchool,
        SampledStudent,
        SampleRun,
        SchoolParticipation,
        SchoolRole,
        Stage,
    )
    from naeq.sampling.models import RunStatus as SampleStatus
    from naeq.scaling.models import CalibrationPerson, CalibrationRun, RunStatus
    from tests.delivery.factories import make_instrument, make_session

    rng = np.random.default_rng(seed)
    make_instrument(cycle, YEAR_KEY)
    labels = ["从不", "有时", "经常"]
    q_items = [{"code": code, "block": "QA", "screen": 1, "type": "likert", "stem": stem,
                "options": [{"value": str(v), "label": labels[v - 1]} for v in (1, 2, 3)]}
               for code, stem in (("HW1", "你每天做作业的时间"), ("RD2", "你课外阅读的频率"))]
    q = make_instrument(cycle, "exq", kind=InstrumentKind.QUESTIONNAIRE, items=q_items)
    common = {"cycle": cycle, "design_text": "design: test", "design_hash": "0" * 64,
              "frame_hash": "sha256:" + "0" * 64, "seed": 1, "code_version": "test", "status": SampleStatus.DONE}
    school_run = SampleRun.objects.create(stage=Stage.SCHOOL, **common)
    weights_run = SampleRun.objects.create(stage=Stage.WEIGHTS, **common)
    schools = sorted(world.schools.values(), key=lambda s: s.code)
    schools[0].urban_rural, schools[1].urban_rural = "111", "220"
    for s in schools[:2]:
        s.save(update_fields=["urban_rural"])
    names: list[str] = []
    start = timezone.now() - dt.timedelta(days=1)
    answers: dict[int, dict[str, str]] = {}
    for s in schools:
        ss = SampledSchool.objects.create(run=school_run, school=s, county=s.county, path=s.path, grade=8,
                                          role=SchoolRole.SAMPLED, pi=0.5, base_weight=2.0, enrollment=60,
                                          participation=SchoolParticipation.PARTICIPATING)
        session = make_session(cycle, s, instruments=[YEAR_KEY, "exq"], status=SessionStatus.CLOSED,
                               starts_at=start)
        for i in range(1, PER_SCHOOL + 1):
            name = f"甲生{s.code[-4:]}{i:02d}号"
            names.append(name)
            st = Student.objects.create(school=s, grade=8, class_no=1, seq=i, name=name, sex="MF"[i % 2],
                                        birth_month="2012-05")
            smp = SampledStudent.objects.create(
                cycle=cycle, run=school_run, sampled_school=ss, student=st, path=s.path, grade=8, seq=i, pi=0.2,
                base_weight=10.0, final_weight=float(rng.uniform(5, 15)),
                national_weight=0.0 if s.path.startswith("440000/440100/440102/") else float(rng.uniform(20, 60)),
                test_id=f"{s.code}{i:03d}7")
            taker = TestTaker.objects.create(cycle=cycle, kind=Respondent.STUDENT, code=smp.test_id,
                                             county=s.county, school=s, path=s.path, grade=8,
                                             booklets={YEAR_KEY: 1 + i % 2}, sampled_student=smp)
            att = Attempt.objects.create(session=session, test_taker=taker, instrument=q, booklet=1,
                                         status=AttemptStatus.SUBMITTED, started_at=start,
                                         submitted_at=start + dt.timedelta(minutes=20))
            codes = {"HW1": str(1 + (i % 3)), "RD2": {1: "99", 2: "97"}.get(i, str(1 + (i + 1) % 3))}
            if i == 3:
                del codes["RD2"]  # not administered
            answers[taker.pk] = codes
            ItemScore.objects.bulk_create([ItemScore(attempt=att, item=k, code=c) for k, c in codes.items()])
    takers = list(TestTaker.objects.filter(cycle=cycle, sampled_student__isnull=False).select_related(
        "sampled_student__student", "county").order_by("pk"))
    sampled = np.array([t.sampled_student_id for t in takers], dtype=np.int64)
    order = rng.permutation(len(sampled))  # stored rows in another order than the ids
    county_rep = rng.uniform(0, 30, size=(len(sampled), 4)).astype(np.float32)
    national_rep = rng.uniform(0, 90, size=(len(sampled), 6)).astype(np.float32)
    for scope, scheme, scale, mat in (("county", "jk2", 1.0, county_rep), ("national", "fay", 4.0, national_rep)):
        data = npy_bytes(mat[order])
        rscales = np.ones(mat.shape[1])
        rscales[-1] = 2 / 3
        ReplicateWeights.objects.create(run=weights_run, scope=scope, scheme=scheme, scale=scale,
                                        rscales=npy_bytes(rscales), n_rows=mat.shape[0], n_replicates=mat.shape[1],
                                        data=data, student_ids=npy_bytes(sampled[order]),
                                        sha256=hashlib.sha256(data).hexdigest())
    run = CalibrationRun.objects.create(
        cycle=cycle, instrument_code=YEAR_KEY, model_spec="2pl/gpcm", seed=3, status=RunStatus.DONE,
        code_version="test", options={"n_pv": 5}, inputs_hash="a" * 64, progress=1.0, finished_at=timezone.now(),
        summary={"n_persons": len(takers), "scale": {"A": A, "B": B, "mean": 500, "sd": 100},
                 "levels": {"codes": ["I", "II", "III", "IV"], "labels": ["待提高", "中等", "良好", "优秀"],
                            "cuts": CUTS}})
    not_calibrated = takers[5].pk
    CalibrationPerson.objects.bulk_create([
        CalibrationPerson(run=run, test_taker=t, booklet=1 + k % 2, n_items=10, raw_score=5, max_score=10,
                          eap=float(rng.normal()), eap_se=float(rng.uniform(0.2, 0.5)),
                          pvs=[float(v) for v in rng.normal(0, 1.2, 5)])
        for k, t in enumerate(takers) if t.pk != not_calibrated])
    return ExportWorld(world=world, cycle=cycle, run=run, takers=takers, names=names, not_calibrated=not_calibrated,
                       excluded=takers[2].pk, flagged=takers[9].pk, county_rep=county_rep, national_rep=national_rep,
                       sampled=sampled, answers=answers)


@pytest.fixture
def exw(world: World, monkeypatch: pytest.MonkeyPatch) -> ExportWorld:
    from naeq.core import exclusions
    from naeq.cycles.services import load_shipped_cycles

    cycle = next(c for c in load_shipped_cycles() if c.is_current)
    ew = exports_build(world, cycle)

    def provider(cycle_id: int, code: str, mark: str) -> set[int]:
        if cycle_id != cycle.pk or code != YEAR_KEY:
            return set()
        return {ew.excluded} if mark == "excluded" else {ew.flagged}

    monkeypatch.setattr(exclusions, "_providers", [provider])
    return ew


def _stuid(ew: ExportWorld, code: str) -> str:
    from naeq.analysis.exports import _key, pseudonym

    return pseudonym(_key(ew.cycle), "taker", code, length=16)


def _expected(ew: ExportWorld) -> dict[str, dict[str, Any]]:
    """STUID -> the values the file must hold, from the database."""
    from naeq.scaling.models import CalibrationPerson

    persons = {p.test_taker_id: p for p in CalibrationPerson.objects.filter(run=ew.run)}
    row_of = {int(s): k for k, s in enumerate(ew.sampled.tolist())}
    out = {}
    for t in ew.takers:
        if t.pk in (ew.excluded, ew.not_calibrated):
            continue
        p = persons[t.pk]
        smp = t.sampled_student
        pv = [A * v + B for v in p.pvs]
        k = row_of[smp.pk]
        out[_stuid(ew, t.code)] = {
            "taker": t, "PV": pv, "PVLEV": [1 + sum(v >= c for c in CUTS) for v in pv], "EAP": A * p.eap + B,
            "EAP_SE": A * p.eap_se, "W_FINAL": smp.final_weight, "W_NAT": smp.national_weight,
            "REPWT": ew.county_rep[k].tolist(), "NREPWT": ew.national_rep[k].tolist(),
            "SEX": 1 if smp.student.sex == "M" else 2, "COUNTY": int(t.county.code), "QFLAG": int(t.pk == ew.flagged),
            "BOOKLET": p.booklet, "answers": ew.answers[t.pk]}
    return out


def _answer_code(code: str | None) -> float:
    if code is None:
        return float("nan")
    return 99.0 if code == "99" else 97.0 if code == "97" else float(code)


def _check_rows(ew: ExportWorld, rows: list[dict[str, Any]]) -> None:
    want = _expected(ew)
    assert sorted(r["STUID"] for r in rows) == sorted(want)
    for r in rows:
        w = want[r["STUID"]]
        for k in range(5):
            assert float(r[f"PV{k + 1}"]) == pytest.approx(w["PV"][k], abs=1e-9)
            assert int(float(r[f"PVLEV{k + 1}"])) == w["PVLEV"][k]
        for name in ("EAP", "EAP_SE", "W_FINAL", "W_NAT"):
            assert float(r[name]) == pytest.approx(w[name], abs=1e-9), name
        for k in range(4):
            assert float(r[f"REPWT{k + 1}"]) == pytest.approx(w["REPWT"][k], rel=1e-6)
        for k in range(6):
            assert float(r[f"NREPWT{k + 1}"]) == pytest.approx(w["NREPWT"][k], rel=1e-6)
        for name in ("SEX", "COUNTY", "QFLAG", "BOOKLET"):
            assert int(float(r[name])) == w[name], name
        assert int(float(r["GRADE"])) == 8
        for item in ("HW1", "RD2"):
            got = r[f"BQ_{item}"]
            got = float("nan") if got in ("", None) else float(got)
            exp = _answer_code(w["answers"].get(item))
            assert (np.isnan(got) and np.isnan(exp)) or got == exp, (item, got, exp)


def _build(ew: ExportWorld, tmp_path: Path, fmt: str, actor: str = "national_analyst@A", **kw: Any) -> Any:
    from naeq.analysis import exports

    return exports.build(ew.user(actor), ew.cycle, YEAR_KEY, out_dir=tmp_path / f"{fmt}-{actor}", fmt=fmt, **kw)


def test_sav_reads_back_with_labels_and_db_values(exw: ExportWorld, tmp_path: Path) -> None:
    import pyreadstat

    res = _build(exw, tmp_path, "sav")
    assert res.files == [f"naeq_{exw.cycle.year}_exm_national.sav", "codebook.xlsx", "codebook.csv"]
    data, meta = pyreadstat.read_sav(str(res.directory / res.data_file), output_format="dict", user_missing=True)
    n = len(data["STUID"])
    assert n == res.rows == len(exw.takers) - 2
    _check_rows(exw, [{k: data[k][i] for k in data} for i in range(n)])
    labels = meta.column_names_to_labels
    assert labels["SEX"] == "性别" and labels["PV1"] == "似真值1（报告量尺）"
    assert labels["BQ_HW1"] == "你每天做作业的时间"
    assert str(labels["REPWT1"]).startswith("重复权重1") and str(labels["NREPWT6"]).startswith("重复权重6")
    vl = meta.variable_value_labels
    assert vl["SEX"] == {1.0: "男", 2.0: "女"}
    assert vl["PVLEV1"] == {1.0: "待提高", 2.0: "中等", 3.0: "良好", 4.0: "优秀"}
    assert vl["BQ_RD2"] == {1.0: "从不", 2.0: "有时", 3.0: "经常", 97.0: "无效作答", 99.0: "未作答"}
    assert vl["COUNTY"][310101.0] == exw.world.regions["A1a"].name
    assert meta.missing_ranges["BQ_RD2"] == [{"lo": 97.0, "hi": 97.0}, {"lo": 99.0, "hi": 99.0}]
    assert "4.0 × Σ rscales_r" in "".join(meta.notes)  # the variance formula, wrapped in 80-byte lines
    assert meta.file_encoding == "UTF-8"


def test_dta_reads_back_with_stata_names_and_labels(exw: ExportWorld, tmp_path: Path) -> None:
    import pyreadstat

    res = _build(exw, tmp_path, "dta")
    data, meta = pyreadstat.read_dta(str(res.directory / res.data_file), output_format="dict")
    assert all(len(c) <= 32 for c in meta.column_names)
    n = len(data["STUID"])
    _check_rows(exw, [{k: data[k][i] for k in data} for i in range(n)])
    assert meta.column_names_to_labels["URBAN"] == "城乡（学校所在地）"
    assert meta.variable_value_labels["URBAN"] == {1: "城区", 2: "镇区", 3: "乡村"}
    assert meta.variable_value_labels["QFLAG"] == {0: "未标记", 1: "经数据质量调查标记"}


def test_parquet_fields_carry_the_codebook(exw: ExportWorld, tmp_path: Path) -> None:
    import json

    import pyarrow.parquet as pq

    res = _build(exw, tmp_path, "parquet")
    table = pq.read_table(res.directory / res.data_file)
    rows = table.to_pylist()
    _check_rows(exw, rows)
    field = table.schema.field("SEX")
    assert field.metadata[b"label"].decode() == "性别"
    assert json.loads(field.metadata[b"value_labels"]) == {"1": "男", "2": "女"}
    assert table.schema.field("REPWT1").type == "float"
    book = json.loads(table.schema.metadata[b"naeq.codebook"])
    sets = {s["scope"]: s for s in book["replicates"]}
    assert sets["county"]["scheme"] == "jk2" and sets["national"]["scale"] == 4.0
    assert sets["national"]["rscales"] == pytest.approx([1, 1, 1, 1, 1, 2 / 3])


def test_csv_and_codebook_files(exw: ExportWorld, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    res = _build(exw, tmp_path, "csv")
    rows = list(csv.DictReader((res.directory / res.data_file).open(encoding="utf-8")))
    _check_rows(exw, rows)
    text = (res.directory / "codebook.csv").read_bytes().decode("utf-8-sig")
    book = list(csv.reader(io.StringIO(text)))
    assert book[0] == ["name", "label", "type", "decimals", "value_labels", "missing", "source"]
    by_name = {r[0]: r for r in book[1:] if r}
    assert by_name["SEX"][4] == "1=男; 2=女" and by_name["BQ_RD2"][5] == "97 99"
    assert next(r for r in book if r and r[0] == "national")[3:5] == ["fay", "4.0"]
    wb = load_workbook(res.directory / "codebook.xlsx", read_only=True)
    assert wb.sheetnames == ["变量", "取值标签", "方差估计"]
    names = [r[0] for r in wb["变量"].iter_rows(min_row=2, values_only=True)]
    assert names == list(rows[0].keys())


def test_excluded_absent_flagged_marked(exw: ExportWorld, tmp_path: Path) -> None:
    from naeq.delivery.models import TestTaker

    res = _build(exw, tmp_path, "csv")
    rows = {r["STUID"]: r for r in csv.DictReader((res.directory / res.data_file).open(encoding="utf-8"))}
    ex = TestTaker.objects.get(pk=exw.excluded)
    fl = TestTaker.objects.get(pk=exw.flagged)
    assert _stuid(exw, ex.code) not in rows
    assert rows[_stuid(exw, fl.code)]["QFLAG"] == "1"
    assert sum(r["QFLAG"] == "1" for r in rows.values()) == 1


def _all_text(directory: Path) -> bytes:
    """Every file's bytes, the Parquet decoded and the workbook's cells (both are compressed containers)."""
    import pyarrow.parquet as pq
    from openpyxl import load_workbook

    out = []
    for f in sorted(directory.iterdir()):
        if f.suffix == ".parquet":
            t = pq.read_table(f)
            out.append(repr(t.to_pylist()).encode() + repr(t.schema.metadata).encode())
        elif f.suffix == ".xlsx":
            wb = load_workbook(f, read_only=True)
            out.append(repr([list(ws.iter_rows(values_only=True)) for ws in wb.worksheets]).encode())
        else:
            out.append(f.read_bytes())
    return b"\n".join(out)


@pytest.mark.parametrize("fmt", ["sav", "dta", "csv", "parquet"])
def test_no_names_test_ids_or_school_codes_in_any_file(exw: ExportWorld, tmp_path: Path, fmt: str) -> None:
    res = _build(exw, tmp_path, fmt)
    blob = _all_text(res.directory)
    assert _stuid(exw, exw.takers[0].code).encode() in blob  # the scan does see the data
    for t in exw.takers:
        assert t.code.encode() not in blob and t.code[:13].encode() not in blob
    for s in exw.world.schools.values():
        assert s.code.encode() not in blob and s.name.encode() not in blob
    for name in exw.names:
        assert name.encode() not in blob and name.encode("utf-16-le") not in blob


def test_pseudonyms_stable_keyed_and_cycle_bound(exw: ExportWorld, tmp_path: Path, settings: Any) -> None:
    from naeq.analysis.exports import _key, pseudonym

    one = {r["STUID"] for r in csv.DictReader((_build(exw, tmp_path / "1", "csv").directory
                                              / f"naeq_{exw.cycle.year}_exm_national.csv").open(encoding="utf-8"))}
    two = {r["STUID"] for r in csv.DictReader((_build(exw, tmp_path / "2", "csv").directory
                                              / f"naeq_{exw.cycle.year}_exm_national.csv").open(encoding="utf-8"))}
    assert one == two and len(one) == len(exw.takers) - 2
    code = exw.takers[0].code
    plain = {hashlib.sha256(code.encode()).hexdigest()[:16].upper(),
             hashlib.sha256(f"taker:{code}".encode()).hexdigest()[:16].upper()}
    assert not plain & one  # not an unkeyed hash anyone could recompute from a test ID
    settings.SECRET_KEY = "another-secret-key-for-the-test-only-0123456789"
    assert pseudonym(_key(exw.cycle), "taker", code, length=16) not in one


def test_identified_only_for_the_national_admin(exw: ExportWorld, tmp_path: Path) -> None:
    import pyreadstat

    from naeq.core.errors import PermissionDenied
    from naeq.core.models import AuditEvent

    with pytest.raises(PermissionDenied):
        _build(exw, tmp_path, "sav", pseudonymise=False)
    res = _build(exw, tmp_path, "sav", actor="national_admin@A", pseudonymise=False)
    data, meta = pyreadstat.read_sav(str(res.directory / res.data_file), output_format="dict")
    assert set(data["TEST_ID"]) == {t.code for t in exw.takers} - {
        t.code for t in exw.takers if t.pk in (exw.excluded, exw.not_calibrated)}
    assert meta.column_names_to_labels["TEST_ID"] == "测试编号（实名导出）"
    event = AuditEvent.objects.filter(action="analysis.export").latest("id")
    after: dict[str, Any] = event.after or {}
    assert after["identified"] is True and after["pseudonymised"] is False
    assert event.actor_label == exw.user("national_admin@A").username


def test_jurisdiction(exw: ExportWorld, tmp_path: Path) -> None:
    import pyreadstat

    from naeq.core.errors import NotFound

    res = _build(exw, tmp_path, "sav", actor="county_liaison@A")
    data, _m = pyreadstat.read_sav(str(res.directory / res.data_file), output_format="dict")
    assert set(data["COUNTY"]) == {310101.0} and len(data["STUID"]) == res.rows == 2 * PER_SCHOOL - 2
    assert res.files[0].endswith("_310101.sav")
    prov = _build(exw, tmp_path, "csv", actor="province_coordinator@A", region="310102")
    rows = list(csv.DictReader((prov.directory / prov.data_file).open(encoding="utf-8")))
    assert {r["COUNTY"] for r in rows} == {"310102"} and len(rows) == PER_SCHOOL * 2
    whole = _build(exw, tmp_path / "p", "csv", actor="province_coordinator@A")
    assert whole.rows == 4 * PER_SCHOOL - 2
    for actor, region in (("county_liaison@A", "440101"), ("county_liaison@A", "310102"),
                          ("province_coordinator@A", "440000"), ("county_liaison@B", "310101"),
                          ("national_analyst@A", "999999")):
        with pytest.raises(NotFound):
            _build(exw, tmp_path, "csv", actor=actor, region=region)
    for actor in ("city_viewer@A", "county_info_officer@A", "county_manager@A", "school_head@A", "inspector@A",
                  "chief_proctor@A", "teacher@A", "student@A", "rater@A", "school_info_officer@A"):
        with pytest.raises(NotFound):
            _build(exw, tmp_path, "csv", actor=actor)


def test_every_export_audited(exw: ExportWorld, tmp_path: Path) -> None:
    from naeq.core.models import AuditEvent

    res = _build(exw, tmp_path, "parquet", actor="province_coordinator@A", region="310101")
    event = AuditEvent.objects.get(action="analysis.export")
    assert event.pk == res.audit_id and event.object_type == "CalibrationRun" and event.object_id == str(exw.run.pk)
    after: dict[str, Any] = event.after or {}
    assert after["format"] == "parquet" and after["scope"] == "310000/310100/310101/" and after["region"] == "310101"
    assert after["pseudonymised"] is True and after["rows"] == res.rows == 2 * PER_SCHOOL - 2
    digest = hashlib.sha256((res.directory / res.data_file).read_bytes()).hexdigest()
    assert after["files"][res.data_file] == digest and set(after["files"]) == set(res.files)
    assert after["cycle"] == exw.cycle.year and after["instrument_code"] == YEAR_KEY


def test_errors_are_precise(exw: ExportWorld, tmp_path: Path) -> None:
    from naeq.analysis import exports
    from naeq.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as e:
        _build(exw, tmp_path, "xls")
    assert e.value.code == "bad_format"
    with pytest.raises(InvalidInput) as e:
        exports.build(exw.user("national_analyst@A"), exw.cycle, "nosuch", out_dir=tmp_path / "x")
    assert e.value.code == "no_calibration_run" and "nosuch" in str(e.value)
    with pytest.raises(InvalidInput) as e:
        _build(exw, tmp_path, "csv", calibration_run=exw.run.pk + 99)
    assert e.value.code == "bad_calibration_run"


def test_cli_export(exw: ExportWorld, tmp_path: Path) -> None:
    import pyreadstat
    from click.testing import CliRunner

    from naeq.cli import main

    runner = CliRunner()
    liaison = exw.user("county_liaison@A").username
    out = tmp_path / "cli"
    result = runner.invoke(main, ["analysis", "export", "--as", liaison, "--cycle", str(exw.cycle.year),
                                  "--instrument", YEAR_KEY, "--format", "dta", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "10 rows, scope 310101, pseudonymised" in result.output and "done" in result.output
    data, _m = pyreadstat.read_dta(str(out / f"naeq_{exw.cycle.year}_exm_310101.dta"), output_format="dict")
    assert len(data["STUID"]) == 10
    refused = runner.invoke(main, ["analysis", "export", "--as", liaison, "--cycle", str(exw.cycle.year),
                                   "--instrument", YEAR_KEY, "--out", str(out / "b"), "--region", "440101"])
    assert refused.exit_code == 1 and "not_found" in refused.output
    identified = runner.invoke(main, ["analysis", "export", "--as", liaison, "--cycle", str(exw.cycle.year),
                                      "--instrument", YEAR_KEY, "--out", str(out / "c"), "--identified"])
    assert identified.exit_code == 1 and "permission_denied" in identified.output
    helped = runner.invoke(main, ["analysis", "export", "--help"])
    assert helped.exit_code == 0 and "--identified" in helped.output and "sav|dta|csv|parquet" in helped.output


PSPP = shutil.which("pspp")


@pytest.mark.skipif(PSPP is None, reason="GNU PSPP is not installed (Debian package pspp)")
def test_pspp_opens_the_sav(exw: ExportWorld, tmp_path: Path) -> None:
    """An SPSS-compatible program reads the file: dictionary labels, value labels and a mean equal the database."""
    res = _build(exw, tmp_path, "sav")
    want = _expected(exw)
    mean_pv1 = float(np.mean([w["PV"][0] for w in want.values()]))
    weighted = float(np.average([w["PV"][0] for w in want.values()], weights=[w["W_NAT"] for w in want.values()]))
    syntax = tmp_path / "check.sps"
    syntax.write_text(f"GET FILE='{res.directory / res.data_file}'.\nDISPLAY DICTIONARY /VARIABLES=SEX PV1 BQ_RD2.\n"
                      "DESCRIPTIVES /VARIABLES=PV1 /FORMAT=NOLABELS /STATISTICS=MEAN.\n"
                      "FREQUENCIES /VARIABLES=BQ_RD2.\n"
                      "WEIGHT BY W_NAT.\nDESCRIPTIVES /VARIABLES=PV1 /STATISTICS=MEAN.\n", encoding="utf-8")
    out = subprocess.run([PSPP, "-O", "format=txt", "-o", str(tmp_path / "out.txt"), str(syntax)],  # type: ignore[list-item]
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    text = (tmp_path / "out.txt").read_text(encoding="utf-8")
    assert "性别" in text and "似真值1（报告量尺）" in text and "你课外阅读的频率" in text
    assert "男" in text and "女" in text and "未作答" in text and "User-missing" in text
    total = sum(w["W_NAT"] for w in want.values())
    assert f"{mean_pv1:.2f}" in text  # PSPP prints means with two decimals
    assert f"{weighted:.2f}" in text and f"{total:.4f}" in text  # weighted by W_NAT: the mean and the sum of weights
