"""PE indicators as design-based estimates: the obesity, overweight and poor-vision rates and the fitness pass and
excellent rates of the PE field test, for the nation, every province and every county, with replicate SEs,
the sex and urban/rural groups, the gaps within each unit and the county / province comparisons — an
:class:`~naeq.analysis.models.EstimationRun` without a calibration run (``instrument_code`` :data:`PE_INSTRUMENT`).

Why a run of its own: the PE records (``naeq.pe``) are not plausible values; each student's indicator is a 0/1
value computed by :mod:`naeq.pe.indicators` (the National Student Physical Health Standard, docs/pe.md), and the
shares are weighted means of it under the same designs as the subjects' numbers (:mod:`naeq.analysis.services`,
docs/analysis.md "Designs"). With one value per student there is no between-PV variance: the SE is the replicate SE.
It is recorded, hashed, audited and re-runnable like a subject's run, and reports (``naeq.reports.content``
``pe_section``) and problem letters (``naeq.rectification.letters``: ``obesity``, ``poor_vision``, ``pass``) read
its rows.

Which students: present students of **confirmed** (locked) exam rooms — the official records; absent and exempt
students are not in any denominator; test takers excluded by a data-quality decision on the PE instrument are
dropped, flagged ones kept and counted; students without a final weight, county or county replicate row are dropped
(warnings with the counts). No non-response adjustment is made for absent students beyond the sample's weights.

Indicators (``key`` of ``statistic = "proportion"``, each over the students with the values it needs):

* ``obesity`` / ``overweight`` — BMI weight status 肥胖 / 超重 (denominator: students with height and weight);
* ``poor_vision`` — the worse eye below 5.0, and by severity ``poor_vision_mild`` (4.9), ``poor_vision_moderate``
  (4.6–4.8), ``poor_vision_severe`` (≤ 4.5) (denominator: students with a vision value);
* ``pass`` / ``excellent`` — the 体质健康 composite of the items this test takes that the Standard scores, with the
  Standard's weights renormalised over them (:data:`COMPOSITE_WEIGHTS`: BMI 15, 肺活量 15, 50米跑 20, and 立定跳远
  10 in grade 8), at least 60 (及格) / 90 (优秀). It is *not* the Standard's total score, which needs items the field
  test does not take (坐位体前屈, 跳绳 …); configured provisional norms (``published: false``) are left out.
  Denominator: students with every composite item.

Rows: per unit and key, all students (``group_var ""``) and by ``sex`` (F, M) and ``urban_rural`` (urban, town,
rural); differences ``statistic = "difference"`` with ``key`` ``<indicator>:<contrast>`` (one run holds many
indicators): ``:F-M`` and ``:urban-rural`` within each unit (``group_var`` the variable), county ``:vs_province``
and ``:vs_nation`` (the conditional design of the subjects' runs), province ``:vs_nation`` (part-whole), each with
``p_value`` and ``sign``. Suppression by the run's ``SuppressionRules`` (every row kept, flagged with its reason).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from numpy.typing import NDArray

from naeq.analysis import access
from naeq.analysis import exports as _readers
from naeq.analysis.adapters import ReplicateSet, _replicate_set, digest_design, digest_put
from naeq.analysis.models import Estimate, EstimationRun, RunStatus, UnitLevel
from naeq.core import exclusions, runs
from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, Problem
from naeq.core.jobs import enqueue
from naeq.cycles.models import Cycle
from naeq.engines import estimation as est
from naeq.registry.models import Region, urban_rural_class

#: The instrument code of the PE runs (what reports and letters recognise as physical education).
PE_INSTRUMENT = "pe_field_test"
#: The indicators, in the order the reports print them.
PE_KEYS = ("obesity", "overweight", "poor_vision", "poor_vision_mild", "poor_vision_moderate", "poor_vision_severe",
           "pass", "excellent")
#: The Standard's 单项指标与权重 (%), 《国家学生体质健康标准（2014年修订）》: 小学三、四年级 and 初中 (初二), each
#: summing to 100. ``pullup_or_situp`` is 引体向上 (boys) / 1分钟仰卧起坐 (girls), ``endurance`` 1000米跑 (boys) /
#: 800米跑 (girls). Codes of the items the field test takes are those of ``naeq.pe`` (bmi, vc, run50, jump).
STANDARD_WEIGHTS: dict[int, dict[str, float]] = {
    4: {"bmi": 15.0, "vc": 15.0, "run50": 20.0, "sit_reach": 20.0, "rope_skip": 20.0, "situp": 10.0},
    8: {"bmi": 15.0, "vc": 15.0, "run50": 20.0, "sit_reach": 10.0, "jump": 10.0, "pullup_or_situp": 10.0,
        "endurance": 20.0}}
#: The items of the field test the Standard scores (DOMAIN.md: the test takes 身高、体重、握力、视力、肺活量、50米跑、
#: 立定跳远、15米折返跑; 握力 and 15米折返跑 are not in the Standard, nor 立定跳远 in grade 4).
TAKEN = ("bmi", "vc", "run50", "jump")
#: The Standard's weights of the items this test takes, by grade; renormalised over them (:func:`composite`).
COMPOSITE_WEIGHTS: dict[int, dict[str, float]] = {
    g: {k: w for k, w in ws.items() if k in TAKEN} for g, ws in STANDARD_WEIGHTS.items()}
#: The Standard's BMI item score of each weight status.
BMI_SCORES = {"normal": 100.0, "low": 80.0, "over": 80.0, "obese": 60.0}
#: Options of a PE run and their defaults (the suppression and significance options of the subjects' runs).
DEFAULTS: dict[str, Any] = {"min_n": 62, "min_schools": 5, "max_cv": 0.5, "alpha": 0.05}
GROUPS = {"sex": ("F", "M"), "urban_rural": ("urban", "rural")}

FloatArray = NDArray[np.float64]


# ------------------------------------------------------------------------------------------------ indicators


def student_indicators(grade: np.ndarray, sex: np.ndarray, values: dict[str, np.ndarray], std: Any,
                       items: Any) -> dict[str, FloatArray]:
    """Each student's 0/1 value of every indicator (NaN where the student lacks what it needs). ``values`` maps
    the record fields (``naeq.pe.config.FIELDS``) to float arrays with NaN for missing; ``std`` the Standard
    (:func:`naeq.pe.config.standard`), ``items`` the items configuration (:func:`naeq.pe.config.items_config`)."""
    from naeq.pe import indicators as ind

    status = ind.weight_status(ind.bmi(values["height"], values["weight"]), grade, sex, std)
    has_bmi = status != ""
    vc = ind.vision_class(ind.worse_eye(values["vision_l"], values["vision_r"]), std)
    has_vision = vc != ""

    def share(hit: np.ndarray, known: np.ndarray) -> FloatArray:
        return np.where(known, hit.astype(np.float64), np.nan)

    out = {"obesity": share(status == "obese", has_bmi), "overweight": share(status == "over", has_bmi),
           "poor_vision": share(has_vision & (vc != "normal"), has_vision)}
    for code in ("mild", "moderate", "severe"):
        out[f"poor_vision_{code}"] = share(vc == code, has_vision)
    results: dict[str, np.ndarray] = {}
    for item in items.items:
        trials = (np.column_stack([values[f.code] for f in item.fields]) if len(item.fields) > 1
                  else values[item.fields[0].code])
        results[item.code] = ind.best_of(trials, item.best)
    composite = composite_score(grade, sex, status, results, std)
    known = np.isfinite(composite)
    out["pass"] = share(known & (composite >= std.pass_score - 1e-9), known)
    out["excellent"] = share(known & (composite >= std.excellent_score - 1e-9), known)
    return {k: out[k] for k in PE_KEYS}


def composite_score(grade: np.ndarray, sex: np.ndarray, status: np.ndarray, results: dict[str, np.ndarray],
                    std: Any) -> FloatArray:
    """Each student's 体质健康 composite: Σ wᵢ·scoreᵢ / Σ wᵢ over the items of :data:`COMPOSITE_WEIGHTS` of the
    student's grade that the Standard publishes (BMI by weight status, :data:`BMI_SCORES`; the others by the
    Standard's item tables, ``published: false`` norms left out), NaN when one of them is missing or the grade
    has no weights. Grade 4: (15·BMI + 15·肺活量 + 20·50米跑) / 50; grade 8: (… + 10·立定跳远) / 60. Not the
    Standard's total (which also needs 坐位体前屈, 跳绳, 仰卧起坐 …), but its weights over the items taken."""
    from naeq.pe import indicators as ind

    n = len(grade)
    total = np.zeros(n)
    wsum = np.zeros(n)
    complete = np.zeros(n, dtype=bool)
    for g, weights in COMPOSITE_WEIGHTS.items():
        for s in ("M", "F"):
            sel = (grade == g) & (sex == s)
            if not sel.any():
                continue
            complete[sel] = True
            for item, w in weights.items():
                if item == "bmi":
                    sc = np.array([BMI_SCORES.get(str(v), np.nan) for v in status[sel].tolist()], dtype=np.float64)
                else:
                    table = std.tables.get((item, g, s))
                    if table is None or not table.published or item not in results:
                        continue
                    sc = ind.item_score(results[item][sel], table)
                complete[sel] &= np.isfinite(sc)
                total[sel] += w * np.nan_to_num(sc)
                wsum[sel] += w
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(complete & (wsum > 0), total / np.where(wsum > 0, wsum, 1.0), np.nan)


