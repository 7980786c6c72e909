"""Writes of estimation runs: start one (validated, recorded, audited, sent to the job mechanism), execute it (the
job's body: gather the subject's plausible values and weights, hash them, call the estimation engine, store every
:class:`~naeq.analysis.models.Estimate`), re-run one with the same inputs and options.

A run is a snapshot, like calibration and screening runs: :func:`estimation_execute` claims a queued run once,
a finished run is never written again, and the engine is deterministic, so a re-run on unchanged data stores the
same numbers bit for bit (the inputs' hash says whether the data were the same).

Which replicate set serves which number (docs/analysis.md, "Designs"):

* **county design** — ``final_weight`` with the ``county`` replicates (schools paired within counties): every
  county number, its groups and its within-county differences (F−M, urban−rural);
* **national design** — ``national_weight`` with the ``national`` replicates (counties paired within provinces):
  national and provincial numbers, their groups and differences, province − nation (part-whole);
* **county vs province / nation** — the county's mean (county design) minus the province's / nation's mean
  computed with ``national_weight`` times the *county* replicate factors, so both sides move together replicate
  by replicate: the county is compared with the province it is part of, conditional on the counties drawn (the
  county is the unit the report speaks to). An agreement or application county (``national_weight`` 0) is then
  compared with a province it is not part of, which the same formula handles.

Everything computed lives in :func:`compute` (arrays in, row dicts out), so the tests call the engine on the same
arrays and compare.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import naeq
from naeq.analysis import access
from naeq.analysis.adapters import EstimationInputs
from naeq.analysis.models import Estimate, EstimationRun, RunStatus, UnitLevel
from naeq.core import runs
from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, Problem
from naeq.core.jobs import enqueue
from naeq.cycles.models import Cycle
from naeq.delivery.models import Instrument, InstrumentKind
from naeq.engines import estimation as est
from naeq.engines.estimation.results import build
from naeq.scaling.models import CalibrationRun

log = logging.getLogger(__name__)
ENGINE = "naeq.engines.estimation"
BATCH = 5000

#: Options of a run and their defaults (docs/analysis.md, "Options").
DEFAULTS: dict[str, Any] = {
    "min_n": 62, "min_schools": 5, "max_cv": 0.5, "alpha": 0.05,
    "quantiles": [0.1, 0.25, 0.5, 0.75, 0.9],
    "diff_rate_definition": "variance_share",
    "link_error": 0.0,
    "factors": {},
    "groups": {},
}
#: The within-unit contrasts of the group variables: (group, reference) and the difference row's key.
CONTRASTS: dict[str, tuple[str, str, str]] = {
    "sex": ("F", "M", "F-M"), "urban_rural": ("urban", "rural", "urban-rural"),
    "migrant": ("1", "0", "migrant-nonmigrant"), "disadvantaged": ("1", "0", "disadvantaged-other")}

Progress = Callable[[str, float], None]


def code_version() -> str:
    return f"naeq {naeq.__version__} / {ENGINE}"


# ------------------------------------------------------------------------------------------------ options


def clean_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """The run's options with defaults filled in; every bad value listed."""
    given = dict(options or {})
    problems: list[Problem] = []
    unknown = sorted(set(given) - set(DEFAULTS))
    for name in unknown:
        problems.append(Problem(reason=_("未知参数。"), field=name, value=given[name]))
    out = {**DEFAULTS, **{k: v for k, v in given.items() if k in DEFAULTS}}

    def number(name: str, low: float, high: float, *, integer: bool = False, none_ok: bool = True) -> None:
        v = out[name]
        if v is None and none_ok:
            return
        ok = isinstance(v, int | float) and not isinstance(v, bool) and low <= float(v) <= high
        if integer and ok and float(v) != int(v):
            ok = False
        if not ok:
            problems.append(Problem(reason=_("应为%(low)g到%(high)g之间的数。") % {"low": low, "high": high},
                                    field=name, value=v))
        else:
            out[name] = int(v) if integer else float(v)

    number("min_n", 1, 10**6, integer=True)
    number("min_schools", 1, 10**4, integer=True)
    number("max_cv", 0.0, 100.0)
    number("alpha", 1e-6, 0.5, none_ok=False)
    number("link_error", 0.0, 1e6, none_ok=False)
    q = out["quantiles"]
    if not (isinstance(q, list) and q and all(isinstance(x, int | float) and 0 < float(x) < 1 for x in q)):
        problems.append(Problem(reason=_("分位数应为0到1之间的数的列表。"), field="quantiles", value=q))
    else:
        out["quantiles"] = [float(x) for x in q]
    if out["diff_rate_definition"] not in est.DEFINITIONS:
        problems.append(Problem(reason=_("校际差异率的定义应为%(d)s之一。") % {"d": "、".join(est.DEFINITIONS)},
                                field="diff_rate_definition", value=out["diff_rate_definition"]))
    from naeq.analysis.background import clean_specs

    problems += clean_specs(out["factors"], option="factors")
    problems += clean_specs(out["groups"], option="groups")
    if problems:
        raise InvalidInput(_("估计参数有误。"), code="bad_options", problems=problems)
    return out


