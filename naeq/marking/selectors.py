"""Reads of constructed-response scoring: the organiser's overview, a rater's queue, agreement and drift
statistics, the arbitration queue, and the final scores for the scaling app and the export.

Pages call these with the acting user; access is decided in :mod:`naeq.marking.access`. The statistics are
computed by :mod:`naeq.engines.agreement` over integer arrays built here with one query per table.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from naeq.core.errors import NotFound
from naeq.cycles.models import Cycle
from naeq.engines.agreement import Agreement, agreement, rolling_accuracy
from naeq.marking import access
from naeq.marking.models import (
    Arbitration,
    Assignment,
    AssignmentStatus,
    MarkingSettings,
    MarkResponse,
    RaterItem,
    RaterProfile,
    ResponseStatus,
    Rubric,
    Source,
)
from naeq.marking.services import rater_scored_items, settings_for


@dataclass(frozen=True)
class ItemRow:
    instrument_code: str
    item_code: str
    stem: str
    max_score: int
    rubric: Rubric | None
    responses: int
    checks: int
    unassigned: int
    open: int
    arbitration: int
    final: int
    raters: int


def item_overview(*, actor: Any, cycle: Cycle) -> list[ItemRow]:
    """Per rater-scored item: rubric, responses by status, raters (a fixed number of queries)."""
    access.require_reader(actor=actor)
    items = rater_scored_items(cycle)
    rubrics = {(r.instrument_code, r.item_code): r for r in Rubric.objects.filter(cycle=cycle, is_current=True)}
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for inst, item, source, status, n in (MarkResponse.objects.filter(cycle=cycle)
                                          .values_list("instrument_code", "item_code", "source", "status")
                                          .annotate(n=Count("id")).order_by()):
        key = "check" if source == Source.CHECK else status
        counts[(inst, item)][key] += n
    unassigned = dict(((inst, item), n) for inst, item, n in (
        MarkResponse.objects.filter(cycle=cycle, status=ResponseStatus.OPEN).exclude(source=Source.CHECK)
        .exclude(assignments__status__in=[AssignmentStatus.PENDING, AssignmentStatus.SCORED,
                                          AssignmentStatus.FLAGGED])
        .values_list("instrument_code", "item_code").annotate(n=Count("id")).order_by()))
    raters = dict(((inst, item), n) for inst, item, n in (
        RaterItem.objects.filter(cycle=cycle).values_list("instrument_code", "item_code")
        .annotate(n=Count("id")).order_by()))
    rows = []
    for key, item in items.items():
        c = counts.get(key, {})
        rows.append(ItemRow(instrument_code=key[0], item_code=key[1], stem=item.stem[:60],
                            max_score=round(item.max_score), rubric=rubrics.get(key),
                            responses=sum(v for k, v in c.items() if k != "check"), checks=c.get("check", 0),
                            unassigned=unassigned.get(key, 0), open=c.get(ResponseStatus.OPEN, 0),
                            arbitration=c.get(ResponseStatus.ARBITRATION, 0), final=c.get(ResponseStatus.FINAL, 0),
                            raters=raters.get(key, 0)))
    return rows


def rubric_detail(*, actor: Any, rubric_id: int) -> Rubric:
    access.require_reader(actor=actor)
    r = Rubric.objects.prefetch_related("points", "anchors").filter(pk=rubric_id).first()
    if r is None:
        raise NotFound(_("没有找到该评分标准。"))
    return r


@dataclass(frozen=True)
class QueueView:
    assignment: Assignment | None
    rubric: Rubric | None
    remaining: int
    done: int
    suspended: bool
    senior: bool = False


def queue_next(*, actor: Any) -> QueueView:
    """The rater's next response (lowest queue position still pending) with the item's current rubric. What the
    rater sees of a response: its anonymous ID and content — never a name, school, test ID or item key."""
    profile = access.require_rater(actor=actor)
    mine = access.assignments_of(actor=actor)
    nxt = (mine.filter(status=AssignmentStatus.PENDING).select_related("response").order_by("position").first())
    rubric = None
    if nxt is not None:
        r = nxt.response
        rubric = (Rubric.objects.prefetch_related("points", "anchors")
                  .filter(cycle_id=r.cycle_id, instrument_code=r.instrument_code, item_code=r.item_code,
                          is_current=True).first())
    agg = mine.aggregate(remaining=Count("id", filter=Q(status=AssignmentStatus.PENDING)),
                         done=Count("id", filter=Q(status=AssignmentStatus.SCORED)))
    return QueueView(assignment=nxt, rubric=rubric, remaining=agg["remaining"], done=agg["done"],
                     suspended=profile.suspended, senior=profile.senior)


@dataclass(frozen=True)
class RaterRow:
    user: Any
    senior: bool
    suspended: bool
    items: list[str]
    pending: int
    scored: int


def rater_list(*, actor: Any, cycle: Cycle) -> list[RaterRow]:
    """Every rater account with its items and workload in the cycle (a fixed number of queries)."""
    access.require_reader(actor=actor)
    profiles = list(RaterProfile.objects.select_related("user", "user__region").order_by("user__username"))
    items: dict[int, list[str]] = defaultdict(list)
    for rater, inst, item in (RaterItem.objects.filter(cycle=cycle).order_by("instrument_code", "item_code")
                              .values_list("rater_id", "instrument_code", "item_code")):
        items[rater].append(f"{inst}/{item}")
    work: dict[tuple[int, str], int] = {(r, st): n for r, st, n in (
        Assignment.objects.filter(response__cycle=cycle).values_list("rater_id", "status")
        .annotate(n=Count("id")).order_by())}
    return [RaterRow(user=p.user, senior=p.senior, suspended=p.suspended, items=items.get(p.user_id, []),
                     pending=work.get((p.user_id, AssignmentStatus.PENDING), 0),
                     scored=work.get((p.user_id, AssignmentStatus.SCORED), 0)) for p in profiles]


# ------------------------------------------------------------------------------------------------ agreement


@dataclass(frozen=True)
class AgreementRow:
    label: str  # "instrument/item" or the rater's username
    key: Any
    stats: Agreement
    flags: tuple[str, ...]


def _pairs(cycle: Cycle) -> Iterator[tuple[str, str, int, int, int, int, int]]:
    """(instrument, item, max, rater a, score a, rater b, score b) of every double-scored, fully scored real
    response (check papers excluded), streamed: rows come ordered by response, so only one response's rows are
    held at a time."""
    rows = (Assignment.objects.filter(response__cycle=cycle, response__double=True, status=AssignmentStatus.SCORED)
            .exclude(response__source=Source.CHECK)
            .values_list("response_id", "response__instrument_code", "response__item_code",
                         "response__max_score", "rater_id", "score").order_by("response_id", "scored_at", "id"))
    current: list[tuple[Any, ...]] = []
    for row in rows.iterator(chunk_size=5000):
        if current and row[0] != current[0][0]:
            if len(current) >= 2:
                a, b = current[0], current[1]
                yield (a[1], a[2], a[3], a[4], a[5], b[4], b[5])
            current = []
        current.append(row)
    if len(current) >= 2:
        a, b = current[0], current[1]
        yield (a[1], a[2], a[3], a[4], a[5], b[4], b[5])


def _flags(stats: Agreement, cfg: MarkingSettings) -> tuple[str, ...]:
    flags = []
    if stats.n and stats.exact < cfg.min_exact:
        flags.append("exact")
    if stats.n and not math.isnan(stats.kappa) and stats.kappa < cfg.min_kappa:
        flags.append("kappa")
    return tuple(flags)


def agreement_by_item(*, actor: Any, cycle: Cycle) -> list[AgreementRow]:
    """Exact and adjacent agreement and quadratic-weighted kappa per item over its double-scored responses."""
    access.require_reader(actor=actor)
    cfg = settings_for(cycle)
    groups: dict[tuple[str, str, int], tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for inst, item, mx, _ra, sa, _rb, sb in _pairs(cycle):
        g = groups[(inst, item, mx)]
        g[0].append(sa)
        g[1].append(sb)
    out = []
    for (inst, item, mx), (a, b) in sorted(groups.items()):
        stats = agreement(a, b, max_score=mx)
        out.append(AgreementRow(label=f"{inst}/{item}", key=(inst, item), stats=stats, flags=_flags(stats, cfg)))
    return out


def agreement_by_rater(*, actor: Any, cycle: Cycle) -> list[AgreementRow]:
    """Per rater and item: the rater's scores against the other rater's on the responses they both scored."""
    access.require_reader(actor=actor)
    cfg = settings_for(cycle)
    groups: dict[tuple[int, str, str, int], tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for inst, item, mx, ra, sa, rb, sb in _pairs(cycle):
        for me, mine, theirs in ((ra, sa, sb), (rb, sb, sa)):
            g = groups[(me, inst, item, mx)]
            g[0].append(mine)
            g[1].append(theirs)
    names = _rater_names([k[0] for k in groups])
    out = []
    for (rater, inst, item, mx), (a, b) in sorted(groups.items()):
        stats = agreement(a, b, max_score=mx)
        out.append(AgreementRow(label=f"{names.get(rater, rater)} · {inst}/{item}", key=rater, stats=stats,
                                flags=_flags(stats, cfg)))
    return out


def _rater_names(ids: list[int]) -> dict[int, str]:
    from naeq.accounts.models import User

    return {u.pk: u.display_name or u.username for u in User.objects.filter(pk__in=set(ids))}


# ------------------------------------------------------------------------------------------------ drift


@dataclass
class DriftRow:
    rater_id: int
    name: str
    suspended: bool
    papers: int
    accuracy: float  # over all check papers scored
    rolling: list[float] = field(default_factory=list)  # trailing accuracy after each check paper
    latest: float = float("nan")
    flagged: bool = False


def drift(*, actor: Any, cycle: Cycle) -> list[DriftRow]:
    """Each rater's accuracy on check papers in scoring order (exact agreement with the agreed score), its rolling
    accuracy over the configured window, flagged when the latest window (of at least the minimum number of papers)
    falls below the threshold."""
    access.require_reader(actor=actor)
    cfg = settings_for(cycle)
    rows = (Assignment.objects.filter(response__cycle=cycle, response__source=Source.CHECK,
                                      status=AssignmentStatus.SCORED)
            .values_list("rater_id", "score", "response__check_score").order_by("rater_id", "scored_at", "id"))
    hits: dict[int, list[int]] = defaultdict(list)
    for rater, score, truth in rows:
        hits[rater].append(int(score == truth))
    cycle_raters = set(RaterItem.objects.filter(cycle=cycle).values_list("rater_id", flat=True))
    raters = {p.user_id: p for p in RaterProfile.objects.filter(user_id__in=cycle_raters | set(hits))
              .select_related("user")}
    out = []
    for rid in sorted(cycle_raters | set(hits)):
        h = hits.get(rid, [])
        p = raters.get(rid)
        row = DriftRow(rater_id=rid, name=(p.user.display_name or p.user.username) if p else str(rid),
                       suspended=bool(p and p.suspended), papers=len(h),
                       accuracy=float(np.mean(h)) if h else float("nan"))
        if h:
            roll = rolling_accuracy(h, window=cfg.drift_window)
            row.rolling = [float(x) for x in roll]
            row.latest = float(roll[-1])
            row.flagged = len(h) >= cfg.drift_min_papers and row.latest < cfg.min_check_accuracy
        out.append(row)
    return out


# ------------------------------------------------------------------------------------------------ arbitration


def arbitration_queue(*, actor: Any, cycle: Cycle) -> list[Arbitration]:
    access.require_arbiter(actor=actor)
    return list(Arbitration.objects.filter(response__cycle=cycle, resolved_at__isnull=True)
                .select_related("response").order_by("opened_at", "id"))


def flagged_list(*, actor: Any, cycle: Cycle) -> list[Assignment]:
    access.require_arbiter(actor=actor)
    return list(Assignment.objects.filter(response__cycle=cycle, status=AssignmentStatus.FLAGGED)
                .select_related("response", "rater").order_by("id"))


def rubric_for(response: MarkResponse) -> Rubric | None:
    return (Rubric.objects.prefetch_related("points", "anchors")
            .filter(cycle_id=response.cycle_id, instrument_code=response.instrument_code,
                    item_code=response.item_code, is_current=True).first())


# ------------------------------------------------------------------------------------------------ results


def scores_for_scaling(*, cycle: Cycle, instrument_code: str | None = None) -> Iterator[dict[str, Any]]:
    """The final scores of fully resolved real responses, for :mod:`naeq.scaling`: dicts ``{"test_taker_id",
    "test_id", "instrument", "item", "score"}`` (score an int), streamed in (instrument, item, test ID) order.
    Check papers and responses still being scored or waiting for arbitration are left out."""
    qs = (MarkResponse.objects.filter(cycle=cycle, status=ResponseStatus.FINAL, test_taker__isnull=False)
          .exclude(source=Source.CHECK))
    if instrument_code is not None:
        qs = qs.filter(instrument_code=instrument_code)
    for tid, code, inst, item, score in (qs.order_by("instrument_code", "item_code", "test_taker__code")
                                         .values_list("test_taker_id", "test_taker__code", "instrument_code",
                                                      "item_code", "final_score").iterator(chunk_size=5000)):
        yield {"test_taker_id": tid, "test_id": code, "instrument": inst, "item": item, "score": int(score or 0)}


def export_rows(*, actor: Any, cycle: Cycle, instrument_code: str | None = None) -> Iterator[list[Any]]:
    """The final-score CSV (header first): test ID, instrument, item, score, rule."""
    access.require_reader(actor=actor)
    yield ["test_id", "instrument", "item", "score", "rule"]
    qs = (MarkResponse.objects.filter(cycle=cycle, status=ResponseStatus.FINAL, test_taker__isnull=False)
          .exclude(source=Source.CHECK))
    if instrument_code is not None:
        qs = qs.filter(instrument_code=instrument_code)
    for row in (qs.order_by("instrument_code", "item_code", "test_taker__code")
                .values_list("test_taker__code", "instrument_code", "item_code", "final_score", "final_rule")
                .iterator(chunk_size=5000)):
        yield list(row)


# ------------------------------------------------------------------------------------------------ severity


@dataclass(frozen=True)
class SeverityRow:
    """One rater on one item: the mean of (own score − the other rater's score) over the double-scored responses
    they shared, its standard error (sd / √n), z = mean / SE, and a flag when |z| > 2 (a rater consistently
    harsher, negative, or more lenient, positive, than their partners). Monitoring, not a correction: the final
    scores are not adjusted."""

    rater_id: int
    name: str
    instrument_code: str
    item_code: str
    n: int
    mean_diff: float
    se: float
    z: float
    flagged: bool


def severity_of(diffs: list[int]) -> tuple[float, float, float]:
    """(mean, SE, z) of a rater's score differences; SE and z are NaN below two pairs; a zero SD with a non-zero
    mean gives an infinite z (every pair differs the same way)."""
    n = len(diffs)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(np.mean(diffs))
    if n < 2:
        return mean, float("nan"), float("nan")
    se = float(np.std(diffs, ddof=1)) / math.sqrt(n)
    if se == 0:
        return mean, 0.0, (0.0 if mean == 0 else math.copysign(math.inf, mean))
    return mean, se, mean / se


def rater_severity(*, actor: Any, cycle: Cycle) -> list[SeverityRow]:
    """Per rater and item, over the double-scored responses (check papers excluded): see :class:`SeverityRow`."""
    access.require_reader(actor=actor)
    diffs: dict[tuple[int, str, str], list[int]] = defaultdict(list)
    for inst, item, _mx, ra, sa, rb, sb in _pairs(cycle):
        diffs[(ra, inst, item)].append(sa - sb)
        diffs[(rb, inst, item)].append(sb - sa)
    names = _rater_names([k[0] for k in diffs])
    out = []
    for (rater, inst, item), d in sorted(diffs.items()):
        mean, se, z = severity_of(d)
        out.append(SeverityRow(rater_id=rater, name=names.get(rater, str(rater)), instrument_code=inst,
                               item_code=item, n=len(d), mean_diff=mean, se=se, z=z,
                               flagged=not math.isnan(z) and abs(z) > 2))
    return out


# ------------------------------------------------------------------------------------------------ ratings


@dataclass(frozen=True)
class RatingRows:
    """Every rater's score of the real responses of an instrument, for the many-facet model of the scaling app:
    ``person`` is a dense index (0, 1, …) in test-taker order that links the ratings of one test taker across
    items and raters — not an identifier; ``rater`` the rater's user id. One row per scored assignment (a response
    scored twice gives two rows); check papers, unscored assignments and arbitration scores (which are not an
    independent rating: arbitration is chosen by the disagreement) are left out."""

    person: np.ndarray
    item: np.ndarray
    rater: np.ndarray
    score: np.ndarray


def ratings_for_facets(*, cycle: Cycle, instrument_code: str, exclude_takers: Iterable[int] = ()) -> RatingRows:
    """The ratings of :class:`RatingRows`, without the test takers in ``exclude_takers`` (data-quality
    exclusions), streamed from one ``values_list`` query."""
    qs = (Assignment.objects.filter(response__cycle=cycle, response__instrument_code=instrument_code,
                                    response__test_taker__isnull=False, status=AssignmentStatus.SCORED)
          .exclude(response__source=Source.CHECK)
          .order_by("response__test_taker_id", "response__item_code", "rater_id")
          .values_list("response__test_taker_id", "response__item_code", "rater_id", "score"))
    skip = set(exclude_takers)
    taker: list[int] = []
    item: list[str] = []
    rater: list[int] = []
    score: list[int] = []
    for t, i, r, s in qs.iterator(chunk_size=5000):
        if t in skip:
            continue
        taker.append(t)
        item.append(i)
        rater.append(r)
        score.append(int(s or 0))  # scored assignments always have a score (constraint)
    _ids, person = np.unique(np.array(taker, dtype=np.int64), return_inverse=True)
    return RatingRows(person=person.reshape(-1).astype(np.int64), item=np.array(item, dtype=np.str_),
                      rater=np.array(rater, dtype=np.int64), score=np.array(score, dtype=np.int64))


def rater_names(ids: Iterable[int]) -> dict[int, str]:
    """Display names of raters (their accounts' display name or username), for the pages of other apps."""
    return _rater_names(list(ids))
