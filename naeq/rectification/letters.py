"""Which of a province's estimates are problems: the rules of the problem letter.

Seed (collected-county-and-school-plans.txt, 篇四): "直接将监测中发现的主要问题发函至各省政府办公厅，且只列问题不谈
经验". So every rule here can only find a *shortfall*; there is no rule that produces a strength, and a province
that is at or above the nation in everything gets an empty list (and no letter). A suppressed estimate — the
province's, a county's or the nation's one it is compared with — is never used.

The rules (thresholds in :class:`Rules`, recorded on the letter; docs/rectification.md):

* ``mean_below_nation`` — the province's mean is significantly below the nation's (the run's ``difference`` row
  ``vs_nation`` with ``sign = −1``);
* ``share_below_nation`` — the share at 中等 or above (``at_or_above``, key ``II``) is below the nation's by a
  two-sided z test at ``alpha`` (provincial and national samples are independent in the design, so the SE of the
  difference is √(se_p² + se_n²));
* ``urban_rural_gap`` / ``sex_gap`` — a significant gap (``difference`` rows ``urban-rural`` / ``F-M``) whose size
  is at least ``gap_points`` score points;
* ``diff_rate`` — a county of the province whose 校际差异率 is above ``diff_rate_max`` (0.15, the high-quality
  balanced county criterion), one problem per county;
* ``county_below_nation`` / ``county_below_province`` — a county of the province whose mean is significantly below
  the nation's / its province's (the run's county ``difference`` rows ``vs_nation`` / ``vs_province`` with
  ``sign = −1``) by at least ``county_gap_points`` score points. One problem per county and subject: a county below
  both is one ``county_below_nation`` problem whose text and evidence carry both differences. The county is the
  responsible unit; its plan targets its own mean. This is what a one-province world (the demo's: the province is
  the whole nation) can show, and what a real letter forwards for its counties to claim ("反馈……所反馈的四个方面
  问题", "认领问题");
* ``county_low_share`` — a county whose share at the lowest level (待提高: ``level_share`` of the level that has no
  ``at_or_above`` row, the at-or-above share of the lowest level being 1 by definition) is above the nation's by at
  least ``county_share_gap`` and significantly so (two-sided z test at ``alpha``). The county is part of the nation
  (the same students count in both), so the covariance of the two estimates is positive and √(se_c² + se_n²)
  overstates the SE of the difference: the test is conservative;
* ``sleep_share`` — the share sleeping the required time (``proportion`` of ``sleep`` = ``1``) significantly below
  the nation's;
* ``homework_share`` — the share whose daily homework exceeds the rule (``homework_time`` categories in
  ``homework_over``: more than one hour, "三至六年级日常不超过1小时") significantly above the nation's. The SE of a
  sum of categories is taken as √Σse² — an upper bound, the covariance of multinomial shares being negative — so
  the test is conservative;
* ``pe_obesity`` / ``pe_vision`` — the obesity or poor-vision rate (PE run, ``proportion`` ``obesity`` /
  ``poor_vision``) significantly above the nation's; ``pe_pass`` — the fitness pass rate significantly below.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from naeq.analysis.models import Estimate, EstimationRun, UnitLevel
from naeq.analysis.selectors import latest_done_runs


@dataclass(frozen=True)
class Rules:
    alpha: float = 0.05
    gap_points: float = 15.0
    diff_rate_max: float = 0.15
    homework_over: tuple[str, ...] = ("3", "4")
    #: a county's mean must be this many score points below the nation / its province (and significantly so)
    county_gap_points: float = 15.0
    #: a county's share at the lowest level must exceed the nation's by this much (and significantly so)
    county_share_gap: float = 0.05
    enabled: tuple[str, ...] = ("mean_below_nation", "share_below_nation", "urban_rural_gap", "sex_gap",
                                "diff_rate", "county_below_nation", "county_below_province", "county_low_share",
                                "sleep_share", "homework_share", "pe_obesity", "pe_vision", "pe_pass")

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Rules:
        data = dict(data or {})
        for k in ("homework_over", "enabled"):
            if k in data:
                data[k] = tuple(data[k])
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class Found:
    """A problem before it is saved: the rule, the unit, the estimate it rests on and the text."""

    rule: str
    instrument_code: str
    region_id: int
    path: str
    estimate: Estimate
    indicator: str
    value: float | None
    comparison: str
    target: tuple[str, str, str, str]  # statistic, group_var, group_value, key of the unit's own indicator
    better: int
    text: str
    evidence: dict[str, Any] = field(default_factory=dict)


def z_p(diff: float, se: float) -> float:
    """Two-sided p of a difference over its SE under the normal approximation."""
    if se <= 0:
        return 0.0 if diff != 0 else 1.0
    return math.erfc(abs(diff / se) / math.sqrt(2.0))


def subject_label(code: str) -> str:
    return {"math": _("数学"), "chinese": _("语文"), "science": _("科学"), "pe": _("体育与健康"),
            "pe_field_test": _("体育与健康"), "moral": _("德育"), "arts": _("艺术"), "labour": _("劳动"),
            "mental_health": _("心理健康"), "english": _("英语")}.get(code, code)


def rule_label(rule: str) -> str:
    """The rule's name as the letter's annex prints it."""
    return {"mean_below_nation": _("省平均成绩显著低于全国"),
            "share_below_nation": _("省中等及以上水平比例显著低于全国"),
            "urban_rural_gap": _("城乡差距显著且达到关注线"), "sex_gap": _("男女生差距显著且达到关注线"),
            "diff_rate": _("县校际差异率高于优质均衡标准"),
            "county_below_nation": _("县平均成绩显著低于全国且达到关注线"),
            "county_below_province": _("县平均成绩显著低于全省且达到关注线"),
            "county_low_share": _("县待提高水平比例显著高于全国且达到关注线"),
            "sleep_share": _("睡眠达标比例显著低于全国"), "homework_share": _("作业超时比例显著高于全国"),
            "pe_obesity": _("肥胖率显著高于全国"), "pe_vision": _("视力不良率显著高于全国"),
            "pe_pass": _("体质健康达标率显著低于全国")}.get(rule, rule)


def _ev(e: Estimate) -> dict[str, Any]:
    return {"id": e.pk, "level": e.level, "path": e.path, "statistic": e.statistic, "key": e.key,
            "group_var": e.group_var, "group_value": e.group_value, "value": e.value, "se": e.se, "n": e.n,
            "p_value": e.p_value, "sign": e.sign}


def _f(v: float | None, digits: int = 1) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _pv(p: float | None) -> str:
    """A p-value as printed: "p < 0.001" below a thousandth, else "p = 0.012"."""
    if p is None:
        return "p = —"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


class _Rows:
    """The unsuppressed estimates of one run for the nation, one province and its counties, by key."""

    def __init__(self, rows: Iterable[Estimate], province_path: str) -> None:
        self.prov: dict[tuple[str, str, str, str], Estimate] = {}
        self.nat: dict[tuple[str, str, str, str], Estimate] = {}
        self.counties: list[Estimate] = []
        self.county: dict[str, dict[tuple[str, str, str, str], Estimate]] = {}
        for e in rows:
            if e.suppressed or e.value is None:
                continue
            k = (e.statistic, e.group_var, e.group_value, e.key)
            if e.level == UnitLevel.NATION:
                self.nat[k] = e
            elif e.level == UnitLevel.PROVINCE and e.path == province_path:
                self.prov[k] = e
            elif e.level == UnitLevel.COUNTY and e.path.startswith(province_path):
                self.counties.append(e)
                self.county.setdefault(e.path, {})[k] = e

    def pair(self, k: tuple[str, str, str, str]) -> tuple[Estimate, Estimate] | None:
        p, n = self.prov.get(k), self.nat.get(k)
        if p is None or n is None or p.se is None or n.se is None:
            return None
        return p, n


def derive(run: EstimationRun, province: Any, rules: Rules | None = None,
           rows: Sequence[Estimate] | None = None) -> list[Found]:
    """The problems of ``province`` in one estimation run (in rule order). Never a strength."""
    rules = rules or Rules()
    on = set(rules.enabled)
    if rows is None:
        rows = list(Estimate.objects.filter(run=run).filter(path__startswith=province.path)
                    | Estimate.objects.filter(run=run, level=UnitLevel.NATION))
    r = _Rows(rows, province.path)
    subj = subject_label(run.instrument_code)
    name = province.name
    out: list[Found] = []
    base_ev = {"run": run.pk, "inputs_hash": run.inputs_hash, "instrument_code": run.instrument_code,
               "cycle": run.cycle_id}

    def add(rule: str, est: Estimate, indicator: str, comparison: str, target: tuple[str, str, str, str],
            better: int, text: str, region_id: int | None = None, path: str | None = None,
            **evidence: Any) -> None:
        out.append(Found(rule=rule, instrument_code=run.instrument_code, region_id=region_id or province.pk,
                         path=path or province.path, estimate=est, indicator=indicator, value=est.value,
                         comparison=comparison, target=target, better=better, text=text,
                         evidence={**base_ev, **evidence}))

    def z_rule(rule: str, k: tuple[str, str, str, str], worse: int, indicator: str, text: str) -> None:
        """A share of the province against the nation's; a problem when significantly worse (``worse`` = the
        sign of a worse difference)."""
        pair = r.pair(k)
        if pair is None:
            return
        p, n = pair
        assert p.value is not None and n.value is not None and p.se is not None and n.se is not None
        diff = p.value - n.value
        se = math.hypot(p.se, n.se)
        pv = z_p(diff, se)
        if diff * worse > 0 and pv < rules.alpha:
            cmp = _("%(dir)s全国（%(nat)s），差异显著（%(p)s）") % {
                "dir": _("高于") if worse > 0 else _("低于"), "nat": _pct(n.value), "p": _pv(pv)}
            add(rule, p, indicator, cmp, k, -worse, text % {"name": name, "subj": subj, "v": _pct(p.value),
                                                           "nat": _pct(n.value), "p": _pv(pv)},
                estimates={"province": _ev(p), "nation": _ev(n)}, difference=diff, se=se, p_value=pv)

    if "mean_below_nation" in on:
        d = r.prov.get(("difference", "", "", "vs_nation"))
        mean = r.prov.get(("mean", "", "", ""))
        nat = r.nat.get(("mean", "", "", ""))
        if d is not None and d.sign == -1 and mean is not None:
            cmp = _("低于全国%(d)s分，差异显著（%(p)s）") % {"d": _f(-(d.value or 0.0)), "p": _pv(d.p_value)}
            add("mean_below_nation", d, _("%(subj)s平均成绩") % {"subj": subj}, cmp, ("mean", "", "", ""), 1,
                _("%(name)s学生%(subj)s平均成绩为%(v)s分，显著低于全国平均水平（%(nat)s分），相差%(d)s分（"
                  "%(p)s）。") % {"name": name, "subj": subj, "v": _f(mean.value), "nat": _f(nat.value if nat
                                                                                        else None),
                                   "d": _f(-(d.value or 0.0)), "p": _pv(d.p_value)},
                estimates={"difference": _ev(d), "province": _ev(mean), **({"nation": _ev(nat)} if nat else {})},
                difference=d.value, se=d.se, p_value=d.p_value)
    if "share_below_nation" in on:
        z_rule("share_below_nation", ("at_or_above", "", "", "II"), -1,
               _("%(subj)s中等及以上水平学生比例") % {"subj": subj},
               _("%(name)s学生%(subj)s达到中等及以上水平的比例为%(v)s，显著低于全国（%(nat)s，%(p)s）。"))
    for rule, key, gv, label in (("urban_rural_gap", "urban-rural", "urban_rural", _("城乡")),
                                 ("sex_gap", "F-M", "sex", _("男女生"))):
        if rule not in on:
            continue
        d = r.prov.get(("difference", gv, "", key)) or r.prov.get(("difference", "", "", key))
        if d is None or d.value is None or not d.sign or abs(d.value) < rules.gap_points:
            continue
        ind = _("%(subj)s%(label)s差距") % {"subj": subj, "label": label}
        cmp = _("相差%(d)s分，差异显著（%(p)s），达到%(t)s分的关注线") % {
            "d": _f(abs(d.value)), "p": _pv(d.p_value), "t": _f(rules.gap_points, 0)}
        text = _("%(name)s学生%(subj)s成绩%(label)s差距较大：相差%(d)s分，差异显著（%(p)s）。") % {
            "name": name, "subj": subj, "label": label, "d": _f(abs(d.value)), "p": _pv(d.p_value)}
        add(rule, d, ind, cmp, ("difference", d.group_var, "", key), -1 if d.value > 0 else 1, text,
            estimates={"difference": _ev(d)}, difference=d.value, se=d.se, p_value=d.p_value,
            threshold=rules.gap_points)
    if "diff_rate" in on:
        for c in sorted((c for c in r.counties if c.statistic == "diff_rate" and not c.group_var),
                        key=lambda c: c.path):
            if c.value is None or c.value <= rules.diff_rate_max or c.region_id is None:
                continue
            county = c.region
            ind = _("%(subj)s校际差异率") % {"subj": subj}
            cmp = _("高于%(t)s的优质均衡标准") % {"t": f"{rules.diff_rate_max:.2f}"}
            text = _("%(county)s学生%(subj)s成绩校际差异率为%(v)s，高于优质均衡县标准（%(t)s），校际差异较大。") % {
                "county": county.name if county else c.path, "subj": subj, "v": f"{c.value:.3f}",
                "t": f"{rules.diff_rate_max:.2f}"}
            add("diff_rate", c, ind, cmp, ("diff_rate", "", "", ""), -1, text, region_id=c.region_id, path=c.path,
                estimates={"county": _ev(c)}, threshold=rules.diff_rate_max)
    county_rules = on & {"county_below_nation", "county_below_province", "county_low_share"}
    if county_rules:
        low = _lowest_level(r)
        for path in sorted(r.county):
            _county_problems(r, path, county_rules, low, rules, subj, add)
    if "sleep_share" in on:
        z_rule("sleep_share", ("proportion", "sleep", "1", "1"), -1, _("睡眠时间达标的学生比例"),
               _("%(name)s学生睡眠时间达到规定的比例为%(v)s，显著低于全国（%(nat)s，%(p)s）。"))
    if "homework_share" in on:
        got = [(r.prov.get(("proportion", "homework_time", k, k)), r.nat.get(("proportion", "homework_time", k, k)))
               for k in rules.homework_over]
        over = [(a, b) for a, b in got if a is not None and b is not None]
        if over and len(over) == len(got):
            pv_ = float(sum(a.value or 0.0 for a, _b in over))
            nv_ = float(sum(b.value or 0.0 for _a, b in over))
            se_p = math.sqrt(float(sum((a.se or 0.0) ** 2 for a, _b in over)))
            se_n = math.sqrt(float(sum((b.se or 0.0) ** 2 for _a, b in over)))
            diff = pv_ - nv_
            pv = z_p(diff, math.hypot(se_p, se_n))
            if diff > 0 and pv < rules.alpha:
                first = over[0][0]
                add("homework_share", first, _("每天作业时间超过规定的学生比例"),
                    _("高于全国（%(nat)s），差异显著（%(p)s）") % {"nat": _pct(nv_), "p": _pv(pv)},
                    ("proportion", "homework_time", first.group_value, first.key), -1,
                    _("%(name)s学生每天完成作业时间超过规定的比例为%(v)s，显著高于全国（%(nat)s，%(p)s），"
                      "课业负担偏重。") % {"name": name, "v": _pct(pv_), "nat": _pct(nv_), "p": _pv(pv)},
                    estimates={"province": [_ev(p) for p, _n in over if p],
                               "nation": [_ev(n) for _p, n in over if n]},
                    value_sum=pv_, nation_sum=nv_, difference=diff, se=math.hypot(se_p, se_n), p_value=pv,
                    categories=list(rules.homework_over))
    pe_text = {"pe_obesity": _("%(name)s学生肥胖率为%(v)s，显著高于全国（%(nat)s，%(p)s）。"),
               "pe_vision": _("%(name)s学生视力不良率为%(v)s，显著高于全国（%(nat)s，%(p)s）。"),
               "pe_pass": _("%(name)s学生体质健康达标率为%(v)s，显著低于全国（%(nat)s，%(p)s）。")}
    for rule, key, worse, label in (("pe_obesity", "obesity", 1, _("学生肥胖率")),
                                    ("pe_vision", "poor_vision", 1, _("学生视力不良率")),
                                    ("pe_pass", "pass", -1, _("学生体质健康达标率"))):
        if rule in on:
            z_rule(rule, ("proportion", "", "", key), worse, label, pe_text[rule])
    return out


def _lowest_level(r: _Rows) -> str | None:
    """The lowest level's code (待提高): the nation's ``level_share`` key that has no ``at_or_above`` row (the share
    at the lowest level or above is 1, never written); None unless exactly one such key."""
    shares = {k[3] for k in r.nat if k[0] == "level_share" and not k[1]}
    above = {k[3] for k in r.nat if k[0] == "at_or_above" and not k[1]}
    low = shares - above
    return next(iter(low)) if len(low) == 1 and above else None


def _county_problems(r: _Rows, path: str, on: set[str], low: str | None, rules: Rules, subj: str,
                     add: Any) -> None:
    """The county rules for one county: at most one mean problem (below the nation and/or its province) and one
    lowest-level share problem."""
    rows = r.county[path]
    mean = rows.get(("mean", "", "", ""))
    if mean is None or mean.region_id is None:
        return
    county = mean.region
    cname = county.name if county else path
    gap = rules.county_gap_points

    def below(key: str, rule: str) -> Estimate | None:
        d = rows.get(("difference", "", "", key))
        if rule not in on or d is None or d.value is None or d.sign != -1 or -d.value < gap:
            return None
        return d

    vs_n, vs_p = below("vs_nation", "county_below_nation"), below("vs_province", "county_below_province")
    nat = r.nat.get(("mean", "", "", ""))
    prov = r.prov.get(("mean", "", "", ""))
    if vs_n is not None or vs_p is not None:
        main = vs_n if vs_n is not None else vs_p
        assert main is not None
        fmt = {"county": cname, "subj": subj, "v": _f(mean.value), "nat": _f(nat.value if nat else None),
               "prov": _f(prov.value if prov else None), "t": _f(gap, 0)}
        if vs_n is not None and vs_p is not None:
            fmt.update(d=_f(-(vs_n.value or 0.0)), p=_pv(vs_n.p_value), dp=_f(-(vs_p.value or 0.0)),
                       pp=_pv(vs_p.p_value))
            if (fmt["d"], fmt["p"], fmt["nat"]) == (fmt["dp"], fmt["pp"], fmt["prov"]):
                # the province is the whole nation (a one-province world): one comparison, said once
                cmp = _("低于全国和全省%(d)s分，差异显著（%(p)s），达到%(t)s分的关注线") % fmt
                text = _("%(county)s学生%(subj)s平均成绩为%(v)s分，显著低于全国和全省平均水平（%(nat)s分），相差"
                         "%(d)s分（%(p)s）。") % fmt
            else:
                cmp = _("低于全国%(d)s分（%(p)s）、低于全省%(dp)s分（%(pp)s），差异显著，达到%(t)s分的关注线") % fmt
                text = _("%(county)s学生%(subj)s平均成绩为%(v)s分，显著低于全国平均水平（%(nat)s分，相差%(d)s分，"
                         "%(p)s）和全省平均水平（%(prov)s分，相差%(dp)s分，%(pp)s）。") % fmt
        elif vs_n is not None:
            fmt.update(d=_f(-(vs_n.value or 0.0)), p=_pv(vs_n.p_value))
            cmp = _("低于全国%(d)s分，差异显著（%(p)s），达到%(t)s分的关注线") % fmt
            text = _("%(county)s学生%(subj)s平均成绩为%(v)s分，显著低于全国平均水平（%(nat)s分），相差%(d)s分"
                     "（%(p)s）。") % fmt
        else:
            assert vs_p is not None
            fmt.update(d=_f(-(vs_p.value or 0.0)), p=_pv(vs_p.p_value))
            cmp = _("低于全省%(d)s分，差异显著（%(p)s），达到%(t)s分的关注线") % fmt
            text = _("%(county)s学生%(subj)s平均成绩为%(v)s分，显著低于全省平均水平（%(prov)s分），相差%(d)s分"
                     "（%(p)s）。") % fmt
        diffs = {k: _ev(d) for k, d in (("vs_nation", vs_n), ("vs_province", vs_p)) if d is not None}
        add("county_below_nation" if vs_n is not None else "county_below_province", main,
            _("%(subj)s平均成绩") % {"subj": subj}, cmp, ("mean", "", "", ""), 1, text, region_id=mean.region_id,
            path=path, estimates={"county": _ev(mean), **diffs,
                                  **({"nation": _ev(nat)} if nat else {}),
                                  **({"province": _ev(prov)} if prov and vs_p is not None else {})},
            difference=main.value, se=main.se, p_value=main.p_value, threshold=gap)
    if "county_low_share" in on and low is not None:
        k = ("level_share", "", "", low)
        c, n = rows.get(k), r.nat.get(k)
        if c is None or n is None or c.value is None or n.value is None or c.se is None or n.se is None:
            return
        diff = c.value - n.value
        se = math.hypot(c.se, n.se)
        pv = z_p(diff, se)
        if diff < rules.county_share_gap or pv >= rules.alpha:
            return
        fmt = {"county": cname, "subj": subj, "v": _pct(c.value), "nat": _pct(n.value), "p": _pv(pv),
               "d": f"{100 * diff:.1f}", "t": f"{100 * rules.county_share_gap:.0f}"}
        add("county_low_share", c, _("%(subj)s待提高水平学生比例") % {"subj": subj},
            _("高于全国%(d)s个百分点，差异显著（%(p)s），达到%(t)s个百分点的关注线") % fmt, k, -1,
            _("%(county)s学生%(subj)s成绩处于待提高水平的比例为%(v)s，显著高于全国（%(nat)s，%(p)s）。") % fmt,
            region_id=c.region_id, path=path, estimates={"county": _ev(c), "nation": _ev(n)}, difference=diff,
            se=se, p_value=pv, threshold=rules.county_share_gap, level=low)


def derive_all(cycle_id: int, province: Any, rules: Rules | None = None) -> list[Found]:
    """The problems of a province over every subject's latest done run of the cycle."""
    out: list[Found] = []
    once = {"sleep_share", "homework_share"}  # background factors: the same students in every subject's run
    for run in latest_done_runs(cycle_id):
        for f in derive(run, province, rules):
            if f.rule in once and any(o.rule == f.rule for o in out):
                continue
            out.append(f)
    return out
