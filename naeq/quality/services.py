"""Writes of screening runs: start one (validated, recorded, audited, sent to the job mechanism), execute it (the
job's body: gather the instrument's responses, hash them, run the forensics engine, store what it found), and
re-run one with the same options and seed.

A run is a snapshot. :func:`screening_execute` claims a queued run once (a job delivered twice does nothing the
second time), and a finished run is never written again: a later change of the data shows as a new run with a
different inputs' hash. The engine is deterministic, so a re-run on unchanged data stores the same numbers.

Stored per run (see ``docs/quality.md``): a :class:`ScreenedUnit` for every county and school (every computable
indicator ``{stat, expected, p, q, n}``, combined p/q, flag, drivers, rank), a :class:`ScreenedPair` for every pair
with p_ω ≤ ``pair_report_p`` or flagged (with both answer strings as option text), a :class:`ScreenedPerson` for
every test taker and a :class:`ScreenedCluster` for every cluster of flagged pairs.
"""

from __future__ import annotations

import importlib
import logging
import math
import time
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import naeq
from naeq.core import runs
from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, Problem
from naeq.core.jobs import enqueue
from naeq.cycles.models import Cycle
from naeq.delivery.models import Instrument, InstrumentKind
from naeq.quality import access
from naeq.quality.inputs import ScreenInputs, inputs_hash
from naeq.quality.models import (
    ScreenedCluster,
    ScreenedPair,
    ScreenedPerson,
    ScreenedUnit,
    ScreeningRun,
    UnitLevel,
)
from naeq.scaling.models import RunStatus

log = logging.getLogger(__name__)
BATCH = 5000
ENGINE = "naeq.engines.forensics"

#: The options of a run and their defaults (docs/quality.md).
DEFAULTS: dict[str, Any] = {"alpha_pairs": 0.01, "fdr": 0.05, "pair_scope": "school", "exact_tests": True,
                            "pair_report_p": 1e-3, "pe_tests": None, "roster_days": 14}


def code_version() -> str:
    return f"naeq {naeq.__version__} / {ENGINE}"


# ------------------------------------------------------------------------------------------------ options


def _number(name: str, value: Any, problems: list[Problem], *, low: float, high: float,
            low_open: bool = False) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        problems.append(Problem(reason=_("“%(v)s”不是数字。") % {"v": value}, field=name, value=value))
        return math.nan
    if isinstance(value, bool) or not math.isfinite(f) or f > high or (f <= low if low_open else f < low):
        problems.append(Problem(reason=_("应在 %(lo)s 与 %(hi)s 之间（%(rule)s）。") % {
            "lo": f"{low:g}", "hi": f"{high:g}", "rule": _("不含下限") if low_open else _("含两端")},
            field=name, value=value))
    return f


def _bool(name: str, value: Any, problems: list[Problem]) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", "是"):
        return True
    if text in ("0", "false", "no", "off", "否"):
        return False
    problems.append(Problem(reason=_("应为 true 或 false。"), field=name, value=value))
    return False


