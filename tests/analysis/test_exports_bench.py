"""Scale of the analysts' export: N test takers (default 20,000; NAEQ_EXPORT_N) with 5 PVs and 80 + 80 replicate
weights, assembled and written in every format, timed. Skipped unless NAEQ_BENCH=1; the times are recorded in
docs/exports.md."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.personas import World

pytestmark = pytest.mark.skipif(os.environ.get("NAEQ_BENCH") != "1", reason="benchmark: set NAEQ_BENCH=1")
N = int(os.environ.get("NAEQ_EXPORT_N", "20000"))
R = 80


def _build(world: World, cycle: Any) -> Any:
    from django.utils import timezone

    from naeq.delivery.models import Respondent, TestTaker
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

    rng = np.random.default_rng(1)
    common = {"cycle": cycle, "design_text": "d", "design_hash": "0" * 64, "frame_hash": "x", "seed": 1,
              "code_version": "bench", "status": SampleStatus.DONE}
    srun = SampleRun.objects.create(stage=Stage.SCHOOL, **common)
    wrun = SampleRun.objects.create(stage=Stage.WEIGHTS, **common)
    schools = sorted(world.schools.values(), key=lambda s: s.code)
    ss = {s.pk: SampledSchool.objects.create(run=srun, school=s, county=s.county, path=s.path, grade=8,
                                             role=SchoolRole.SAMPLED, pi=0.5, base_weight=2.0, enrollment=60,
                                             participation=SchoolParticipation.PARTICIPATING) for s in schools}
    where = [schools[i % len(schools)] for i in range(N)]
    Student.objects.bulk_create([Student(school=s, grade=8, class_no=i // 1000 + 1, seq=i % 1000 + 1, name=f"生{i}",
                                         sex="MF"[i % 2], birth_month="2012-01") for i, s in enumerate(where)],
                                batch_size=5000)
    studs = list(Student.objects.order_by("pk").values_list("pk", "school_id"))
    SampledStudent.objects.bulk_create([
        SampledStudent(cycle=cycle, run=srun, sampled_school=ss[sid], student_id=pk, path=where[i].path, grade=8,
                       seq=i % 1000 + 1, pi=0.2, base_weight=10, final_weight=10.0, national_weight=30.0,
                       test_id=f"9{i:012d}7") for i, (pk, sid) in enumerate(studs)], batch_size=5000)
    smp = list(SampledStudent.objects.order_by("pk").values_list("pk", "test_id", "sampled_school__school_id"))
    by_school = {s.pk: s for s in schools}
    TestTaker.objects.bulk_create([
        TestTaker(cycle=cycle, kind=Respondent.STUDENT, code=code, county=by_school[sid].county,
                  school=by_school[sid], path=by_school[sid].path, grade=8, sampled_student_id=pk)
        for pk, code, sid in smp], batch_size=5000)
    ids = np.array([p for p, _c, _s in smp], dtype=np.int64)
    for scope in ("county", "national"):
        data = npy_bytes(rng.uniform(0, 30, size=(N, R)).astype(np.float32))
        ReplicateWeights.objects.create(run=wrun, scope=scope, scheme="jk2", scale=1.0,
                                        rscales=npy_bytes(np.ones(R)), n_rows=N, n_replicates=R, data=data,
                                        student_ids=npy_bytes(ids), sha256=hashlib.sha256(data).hexdigest())
    run = CalibrationRun.objects.create(
        cycle=cycle, instrument_code="exm", model_spec="2pl", seed=1, status=RunStatus.DONE, code_version="b",
        options={"n_pv": 5}, inputs_hash="b" * 64, progress=1.0, finished_at=timezone.now(),
        summary={"n_persons": N, "scale": {"A": 100.0, "B": 500.0}, "levels": {"cuts": [450, 520, 600]}})
    takers = TestTaker.objects.filter(cycle=cycle).values_list("pk", flat=True)
    CalibrationPerson.objects.bulk_create([
        CalibrationPerson(run=run, test_taker_id=t, booklet=1, n_items=10, raw_score=5, max_score=10, eap=0.1,
                          eap_se=0.3, pvs=[float(v) for v in rng.normal(size=5)]) for t in takers], batch_size=5000)
    return run


def test_export_scale(world: World, tmp_path: Path) -> None:
    from naeq.analysis import exports
    from naeq.cycles.services import load_shipped_cycles

    cycle = next(c for c in load_shipped_cycles() if c.is_current)
    t0 = time.perf_counter()
    _build(world, cycle)
    print(f"\nbuild {N} rows: {time.perf_counter() - t0:.1f} s")
    for fmt in exports.FORMATS:
        t = time.perf_counter()
        res = exports.build(world.users["national_analyst@A"], cycle, "exm", out_dir=tmp_path / fmt, fmt=fmt)
        size = (res.directory / res.data_file).stat().st_size
        print(f"{fmt}: {res.rows} rows × {len(res.sha256)} files in {time.perf_counter() - t:.1f} s, "
              f"{size / 1e6:.1f} MB")
        assert res.rows == N
