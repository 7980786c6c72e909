"""Writes of calibration runs: start one (validated, recorded, audited, sent to the job mechanism), execute it
(the job's body: gather the scores, hash them, calibrate, store the results), and re-run one with the same
options and seed.

A run is reproducible bit for bit: the scores are gathered into a canonical order (sorted by test taker and
item), hashed, and calibrated deterministically; plausible values come from the run's seed keyed by the test
taker's position in that order. ``calibration_rerun`` on unchanged data therefore stores the same numbers, and
a changed inputs' hash says that the data moved.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.core import runs
from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, Problem
from naeq.core.jobs import enqueue
from naeq.cycles.models import Cycle
from naeq.scaling import access, adapters, raters
from naeq.scaling.models import CalibrationItem, CalibrationPerson, CalibrationRun, RunStatus
from naeq.scaling.options import PLATFORM_DIF, clean_options, model_spec
from naeq.scaling.outputs import code_version

log = logging.getLogger(__name__)
PERSON_BATCH = 5000


@transaction.atomic
def calibration_start(*, actor: Any, cycle: Cycle, instrument_code: str, seed: int,
                      options: dict[str, Any] | None = None) -> CalibrationRun:
    """Record a calibration run of the instrument's scores in the cycle and send it to the job mechanism (after
    commit; in the embedded default it runs in-process right then). Options: see :mod:`naeq.scaling.options`;
    DIF variables on the platform are ``sex`` and ``urban_rural``; ``group_by`` may be ``grade``."""
    access.require_analyst(actor=actor)
    opts = clean_options(dict(options or {}))
    problems = [Problem(reason=_("平台上的DIF变量只能是 sex（性别）或 urban_rural（城乡）。"), field="dif", value=d)
                for d in opts["dif"] if d not in PLATFORM_DIF]
    if opts["group_by"] not in ("", "grade"):
        problems.append(Problem(reason=_("分组只能按年级（grade）。"), field="group_by", value=opts["group_by"]))
    if not isinstance(seed, int) or seed < 0:
        problems.append(Problem(reason=_("随机种子应为非负整数。"), field="seed", value=seed))
    if problems:
        raise InvalidInput(_("校准参数有误。"), code="bad_options", problems=problems)
    inst = adapters.instrument_of(cycle, instrument_code)
    adapters.item_table_for(inst, default_model=opts["model"], poly_model=opts["poly_model"], models=opts["models"])
    run = CalibrationRun(cycle=cycle, instrument_code=instrument_code, model_spec=model_spec(opts), options=opts,
                         seed=seed, code_version=code_version(), status=RunStatus.QUEUED,
                         created_by=actor if getattr(actor, "pk", None) else None)
    run.full_clean()
    run.save()
    audit_record(actor=actor, action="scaling.run_start", object_type="scaling.CalibrationRun", object_id=run.pk,
                 after=run.as_audit())
    run_id = run.pk
    transaction.on_commit(lambda: _send(run_id))
    return run


def _send(run_id: int) -> None:
    from naeq.scaling.tasks import calibration_task

    job = enqueue(calibration_task, run_id=run_id)
    CalibrationRun.objects.filter(pk=run_id, job_id="").update(job_id=job.task_id[:64])


@transaction.atomic
def calibration_rerun(*, actor: Any, run_id: int) -> CalibrationRun:
    """A new run with the options and seed of an earlier one (same data → same results, bit for bit)."""
    old = access.run_access(actor=actor, run_id=run_id)
    return calibration_start(actor=actor, cycle=old.cycle, instrument_code=old.instrument_code, seed=old.seed,
                             options=old.options)


def _progress(run_id: int, stage: str, fraction: float) -> None:
    runs.set_progress(CalibrationRun, run_id, stage, fraction)


def calibration_execute(*, run_id: int) -> str:
    """The job: gather, hash, calibrate and store. Idempotent: a run that is not queued is left alone (a job
    delivered twice does nothing the second time). Returns the run's final status."""
    return runs.execute(CalibrationRun, run_id, lambda run: _execute(run, time.perf_counter()),
                        failed_action="scaling.run_failed", select_related=("cycle",))


