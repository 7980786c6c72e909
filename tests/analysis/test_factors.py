"""Background-factor shares (naeq.analysis.factors): the rows equal the engine's proportions on the same arrays
(county design for counties, national design for provinces and the nation), the denominator is the students who
answered, suppression is kept, and the layout is the one reports and problem letters read.

World: :func:`tests.analysis.test_exports.exports_build` — questionnaire items HW1 (every student answers 1–3) and
RD2 (some invalid 97, omitted 99, not administered), mapped here to the factors ``sleep`` and ``homework_time``.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest

from tests.analysis.test_exports import YEAR_KEY, ExportWorld, exw  # noqa: F401  (fixture)

OPTS: dict[str, Any] = {"min_n": 3, "min_schools": 1, "max_cv": 5.0, "factors": {"sleep": "HW1",
                                                                                  "homework_time": "RD2"}}


@pytest.fixture
def run_and_inputs(exw: ExportWorld, django_capture_on_commit_callbacks: Any) -> tuple[Any, Any]:  # noqa: F811
    from naeq.analysis import adapters
    from naeq.analysis.services import estimation_start

    with django_capture_on_commit_callbacks(execute=True):
        run = estimation_start(actor=exw.user("national_admin@A"), cycle=exw.cycle, instrument_code=YEAR_KEY,
                               options=OPTS)
    run.refresh_from_db()
    assert run.status == "done", run.error
    return run, adapters.gather(run)


def _designs(inp: Any) -> tuple[Any, Any]:
    from naeq.engines import estimation as est

    s = inp.school.astype(str)
    rc, rn = inp.county_reps, inp.national_reps
    dc = est.Design(inp.final_weight, rc.matrix, method="JKn", scale=rc.scale, rscales=rc.rscales, schools=s)
    dn = est.Design(inp.national_weight, rn.matrix, method="JKn", scale=rn.scale, rscales=rn.rscales, schools=s)
    return dc, dn


@pytest.mark.django_db
def test_shares_equal_the_engine(run_and_inputs: tuple[Any, Any]) -> None:
    from naeq.analysis.factors import factor_share_rows
    from naeq.engines import estimation as est

    run, inp = run_and_inputs
    rows = factor_share_rows(run, inp)
    got = {(r.level, r.path, r.group_var, r.group_value, r.statistic, r.key): r for r in rows}
    assert len(got) == len(rows)
    assert all(r.run_id == run.pk and r.statistic == "proportion" and r.key == r.group_value for r in rows)
    rules = est.SuppressionRules(min_n=3, min_schools=1, max_cv=5.0)
    dc, dn = _designs(inp)
    for name in ("sleep", "homework_time"):
        v = inp.factors[name]
        answered = v != ""
        cats = sorted(set(v[answered].tolist()))
        assert cats and all(c in ("1", "2", "3") for c in cats)
        for cat in cats:
            ec = est.proportion(dc, v, cat, by=inp.county, domain=answered, rules=rules)
            for k, g in enumerate(ec.group):
                r = got[("county", g[0], name, cat, "proportion", cat)]
                assert (r.value, r.se, r.n) == (ec.value[k], ec.se[k], ec.n[k])
                assert r.suppressed == bool(ec.suppressed[k]) and r.region_id == inp.region_ids[g[0]]
                sel = answered & (inp.county == g[0]) & (inp.final_weight > 0)
                w = inp.final_weight[sel]
                assert r.value == pytest.approx(float((w * (v[sel] == cat)).sum() / w.sum()))
            en = est.proportion(dn, v, cat, domain=answered, rules=rules)
            r = got[("nation", "", name, cat, "proportion", cat)]
            assert (r.value, r.se) == (en.value[0], en.se[0]) and r.region_id is None
            ep = est.proportion(dn, v, cat, by=inp.province, domain=answered, rules=rules)
            for k, g in enumerate(ep.group):
                assert got[("province", g[0], name, cat, "proportion", cat)].value == ep.value[k]
        # the shares of a unit sum to one over the categories
        nat = [float(got[("nation", "", name, c, "proportion", c)].value or 0.0) for c in cats]
        assert sum(nat) == pytest.approx(1.0)
    # the invalid / omitted / not administered answers of RD2 are in no denominator
    hw = inp.factors["homework_time"]
    nat_n = got[("nation", "", "homework_time", "1", "proportion", "1")].n
    assert nat_n == int(((hw != "") & (inp.national_weight > 0)).sum()) < int((inp.national_weight > 0).sum())


@pytest.mark.django_db
def test_suppression_and_no_factors(run_and_inputs: tuple[Any, Any]) -> None:
    import dataclasses

    from naeq.analysis.factors import factor_share_dicts

    run, inp = run_and_inputs
    strict = factor_share_dicts(inp, {"min_n": 62, "min_schools": 5, "max_cv": 0.5, "alpha": 0.05})
    assert strict and all(r["suppressed"] and "min_n" in r["suppress_reason"] for r in strict)
    assert factor_share_dicts(dataclasses.replace(inp, factors={}), run.options) == []


@pytest.mark.django_db
def test_layout_is_what_reports_and_letters_read(run_and_inputs: tuple[Any, Any]) -> None:
    from naeq.analysis.factors import factor_share_rows
    from naeq.analysis.models import Estimate
    from naeq.rectification import letters
    from naeq.reports import content, synthetic

    run, inp = run_and_inputs
    rows = factor_share_rows(run, inp)
    Estimate.objects.filter(run=run, statistic="proportion").delete()
    Estimate.objects.bulk_create(rows)
    # letters: the sleep rule reads ("proportion", "sleep", "1", "1"), the homework rule its categories k, k
    src = inspect.getsource(letters.derive)
    assert '("proportion", "sleep", "1", "1")' in src and '("proportion", "homework_time", k, k)' in src
    assert Estimate.objects.filter(run=run, level="nation", statistic="proportion", group_var="sleep",
                                   group_value="1", key="1").exists()
    # the same layout as the synthetic runs the reports were built on
    assert set(synthetic.FACTORS) >= {"sleep", "homework_time"}
    # reports: a factor's categories show their score and their share, joined on the category code
    index = content.Index.from_values(Estimate.objects.filter(run=run).values_list(*content.ROW_FIELDS))
    nation = index.unit(run.pk, "nation", "")
    facs = {f["var"]: f for f in content._factors(nation, content.Notes())}
    assert {"sleep", "homework_time"} <= set(facs)
    for f in facs.values():
        assert f["rows"] and all(r["share"]["text"] != content.DASH for r in f["rows"])
    shares = {r.group_value: float(r.value or 0.0) for r in rows if r.level == "nation" and r.group_var == "sleep"}
    assert np.isclose(sum(shares.values()), 1.0)


@pytest.mark.django_db
def test_subject_run_stores_the_shares(run_and_inputs: tuple[Any, Any]) -> None:
    from naeq.analysis.factors import factor_share_dicts
    from naeq.analysis.models import Estimate

    run, inp = run_and_inputs
    want = factor_share_dicts(inp, run.options)
    stored = {(r.level, r.path, r.group_var, r.group_value, r.key): (r.value, r.se, r.n, r.suppressed)
              for r in Estimate.objects.filter(run=run, statistic="proportion")}
    assert want and stored == {(r["level"], r["path"], r["group_var"], r["group_value"], r["key"]):
                               (r["value"], r["se"], r["n"], r["suppressed"]) for r in want}
    assert run.summary["n_suppressed"] == run.estimates.filter(suppressed=True).count()