# ------------------------------------------------------------------------------------------------ start


def _calibration_for(cycle: Cycle, code: str, calibration_run: int | None, problems: list[Problem]
                     ) -> CalibrationRun | None:
    qs = CalibrationRun.objects.filter(cycle=cycle, instrument_code=code, status=RunStatus.DONE)
    if calibration_run is not None:
        got = qs.filter(pk=int(calibration_run)).first()
        if got is None:
            problems.append(Problem(reason=_("校准记录不属于该周期和学科，或尚未完成。"), field="calibration_run",
                                    value=calibration_run))
        return got
    got = qs.order_by("-finished_at", "-pk").first()
    if got is None:
        problems.append(Problem(reason=_("%(year)s年度“%(code)s”尚无已完成的校准记录。") % {
            "year": cycle.year, "code": code}, field="instrument_code", value=code))
    return got


def estimation_start(*, actor: Any, cycle: Cycle, instrument_code: str, calibration_run: int | None = None,
                     previous_run: int | None = None, options: dict[str, Any] | None = None) -> EstimationRun:
    """Record an estimation run of one subject of the cycle from a finished calibration run (default: the latest)
    and the cycle's weights, and send it to the job mechanism (after commit; in-process it runs right then).
    National staff only (others: NotFound)."""
    from naeq.sampling.models import Stage
    from naeq.sampling.selectors import active_run

    access.require_estimator(actor=actor)
    opts = clean_options(options)
    problems: list[Problem] = []
    code = str(instrument_code or "").strip()
    if not Instrument.objects.filter(cycle=cycle, code=code, kind=InstrumentKind.TEST).exists():
        problems.append(Problem(reason=_("%(year)s年周期没有代码为“%(code)s”的测试卷。") % {
            "year": cycle.year, "code": code}, field="instrument_code", value=code))
    cal = _calibration_for(cycle, code, calibration_run, problems) if not problems else None
    prev = None
    if previous_run is not None:
        prev = EstimationRun.objects.filter(pk=int(previous_run), status=RunStatus.DONE).first()
        if prev is None or prev.instrument_code != code or prev.cycle_id == cycle.pk:
            problems.append(Problem(reason=_("上一轮估计记录应为同一学科、较早周期的已完成记录。"),
                                    field="previous_run", value=previous_run))
            prev = None
    weights = active_run(cycle, Stage.WEIGHTS)
    if weights is None:
        problems.append(Problem(reason=_("本周期尚未完成权重计算。"), field="sample_run", value=None))
    if problems:
        raise InvalidInput(_("无法开始估计。"), code="bad_run", problems=problems)
    run = EstimationRun(cycle=cycle, instrument_code=code, calibration_run=cal, sample_run=weights,
                        previous_run=prev, options=opts, seed=0, code_version=code_version(),
                        status=RunStatus.QUEUED, created_by=runs.started_by(actor))
    run.full_clean()
    run.save()
    audit_record(actor=actor, action="analysis.run_start", object_type="analysis.EstimationRun", object_id=run.pk,
                 after=run.as_audit())
    run_id = run.pk
    transaction.on_commit(lambda: _send(run_id))
    return run


def _send(run_id: int) -> None:
    from naeq.analysis.tasks import estimation_task

    job = enqueue(estimation_task, run_id=run_id)
    EstimationRun.objects.filter(pk=run_id, job_id="").update(job_id=job.task_id[:64])