# ------------------------------------------------------------------------------------------------ inputs


@dataclass
class PeInputs:
    """Everything a PE run computes from, one row per kept student (sorted by test-taker id)."""

    taker_ids: NDArray[np.int64]
    final_weight: FloatArray
    national_weight: FloatArray
    county_reps: ReplicateSet | None
    national_reps: ReplicateSet | None
    county: NDArray[Any]
    province: NDArray[Any]
    school: NDArray[Any]
    sex: NDArray[Any]
    urban_rural: NDArray[Any]
    values: dict[str, FloatArray] = field(default_factory=dict)  # indicator key -> 0/1 (NaN not known)
    n_excluded: int = 0
    n_flagged: int = 0
    n_dropped: int = 0
    n_unconfirmed: int = 0
    warnings: list[str] = field(default_factory=list)
    region_ids: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.taker_ids)

    def digest(self) -> str:
        """SHA-256 of every array the run computes from."""
        h = hashlib.sha256()
        digest_put(h, "ids", self.taker_ids)
        digest_design(h, self)
        for key in PE_KEYS:
            digest_put(h, f"v:{key}", self.values.get(key, np.zeros(0)))
        return h.hexdigest()


def gather(run: EstimationRun) -> PeInputs:
    """The arrays of a PE run (sources in the module docstring)."""
    from naeq.pe.config import FIELDS, items_config, standard
    from naeq.pe.models import Attendance, PeRecord, RoomStatus

    cycle = run.cycle
    present = PeRecord.objects.filter(room__cycle=cycle, attendance=Attendance.PRESENT)
    warnings: list[str] = []
    n_unconfirmed = present.exclude(room__status=RoomStatus.CONFIRMED).count()
    if n_unconfirmed:
        warnings.append(_("%(n)d名参测学生所在考场尚未审核锁定，未参与估计。") % {"n": n_unconfirmed})
    rows = list(present.filter(room__status=RoomStatus.CONFIRMED).order_by("test_taker_id")
                .values_list("test_taker_id", "room__grade", *FIELDS))
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    grade = np.array([r[1] for r in rows], dtype=np.int64)
    raw = np.array([[np.nan if v is None or v == -1 else float(v) for v in r[2:]] for r in rows],
                   dtype=np.float64).reshape(len(rows), len(FIELDS))
    keep = np.ones(len(ids), dtype=bool)
    dropped = exclusions.excluded(cycle.pk, run.instrument_code)
    n_excluded = 0
    if dropped:
        keep = ~np.isin(ids, np.array(sorted(dropped), dtype=np.int64))
        n_excluded = int((~keep).sum())
        if n_excluded:
            warnings.append(_("%(n)d名测试对象的数据经数据质量调查决定剔除，未参与估计。") % {"n": n_excluded})
    ids, grade, raw = ids[keep], grade[keep], raw[keep]
    flagged = exclusions.flagged(cycle.pk, run.instrument_code)
    n_flagged = int(np.isin(ids, np.array(sorted(flagged), dtype=np.int64)).sum()) if flagged else 0
    t = _readers._takers(cycle, "", ids)
    codes = t["county"]
    regions = dict(Region.objects.filter(code__in=sorted(set(codes.tolist()) - {""})).values_list("code", "path"))
    county = np.array([regions.get(c, "") for c in codes.tolist()], dtype=object)
    ok = np.isfinite(t["w_final"]) & (county != "")
    n_dropped = int((~ok).sum())
    if n_dropped:
        warnings.append(_("%(n)d名测试对象没有最终权重或所在县，未参与估计。") % {"n": n_dropped})
    sets = {name: (r, scheme) for name, r, scheme in _readers._replicates(cycle, t["sampled"])}
    reps: dict[str, ReplicateSet | None] = {}
    for name in ("county", "national"):
        if name in sets:
            r, scheme = sets[name]
            missing = ok & ~np.isfinite(r).all(axis=1)
            if name == "county" and missing.any():
                warnings.append(_("%(n)d名测试对象没有县级重复权重，未参与估计。") % {"n": int(missing.sum())})
                n_dropped += int(missing.sum())
                ok &= ~missing
            reps[name] = _replicate_set(np.nan_to_num(r, nan=0.0), scheme)
        else:
            reps[name] = None
    if reps["county"] is None or reps["national"] is None:
        warnings.append(_("本周期权重计算缺少县级或全国重复权重，相应标准误无法计算。"))
    for r_ in reps.values():
        if r_ is not None:
            r_.matrix = r_.matrix[ok]
    county_s = county[ok].astype(str)
    province = np.array([p.split("/")[0] + "/" for p in county_s.tolist()], dtype=str)
    sex = np.array([s if s in ("M", "F") else "" for s in t["sex"][ok].tolist()], dtype=str)
    values = {f: raw[ok, k] for k, f in enumerate(FIELDS)}
    vals = student_indicators(grade[ok], sex, values, standard(), items_config())
    paths = sorted(set(county_s.tolist()) | set(province.tolist()))
    return PeInputs(
        taker_ids=ids[ok], final_weight=t["w_final"][ok].astype(np.float64),
        national_weight=np.nan_to_num(t["w_nat"][ok], nan=0.0), county_reps=reps["county"],
        national_reps=reps["national"], county=county_s, province=province, school=t["school"][ok].astype(str),
        sex=sex, urban_rural=np.array([urban_rural_class(u) if u else "" for u in t["ur"][ok].tolist()], dtype=str),
        values=vals, n_excluded=n_excluded, n_flagged=n_flagged, n_dropped=n_dropped, n_unconfirmed=n_unconfirmed,
        warnings=warnings, region_ids=dict(Region.objects.filter(path__in=paths).values_list("path", "pk")))


