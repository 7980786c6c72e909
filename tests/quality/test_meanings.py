"""Every indicator name the forensics engine emits has a label, a plain meaning and a direction.

Seed rule (2023-national-briefing.txt): "原始数据初筛：利用统计指标，定位数据异常区县" — the pages name the
indicators that drove each flag, so each must be explained. The names are taken from the engine's own output with
every optional input (the simulator's full cycle), so this fails when the engine adds an indicator.
"""

from __future__ import annotations

from naeq.engines.forensics import screen
from naeq.engines.forensics.simulate import simulate_clean
from naeq.quality import meanings


def test_every_emitted_indicator_has_a_meaning_and_none_is_stale():
    cyc = simulate_clean(5, counties=6, schools_per_county=4, students=12)
    res = screen(cyc.options, cyc.key, exact_tests=False, **cyc.screen_kwargs())
    emitted = set(res.schools.p) | set(res.counties.p)
    assert emitted - meanings.known() == set()
    assert meanings.known() - emitted == set()
    for name in emitted:
        assert meanings.label(name) != name and meanings.meaning(name) and meanings.direction(name)


def test_unknown_name_falls_back_to_itself():
    assert meanings.label("no_such_indicator") == "no_such_indicator"
    assert meanings.meaning("no_such_indicator") == "" and meanings.direction("no_such_indicator") == ""