@transaction.atomic
def estimation_rerun(*, actor: Any, run_id: int) -> EstimationRun:
    """A new run with the subject, calibration run, previous run and options of an earlier one."""
    old = access.run_access(actor=actor, run_id=run_id)
    access.require_estimator(actor=actor)
    return estimation_start(actor=actor, cycle=old.cycle, instrument_code=old.instrument_code,
                            calibration_run=old.calibration_run_id, previous_run=old.previous_run_id,
                            options=old.options)


# ------------------------------------------------------------------------------------------------ compute


def _sign(value: float, p: float, alpha: float) -> int:
    return int(np.sign(value)) if np.isfinite(p) and p < alpha else 0


def _f(x: Any) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def _design(weights: np.ndarray, reps: Any, schools: np.ndarray, *, matrix: np.ndarray | None = None,
            token: str | None = None) -> est.Design:
    kw: dict[str, Any] = {} if token is None else {"token": token}
    return est.Design(weights, reps.matrix if matrix is None else matrix, method="JKn", scale=reps.scale,
                      rscales=reps.rscales, schools=schools, **kw)


class _Rows:
    """Collects Estimate rows as dicts (the fields of :class:`Estimate`, ``region`` as a path)."""

    def __init__(self, alpha: float) -> None:
        self.rows: list[dict[str, Any]] = []
        self.alpha = alpha

    def estimates(self, e: est.Estimates, level: str, statistic: str, *, key: Callable[[str], str] = lambda t: "",
                  keep: Callable[[str], bool] = lambda t: True, group_var: str = "") -> None:
        for k in range(len(e)):
            if not keep(e.term[k]):
                continue
            g = e.group[k]
            path = "" if level == UnitLevel.NATION else str(g[0])
            value = str(g[-1]) if group_var else ""
            self.rows.append({
                "level": level, "path": path, "group_var": group_var, "group_value": value,
                "statistic": statistic, "key": key(e.term[k]), "value": _f(e.value[k]), "se": _f(e.se[k]),
                "n": int(e.n[k]), "n_schools": max(int(e.n_schools[k]), 0), "p_value": None, "sign": None,
                "suppressed": bool(e.suppressed[k]), "suppress_reason": e.reason[k],
                "extra": {"df": _f(e.df[k])}})

    def differences(self, d: est.Differences, level: str, paths: Iterable[str], key: str, *,
                    group_var: str = "", group_value: str = "", n: Iterable[int] | None = None,
                    extra: dict[str, Any] | None = None) -> None:
        ns = list(n) if n is not None else None
        for k, path in enumerate(paths):
            v, p = float(d.value[k]), float(d.p[k])
            self.rows.append({
                "level": level, "path": "" if level == UnitLevel.NATION else path, "group_var": group_var,
                "group_value": group_value, "statistic": "difference", "key": key, "value": _f(v),
                "se": _f(d.se[k]), "n": ns[k] if ns else 0, "n_schools": 0, "p_value": _f(p),
                "sign": _sign(v, p, self.alpha), "suppressed": bool(d.suppressed[k]),
                "suppress_reason": "component_suppressed" if d.suppressed[k] else "",
                "extra": {"df": _f(d.df[k]), "a": d.label_a[k], "b": d.label_b[k], **(extra or {})}})


def sd(design: est.Design, y: np.ndarray, *, by: Any = None, domain: Any = None,
       rules: est.SuppressionRules = est.NO_SUPPRESSION) -> est.Estimates:
    """Weighted standard deviation √(E[y²] − E[y]²) per group, for every PV and replicate, Rubin-combined: from
    two engine means of the same groups (the engine has no SD of its own)."""
    m1 = est.mean(design, y, by=by, domain=domain, rules=est.NO_SUPPRESSION)
    m2 = est.mean(design, y * y, by=by, domain=domain, rules=est.NO_SUPPRESSION)
    theta = np.sqrt(np.maximum(m2.theta - m1.theta ** 2, 0.0))
    return build(design, "sd", m1.group_names, m1.group, ["sd"] * len(m1), theta[:, 0, :], theta[:, 1:, :],
                 m1.n, m1.sum_weights, m1.n_schools, rules)


