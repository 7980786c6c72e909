"""Reads of screening runs for the 数据质量甄别 pages, through :mod:`naeq.quality.access` (national staff only; for
everyone else a run, unit or pair does not exist — the same :class:`NotFound` as for a missing one).

What a page needs is shaped here, not in the view: a unit's indicators in the engine's order with their Chinese
label and plain meaning (:mod:`naeq.quality.meanings`); a county's schools ranked; a school's reported pairs,
clusters and misfitting test takers (by test ID: no names, minors' data minimised); a pair's two answer strings
item by item, each position classified (same right answer, same wrong answer, both omitted, different, not
administered); and the ranked lists as rows for the Excel export, streamed with ``iterator()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from naeq.core.errors import NotFound
from naeq.delivery.models import Instrument, InstrumentKind, TestTaker
from naeq.quality import access, meanings
from naeq.quality.models import (
    DECIDED,
    Case,
    ScreenedCluster,
    ScreenedPair,
    ScreenedPerson,
    ScreenedUnit,
    ScreeningRun,
    UnitLevel,
)

#: Rows of a ranked list per page.
PAGE = 50
#: Reported pairs, clusters and misfitting test takers shown on a unit page.
UNIT_PAIRS = 50
UNIT_MISFITS = 20
#: lz* lower-tail p at or below which a test taker counts as misfitting on the unit page.
MISFIT_P = 0.01
#: Units drawn in a run's ranked chart, per level (most suspect first).
CHART_UNITS = {UnitLevel.COUNTY.value: 1000, UnitLevel.SCHOOL.value: 500}


# ------------------------------------------------------------------------------------------------ runs


def run_list(*, actor: Any) -> QuerySet[ScreeningRun]:
    """The runs, newest first (national staff only; others NotFound)."""
    access.require_screener(actor=actor)
    return access.runs_visible(actor=actor).select_related("cycle", "created_by")


def run_statuses(*, actor: Any) -> QuerySet[ScreeningRun]:
    """The newest runs' progress only (what the polling pages ask for)."""
    access.require_screener(actor=actor)
    return access.runs_visible(actor=actor).only("id", "status", "progress", "stage", "error")[:100]


def run_get(*, actor: Any, run_id: int) -> ScreeningRun:
    return access.run_access(actor=actor, run_id=run_id)


def instruments_for_screening(*, actor: Any) -> list[tuple[int, str, str, str]]:
    """(cycle id, cycle name, instrument code, instrument name) of the tests that can be screened, newest cycle
    first; one row per code (its newest version's name)."""
    access.require_screener(actor=actor)
    rows = (Instrument.objects.filter(kind=InstrumentKind.TEST).select_related("cycle")
            .order_by("-cycle__year", "code", "-version").values_list("cycle_id", "cycle__name", "code", "name"))
    seen: set[tuple[int, str]] = set()
    out = []
    for cycle_id, cycle_name, code, name in rows:
        if (cycle_id, code) not in seen:
            seen.add((cycle_id, code))
            out.append((cycle_id, cycle_name, code, name))
    return out


# ------------------------------------------------------------------------------------------------ indicators


def fmt(v: float | None) -> str:
    """A statistic or p-value for a page: three significant digits (small p in powers of ten), "—" when missing."""
    if v is None:
        return "—"
    f = float(v)
    if f != f:
        return "—"
    if f == 0 or 1e-3 <= abs(f) < 1e5:
        return f"{f:.3g}" if abs(f) < 1000 else f"{f:.0f}"
    return f"{f:.2e}"


@dataclass(frozen=True)
class IndicatorRow:
    name: str
    label: str
    meaning: str
    direction: str
    stat: float | None
    expected: float | None
    p: float | None
    q: float | None
    driver: bool

    @property
    def shown(self) -> dict[str, str]:
        return {"stat": fmt(self.stat), "expected": fmt(self.expected), "p": fmt(self.p), "q": fmt(self.q)}


