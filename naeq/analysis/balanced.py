"""The high-quality balanced county evaluation (县域义务教育优质均衡发展) for application counties.

DOMAIN.md: an application county meets the quality criterion of the national assessment when, in every subject
assessed, the county's achievement is at level Ⅲ (良好) or above and its 校际差异率 is below 0.15. The seeds do not
define the rate, so the rule is configuration (``min_level``, ``max_rate``, ``definition``; defaults Ⅲ, 0.15,
``variance_share`` — the between-school share of the score variance; docs/estimation.md lists the alternatives).

The check is the engine's :func:`~naeq.engines.estimation.balanced_county` on the same arrays as each subject's
latest finished estimation run (re-gathered; the evidence records whether their hash still equals the run's). A
county whose mean or rate is suppressed for a subject cannot be judged (``insufficient``), not failed. Each
evaluation stores one :class:`BalancedCountyResult` per county with its evidence and is audited.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.analysis import access, adapters
from naeq.analysis.models import BalancedCountyResult, BalancedStatus, EstimationRun, RunStatus
from naeq.analysis.services import _design
from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, Problem
from naeq.cycles.models import Cycle
from naeq.engines import estimation as est
from naeq.registry.models import Region

DEFAULT_RULE: dict[str, Any] = {"min_level": "III", "max_rate": 0.15, "definition": "variance_share"}


def application_counties(cycle: Cycle) -> list[str]:
    """Paths of the cycle's application counties (申请县) in its active county sample."""
    from naeq.sampling.models import CountyParticipation, SampledCounty, Stage
    from naeq.sampling.selectors import active_run

    run = active_run(cycle, Stage.COUNTY)
    if run is None:
        return []
    return sorted(SampledCounty.objects.filter(run=run, participation=CountyParticipation.APPLICATION)
                  .values_list("path", flat=True))


def _latest_runs(cycle: Cycle, subjects: list[str] | None) -> list[EstimationRun]:
    qs = EstimationRun.objects.filter(cycle=cycle, status=RunStatus.DONE, calibration_run__isnull=False)
    codes = subjects or sorted(set(qs.values_list("instrument_code", flat=True)))
    out = []
    for code in codes:
        run = qs.filter(instrument_code=code).select_related("cycle", "calibration_run").order_by(
            "-finished_at", "-pk").first()
        if run is not None:
            out.append(run)
    return out


def _clean_rule(rule: dict[str, Any] | None) -> dict[str, Any]:
    out = {**DEFAULT_RULE, **(rule or {})}
    problems = []
    if out["min_level"] not in adapters.LEVEL_CODES:
        problems.append(Problem(reason=_("最低水平应为I、II、III、IV之一。"), field="min_level",
                                value=out["min_level"]))
    try:
        out["max_rate"] = float(out["max_rate"])
        if not 0 < out["max_rate"] <= 1:
            raise ValueError
    except (TypeError, ValueError):
        problems.append(Problem(reason=_("校际差异率上限应在0到1之间。"), field="max_rate", value=out["max_rate"]))
    if out["definition"] not in est.DEFINITIONS:
        problems.append(Problem(reason=_("校际差异率的定义应为%(d)s之一。") % {"d": "、".join(est.DEFINITIONS)},
                                field="definition", value=out["definition"]))
    if set(out) - set(DEFAULT_RULE):
        problems.append(Problem(reason=_("未知参数。"), field=",".join(sorted(set(out) - set(DEFAULT_RULE)))))
    if problems:
        raise InvalidInput(_("优质均衡判定标准有误。"), code="bad_rule", problems=problems)
    return out