def _unit_stats(out: _Rows, d: est.Design, y: np.ndarray, level: str, by: Any, inputs: EstimationInputs,
                opts: dict[str, Any], rules: est.SuppressionRules) -> est.Estimates:
    """mean, sd, level shares, at-or-above, percentiles, between-school share and 校际差异率 of one level."""
    m = est.mean(d, y, by=by, rules=rules)
    out.estimates(m, level, "mean")
    out.estimates(sd(d, y, by=by, rules=rules), level, "sd")
    if inputs.cuts:
        codes = inputs.level_codes
        lv = est.levels(d, y, inputs.cuts, codes=codes, by=by, rules=rules, at_least=None)
        out.estimates(lv, level, "level_share", key=lambda t: t[len("level["):-1])
        for j in range(1, len(codes)):
            at = est.levels(d, y, inputs.cuts, codes=codes, by=by, rules=rules, at_least=j)
            out.estimates(at, level, "at_or_above", key=lambda t: t[len("level[>="):-1],
                          keep=lambda t: t.startswith("level[>="))
    qs = opts["quantiles"]
    out.estimates(est.percentile(d, y, qs, by=by, rules=rules), level, "percentile", key=lambda t: t)
    out.estimates(est.between_school_share(d, y, by=by, definition="variance_share", rules=rules), level,
                  "between_school_share")
    out.estimates(est.between_school_share(d, y, by=by, definition=opts["diff_rate_definition"], rules=rules),
                  level, "diff_rate", key=lambda t: "")
    return m


def _labels(unit: np.ndarray | None, n: int) -> np.ndarray:
    return np.full(n, "all") if unit is None else unit


def _group_stats(out: _Rows, d: est.Design, y: np.ndarray, level: str, unit: np.ndarray | None,
                 groups: dict[str, np.ndarray], rules: est.SuppressionRules, inputs: EstimationInputs) -> None:
    """Group means per unit; for the contrast groups (sex, urban/rural, migrant, disadvantaged) also their level
    shares and the share at 中等 or above (``at_or_above`` key II), and the within-unit difference of means
    (:data:`CONTRASTS`: ``F-M``, ``urban-rural``, ``migrant-nonmigrant``, ``disadvantaged-other``)."""
    labels = _labels(unit, d.n)
    for var, values in groups.items():
        dom = values != ""
        if not (dom & (d.weights > 0)).any():
            continue
        by = {"unit": labels, var: values}
        g = est.mean(d, y, by=by, domain=dom, rules=rules)
        start = len(out.rows)
        out.estimates(g, level, "mean", group_var=var)
        _label_rows(out.rows[start:], inputs.labels.get(var), inputs.factor_items.get(var)
                    or inputs.group_items.get(var))
        contrast = CONTRASTS.get(var)
        if contrast is None:
            continue
        if inputs.cuts:
            lv = est.levels(d, y, inputs.cuts, codes=inputs.level_codes, by=by, domain=dom, rules=rules,
                            at_least=1)
            out.estimates(lv, level, "level_share", key=lambda t: t[len("level["):-1], group_var=var,
                          keep=lambda t: not t.startswith("level[>="))
            out.estimates(lv, level, "at_or_above", key=lambda t: t[len("level[>="):-1], group_var=var,
                          keep=lambda t: t.startswith("level[>="))
        row = {(str(k[0]), str(k[1])): i for i, k in enumerate(g.group)}
        units = sorted({str(k[0]) for k in g.group})
        both = [u for u in units if (u, contrast[0]) in row and (u, contrast[1]) in row]
        if not both:
            continue
        diff = est.difference(d, g, [row[(u, contrast[0])] for u in both], g, [row[(u, contrast[1])] for u in both],
                              alpha=out.alpha)
        out.differences(diff, level, both, contrast[2])


def _label_rows(rows: list[dict[str, Any]], labels: dict[str, Any] | None, item: str | None) -> None:
    """The group's label and printing order (from the questionnaire) and the item into a factor's rows' extra."""
    if not labels and not item:
        return
    names = (labels or {}).get("labels") or {}
    order = list((labels or {}).get("order") or [])
    for r in rows:
        v = r["group_value"]
        extra = {**r["extra"], "item": item or ""}
        if v in names:
            extra["label"] = names[v]
        if v in order:
            extra["order"] = order.index(v)
        r["extra"] = extra