# ------------------------------------------------------------------------------------------------ compute


def compute(inputs: PeInputs, opts: dict[str, Any]) -> list[dict[str, Any]]:
    """Every estimate of a PE run as row dicts (the fields of :class:`Estimate`, the region as its path)."""
    from naeq.analysis.services import _design, _Rows

    if inputs.county_reps is None or inputs.national_reps is None:
        raise InvalidInput(_("本周期权重计算缺少县级或全国重复权重，无法估计。"), code="no_replicates")
    rules = est.SuppressionRules(min_n=opts["min_n"], min_schools=opts["min_schools"], max_cv=opts["max_cv"])
    out = _Rows(float(opts["alpha"]))
    schools = inputs.school.astype(str)
    dc = _design(inputs.final_weight, inputs.county_reps, schools)
    has_national = bool((inputs.national_weight > 0).any())
    dn = _design(inputs.national_weight, inputs.national_reps, schools) if has_national else None
    cond = None
    if has_national:
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(inputs.final_weight[:, None] > 0,
                              inputs.county_reps.matrix / inputs.final_weight[:, None], 0.0)
        cond = _design(inputs.national_weight, inputs.county_reps, schools,
                       matrix=factor * inputs.national_weight[:, None], token=dc.token)
    groups = {"sex": inputs.sex, "urban_rural": inputs.urban_rural}
    for key in PE_KEYS:
        v = inputs.values[key]
        known = np.isfinite(v)
        y = np.nan_to_num(v)

        def prop(d: est.Design, by: Any, domain: np.ndarray, y: np.ndarray = y) -> est.Estimates | None:
            if not (domain & (d.weights > 0)).any():
                return None
            return est.proportion(d, y, 1.0, by=by, domain=domain, rules=rules)

        def named(k: str) -> Any:
            return lambda _t: k

        levels: list[tuple[str, est.Design, np.ndarray | None]] = [(UnitLevel.COUNTY, dc, inputs.county)]
        if dn is not None:
            levels += [(UnitLevel.NATION, dn, None), (UnitLevel.PROVINCE, dn, inputs.province)]
        main: dict[str, est.Estimates | None] = {}
        for level, d, unit in levels:
            e = main[level] = prop(d, unit, known)
            if e is None:
                continue
            out.estimates(e, level, "proportion", key=named(key))
            labels = np.full(d.n, "all") if unit is None else unit
            for var, vals in groups.items():
                g = prop(d, {"unit": labels, var: vals}, known & (vals != ""))
                if g is None:
                    continue
                out.estimates(g, level, "proportion", key=named(key), group_var=var)
                a, b = GROUPS[var]
                row = {(str(k[0]), str(k[1])): i for i, k in enumerate(g.group)}
                both = sorted({str(k[0]) for k in g.group if (str(k[0]), a) in row and (str(k[0]), b) in row})
                if both:
                    diff = est.difference(d, g, [row[(u, a)] for u in both], g, [row[(u, b)] for u in both],
                                          alpha=out.alpha)
                    out.differences(diff, level, both, f"{key}:{a}-{b}", group_var=var)
        mc, mp, mn = main[UnitLevel.COUNTY], main.get(UnitLevel.PROVINCE), main.get(UnitLevel.NATION)
        if dn is not None and mp is not None and mn is not None:
            pw = est.part_whole(dn, mp, mn, ["all"] * len(mp), alpha=out.alpha)
            out.differences(pw, UnitLevel.PROVINCE, [str(g[0]) for g in mp.group], f"{key}:vs_nation")
        if cond is not None and mc is not None and (known & (cond.weights > 0)).any():
            cp = est.proportion(cond, y, 1.0, by=inputs.province, domain=known, rules=rules)
            cn = est.proportion(cond, y, 1.0, domain=known, rules=rules)
            prov_row = {str(g[0]): i for i, g in enumerate(cp.group)}
            counties = [str(g[0]) for g in mc.group]
            with_prov = [k for k, c in enumerate(counties) if (c.split("/")[0] + "/") in prov_row]
            if with_prov:
                dprov = est.difference(dc, mc, with_prov, cp, [prov_row[counties[k].split("/")[0] + "/"]
                                                               for k in with_prov], alpha=out.alpha)
                out.differences(dprov, UnitLevel.COUNTY, [counties[k] for k in with_prov], f"{key}:vs_province")
            dnat = est.difference(dc, mc, np.arange(len(mc)), cn, np.zeros(len(mc), dtype=np.int64),
                                  alpha=out.alpha)
            out.differences(dnat, UnitLevel.COUNTY, counties, f"{key}:vs_nation")
    return out.rows


