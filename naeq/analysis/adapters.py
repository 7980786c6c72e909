"""What an estimation run reads from the platform, as aligned numpy arrays (:class:`EstimationInputs`).

Why a separate layer: the engine (:mod:`naeq.engines.estimation`) knows nothing of Django; the run must hash
exactly what it computes from (so a re-run on unchanged data is bit-identical and a changed datum shows as a new
hash); and the analysts' exports (:mod:`naeq.analysis.exports`) read the same sources — the calibration run's
persons, the test takers, the weights run's replicate matrices and the student questionnaire — so the readers are
shared with them rather than written twice (the export's column readers are reused here as they are).

Sources (docs/analysis.md, "Variables"):

* plausible values: ``CalibrationPerson.pvs`` of the run's calibration run, put on the reporting scale with the
  run's ``summary["scale"]`` (``A·θ + B``); cut scores and level codes from ``summary["levels"]``;
* weights: ``SampledStudent.final_weight`` (county estimates; agreement and application counties report to
  themselves with it) and ``national_weight`` (0 for those counties: they stay out of provincial and national
  estimates); the replicate matrices of the cycle's active weights run, ``county`` and ``national`` scope, with
  their stored ``scale`` and ``rscales`` → the engine's ``Design(method="JKn", scale, rscales)``;
* units: the county of the test taker (``TestTaker.county``) and its province; the school (cluster);
* groups: sex (``Student.sex``), urban/rural of the school (``urban_rural_class``: urban / town / rural), the
  migrant and disadvantaged groups and the background factors from the student questionnaires of the cycle's
  formal student sessions, joined by test taker (:mod:`naeq.analysis.background`: ``options["groups"]`` and
  ``options["factors"]`` map a name to an item, plain or recoded; by default every single-choice and Likert item
  is a factor named ``q_<item>`` with the option number as group value); invalid (97) and omitted (99) answers
  are left out of the variable's groups;
* data-quality decisions (:mod:`naeq.core.exclusions`): excluded test takers are dropped (warning with the count),
  flagged ones kept and counted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from numpy.typing import NDArray

from naeq.analysis import exports as _readers
from naeq.analysis.models import EstimationRun
from naeq.core import exclusions
from naeq.core.errors import InvalidInput
from naeq.registry.models import Region, urban_rural_class

FloatArray = NDArray[np.float64]
LEVEL_CODES = ("I", "II", "III", "IV")


@dataclass
class ReplicateSet:
    """One replicate-weight matrix (N, R), aligned with the persons, and its variance formula."""

    matrix: FloatArray
    scheme: str
    scale: float
    rscales: FloatArray


def digest_put(h: Any, name: str, arr: Any) -> None:
    """Feed one named array into the SHA-256 ``h`` in a fixed byte layout (text joined by U+001F, numbers as
    float64 or int64), with its shape."""
    a = np.asarray(arr)
    h.update(name.encode())
    if a.dtype == object or a.dtype.kind in "US":
        h.update("\x1f".join(str(x) for x in a.ravel().tolist()).encode("utf-8"))
    else:
        h.update(np.ascontiguousarray(a.astype(np.float64 if a.dtype.kind == "f" else np.int64)).tobytes())
    h.update(str(a.shape).encode())


def digest_design(h: Any, inp: Any) -> None:
    """The design part of a run's inputs digest, the same for subject and PE runs: weights, both replicate sets
    with their variance formula, and the unit columns."""
    digest_put(h, "w", inp.final_weight)
    digest_put(h, "wn", inp.national_weight)
    for name, rs in (("rc", inp.county_reps), ("rn", inp.national_reps)):
        if rs is not None:
            digest_put(h, name, rs.matrix)
            digest_put(h, name + "_rscales", rs.rscales)
            h.update(f"{rs.scheme}:{rs.scale!r}".encode())
    for name in ("county", "province", "school", "sex", "urban_rural"):
        digest_put(h, name, getattr(inp, name))


@dataclass
class EstimationInputs:
    """Everything an estimation run computes from, one row per kept test taker (sorted by test-taker id)."""

    taker_ids: NDArray[np.int64]
    pvs: FloatArray                       # (N, M) on the reporting scale
    final_weight: FloatArray
    national_weight: FloatArray
    county_reps: ReplicateSet | None
    national_reps: ReplicateSet | None
    county: NDArray[Any]                  # county region path, e.g. "310000/310100/310101/"
    province: NDArray[Any]                # province path, e.g. "310000/"
    school: NDArray[Any]                  # school code ('' unknown)
    sex: NDArray[Any]                     # "M" / "F" / ""
    urban_rural: NDArray[Any]             # "urban" / "town" / "rural" / ""
    factors: dict[str, NDArray[Any]] = field(default_factory=dict)  # name -> option number as text ('' none)
    factor_items: dict[str, str] = field(default_factory=dict)      # name -> questionnaire item code
    groups: dict[str, NDArray[Any]] = field(default_factory=dict)   # migrant / disadvantaged -> "1" / "0" / ''
    group_items: dict[str, str] = field(default_factory=dict)       # name -> questionnaire item code
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)  # variable -> {"labels": {}, "order": []}
    cuts: tuple[float, ...] = ()
    level_codes: tuple[str, ...] = LEVEL_CODES
    scale: dict[str, float] = field(default_factory=dict)
    n_excluded: int = 0
    n_flagged: int = 0
    n_dropped: int = 0                    # kept out for want of a weight or a plausible value
    warnings: list[str] = field(default_factory=list)
    region_ids: dict[str, int] = field(default_factory=dict)        # path -> Region id

    @property
    def n(self) -> int:
        return len(self.taker_ids)

    def digest(self) -> str:
        """SHA-256 of every array the run computes from (in a fixed order and byte layout)."""
        h = hashlib.sha256()
        digest_put(h, "ids", self.taker_ids)
        digest_put(h, "pvs", self.pvs)
        digest_design(h, self)
        for name in sorted(self.factors):
            digest_put(h, f"f:{name}:{self.factor_items.get(name, '')}", self.factors[name])
        for name in sorted(self.groups):  # after the factors: runs without groups keep their old hashes
            digest_put(h, f"g:{name}:{self.group_items.get(name, '')}", self.groups[name])
        digest_put(h, "cuts", np.asarray(self.cuts, dtype=np.float64))
        h.update(",".join(self.level_codes).encode())
        return h.hexdigest()


def _replicate_set(rows: NDArray[np.float32], scheme: Any) -> ReplicateSet:
    return ReplicateSet(matrix=rows.astype(np.float64), scheme=str(scheme.kind), scale=float(scheme.scale),
                        rscales=np.asarray(scheme.rscales, dtype=np.float64).ravel())


def gather(run: EstimationRun) -> EstimationInputs:
    """The arrays of a subject's estimation run (see the module docstring for every source)."""
    cal = run.calibration_run
    if cal is None:
        raise InvalidInput(_("该估计记录没有校准记录，无法读取似真值。"), code="no_calibration_run")
    cycle = run.cycle
    ids, _booklet, _eap, _se, pvs = _readers._persons(cal, "", None)
    warnings: list[str] = []
    dropped = exclusions.excluded(cycle.pk, run.instrument_code)
    n_excluded = 0
    if dropped:
        keep = ~np.isin(ids, np.array(sorted(dropped), dtype=np.int64))
        n_excluded = int((~keep).sum())
        ids, pvs = ids[keep], pvs[keep]
        if n_excluded:
            warnings.append(_("%(n)d名测试对象的数据经数据质量调查决定剔除，未参与估计。") % {"n": n_excluded})
    flagged = exclusions.flagged(cycle.pk, run.instrument_code)
    n_flagged = int(np.isin(ids, np.array(sorted(flagged), dtype=np.int64)).sum()) if flagged else 0
    t = _readers._takers(cycle, "", ids)
    sc = (cal.summary or {}).get("scale") or {}
    a, b = float(sc.get("A", 1.0)), float(sc.get("B", 0.0))
    if not sc:
        warnings.append(_("校准记录没有报告量尺，估计值为θ量尺。"))
    rep = a * pvs + b
    county_codes = t["county"]
    regions = {c: (pk, p) for pk, c, p in Region.objects.filter(code__in=sorted(set(county_codes.tolist()) - {""}))
               .values_list("pk", "code", "path")}
    county = np.array([regions[c][1] if c in regions else "" for c in county_codes.tolist()], dtype=object)
    ok = (np.isfinite(t["w_final"]) & (county != "") & np.isfinite(rep).all(axis=1)
          if rep.shape[1] else np.zeros(len(ids), dtype=bool))
    n_dropped = int((~ok).sum())
    if n_dropped:
        warnings.append(_("%(n)d名测试对象没有最终权重、所在县或似真值，未参与估计。") % {"n": n_dropped})
    sets = {name: (rows, scheme) for name, rows, scheme in _readers._replicates(cycle, t["sampled"])}
    reps: dict[str, ReplicateSet | None] = {}
    for name in ("county", "national"):
        if name in sets:
            rows, scheme = sets[name]
            missing = ok & ~np.isfinite(rows).all(axis=1)
            if name == "county" and missing.any():
                warnings.append(_("%(n)d名测试对象没有县级重复权重，未参与估计。") % {"n": int(missing.sum())})
                n_dropped += int(missing.sum())
                ok &= ~missing
            reps[name] = _replicate_set(np.nan_to_num(rows, nan=0.0), scheme)
        else:
            reps[name] = None
    if reps["county"] is None or reps["national"] is None:
        warnings.append(_("本周期权重计算缺少县级或全国重复权重，相应标准误无法计算。"))
    ids, rep = ids[ok], rep[ok]
    county = county[ok].astype(str)  # the engine's groups want numpy strings, not objects
    province = np.array([p.split("/")[0] + "/" for p in county.tolist()], dtype=str)
    w_nat = np.nan_to_num(t["w_nat"][ok], nan=0.0)
    for name in ("county", "national"):
        r = reps[name]
        if r is not None:
            r.matrix = r.matrix[ok]
    ur = np.array([urban_rural_class(u) if u else "" for u in t["ur"][ok].tolist()], dtype=str)
    sex = np.array([s if s in ("M", "F") else "" for s in t["sex"][ok].tolist()], dtype=str)
    # background factors and the migrant / disadvantaged groups from the student questionnaires
    from naeq.analysis import background

    opts = run.options or {}
    grade = np.asarray(t["grade"][ok], dtype=np.float64)
    fvars, gvars, bg_warnings = background.read(cycle, ids, grade, opts.get("factors") or None,
                                                opts.get("groups") or None)
    warnings += bg_warnings
    factors = {name: v.values for name, v in fvars.items()}
    factor_items = {name: v.item for name, v in fvars.items()}
    labels = {name: {"labels": v.labels, "order": v.order} for name, v in {**fvars, **gvars}.items()}
    lv = (cal.summary or {}).get("levels") or {}
    cuts = tuple(float(c) for c in (lv.get("cuts") or ()))
    codes = tuple(str(c) for c in (lv.get("codes") or LEVEL_CODES))
    if cuts and len(codes) != len(cuts) + 1:
        codes = LEVEL_CODES[: len(cuts) + 1] if len(cuts) + 1 <= len(LEVEL_CODES) else tuple(
            str(k + 1) for k in range(len(cuts) + 1))
    if not cuts:
        warnings.append(_("校准记录没有表现水平分界分数，未估计表现水平。"))
    paths = sorted(set(county.tolist()) | set(province.tolist()))
    region_ids = dict(Region.objects.filter(path__in=paths).values_list("path", "pk"))
    return EstimationInputs(
        taker_ids=ids, pvs=rep, final_weight=t["w_final"][ok].astype(np.float64), national_weight=w_nat,
        county_reps=reps["county"], national_reps=reps["national"], county=county, province=province,
        school=t["school"][ok].astype(str), sex=sex, urban_rural=ur, factors=factors, factor_items=factor_items,
        groups={name: v.values for name, v in gvars.items()}, group_items={name: v.item for name, v in gvars.items()},
        labels=labels,
        cuts=cuts, level_codes=codes, scale={"A": a, "B": b}, n_excluded=n_excluded, n_flagged=n_flagged,
        n_dropped=n_dropped,
        warnings=warnings, region_ids=region_ids)