def compute(inputs: EstimationInputs, opts: dict[str, Any], *, previous: list[dict[str, Any]] | None = None,
            progress: Progress | None = None) -> list[dict[str, Any]]:
    """Every estimate of a subject's run as row dicts (see :class:`_Rows`); ``previous`` the earlier cycle's
    ``mean`` rows (all students) for the trend."""
    def tick(stage: str, f: float) -> None:
        if progress:
            progress(stage, f)

    if inputs.county_reps is None or inputs.national_reps is None:
        raise InvalidInput(_("本周期权重计算缺少县级或全国重复权重，无法估计。"), code="no_replicates")
    rules = est.SuppressionRules(min_n=opts["min_n"], min_schools=opts["min_schools"], max_cv=opts["max_cv"])
    out = _Rows(float(opts["alpha"]))
    y = inputs.pvs
    schools = inputs.school.astype(str)
    dc = _design(inputs.final_weight, inputs.county_reps, schools)
    groups: dict[str, np.ndarray] = {"sex": inputs.sex, "urban_rural": inputs.urban_rural, **inputs.groups,
                                     **inputs.factors}
    tick("county", 0.1)
    mc = _unit_stats(out, dc, y, UnitLevel.COUNTY, inputs.county, inputs, opts, rules)
    _group_stats(out, dc, y, UnitLevel.COUNTY, inputs.county, groups, rules, inputs)
    has_national = bool((inputs.national_weight > 0).any())
    mp = mn = None
    if has_national:
        tick("national", 0.5)
        dn = _design(inputs.national_weight, inputs.national_reps, schools)
        mn = _unit_stats(out, dn, y, UnitLevel.NATION, None, inputs, opts, rules)
        mp = _unit_stats(out, dn, y, UnitLevel.PROVINCE, inputs.province, inputs, opts, rules)
        _group_stats(out, dn, y, UnitLevel.NATION, None, groups, rules, inputs)
        _group_stats(out, dn, y, UnitLevel.PROVINCE, inputs.province, groups, rules, inputs)
        pw = est.part_whole(dn, mp, mn, ["all"] * len(mp), alpha=out.alpha)
        out.differences(pw, UnitLevel.PROVINCE, [str(g[0]) for g in mp.group], "vs_nation")
        # county vs its province and the nation: the whole with national weights and the county replicate factors
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(inputs.final_weight[:, None] > 0,
                              inputs.county_reps.matrix / inputs.final_weight[:, None], 0.0)
        cond = _design(inputs.national_weight, inputs.county_reps, schools,
                       matrix=factor * inputs.national_weight[:, None], token=dc.token)
        cp = est.mean(cond, y, by=inputs.province, rules=rules)
        cn = est.mean(cond, y, rules=rules)
        prov_row = {str(g[0]): i for i, g in enumerate(cp.group)}
        counties = [str(g[0]) for g in mc.group]
        with_prov = [k for k, c in enumerate(counties) if (c.split("/")[0] + "/") in prov_row]
        if with_prov:
            dprov = est.difference(dc, mc, with_prov, cp, [prov_row[counties[k].split("/")[0] + "/"]
                                                           for k in with_prov], alpha=out.alpha)
            out.differences(dprov, UnitLevel.COUNTY, [counties[k] for k in with_prov], "vs_province")
        dnat = est.difference(dc, mc, np.arange(len(mc)), cn, np.zeros(len(mc), dtype=np.int64), alpha=out.alpha)
        out.differences(dnat, UnitLevel.COUNTY, counties, "vs_nation")
    tick("trend", 0.8)
    if previous:
        _trend(out, {UnitLevel.COUNTY: mc, UnitLevel.PROVINCE: mp, UnitLevel.NATION: mn}, previous,
               float(opts["link_error"]))
    from naeq.analysis.factors import factor_share_dicts  # here: factors imports this module
    return out.rows + factor_share_dicts(inputs, opts)


def _trend(out: _Rows, current: dict[str, est.Estimates | None], previous: list[dict[str, Any]],
           link_error: float) -> None:
    """This cycle − the earlier one (independent samples, with the link error) for every unit in both."""
    prev = {(r["level"], r["path"]): r for r in previous}
    for level, e in current.items():
        if e is None:
            continue
        paths = ["" if level == UnitLevel.NATION else str(g[0]) for g in e.group]
        rows = [k for k, p in enumerate(paths) if (level, p) in prev and prev[(level, p)]["value"] is not None
                and prev[(level, p)]["se"] is not None]
        if not rows:
            continue
        value, se, df = e.value.copy(), e.se.copy(), e.df.copy()
        supp = e.suppressed.copy()
        for k in rows:
            r = prev[(level, paths[k])]
            value[k], se[k] = r["value"], r["se"]
            df[k] = (r.get("extra") or {}).get("df") or np.inf
            supp[k] = bool(r["suppressed"])
        before = dataclasses.replace(e, value=value, se=se, df=df, suppressed=supp)
        t = est.trend(e, rows, before, rows, link_error=link_error, alpha=out.alpha)
        out.differences(t, level, [paths[k] for k in rows], "trend", extra={"link_error": link_error})