def clean_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """The run's options with defaults filled in, or :class:`InvalidInput` naming every bad option.

    Values may come as text (a form, ``--option key=value``): numbers, ``true``/``false``, and for ``pe_tests``
    a comma-separated list (an empty text = no PE indicators; absent = every PE test of the cycle)."""
    given = dict(options or {})
    problems: list[Problem] = []
    for name in sorted(set(given) - set(DEFAULTS)):
        problems.append(Problem(reason=_("未知的参数（可用：%(names)s）。") % {"names": "、".join(DEFAULTS)},
                                field=name, value=given[name]))
    out = dict(DEFAULTS)
    for name in ("alpha_pairs", "fdr"):
        if name in given:
            out[name] = _number(name, given[name], problems, low=0.0, high=0.5, low_open=True)
    if "pair_report_p" in given:
        out["pair_report_p"] = _number("pair_report_p", given["pair_report_p"], problems, low=0.0, high=1.0)
    if "pair_scope" in given:
        scope = str(given["pair_scope"]).strip()
        if scope not in ("school", "room"):
            problems.append(Problem(reason=_("只能是 school（校内所有考生两两比较）或 room（仅同一考场内比较）。"),
                                    field="pair_scope", value=given["pair_scope"]))
        out["pair_scope"] = scope
    if "exact_tests" in given:
        out["exact_tests"] = _bool("exact_tests", given["exact_tests"], problems)
    if "roster_days" in given:
        raw = given["roster_days"]
        try:
            days = int(str(raw).strip()) if not isinstance(raw, bool) else -1
        except ValueError:
            days = -1
        if not 0 <= days <= 365 or (isinstance(raw, float) and not raw.is_integer()):
            problems.append(Problem(reason=_("应为 0 到 365 之间的整数（测试前多少天内的名单变动）。"),
                                    field="roster_days", value=raw))
        out["roster_days"] = days
    if "pe_tests" in given and given["pe_tests"] is not None:
        raw = given["pe_tests"]
        tests = [t.strip() for t in raw.split(",")] if isinstance(raw, str) else raw
        if not isinstance(tests, (list, tuple)) or not all(isinstance(t, str) for t in tests):
            problems.append(Problem(reason=_("应为体育测试项目代码的列表（逗号分隔）。"), field="pe_tests",
                                    value=raw))
            tests = []
        out["pe_tests"] = [t for t in tests if t]
    if problems:
        raise InvalidInput(_("甄别参数有误。"), code="bad_options", problems=problems)
    return out


# ------------------------------------------------------------------------------------------------ start


@transaction.atomic
def screening_start(*, actor: Any, cycle: Cycle, instrument_code: str, seed: int = 0,
                    options: dict[str, Any] | None = None) -> ScreeningRun:
    """Record a screening run of the instrument's responses in the cycle and send it to the job mechanism (after
    commit; in the embedded default it runs in-process right then). National staff only (others: NotFound)."""
    access.require_screener(actor=actor)
    opts = clean_options(options)
    problems: list[Problem] = []
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problems.append(Problem(reason=_("随机种子应为非负整数。"), field="seed", value=seed))
    code = str(instrument_code or "").strip()
    if not Instrument.objects.filter(cycle=cycle, code=code, kind=InstrumentKind.TEST).exists():
        problems.append(Problem(reason=_("%(year)s年周期没有代码为“%(code)s”的测试卷。") % {
            "year": cycle.year, "code": code}, field="instrument_code", value=code))
    if problems:
        raise InvalidInput(_("无法开始甄别。"), code="bad_options", problems=problems)
    run = ScreeningRun(cycle=cycle, instrument_code=code, options=opts, seed=seed, code_version=code_version(),
                       status=RunStatus.QUEUED, created_by=actor if getattr(actor, "pk", None) else None)
    run.full_clean()
    run.save()
    audit_record(actor=actor, action="quality.run_start", object_type="quality.ScreeningRun", object_id=run.pk,
                 after=run.as_audit())
    run_id = run.pk
    transaction.on_commit(lambda: _send(run_id))
    return run


def _send(run_id: int) -> None:
    from naeq.quality.tasks import screening_task

    job = enqueue(screening_task, run_id=run_id)
    ScreeningRun.objects.filter(pk=run_id, job_id="").update(job_id=job.task_id[:64])


@transaction.atomic
def screening_rerun(*, actor: Any, run_id: int) -> ScreeningRun:
    """A new run with the instrument, options and seed of an earlier one (same data → same results)."""
    old = access.run_access(actor=actor, run_id=run_id)
    return screening_start(actor=actor, cycle=old.cycle, instrument_code=old.instrument_code, seed=old.seed,
                           options=old.options)


# ------------------------------------------------------------------------------------------------ execute


def _progress(run_id: int, stage: str, fraction: float) -> None:
    runs.set_progress(ScreeningRun, run_id, stage, fraction)


def _gather(run: ScreeningRun) -> ScreenInputs:
    """The platform's data of the run in the engine's layout (:func:`naeq.quality.adapters.gather`)."""
    # imported by name: the adapters import every lower app's selectors, which the job needs only here
    adapters = importlib.import_module("naeq.quality.adapters")
    opts = run.options
    return adapters.gather(run.cycle, run.instrument_code, pe_tests=opts.get("pe_tests"),
                           roster_days=int(opts.get("roster_days", DEFAULTS["roster_days"])))


