"""The balanced-county evaluation (naeq.analysis.balanced): the stored verdicts and evidence equal the engine's
balanced_county on the run's arrays; suppressed subjects make a county insufficient, not failed; the rule is
configurable and checked; only national staff evaluate; readers see their own counties."""

from __future__ import annotations

import pytest

from tests.analysis.test_exports import ExportWorld, exw  # noqa: F401  (fixture)
from tests.analysis.test_runs import SMALL, _admin, _designs, _start, ew  # noqa: F401  (fixture)

COUNTIES = ["310000/310100/310101/", "310000/310100/310102/", "440000/440100/440101/", "440000/440100/440102/"]


@pytest.mark.django_db
def test_evaluation_equals_engine(ew: ExportWorld) -> None:  # noqa: F811
    from naeq.analysis import adapters, balanced
    from naeq.engines import estimation as est

    run = _start(ew)
    rule = {"min_level": "II", "max_rate": 0.5, "definition": "eta_squared"}
    got = {r.path: r for r in balanced.evaluate(actor=_admin(ew), cycle=ew.cycle, counties=COUNTIES, rule=rule)}
    assert set(got) == set(COUNTIES)
    inp = adapters.gather(run)
    dc, _dn, _c = _designs(inp)
    br = est.BalancedCountyRule(cuts=inp.cuts, min_level="II", max_rate=0.5, definition="eta_squared")
    want = {str(b.county[0]): b for b in est.balanced_county(dc, inp.pvs, inp.county, br,
                                                             rules=est.SuppressionRules(**SMALL))}
    for path, res in got.items():
        ev = res.evidence["subjects"][run.instrument_code]
        b = want[path]
        assert ev["mean"] == pytest.approx(b.mean) and ev["rate"] == pytest.approx(b.rate)
        assert ev["level"] == b.level and ev["passed"] == b.passed and ev["same_inputs"] is True
        expect = "insufficient" if b.suppressed else ("passed" if b.passed else "failed")
        assert res.status == expect
        assert res.rule == rule
    assert list(balanced.latest_results(ew.cycle).values_list("path", flat=True)) == COUNTIES
    prov = ew.user("province_coordinator@A")
    assert {r.path for r in balanced.results_visible(actor=prov, cycle=ew.cycle)} == set(COUNTIES[:2])
    assert not balanced.results_visible(actor=ew.user("school_head@A"), cycle=ew.cycle).exists()


@pytest.mark.django_db
def test_default_rule_small_counties_are_insufficient(ew: ExportWorld) -> None:  # noqa: F811
    from naeq.analysis import balanced

    _start(ew, options={})  # default suppression: 12 students per county are too few
    res = balanced.evaluate(actor=_admin(ew), cycle=ew.cycle, counties=COUNTIES[:1])
    assert [r.status for r in res] == ["insufficient"]
    assert res[0].rule == balanced.DEFAULT_RULE


@pytest.mark.django_db
def test_rule_checked_and_national_only(ew: ExportWorld) -> None:  # noqa: F811
    from naeq.analysis import balanced
    from naeq.core.errors import InvalidInput, NotFound

    _start(ew)
    with pytest.raises(InvalidInput) as e:
        balanced.evaluate(actor=_admin(ew), cycle=ew.cycle, counties=COUNTIES,
                          rule={"min_level": "V", "max_rate": 2, "definition": "x"})
    assert {p.field for p in e.value.problems} == {"min_level", "max_rate", "definition"}
    with pytest.raises(InvalidInput):  # no application counties in this cycle's sample
        balanced.evaluate(actor=_admin(ew), cycle=ew.cycle)
    with pytest.raises(NotFound):
        balanced.evaluate(actor=ew.user("province_coordinator@A"), cycle=ew.cycle, counties=COUNTIES)