# ------------------------------------------------------------------------------------------------ execute


def _progress(run_id: int, stage: str, fraction: float) -> None:
    runs.set_progress(EstimationRun, run_id, stage, fraction)


def _gather(run: EstimationRun) -> EstimationInputs:
    adapters = importlib.import_module("naeq.analysis.adapters")
    return adapters.gather(run)


def _previous_rows(run: EstimationRun) -> list[dict[str, Any]] | None:
    if run.previous_run_id is None:
        return None
    return [dict(r) for r in Estimate.objects.filter(run_id=run.previous_run_id, statistic="mean", group_var="")
            .values("level", "path", "value", "se", "suppressed", "extra")]


def estimation_execute(*, run_id: int) -> str:
    """The job: gather, hash, estimate and store. Idempotent: a run that is not queued is left alone. Returns the
    run's final status."""
    def _work(run: EstimationRun) -> str:
        t0 = time.perf_counter()
        _progress(run.pk, "gather", 0.02)
        inputs = _gather(run)
        return _execute_with(run, inputs, gather_seconds=time.perf_counter() - t0)

    return runs.execute(EstimationRun, run_id, _work, failed_action="analysis.run_failed",
                        engine_message=_("无法估计：%(e)s"), select_related=("cycle", "created_by", "calibration_run"))


def _execute_with(run: EstimationRun, inputs: EstimationInputs, *, gather_seconds: float = 0.0) -> str:
    if inputs.n == 0:
        raise InvalidInput(_("该学科在本周期没有可估计的学生。"), code="no_students")
    t_hash = time.perf_counter()
    digest = inputs.digest()
    hash_s = time.perf_counter() - t_hash
    t_est = time.perf_counter()
    rows = compute(inputs, run.options, previous=_previous_rows(run),
                   progress=lambda s, f: _progress(run.pk, s, 0.05 + 0.8 * f))
    est_s = time.perf_counter() - t_est
    _progress(run.pk, "store", 0.9)
    t_store = time.perf_counter()
    with transaction.atomic():
        objs = [Estimate(run=run, region_id=inputs.region_ids.get(r["path"]) if r["path"] else None, **r)
                for r in rows]
        Estimate.objects.bulk_create(objs, batch_size=BATCH)
        run.status = RunStatus.DONE
        run.progress = 1.0
        run.stage = "done"
        run.inputs_hash = digest
        run.warnings = list(inputs.warnings)
        run.summary = {
            "n_students": inputs.n, "n_pv": int(inputs.pvs.shape[1]), "n_excluded": inputs.n_excluded,
            "n_flagged": inputs.n_flagged, "n_dropped": inputs.n_dropped,
            "n_counties": len(set(inputs.county.tolist())), "n_provinces": len(set(inputs.province.tolist())),
            "n_schools": len(set(inputs.school.tolist())), "n_estimates": len(objs),
            "n_suppressed": sum(1 for r in rows if r["suppressed"]), "scale": inputs.scale,
            "cuts": list(inputs.cuts), "level_codes": list(inputs.level_codes),
            "factors": inputs.factor_items, "groups": inputs.group_items,
            "n_county_replicates": int(inputs.county_reps.matrix.shape[1]) if inputs.county_reps else 0,
            "n_national_replicates": int(inputs.national_reps.matrix.shape[1]) if inputs.national_reps else 0}
        run.timings = {"gather": round(gather_seconds, 3), "hash": round(hash_s, 3), "estimate": round(est_s, 3),
                       "store": round(time.perf_counter() - t_store, 3)}
        run.finished_at = timezone.now()
        run.error = ""
        run.full_clean()
        run.save()
        audit_record(actor=run.created_by, action="analysis.run_done", object_type="analysis.EstimationRun",
                     object_id=run.pk, after={"inputs_hash": digest, "status": run.status, "n_students": inputs.n,
                                              "n_estimates": len(objs)})
    return RunStatus.DONE