def screening_execute(*, run_id: int) -> str:
    """The job: gather, hash, screen and store. Idempotent: a run that is not queued is left alone. Returns the
    run's final status."""
    def _work(run: ScreeningRun) -> str:
        t0 = time.perf_counter()
        inputs = _gather(run)
        return _execute_with(run, inputs, gather_seconds=time.perf_counter() - t0)

    return runs.execute(ScreeningRun, run_id, _work, failed_action="quality.run_failed",
                        engine_message=_("数据无法甄别：%(e)s"), select_related=("cycle", "created_by"))


class _Clock:
    """Seconds spent in each engine stage, from the engine's progress callbacks."""

    def __init__(self) -> None:
        self.stage = ""
        self.t = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        if stage != self.stage:
            if self.stage:
                key = self.stage.replace(" ", "_")
                self.seconds[key] = round(self.seconds.get(key, 0.0) + now - self.t, 3)
            self.stage, self.t = stage, now


def _execute_with(run: ScreeningRun, inputs: ScreenInputs, *, gather_seconds: float = 0.0) -> str:
    """Hash, screen and store ``inputs`` as the results of the claimed (running) ``run``."""
    from naeq.engines.forensics import screen

    if inputs.n_persons == 0:
        raise InvalidInput(_("该工具在本周期没有可甄别的作答。"), code="no_responses")
    opts = run.options
    _progress(run.pk, "hash", 0.04)
    t_hash = time.perf_counter()
    digest = inputs_hash(inputs)
    hash_s = time.perf_counter() - t_hash
    clock = _Clock()

    def tick(stage: str, f: float) -> None:
        clock(stage)
        _progress(run.pk, stage, 0.05 + 0.85 * f)

    result = screen(inputs.options, inputs.keys, school=inputs.school, county=inputs.county, room=inputs.room,
                    a=inputs.a, b=inputs.b, theta=inputs.theta, school_covariates=inputs.school_covariates,
                    participation=inputs.participation or None, timings=inputs.timings, pe=inputs.pe,
                    questionnaire=inputs.questionnaire, changed=inputs.changed,
                    pair_scope=opts["pair_scope"], alpha_pairs=float(opts["alpha_pairs"]), fdr=float(opts["fdr"]),
                    exact_tests=bool(opts["exact_tests"]), progress=tick)
    clock("store")
    _progress(run.pk, "store", 0.92)
    t_store = time.perf_counter()
    with transaction.atomic():
        counts = _store(run, inputs, result)
        run.status = RunStatus.DONE
        run.progress = 1.0
        run.stage = "done"
        run.inputs_hash = digest
        run.warnings = list(inputs.warnings)
        run.summary = _summary(inputs, result, counts)
        run.timings = {"gather": round(gather_seconds, 3), "hash": round(hash_s, 3), **clock.seconds,
                       "store": round(time.perf_counter() - t_store, 3)}
        run.finished_at = timezone.now()
        run.error = ""
        run.full_clean()
        run.save()
        audit_record(actor=run.created_by, action="quality.run_done", object_type="quality.ScreeningRun",
                     object_id=run.pk, after={"inputs_hash": digest, "status": run.status,
                                              "n_persons": inputs.n_persons,
                                              "schools_flagged": counts["schools_flagged"],
                                              "counties_flagged": counts["counties_flagged"],
                                              "pairs_flagged": counts["pairs_flagged"]})
    return RunStatus.DONE


def _f(x: Any) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None


def _indicator_rows(table: Any, u: int, fdr: float) -> tuple[dict[str, Any], list[str]]:
    indicators: dict[str, Any] = {}
    drivers: list[tuple[float, str]] = []
    for name, pv in table.p.items():
        p = _f(pv[u])
        q = _f(table.q[name][u])
        if p is None:
            continue  # not computable for this unit
        # TODO(engine): the engine's UnitTable keeps no per-indicator n yet; stored as null until it does.
        indicators[name] = {"stat": _f(table.statistic[name][u]), "expected": _f(table.expected[name][u]), "p": p,
                            "q": q, "n": None}
        if q is not None and q <= fdr:
            drivers.append((p, name))
    return indicators, [name for _p, name in sorted(drivers)]