# ------------------------------------------------------------------------------------------------ the run


def clean_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """A PE run's options (``min_n``, ``min_schools``, ``max_cv``, ``alpha``) validated as a subject run's."""
    from naeq.analysis.services import clean_options as subject_options

    given = dict(options or {})
    problems = [Problem(reason=_("未知参数。"), field=k, value=given[k]) for k in sorted(set(given) - set(DEFAULTS))]
    full: dict[str, Any] = {}
    try:
        full = subject_options({**DEFAULTS, **{k: v for k, v in given.items() if k in DEFAULTS}})
    except InvalidInput as exc:
        problems += list(exc.problems)
    if problems:
        raise InvalidInput(_("估计参数有误。"), code="bad_options", problems=problems)
    return {k: full[k] for k in DEFAULTS}


def pe_start(*, actor: Any, cycle: Cycle, options: dict[str, Any] | None = None) -> EstimationRun:
    """Record a PE estimation run of the cycle from its confirmed PE records and the cycle's weights, audit it
    (``analysis.pe_run_start``) and send it to the job mechanism after commit. National staff only."""
    from naeq.pe.models import PeRecord, RoomStatus
    from naeq.sampling.models import Stage
    from naeq.sampling.selectors import active_run

    access.require_estimator(actor=actor)
    opts = clean_options(options)
    problems: list[Problem] = []
    weights = active_run(cycle, Stage.WEIGHTS)
    if weights is None:
        problems.append(Problem(reason=_("本周期尚未完成权重计算。"), field="sample_run", value=None))
    if not PeRecord.objects.filter(room__cycle=cycle, room__status=RoomStatus.CONFIRMED).exists():
        problems.append(Problem(reason=_("%(year)s年周期没有已审核锁定的体育测试记录。") % {"year": cycle.year},
                                field="instrument_code", value=PE_INSTRUMENT))
    if problems:
        raise InvalidInput(_("无法开始体育指标估计。"), code="bad_run", problems=problems)
    from naeq.analysis.services import code_version

    run = EstimationRun(cycle=cycle, instrument_code=PE_INSTRUMENT, calibration_run=None, sample_run=weights,
                        options=opts, seed=0, code_version=code_version(), status=RunStatus.QUEUED,
                        created_by=runs.started_by(actor))
    run.full_clean()
    run.save()
    audit_record(actor=actor, action="analysis.pe_run_start", object_type="analysis.EstimationRun",
                 object_id=run.pk, after=run.as_audit())
    run_id = run.pk
    transaction.on_commit(lambda: _send(run_id))
    return run


