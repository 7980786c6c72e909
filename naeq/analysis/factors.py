"""Background-factor shares: how many students (weighted) fall in each category of a questionnaire factor (and
of the migrant / disadvantaged groups: the shares of 随迁子女 and of 家庭经济困难学生), for the nation, every
province and every county, as :class:`~naeq.analysis.models.Estimate` rows of the subject's run.

Why: the reports print a factor's categories with the score of each *and its share* (``naeq.reports.content``:
``proportion`` rows joined to the ``mean`` rows by ``group_value``), and the problem letters test the share
sleeping the required time (``sleep`` = ``1``) and the share doing homework beyond the rule (``homework_time``
categories) against the nation's (``naeq.rectification.letters``). The subject run already has the factor's
answers (:class:`~naeq.analysis.adapters.EstimationInputs` ``factors``); this module turns them into shares.

Layout (the one the readers expect, as in ``naeq.reports.synthetic``): ``statistic = "proportion"``,
``group_var`` = the factor's name, ``group_value`` = ``key`` = the category code (the questionnaire option's
number, the same code as the factor's ``mean`` rows, so shares and scores join). The denominator is the unit's
students with a valid answer to the item (invalid 97, omitted 99 and not administered are left out, as in the
factor's means). A share is a weighted mean of a 0/1 indicator: no plausible values are involved, so its SE is the
replicate SE alone (one value, no Rubin between-PV part). Designs as for the subject's numbers: county shares with
the final weight and the county replicates, provincial and national ones with the national weight and the national
replicates. Suppression by the run's ``SuppressionRules`` (``min_n``, ``min_schools``, ``max_cv``), kept as rows.

A threshold factor ("sleep ≥ 10 h in grade 4, ≥ 9 h in grade 8") is a single-choice item whose option 1 is the
required band (``1`` = enough sleep), mapped with the run's ``factors`` option (docs/analysis.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from naeq.analysis.adapters import EstimationInputs
from naeq.analysis.models import Estimate, EstimationRun, UnitLevel
from naeq.engines import estimation as est

__all__ = ["factor_share_dicts", "factor_share_rows"]


def _categories(values: np.ndarray) -> list[str]:
    cats = sorted({str(v) for v in values.tolist()} - {""})
    return sorted(cats, key=lambda c: (not c.isdigit(), int(c) if c.isdigit() else 0, c))


def factor_share_dicts(inputs: EstimationInputs, opts: dict[str, Any]) -> list[dict[str, Any]]:
    """The share rows as dicts (the fields of :class:`Estimate`, the region as its path): arrays in, rows out, so
    the tests call the engine on the same arrays and compare."""
    from naeq.analysis.services import _design, _Rows

    variables = {**inputs.groups, **inputs.factors}
    if not variables or inputs.county_reps is None:
        return []
    rules = est.SuppressionRules(min_n=opts.get("min_n"), min_schools=opts.get("min_schools"),
                                 max_cv=opts.get("max_cv"))
    out = _Rows(float(opts.get("alpha", 0.05)))
    schools = inputs.school.astype(str)
    designs: list[tuple[str, est.Design, np.ndarray | None]] = [
        (UnitLevel.COUNTY, _design(inputs.final_weight, inputs.county_reps, schools), inputs.county)]
    if inputs.national_reps is not None and bool((inputs.national_weight > 0).any()):
        dn = _design(inputs.national_weight, inputs.national_reps, schools)
        designs += [(UnitLevel.NATION, dn, None), (UnitLevel.PROVINCE, dn, inputs.province)]
    for name in sorted(variables):
        values = variables[name]
        item = inputs.factor_items.get(name) or inputs.group_items.get(name, "")
        info = inputs.labels.get(name) or {}
        names, order = info.get("labels") or {}, list(info.get("order") or [])
        answered = values != ""
        for level, d, unit in designs:
            if not (answered & (d.weights > 0)).any():
                continue
            for cat in _categories(values[answered & (d.weights > 0)]):
                e = est.proportion(d, values, cat, by=unit, domain=answered, rules=rules)
                start = len(out.rows)
                out.estimates(e, level, "proportion")
                for row in out.rows[start:]:
                    row.update(group_var=name, group_value=cat, key=cat)
                    row["extra"] = {**row["extra"], "item": item, **({"label": names[cat]} if cat in names else {}),
                                    **({"order": order.index(cat)} if cat in order else {})}
    return out.rows


def factor_share_rows(run: EstimationRun, gathered: EstimationInputs) -> list[Estimate]:
    """Unsaved :class:`Estimate` rows of every factor's category shares for ``run`` (the subject run that gathered
    ``gathered``); the run's options give the suppression rules."""
    from naeq.analysis.services import clean_options

    opts = clean_options(run.options)
    return [Estimate(run=run, region_id=gathered.region_ids.get(r["path"]) if r["path"] else None, **r)
            for r in factor_share_dicts(gathered, opts)]