def _units(run: ScreeningRun, level: str, table: Any, ids: np.ndarray, county_code: np.ndarray,
           inputs: ScreenInputs, n_persons: np.ndarray, fdr: float) -> int:
    order = sorted(range(len(ids)), key=lambda u: (float(table.combined_p[u]), int(ids[u])))
    rows = []
    for rank, u in enumerate(order, start=1):
        indicators, drivers = _indicator_rows(table, u, fdr)
        c = int(county_code[u])
        rows.append(ScreenedUnit(
            run=run, level=level, county_id=int(inputs.county_ids[c]),
            school_id=int(ids[u]) if level == UnitLevel.SCHOOL else None, path=inputs.county_paths[c], rank=rank,
            n_persons=int(n_persons[u]), indicators=indicators, combined_p=float(table.combined_p[u]),
            combined_q=float(table.combined_q[u]), flag=bool(table.flag[u]), drivers=drivers))
    ScreenedUnit.objects.bulk_create(rows, batch_size=BATCH)
    return int(np.asarray(table.flag).sum())


def _answers(inputs: ScreenInputs, row: int) -> list[str | None]:
    x = inputs.options[row]
    return [None if int(k) < 0 else inputs.option_labels[j][int(k)] for j, k in enumerate(x.tolist())]


def _store(run: ScreeningRun, inputs: ScreenInputs, res: Any) -> dict[str, int]:
    from scipy.special import ndtr

    fdr = float(run.options["fdr"])
    takers = inputs.test_takers
    sch, cty = np.asarray(inputs.school, dtype=np.int64), np.asarray(inputs.county, dtype=np.int64)
    n_s, n_c = len(inputs.school_ids), len(inputs.county_ids)
    county_of_school = np.zeros(n_s, dtype=np.int64)
    county_of_school[sch] = cty
    schools_flagged = _units(run, UnitLevel.SCHOOL, res.schools, np.asarray(inputs.school_ids), county_of_school,
                             inputs, np.bincount(sch, minlength=n_s), fdr)
    counties_flagged = _units(run, UnitLevel.COUNTY, res.counties, np.asarray(inputs.county_ids),
                              np.arange(n_c), inputs, np.bincount(cty, minlength=n_c), fdr)
    lab = np.asarray(res.clusters.label)
    pr = res.pairs
    keep = np.flatnonzero((pr.omega_p <= float(run.options["pair_report_p"])) | res.pair_flag)
    keep = keep[np.argsort(pr.omega_p[keep], kind="stable")]
    for lo in range(0, len(keep), BATCH):
        rows = []
        for i in keep[lo: lo + BATCH].tolist():
            a, b = int(pr.first[i]), int(pr.second[i])
            copier = int(pr.copier[i])
            source = b if copier == a else a
            in_cluster = bool(res.pair_flag[i]) and lab[a] >= 0 and lab[a] == lab[b]
            rows.append(ScreenedPair(
                run=run, county_id=int(inputs.county_ids[cty[a]]), school_id=int(inputs.school_ids[sch[a]]),
                path=inputs.county_paths[cty[a]], person_a_id=int(takers[a]), person_b_id=int(takers[b]),
                same_room=bool(res.same_room[i]), common_items=int(pr.common[i]), matches=int(pr.matches[i]),
                identical_incorrect=int(pr.identical_incorrect[i]), omega=float(pr.omega[i]),
                omega_p=float(pr.omega_p[i]), omega_p_bonferroni=float(res.pair_omega_adj[i]),
                gbt_p=_f(pr.gbt_p[i]), ii_p=_f(pr.ii_p[i]), copier_id=int(takers[copier]),
                source_id=int(takers[source]), flag=bool(res.pair_flag[i]),
                cluster=int(lab[a]) if in_cluster else None, options_a=_answers(inputs, a),
                options_b=_answers(inputs, b)))
        ScreenedPair.objects.bulk_create(rows)
    theta, lz = np.asarray(res.model.theta), np.asarray(res.lz)
    lz_p = ndtr(lz)
    for lo in range(0, len(takers), BATCH):
        ScreenedPerson.objects.bulk_create([ScreenedPerson(
            run=run, test_taker_id=int(takers[i]), school_id=int(inputs.school_ids[sch[i]]), theta=float(theta[i]),
            lz_star=_f(lz[i]), lz_p=_f(lz_p[i]), cluster=int(lab[i]) if lab[i] >= 0 else None)
            for i in range(lo, min(lo + BATCH, len(takers)))])
    clusters = []
    for c in range(len(res.clusters.size)):
        src = int(res.clusters.source[c])
        members = [src, *(int(i) for i in np.flatnonzero(lab == c) if int(i) != src)]
        clusters.append(ScreenedCluster(
            run=run, number=c, school_id=int(inputs.school_ids[sch[src]]), path=inputs.county_paths[cty[src]],
            size=int(res.clusters.size[c]), source_id=int(takers[src]), members=[int(takers[i]) for i in members]))
    ScreenedCluster.objects.bulk_create(clusters, batch_size=BATCH)
    return {"schools_flagged": schools_flagged, "counties_flagged": counties_flagged,
            "pairs_reported": len(keep), "pairs_flagged": int(np.asarray(res.pair_flag).sum()),
            "clusters": len(clusters)}