def _send(run_id: int) -> None:
    job = enqueue(pe_task, run_id=run_id)
    EstimationRun.objects.filter(pk=run_id, job_id="").update(job_id=job.task_id[:64])


def pe_rerun(*, actor: Any, run_id: int) -> EstimationRun:
    """A new PE run with the options of an earlier one."""
    old = access.run_access(actor=actor, run_id=run_id)
    if old.instrument_code != PE_INSTRUMENT:
        raise InvalidInput(_("该估计记录不是体育指标估计。"), code="not_pe_run")
    return pe_start(actor=actor, cycle=old.cycle, options=old.options)


def _progress(run_id: int, stage: str, fraction: float) -> None:
    runs.set_progress(EstimationRun, run_id, stage, fraction)


def pe_execute(*, run_id: int) -> str:
    """The job: gather, hash, estimate, store; a run that is not queued is left alone (``naeq.core.runs.execute``:
    a failure is recorded and audited as ``analysis.pe_run_failed``). Returns the final status."""
    def work(run: EstimationRun) -> str:
        t0 = time.perf_counter()
        _progress(run.pk, "gather", 0.05)
        inputs = gather(run)
        return _execute_with(run, inputs, gather_seconds=time.perf_counter() - t0)

    return runs.execute(EstimationRun, run_id, work, failed_action="analysis.pe_run_failed",
                        engine_message=_("无法估计：%(e)s"), select_related=("cycle", "created_by"))


