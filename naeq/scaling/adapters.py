"""Database rows -> the engine's long layout, and the inputs' hash.

Scores come from three places, gathered into one long table (test taker, item, score):

* online objective scores: :class:`naeq.delivery.models.ItemScore` of submitted attempts in formal sessions
  (``score`` null = not objectively scored: a questionnaire item or one left to raters);
* paper answer cards: ``naeq.papercapture.selectors.scores_for_scaling(cycle=, instrument_code=)``;
* rater scores of constructed responses: ``naeq.marking.selectors.scores_for_scaling(cycle=, instrument_code=)``.

The last two yield dicts ``{"test_taker_id", "test_id", "instrument", "item", "score", ...}``; they are imported
only when those apps provide them. When one response has scores from several sources, the later source in the list
above wins (a rater's score replaces an empty online one; a paper score replaces nothing online) and the number
replaced is reported as a warning. Rows are streamed from ``values_list`` iterators in chunks straight into numpy
arrays; no model instance is built per response.

Test takers whose data of the instrument a data-quality decision excluded (:func:`naeq.core.exclusions.excluded`)
are left out, counted in ``counts["excluded"]`` and named in a warning; flagged ones stay in and are counted in
``counts["flagged"]`` (both keys only when non-zero).
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from numpy.typing import NDArray

from naeq.core import exclusions
from naeq.core.errors import InvalidInput, Problem
from naeq.cycles.models import Cycle
from naeq.delivery.models import AttemptStatus, Booklet, Instrument, Item, ItemScore, SessionKind, TestTaker
from naeq.registry.models import urban_rural_class
from naeq.scaling.files import DICHOTOMOUS, MODELS, Background, ItemTable, LongResponses

CHUNK = 50_000
#: The external score sources, in priority order after the online scores (later wins).
SOURCES = ("naeq.papercapture.selectors", "naeq.marking.selectors")


@dataclass
class Gathered:
    responses: LongResponses
    table: ItemTable
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def instrument_of(cycle: Cycle, code: str) -> Instrument:
    inst = Instrument.objects.filter(cycle=cycle, code=code).order_by("-version").first()
    if inst is None:
        raise InvalidInput(_("本周期没有监测工具“%(code)s”。") % {"code": code}, code="unknown_instrument",
                           problems=[Problem(reason=_("本周期没有该监测工具。"), field="instrument_code", value=code)])
    return inst


def item_table_for(inst: Instrument, *, default_model: str, poly_model: str,
                   models: dict[str, str] | None = None) -> ItemTable:
    """The scored items of the instrument (max score ≥ 1) with their model (per-item override or default)."""
    rows = list(Item.objects.filter(instrument=inst, max_score__gte=1).order_by("seq").values_list("code", "max_score"))
    if not rows:
        raise InvalidInput(_("监测工具“%(code)s”没有计分题目。") % {"code": inst.code}, code="no_scored_items")
    models = models or {}
    problems = []
    codes = np.array([r[0] for r in rows], dtype=np.str_)
    max_score = np.array([round(r[1]) for r in rows], dtype=np.int64)
    model = []
    for code, k in zip(codes.tolist(), max_score.tolist(), strict=True):
        m = models.get(code) or (default_model if k == 1 else poly_model)
        if m not in MODELS or (m in DICHOTOMOUS and k > 1):
            problems.append(Problem(reason=_("题目“%(item)s”（满分%(k)d）不能用模型“%(m)s”。") % {
                "item": code, "k": k, "m": m}, field="models", value=m))
        model.append(m)
    unknown = sorted(set(models) - set(codes.tolist()))
    for code in unknown:
        problems.append(Problem(reason=_("题目“%(item)s”不是该工具的计分题目。") % {"item": code}, field="models",
                                value=code))
    if problems:
        raise InvalidInput(_("模型设定有误。"), code="bad_models", problems=problems)
    return ItemTable(items=codes, max_score=max_score, model=np.array(model, dtype="<U5"))


def _chunks(rows: Iterable[tuple[Any, ...]], width: int) -> Iterator[list[NDArray[Any]]]:
    buf: list[tuple[Any, ...]] = []
    for row in rows:
        buf.append(row)
        if len(buf) >= CHUNK:
            yield [np.array(col) for col in zip(*buf, strict=True)]
            buf = []
    if buf:
        yield [np.array(col) for col in zip(*buf, strict=True)]


def _online(cycle: Cycle, code: str) -> tuple[NDArray[np.int64], NDArray[np.str_], NDArray[np.float64],
                                              NDArray[np.int64]]:
    qs = (ItemScore.objects.filter(attempt__instrument__cycle=cycle, attempt__instrument__code=code,
                                   attempt__status=AttemptStatus.SUBMITTED, attempt__session__kind=SessionKind.FORMAL,
                                   score__isnull=False)
          .order_by().values_list("attempt__test_taker_id", "item", "score", "attempt__booklet"))
    parts = list(_chunks(qs.iterator(chunk_size=CHUNK), 4))
    if not parts:
        return (np.zeros(0, np.int64), np.zeros(0, np.str_), np.zeros(0), np.zeros(0, np.int64))
    taker = np.concatenate([p[0] for p in parts]).astype(np.int64)
    item = np.concatenate([p[1].astype(np.str_) for p in parts])
    score = np.concatenate([p[2] for p in parts]).astype(np.float64)
    booklet = np.concatenate([np.array([0 if b is None else b for b in p[3].tolist()]) for p in parts])
    return taker, item, score, booklet.astype(np.int64)


def _external(module: str, cycle: Cycle, code: str) -> tuple[NDArray[np.int64], NDArray[np.str_],
                                                             NDArray[np.float64], NDArray[np.int64]] | None:
    """Scores from another app's ``scores_for_scaling`` selector, or None while that app does not provide one;
    the fourth array is the booklet of each row where the source knows it (paper cards), else 0."""
    try:
        selector: Callable[..., Iterable[dict[str, Any]]] = importlib.import_module(module).scores_for_scaling
    except (ImportError, AttributeError):
        return None
    rows = ((r["test_taker_id"], r["item"], r["score"], r.get("booklet") or 0)
            for r in selector(cycle=cycle, instrument_code=code) if r.get("score") is not None)
    parts = list(_chunks(rows, 4))
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.str_), np.zeros(0), np.zeros(0, np.int64)
    return (np.concatenate([p[0] for p in parts]).astype(np.int64),
            np.concatenate([p[1].astype(np.str_) for p in parts]),
            np.concatenate([p[2] for p in parts]).astype(np.float64),
            np.concatenate([p[3] for p in parts]).astype(np.int64))


def _booklet_items(cycle: Cycle, code: str, table: ItemTable) -> NDArray[np.bool_] | None:
    """``mask[b, j]``: item j of the table is in booklet b of the instrument; row 0 (booklet unknown) and the rows
    of numbers without a booklet are all True. None when the instrument defines no booklets."""
    inst = instrument_of(cycle, code)
    defined = dict(Booklet.objects.filter(instrument=inst).values_list("number", "blocks"))
    if not defined:
        return None
    block_of = dict(Item.objects.filter(instrument=inst).values_list("code", "block"))
    mask = np.ones((max(defined) + 1, len(table.items)), dtype=bool)
    for number, blocks in defined.items():
        mask[number] = [block_of.get(str(c), "") in set(blocks or []) for c in table.items.tolist()]
    return mask


def gather(cycle: Cycle, table: ItemTable, code: str, *, group_by: str = "") -> Gathered:
    """Every score of the instrument in the cycle, in the engine's long layout (persons: test-taker ids)."""
    warnings: list[str] = []
    taker, item, score, booklet_rows = _online(cycle, code)
    counts = {"online": len(taker)}
    sources = [np.zeros(len(taker), np.int64)]
    takers, items, scores, booklets = [taker], [item], [score], [booklet_rows]
    for rank, module in enumerate(SOURCES, start=1):
        got = _external(module, cycle, code)
        if got is None:
            continue
        counts[module.split(".")[1]] = len(got[0])
        takers.append(got[0])
        items.append(got[1])
        scores.append(got[2])
        booklets.append(got[3])
        sources.append(np.full(len(got[0]), rank, np.int64))
    # Case decisions (naeq.quality, through naeq.core.exclusions): excluded test takers' data drop out here;
    # flagged ones stay in and are counted.
    dropped = np.array(sorted(exclusions.excluded(cycle.pk, code)), dtype=np.int64)
    if len(dropped):
        present: set[int] = set()
        for k, src in enumerate(takers):
            out = np.isin(src, dropped)
            if out.any():
                present |= set(np.unique(src[out]).tolist())
                keep_src = ~out
                takers[k], items[k], scores[k] = src[keep_src], items[k][keep_src], scores[k][keep_src]
                booklets[k], sources[k] = booklets[k][keep_src], sources[k][keep_src]
        if present:
            counts["excluded"] = len(present)
            warnings.append(_("%(n)d名测试对象的数据经数据质量调查决定剔除，未参与校准。") % {"n": len(present)})
    marked = np.array(sorted(exclusions.flagged(cycle.pk, code)), dtype=np.int64)
    if len(marked):
        n_flagged = int(np.isin(np.unique(np.concatenate(takers)), marked).sum())
        if n_flagged:
            counts["flagged"] = n_flagged
            warnings.append(_("%(n)d名测试对象的数据经数据质量调查被标记（保留在校准中）。") % {"n": n_flagged})
    taker = np.concatenate(takers)
    item = np.concatenate(items) if len(items) > 1 else items[0]
    score = np.concatenate(scores)
    source = np.concatenate(sources)
    index = {str(v): k for k, v in enumerate(table.items.tolist())}
    uniq, inv = np.unique(item, return_inverse=True)
    lookup = np.array([index.get(str(u), -1) for u in uniq.tolist()], dtype=np.int64)
    item_idx = lookup[inv] if len(item) else np.zeros(0, np.int64)
    unknown = item_idx < 0
    if unknown.any():
        warnings.append(_("%(n)d条得分的题目不是该工具的计分题目，未参与校准。") % {"n": int(unknown.sum())})
    # Each test taker's booklet: from the online attempt, then from the paper card (a later source wins, as for
    # the scores); rater scores carry none. 0 = unknown.
    all_takers = np.unique(taker)
    taker_booklet = np.zeros(len(all_takers), dtype=np.int64)
    for src_taker, src_booklet in zip(takers, booklets, strict=True):
        known = src_booklet > 0
        if known.any():
            taker_booklet[np.searchsorted(all_takers, src_taker[known])] = src_booklet[known]
    # A rater's score of an item outside the test taker's booklet (a writing box filled in although the booklet
    # does not have the item, imported anyway) was not administered: left out, like not-in-booklet marks on paper.
    outside = np.zeros(len(taker), dtype=bool)
    in_booklet = _booklet_items(cycle, code, table)
    if in_booklet is not None and len(taker):
        row_booklet = taker_booklet[np.searchsorted(all_takers, taker)]
        row_booklet = np.where(row_booklet < len(in_booklet), row_booklet, 0)
        rater = SOURCES.index("naeq.marking.selectors") + 1
        outside = ~unknown & (source == rater) & ~in_booklet[row_booklet, np.maximum(item_idx, 0)]
        if outside.any():
            warnings.append(_("%(n)d条评分员得分的题目不在该测试对象的题本中（未施测），未参与校准。") % {
                "n": int(outside.sum())})
    keep = ~unknown & ~outside
    taker, item_idx, score, source = taker[keep], item_idx[keep], score[keep], source[keep]
    bad = (score < 0) | (score != np.round(score)) | (score > table.max_score[item_idx])
    if bad.any():
        raise InvalidInput(_("有%(n)d条得分不是0至该题满分之间的整数，请先核对评分数据。") % {"n": int(bad.sum())},
                           code="bad_scores")
    # One score per (test taker, item): the highest-priority source wins.
    n_items = max(len(table.items), 1)
    key = taker * n_items + item_idx
    order = np.lexsort((source, key))
    key_sorted = key[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = key_sorted[1:] != key_sorted[:-1]
    replaced = int((~last).sum())
    if replaced:
        warnings.append(_("%(n)d条得分有多个来源（在线、纸笔、评分员），按优先级采用了后者。") % {"n": replaced})
    chosen = order[last]
    taker, item_idx = taker[chosen], item_idx[chosen]
    int_score = score[chosen].astype(np.int64)
    persons, person = np.unique(taker, return_inverse=True)
    person = person.astype(np.int64).reshape(-1)
    booklet = taker_booklet[np.searchsorted(all_takers, persons)] if len(persons) else np.zeros(0, np.int64)
    groups = group = None
    if group_by == "grade":
        grade = dict(TestTaker.objects.filter(pk__in=persons.tolist()).values_list("pk", "grade"))
        labels = np.array([str(grade.get(int(p)) or "") for p in persons.tolist()], dtype=np.str_)
        groups, group = np.unique(labels, return_inverse=True)
    responses = LongResponses(persons=persons, items=table.items, person=person, item=item_idx, score=int_score,
                              booklet=booklet, group=group, groups=groups)
    counts["used"] = len(int_score)
    return Gathered(responses=responses, table=table, warnings=warnings, counts=counts)


def dif_groups(persons: NDArray[Any], variable: str) -> NDArray[np.str_]:
    """Per test taker: sex (``M``/``F``) or urban/rural (``urban``/``rural``: the 1x codes are urban and town, the
    2x codes rural), '' where unknown."""
    ids = persons.tolist()
    if variable == "sex":
        got = dict(TestTaker.objects.filter(pk__in=ids).values_list("pk", "sampled_student__student__sex"))
        return np.array([got.get(p) or "" for p in ids], dtype=np.str_)
    got = dict(TestTaker.objects.filter(pk__in=ids).values_list("pk", "school__urban_rural"))
    return np.array(["" if not got.get(p) else ("rural" if urban_rural_class(got[p]) == "rural" else "urban")
                     for p in ids], dtype=np.str_)


def conditioning(persons: NDArray[Any], labels: dict[str, NDArray[np.str_]]) -> Background | None:
    """The platform's background for plausible values: sex and urban/rural as categorical variables (unknown =
    missing, with its indicator), those with at least two known levels; None when neither has."""
    keep = {k: v for k, v in labels.items() if len(set(v.tolist()) - {""}) >= 2}
    if not keep:
        return None
    return Background(persons=persons, variables=keep, categorical=tuple(keep))


def inputs_hash(responses: LongResponses, table: ItemTable, extra: dict[str, Any] | None = None) -> str:
    """SHA-256 of the calibration's inputs in a canonical order: the item table, then the responses sorted by
    (person, item) as (person id, item id, score) — the same scores give the same hash whatever order the
    database returned them in."""
    h = hashlib.sha256()
    for code, k, m in zip(table.items.tolist(), table.max_score.tolist(), table.model.tolist(), strict=True):
        h.update(f"{code}\t{k}\t{m}\n".encode())
    order = np.lexsort((responses.item, responses.person))
    h.update(np.ascontiguousarray(np.asarray(responses.persons)[responses.person[order]].astype(np.int64)).tobytes())
    h.update(np.ascontiguousarray(responses.item[order]).tobytes())
    h.update(np.ascontiguousarray(responses.score[order]).tobytes())
    if responses.group is not None:
        h.update(np.ascontiguousarray(responses.group).tobytes())
    for key, value in sorted((extra or {}).items()):
        h.update(f"{key}\n".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    return h.hexdigest()