def _summary(inputs: ScreenInputs, res: Any, counts: dict[str, int]) -> dict[str, Any]:
    keys = [inputs.option_labels[j][int(k)] for j, k in enumerate(np.asarray(inputs.keys).tolist())]
    present = {"room": inputs.room is not None,
               "calibration_run": inputs.calibration_run if inputs.a is not None else None,
               "school_covariates": list(inputs.covariate_names) if inputs.school_covariates is not None else [],
               "participation": sorted(inputs.participation), "timings": inputs.timings is not None,
               "pe": inputs.pe is not None, "questionnaire": inputs.questionnaire is not None,
               "changed": inputs.changed is not None}
    params = {k: (v if isinstance(v, (str, bool, int)) else _f(v) if isinstance(v, float) else str(v))
              for k, v in res.parameters.items()}
    return {"n_persons": inputs.n_persons, "n_items": len(inputs.items), "n_schools": len(inputs.school_ids),
            "n_counties": len(inputs.county_ids), "n_pairs": len(res.pairs), **counts,
            "flagged": {UnitLevel.COUNTY.value: counts["counties_flagged"],
                        UnitLevel.SCHOOL.value: counts["schools_flagged"], "pairs": counts["pairs_flagged"]},
            "items": list(inputs.items), "keys": keys, "inputs": present,
            # the engine's indicator order per level (a unit's JSON holds the computable ones)
            "indicators": {UnitLevel.SCHOOL.value: list(res.schools.p), UnitLevel.COUNTY.value: list(res.counties.p)},
            "sources": dict(inputs.counts),
            "parameters": params}


# ------------------------------------------------------------------------------------------------ export

UNIT_BATCH = 2000


def _num(v: Any) -> str:
    """Shortest round-trip repr (a file read back gives the same float); missing = empty cell."""
    if v is None:
        return ""
    f = float(v)
    return repr(f) if math.isfinite(f) else ""


def _unit_lines(run: ScreeningRun, level: str) -> Any:
    names = list((run.summary.get("indicators") or {}).get(level) or [])
    qs = ScreenedUnit.objects.filter(run=run, level=level).order_by("rank")
    if not names:  # a run stored before the order was recorded: every name seen, sorted
        names = sorted({n for ind in qs.values_list("indicators", flat=True) for n in ind})
    head = ["unit", "county", "n_persons"] if level == UnitLevel.SCHOOL else ["unit", "n_schools"]
    for nm in names:
        head += [f"{nm}_stat", f"{nm}_expected", f"{nm}_p", f"{nm}_q"]
    yield [*head, "combined_p", "combined_q", "flag", "drivers"]
    n_schools: dict[int, int] = {}
    if level == UnitLevel.COUNTY:
        for county_id in ScreenedUnit.objects.filter(run=run, level=UnitLevel.SCHOOL).values_list("county_id",
                                                                                                   flat=True):
            n_schools[county_id] = n_schools.get(county_id, 0) + 1
    for county_id, county, school, n, ind, cp, cq, flag, drivers in qs.values_list(
            "county_id", "county__code", "school__code", "n_persons", "indicators", "combined_p", "combined_q",
            "flag", "drivers").iterator(chunk_size=UNIT_BATCH):
        row = [school, county, str(n)] if level == UnitLevel.SCHOOL else [county, str(n_schools.get(county_id, 0))]
        for nm in names:
            v = ind.get(nm) or {}
            row += [_num(v.get("stat")), _num(v.get("expected")), _num(v.get("p")), _num(v.get("q"))]
        yield [*row, _num(cp), _num(cq), "1" if flag else "0", ";".join(drivers)]