def _execute_with(run: EstimationRun, inputs: PeInputs, *, gather_seconds: float = 0.0) -> str:
    if inputs.n == 0:
        raise InvalidInput(_("本周期没有可估计的体育测试记录。"), code="no_students")
    digest = inputs.digest()
    _progress(run.pk, "estimate", 0.3)
    t_est = time.perf_counter()
    rows = compute(inputs, run.options)
    est_s = time.perf_counter() - t_est
    _progress(run.pk, "store", 0.9)
    with transaction.atomic():
        objs = [Estimate(run=run, region_id=inputs.region_ids.get(r["path"]) if r["path"] else None, **r)
                for r in rows]
        Estimate.objects.bulk_create(objs, batch_size=5000)
        run.status = RunStatus.DONE
        run.progress = 1.0
        run.stage = "done"
        run.inputs_hash = digest
        run.warnings = list(inputs.warnings)
        run.summary = {
            "n_students": inputs.n, "n_excluded": inputs.n_excluded, "n_flagged": inputs.n_flagged,
            "n_dropped": inputs.n_dropped, "n_unconfirmed": inputs.n_unconfirmed,
            "n_counties": len(set(inputs.county.tolist())), "n_provinces": len(set(inputs.province.tolist())),
            "n_schools": len(set(inputs.school.tolist())), "n_estimates": len(objs),
            "n_suppressed": sum(1 for r in rows if r["suppressed"]), "indicators": list(PE_KEYS),
            "n_known": {k: int(np.isfinite(inputs.values[k]).sum()) for k in PE_KEYS},
            "composite_weights": {str(g): w for g, w in COMPOSITE_WEIGHTS.items()}}
        run.timings = {"gather": round(gather_seconds, 3), "estimate": round(est_s, 3)}
        run.finished_at = timezone.now()
        run.error = ""
        run.full_clean()
        run.save()
        audit_record(actor=run.created_by, action="analysis.pe_run_done", object_type="analysis.EstimationRun",
                     object_id=run.pk, after={"inputs_hash": digest, "status": run.status, "n_students": inputs.n,
                                              "n_estimates": len(objs)})
    return RunStatus.DONE


@shared_task(name="naeq.analysis.pe_estimate")
def pe_task(*, run_id: int) -> str:
    """Execute one recorded PE estimation run; returns its final status."""
    return pe_execute(run_id=run_id)