def evaluate(*, actor: Any, cycle: Cycle, counties: list[str] | None = None, subjects: list[str] | None = None,
             rule: dict[str, Any] | None = None) -> list[BalancedCountyResult]:
    """Evaluate ``counties`` (region paths; default: the cycle's application counties) on every subject's latest
    finished estimation run (or ``subjects``). National staff only."""
    access.require_estimator(actor=actor)
    r = _clean_rule(rule)
    paths = sorted(set(counties if counties is not None else application_counties(cycle)))
    if not paths:
        raise InvalidInput(_("本周期没有申请优质均衡评估的县。"), code="no_application_counties")
    runs = _latest_runs(cycle, subjects)
    if not runs:
        raise InvalidInput(_("本周期尚无已完成的学科估计记录。"), code="no_estimation_runs")
    per: dict[str, dict[str, Any]] = {p: {} for p in paths}
    for run in runs:
        inputs = adapters.gather(run)
        if not inputs.cuts or inputs.county_reps is None:
            for p in paths:
                per[p][run.instrument_code] = {"run": run.pk, "evaluable": False,
                                               "reason": "no_levels" if not inputs.cuts else "no_replicates"}
            continue
        o = run.options or {}
        rules = est.SuppressionRules(min_n=o.get("min_n", 62), min_schools=o.get("min_schools", 5),
                                     max_cv=o.get("max_cv", 0.5))
        in_scope = np.isin(inputs.county, np.array(paths, dtype=str))
        if not in_scope.any():
            for p in paths:
                per[p][run.instrument_code] = {"run": run.pk, "evaluable": False, "reason": "no_students"}
            continue
        dc = _design(inputs.final_weight, inputs.county_reps, inputs.school)
        br = est.BalancedCountyRule(cuts=inputs.cuts, min_level=r["min_level"], max_rate=r["max_rate"],
                                    definition=r["definition"], codes=tuple(inputs.level_codes))
        county_label = np.where(in_scope, inputs.county, "")
        found = {str(b.county[0]): b for b in est.balanced_county(dc, inputs.pvs, county_label, br, rules=rules)}
        same = inputs.digest() == run.inputs_hash
        for p in paths:
            b = found.get(p)
            if b is None:
                per[p][run.instrument_code] = {"run": run.pk, "evaluable": False, "reason": "no_students"}
                continue
            per[p][run.instrument_code] = {
                "run": run.pk, "inputs_hash": run.inputs_hash, "same_inputs": same, "evaluable": not b.suppressed,
                "mean": b.mean, "mean_se": b.mean_se, "level": b.level, "rate": b.rate, "rate_se": b.rate_se,
                "level_ok": b.level_ok, "rate_ok": b.rate_ok, "passed": b.passed, "suppressed": b.suppressed}
    now = timezone.now()
    region = dict(Region.objects.filter(path__in=paths).values_list("path", "pk"))
    out = []
    with transaction.atomic():
        for p in paths:
            if p not in region:
                continue
            subj = per[p]
            if not subj or any(not s.get("evaluable") for s in subj.values()):
                status = BalancedStatus.INSUFFICIENT
            elif all(s["passed"] for s in subj.values()):
                status = BalancedStatus.PASSED
            else:
                status = BalancedStatus.FAILED
            out.append(BalancedCountyResult.objects.create(
                cycle=cycle, region_id=region[p], path=p, status=status, rule=r, evidence={"subjects": subj},
                evaluated_at=now, evaluated_by=actor if getattr(actor, "pk", None) else None))
        audit_record(actor=actor, action="analysis.balanced_evaluate", object_type="cycles.Cycle",
                     object_id=cycle.pk, after={"rule": r, "runs": [run.pk for run in runs],
                                                "counties": {x.path: x.status for x in out}})
    return out


def latest_results(cycle: Cycle | int) -> QuerySet[BalancedCountyResult]:
    """The current (latest) evaluation's results of a cycle, by county path."""
    cycle_id = cycle.pk if isinstance(cycle, Cycle) else int(cycle)
    qs = BalancedCountyResult.objects.filter(cycle_id=cycle_id)
    last = qs.aggregate(t=Max("evaluated_at"))["t"]
    return qs.filter(evaluated_at=last).select_related("region").order_by("path") if last else qs.none()


def results_visible(*, actor: Any, cycle: Cycle | int) -> QuerySet[BalancedCountyResult]:
    """The latest results an actor may read (its jurisdiction's counties)."""
    if not access.may_read(actor=actor):
        return BalancedCountyResult.objects.none()
    from naeq.accounts.jurisdiction import jurisdiction_of

    return latest_results(cycle).filter(path__startswith=jurisdiction_of(actor).path)