def indicator_rows(unit: ScreenedUnit, order: list[str] | None = None, *,
                   drivers_only: bool = False) -> list[IndicatorRow]:
    """The unit's computable indicators with label and meaning: the drivers first (most significant first), then
    the rest in the engine's ``order`` (names not in it after, sorted)."""
    drivers = list(unit.drivers or [])
    names = [n for n in (order or []) if n in unit.indicators]
    names += sorted(set(unit.indicators) - set(names))
    chosen = drivers if drivers_only else [*drivers, *(n for n in names if n not in drivers)]
    rows = []
    for name in chosen:
        v = unit.indicators.get(name) or {}
        rows.append(IndicatorRow(name=name, label=meanings.label(name), meaning=meanings.meaning(name),
                                 direction=meanings.direction(name), stat=v.get("stat"),
                                 expected=v.get("expected"), p=v.get("p"), q=v.get("q"), driver=name in drivers))
    return rows


def _order(run: ScreeningRun, level: str) -> list[str]:
    return list(((run.summary or {}).get("indicators") or {}).get(level) or [])


# ------------------------------------------------------------------------------------------------ ranked lists


def _level(level: str) -> str:
    return level if level in UnitLevel.values else UnitLevel.COUNTY.value


def run_units(*, actor: Any, run_id: int, level: str, flagged_only: bool = False
              ) -> tuple[ScreeningRun, QuerySet[ScreenedUnit]]:
    """A run and its units of ``level`` (county unless "school") ranked, most suspect first; only the flagged
    ones when asked."""
    run = access.run_access(actor=actor, run_id=run_id)
    qs = (ScreenedUnit.objects.filter(run=run, level=_level(level)).select_related("county", "school")
          .order_by("rank"))
    return run, qs.filter(flag=True) if flagged_only else qs


@dataclass
class UnitRow:
    unit: ScreenedUnit
    drivers: list[IndicatorRow]

    @property
    def p(self) -> str:
        return fmt(self.unit.combined_p)

    @property
    def q(self) -> str:
        return fmt(self.unit.combined_q)


def unit_rows(run: ScreeningRun, units: Any) -> list[UnitRow]:
    """One ranked page's rows with their drivers' labels and meanings."""
    return [UnitRow(unit=u, drivers=indicator_rows(u, _order(run, u.level), drivers_only=True)) for u in units]


def chart_points(run: ScreeningRun, level: str) -> tuple[list[tuple[float, bool]], int]:
    """(combined p, flag) of the most suspect units of ``level`` in rank order, and how many units the level has."""
    level = _level(level)
    qs = ScreenedUnit.objects.filter(run=run, level=level)
    points = [(float(p), bool(f)) for p, f in qs.order_by("rank").values_list("combined_p", "flag")
              [: CHART_UNITS[level]]]
    return points, qs.count()


# ------------------------------------------------------------------------------------------------ one unit


@dataclass
class MisfitRow:
    code: str
    theta: float
    lz_star: float | None
    lz_p: float | None
    cluster: int | None

    @property
    def shown(self) -> dict[str, str]:
        return {"theta": fmt(self.theta), "lz_star": fmt(self.lz_star), "lz_p": fmt(self.lz_p)}


@dataclass
class PairRow:
    pair: ScreenedPair

    @property
    def shown(self) -> dict[str, str]:
        return pair_shown(self.pair)


def pair_shown(p: ScreenedPair) -> dict[str, str]:
    return {"omega": fmt(p.omega), "omega_p": fmt(p.omega_p), "bonferroni": fmt(p.omega_p_bonferroni),
            "gbt_p": fmt(p.gbt_p), "ii_p": fmt(p.ii_p)}


@dataclass
class ClusterRow:
    cluster: ScreenedCluster
    school_name: str
    source_code: str
    member_codes: list[str]


@dataclass
class UnitDetail:
    run: ScreeningRun
    unit: ScreenedUnit
    indicators: list[IndicatorRow]
    schools: list[UnitRow] = field(default_factory=list)      # a county's schools, ranked
    pairs: list[PairRow] = field(default_factory=list)         # a school's reported pairs, most similar first
    n_pairs: int = 0
    clusters: list[ClusterRow] = field(default_factory=list)
    misfits: list[MisfitRow] = field(default_factory=list)
    n_misfits: int = 0
    open_case: Case | None = None                               # the unit's undecided case, if any
    past_cases: list[Case] = field(default_factory=list)        # its decided cases

    @property
    def combined(self) -> dict[str, str]:
        return {"p": fmt(self.unit.combined_p), "q": fmt(self.unit.combined_q)}