def _execute(run: CalibrationRun, t0: float) -> str:
    from naeq.scaling import pipeline

    opts = run.options
    inst = adapters.instrument_of(run.cycle, run.instrument_code)
    table = adapters.item_table_for(inst, default_model=opts["model"], poly_model=opts["poly_model"],
                                    models=opts["models"])
    gathered = adapters.gather(run.cycle, table, run.instrument_code, group_by=opts["group_by"])
    long = gathered.responses
    if len(long.score) == 0:
        raise InvalidInput(_("该工具在本周期还没有任何得分。"), code="no_scores")
    labels = {v: adapters.dif_groups(long.persons, v) for v in PLATFORM_DIF}
    dif = {v: labels[v] for v in opts["dif"]}
    background = adapters.conditioning(long.persons, labels)
    rated = raters.gather_ratings(run.cycle, table, run.instrument_code)
    inputs_hash = adapters.inputs_hash(long, table, extra={**{k: v.astype("U8") for k, v in labels.items()},
                                                           **raters.hash_parts(rated)})
    gather_s = time.perf_counter() - t0
    out = pipeline.run(long, table, opts, seed=run.seed, dif=dif, draw_pvs=True, background=background,
                       progress=lambda stage, f: _progress(run.pk, stage, 0.05 + 0.85 * f))
    rater_block: dict[str, Any] | None = None
    rater_notes: list[str] = []
    if rated is not None:
        _progress(run.pk, "raters", 0.905)
        t_raters = time.perf_counter()
        rater_block, rater_notes = raters.fit(rated, z=float(opts["rater_z"]), min_logit=float(opts["rater_logit"]),
                                              n_quad=int(opts["n_quad"]))
        out.timings["raters"] = round(time.perf_counter() - t_raters, 3)
    _progress(run.pk, "store", 0.92)
    t_store = time.perf_counter()
    with transaction.atomic():
        _store(run, out)
        run.status = RunStatus.DONE
        run.progress = 1.0
        run.stage = "done"
        run.inputs_hash = inputs_hash
        run.warnings = [*gathered.warnings, *out.warnings, *rater_notes]
        run.summary = {**out.summary, "sources": gathered.counts}
        if rater_block is not None:
            run.summary["raters"] = rater_block
        run.timings = {"gather": round(gather_s, 3), **out.timings,
                       "store": round(time.perf_counter() - t_store, 3)}
        run.finished_at = timezone.now()
        run.full_clean()
        run.save()
        audit_record(actor=run.created_by, action="scaling.run_done", object_type="scaling.CalibrationRun",
                     object_id=run.pk, after={"inputs_hash": inputs_hash, "status": run.status,
                                              "n_persons": out.summary["n_persons"],
                                              "n_items": out.summary["n_items"]})
    return RunStatus.DONE


def _store(run: CalibrationRun, out: Any) -> None:
    p = out.params
    CalibrationItem.objects.bulk_create([CalibrationItem(
        run=run, seq=j + 1, item=p.items[j], model=str(p.model[j]), n_categories=int(p.n_categories[j]),
        anchored=bool(out.anchored[j]), a=float(p.a[j]), a_se=_f(p.a_se[j]), c=float(p.c[j]), c_se=_f(p.c_se[j]),
        b=[float(v) for v in p.b[j, : int(p.n_categories[j]) - 1]],
        b_se=[_f(v) for v in p.b_se[j, : int(p.n_categories[j]) - 1]],
        n_responses=int(out.n_responses[j]), mean_score=_f(out.mean_score[j]),
        fit={k: _json(v) for k, v in out.fit[j].items()} if j < len(out.fit) else {},
        fit_flag=bool(out.fit_flag[j]),
        dif={v: {k: _json(x) for k, x in rows[j].items() if k != "item"} for v, rows in out.dif.items()},
        dif_flag=bool(out.dif_flag[j])) for j in range(len(p))])
    pvs = out.pvs if out.pvs is not None else np.zeros((len(out.persons), 0))
    persons = out.persons.tolist()
    for lo in range(0, len(persons), PERSON_BATCH):
        CalibrationPerson.objects.bulk_create([CalibrationPerson(
            run=run, test_taker_id=int(persons[i]), booklet=int(out.booklet[i]) or None, n_items=int(out.n_items[i]),
            raw_score=int(out.raw[i]), max_score=int(out.max_raw[i]), eap=float(out.eap[i]),
            eap_se=float(out.eap_se[i]), wle=_f(out.wle[i]), wle_se=_f(out.wle_se[i]),
            pvs=[float(v) for v in pvs[i]]) for i in range(lo, min(lo + PERSON_BATCH, len(persons)))])


def _f(x: Any) -> float | None:
    v = float(x)
    return v if np.isfinite(v) else None


def _json(v: Any) -> Any:
    if isinstance(v, str):
        return v
    return _f(v)