def _pair_lines(run: ScreeningRun) -> Any:
    yield ["county", "school", "person_a", "person_b", "same_room", "common_items", "matches", "identical_incorrect",
           "omega", "omega_p", "omega_p_bonferroni", "gbt_p", "ii_p", "copier", "source", "flag", "cluster"]
    for r in ScreenedPair.objects.filter(run=run).order_by("omega_p", "id").values_list(
            "county__code", "school__code", "person_a__code", "person_b__code", "same_room", "common_items",
            "matches", "identical_incorrect", "omega", "omega_p", "omega_p_bonferroni", "gbt_p", "ii_p",
            "copier__code", "source__code", "flag", "cluster").iterator(chunk_size=BATCH):
        yield [r[0], r[1], r[2], r[3], "1" if r[4] else "0", str(r[5]), str(r[6]), str(r[7]), _num(r[8]),
               _num(r[9]), _num(r[10]), _num(r[11]), _num(r[12]), r[13], r[14], "1" if r[15] else "0",
               "" if r[16] is None else str(r[16])]


def _person_lines(run: ScreeningRun) -> Any:
    yield ["person", "county", "school", "theta", "lz_star", "lz_p", "cluster"]
    for code, county, school, theta, lz, lz_p, cluster in ScreenedPerson.objects.filter(run=run).order_by(
            "test_taker_id").values_list("test_taker__code", "test_taker__county__code", "school__code", "theta",
                                         "lz_star", "lz_p", "cluster").iterator(chunk_size=BATCH):
        yield [code, county, school, _num(theta), _num(lz), _num(lz_p), "" if cluster is None else str(cluster)]


def _cluster_lines(run: ScreeningRun) -> Any:
    yield ["cluster", "county", "school", "size", "source_candidate", "members"]
    rows = list(ScreenedCluster.objects.filter(run=run).order_by("number").values_list(
        "number", "school__county__code", "school__code", "size", "source__code", "members"))
    from naeq.delivery.models import TestTaker

    ids = {int(i) for *_r, members in rows for i in members}
    codes = dict(TestTaker.objects.filter(pk__in=ids).values_list("pk", "code"))
    for number, county, school, size, source, members in rows:
        yield [str(number), county, school, str(size), source, ";".join(codes.get(int(i), "") for i in members)]


def screening_export(*, actor: Any, run_id: int, out_dir: Any) -> list[str]:
    """Write a finished run's files in the columns of ``naeq screen`` (docs/forensics.md) into ``out_dir``:
    counties.csv, schools.csv (ranked), pairs.csv, persons.csv (test IDs, no names), clusters.csv and run.json.
    Streamed from the database; audited (the files hold minors' answer-level results)."""
    import csv
    import json
    from pathlib import Path

    run = access.run_access(actor=actor, run_id=run_id)
    if run.status != RunStatus.DONE:
        raise InvalidInput(_("只有已完成的甄别记录可以导出（当前：%(s)s）。") % {"s": run.get_status_display()},
                           code="run_not_done")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"counties.csv": _unit_lines(run, UnitLevel.COUNTY), "schools.csv": _unit_lines(run, UnitLevel.SCHOOL),
             "pairs.csv": _pair_lines(run), "persons.csv": _person_lines(run), "clusters.csv": _cluster_lines(run)}
    for name, lines in files.items():
        with (out / name).open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\n").writerows(lines)
    record = {"run": run.pk, "cycle": run.cycle.year, "instrument_code": run.instrument_code, "options": run.options,
              "seed": run.seed, "inputs_hash": run.inputs_hash, "code_version": run.code_version,
              "status": run.status, "warnings": run.warnings, "timings": run.timings, "summary": run.summary}
    (out / "run.json").write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
    names = [*files, "run.json"]
    with transaction.atomic():
        audit_record(actor=actor, action="quality.run_export", object_type="quality.ScreeningRun", object_id=run.pk,
                     after={"files": names})
    return names