def _unit_access(actor: Any, unit_id: int) -> ScreenedUnit:
    unit = (ScreenedUnit.objects.filter(pk=unit_id, run__in=access.runs_visible(actor=actor))
            .select_related("run", "run__cycle", "run__created_by", "county", "school").first())
    if unit is None:
        raise NotFound(_("没有找到该甄别单位。"))
    return unit


def _clusters(run: ScreeningRun, where: Q) -> list[ClusterRow]:
    rows = list(ScreenedCluster.objects.filter(where, run=run).select_related("school", "source").order_by("number"))
    ids = {int(i) for c in rows for i in c.members}
    codes = dict(TestTaker.objects.filter(pk__in=ids).values_list("pk", "code"))
    return [ClusterRow(cluster=c, school_name=c.school.name, source_code=c.source.code,
                       member_codes=[codes.get(int(i), "") for i in c.members]) for c in rows]


def _cases(unit: ScreenedUnit) -> tuple[Case | None, list[Case]]:
    run = unit.run
    where = Q(school__isnull=True) if unit.school_id is None else Q(school_id=unit.school_id)
    qs = Case.objects.filter(Q(unit=unit) | (where & Q(cycle_id=run.cycle_id, instrument_code=run.instrument_code,
                                                       level=unit.level, county_id=unit.county_id)))
    found = list(qs.order_by("-opened_at", "-id"))
    open_case = next((c for c in found if c.state not in DECIDED), None)
    return open_case, [c for c in found if c.state in DECIDED]


def unit_detail(*, actor: Any, unit_id: int) -> UnitDetail:
    """One county or school of a run: every indicator, a county's schools ranked and its clusters, a school's
    reported pairs, clusters and misfitting test takers (lz* p ≤ :data:`MISFIT_P`), and its cases."""
    unit = _unit_access(actor, unit_id)
    run = unit.run
    d = UnitDetail(run=run, unit=unit, indicators=indicator_rows(unit, _order(run, unit.level)))
    if unit.level == UnitLevel.COUNTY:
        schools = (ScreenedUnit.objects.filter(run=run, level=UnitLevel.SCHOOL, county_id=unit.county_id)
                   .select_related("county", "school").order_by("rank"))
        d.schools = unit_rows(run, schools)
        d.clusters = _clusters(run, Q(path=unit.path))
    elif unit.school_id is not None:
        pairs = ScreenedPair.objects.filter(run=run, school_id=unit.school_id)
        d.n_pairs = pairs.count()
        d.pairs = [PairRow(p) for p in pairs.select_related("person_a", "person_b", "copier")
                   .order_by("omega_p", "id")[:UNIT_PAIRS]]
        d.clusters = _clusters(run, Q(school_id=unit.school_id))
        misfit = ScreenedPerson.objects.filter(run=run, school_id=unit.school_id, lz_p__lte=MISFIT_P)
        d.n_misfits = misfit.count()
        d.misfits = [MisfitRow(code=c, theta=t, lz_star=lz, lz_p=p, cluster=k) for c, t, lz, p, k in misfit.order_by(
            "lz_p", "id").values_list("test_taker__code", "theta", "lz_star", "lz_p", "cluster")[:UNIT_MISFITS]]
    d.open_case, d.past_cases = _cases(unit)
    return d


# ------------------------------------------------------------------------------------------------ one pair


@dataclass(frozen=True)
class PairCell:
    """One item of a pair: the key and both answers (``None`` not administered, ``""`` omitted), and ``kind``:
    ``same_right`` (both the key), ``same_wrong`` (the same wrong option), ``same_omit`` (both omitted),
    ``differ``, or ``na`` (not administered to one of them)."""

    position: int
    item: str
    key: str
    a: str | None
    b: str | None
    kind: str


def pair_cells(items: list[str], keys: list[str], a: list[Any], b: list[Any]) -> list[PairCell]:
    cells = []
    for j, item in enumerate(items):
        key = keys[j] if j < len(keys) else ""
        x = a[j] if j < len(a) else None
        y = b[j] if j < len(b) else None
        if x is None or y is None:
            kind = "na"
        elif x != y:
            kind = "differ"
        elif x == "":
            kind = "same_omit"
        elif x == key:
            kind = "same_right"
        else:
            kind = "same_wrong"
        cells.append(PairCell(position=j + 1, item=item, key=key, a=x, b=y, kind=kind))
    return cells


@dataclass
class PairDetail:
    run: ScreeningRun
    pair: ScreenedPair
    cells: list[PairCell]
    counts: dict[str, int]
    unit: ScreenedUnit | None  # the pair's school in the run

    @property
    def shown(self) -> dict[str, str]:
        return pair_shown(self.pair)


def pair_detail(*, actor: Any, pair_id: int) -> PairDetail:
    """A reported pair of a run the actor may read, with both answer strings item by item (test IDs only)."""
    pair = (ScreenedPair.objects.filter(pk=pair_id, run__in=access.runs_visible(actor=actor))
            .select_related("run", "run__cycle", "county", "school", "person_a", "person_b", "copier", "source")
            .first())
    if pair is None:
        raise NotFound(_("没有找到该作答对。"))
    run = pair.run
    summary = run.summary or {}
    cells = pair_cells(list(summary.get("items") or []), list(summary.get("keys") or []), list(pair.options_a),
                       list(pair.options_b))
    counts = {k: sum(1 for c in cells if c.kind == k) for k in ("same_right", "same_wrong", "same_omit", "differ",
                                                                  "na")}
    unit = ScreenedUnit.objects.filter(run=run, level=UnitLevel.SCHOOL, school_id=pair.school_id).first()
    return PairDetail(run=run, pair=pair, cells=cells, counts=counts, unit=unit)


# ------------------------------------------------------------------------------------------------ export


def export_rows(*, actor: Any, run_id: int, level: str) -> tuple[ScreeningRun, list[str], Iterator[list[Any]]]:
    """A run's ranked units of ``level`` as spreadsheet rows: the heading and the rows (rank, codes and names,
    persons, combined p/q, flag, the drivers' labels, then stat/expected/p/q of every indicator in the engine's
    order). Streamed from the database."""
    run = access.run_access(actor=actor, run_id=run_id)
    level = _level(level)
    names = _order(run, level)
    qs = ScreenedUnit.objects.filter(run=run, level=level).order_by("rank")
    if not names:
        names = sorted({n for ind in qs.values_list("indicators", flat=True) for n in ind})
    head = [_("排序"), _("区县代码"), _("区县")]
    if level == UnitLevel.SCHOOL:
        head += [_("学校标识码"), _("学校")]
    head += [_("人数"), _("综合p值"), _("综合q值"), _("疑似异常"), _("主要指标")]
    for nm in names:
        lab = meanings.label(nm)
        head += [f"{lab}（{_('统计量')}）", f"{lab}（{_('期望值')}）", f"{lab}（p）", f"{lab}（q）"]

    def rows() -> Iterator[list[Any]]:
        yes, no = _("是"), _("否")
        for rank, ccode, cname, scode, sname, n, ind, cp, cq, flag, drivers in qs.values_list(
                "rank", "county__code", "county__name", "school__code", "school__name", "n_persons", "indicators",
                "combined_p", "combined_q", "flag", "drivers").iterator(chunk_size=2000):
            row: list[Any] = [rank, ccode, cname]
            if level == UnitLevel.SCHOOL:
                row += [scode, sname]
            row += [n, cp, cq, yes if flag else no, "、".join(meanings.label(d) for d in drivers)]
            for nm in names:
                v = ind.get(nm) or {}
                row += [v.get("stat"), v.get("expected"), v.get("p"), v.get("q")]
            yield row

    return run, head, rows()
