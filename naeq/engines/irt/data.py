"""Item responses in the sparse long layout: one row per administered (person, item) pair.

A booklet design leaves most (person, item) pairs empty; an empty pair means *not administered* and contributes
nothing to any likelihood — it is never scored as wrong. Scores are integers 0..K−1 with K the item's number of
categories (``max_score + 1``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from naeq.engines.errors import EngineError

_SHOW = 5  # bad rows named in a message


class ResponseDataError(EngineError):
    """Bad response rows: ``rows`` holds the 1-based data-row numbers, ``column`` the offending column and
    ``reason`` a short machine code, so an adapter can name file, row, column and reason in its own language."""

    code = "bad_responses"

    def __init__(self, message: str, *, rows: tuple[int, ...] = (), column: str = "", reason: str = "") -> None:
        super().__init__(message, code=reason or None)
        self.rows = rows
        self.column = column
        self.reason = reason


def _rows(mask: NDArray[np.bool_]) -> tuple[int, ...]:
    return tuple(int(i) + 1 for i in np.flatnonzero(mask))


def _fail(mask: NDArray[np.bool_], column: str, reason: str, what: str) -> None:
    rows = _rows(mask)
    shown = ", ".join(str(r) for r in rows[:_SHOW]) + (f" (and {len(rows) - _SHOW} more)" if len(rows) > _SHOW else "")
    raise ResponseDataError(f"{len(rows)} row(s) with {what} in column {column!r}: row {shown} "
                            "(rows counted from 1, header excluded); correct or remove them",
                            rows=rows, column=column, reason=reason)


@dataclass(frozen=True)
class Responses:
    """Sparse responses (arrays are read-only).

    Attributes
    ----------
    person : (N,) int64 index into ``persons``
    item : (N,) int64 index into ``items``
    score : (N,) int64 in 0..n_categories[item]−1
    persons : (P,) person ids (sorted)
    items : tuple of J item ids
    n_categories : (J,) int64
    """

    person: NDArray[np.int64]
    item: NDArray[np.int64]
    score: NDArray[np.int64]
    persons: NDArray[Any]
    items: tuple[str, ...]
    n_categories: NDArray[np.int64]

    def __post_init__(self) -> None:
        for name in ("person", "item", "score", "persons", "n_categories"):
            arr = np.array(getattr(self, name))
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "items", tuple(str(i) for i in self.items))

    @property
    def n_persons(self) -> int:
        return len(self.persons)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def __len__(self) -> int:
        return len(self.score)

    @property
    def max_categories(self) -> int:
        return int(self.n_categories.max()) if self.n_items else 2

    def indicator(self) -> sparse.csr_matrix:
        """X (P × J·Kmax) with X[i, j·Kmax + k] = 1 when person i scored k on item j (one entry per response)."""
        kmax = self.max_categories
        col = self.item * kmax + self.score
        return sparse.csr_matrix((np.ones(len(self), dtype=np.float64), (self.person, col)),
                                 shape=(self.n_persons, self.n_items * kmax))

    def administered(self) -> sparse.csr_matrix:
        """A (P × J) 0/1: item j administered to person i."""
        return sparse.csr_matrix((np.ones(len(self), dtype=np.float64), (self.person, self.item)),
                                 shape=(self.n_persons, self.n_items))

    def raw_scores(self) -> NDArray[np.int64]:
        """Each person's summed score over the items administered; (P,)."""
        return np.bincount(self.person, weights=self.score, minlength=self.n_persons).astype(np.int64)

    def max_raw_scores(self) -> NDArray[np.int64]:
        """Each person's maximum possible summed score over the items administered; (P,)."""
        return np.bincount(self.person, weights=self.n_categories[self.item] - 1,
                           minlength=self.n_persons).astype(np.int64)

    def dense(self, missing: int = -1) -> NDArray[np.int64]:
        """(P, J) matrix with ``missing`` where not administered (for small data and other software)."""
        out = np.full((self.n_persons, self.n_items), missing, dtype=np.int64)
        out[self.person, self.item] = self.score
        return out

    def subset_items(self, items: Any) -> Responses:
        """Only the responses to ``items`` (ids), items reindexed in the order given; persons kept."""
        pos = {it: j for j, it in enumerate(self.items)}
        keep_idx = np.array([pos[str(i)] for i in items], dtype=np.int64)
        remap = np.full(self.n_items, -1, dtype=np.int64)
        remap[keep_idx] = np.arange(len(keep_idx))
        new_item = remap[self.item]
        keep = new_item >= 0
        return Responses(person=self.person[keep], item=new_item[keep], score=self.score[keep],
                         persons=self.persons, items=tuple(self.items[j] for j in keep_idx),
                         n_categories=self.n_categories[keep_idx])

    @classmethod
    def from_dense(cls, matrix: Any, items: Any = None, *, n_categories: Any = None,
                   persons: Any = None) -> Responses:
        """From a (P, J) matrix with NaN (or a negative number) where not administered; ``n_categories``
        defaults to each item's observed maximum + 1 (at least 2). Scores must be whole numbers below
        ``n_categories``; a bad cell raises :class:`ResponseDataError` naming its row (1-based) and item."""
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim != 2:
            raise ValueError("matrix must be 2-D (persons × items)")
        p, j = m.shape
        items = tuple(f"i{k + 1}" for k in range(j)) if items is None else tuple(str(i) for i in items)
        if len(items) != j or len(set(items)) != j:
            raise ValueError(f"need {j} distinct item ids")
        ids = np.arange(p) if persons is None else np.asarray(persons)
        if len(ids) != p:
            raise ValueError(f"persons has {len(ids)} ids, expected {p}")
        given = np.isfinite(m) & (m >= 0)
        if np.isposinf(m).any():
            row, col = (int(v[0]) for v in np.nonzero(np.isposinf(m)))
            raise ResponseDataError(f"row {row + 1}, item {items[col]}: infinite score", rows=(row + 1,),
                                    column=items[col], reason="non_finite")
        if n_categories is None:
            top = np.where(given, m, 0.0).max(axis=0) if p else np.zeros(j)
            kcat = np.maximum(top.astype(np.int64) + 1, 2)
        else:
            kcat = np.asarray(n_categories, dtype=np.int64).reshape(-1)
        bad = given & ((m != np.round(m)) | (m > (kcat - 1)[None, :]))
        if bad.any():
            row, col = (int(v[0]) for v in np.nonzero(bad))
            raise ResponseDataError(f"{int(bad.sum())} cell(s) with a score that is not a whole number in "
                                    f"0..max: first at row {row + 1}, item {items[col]}",
                                    rows=tuple(int(r) + 1 for r in np.unique(np.nonzero(bad)[0])),
                                    column=items[col], reason="out_of_range")
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        if p > 1 and np.any(sorted_ids[1:] == sorted_ids[:-1]):
            raise ResponseDataError("person ids must be unique", reason="duplicate")
        pi, ji = np.nonzero(given[order])
        return cls(person=pi.astype(np.int64), item=ji.astype(np.int64),
                   score=m[order][pi, ji].astype(np.int64), persons=sorted_ids, items=items, n_categories=kcat)


def responses_from_long(person_ids: Any, item_ids: Any, scores: Any, max_scores: Mapping[str, int]) -> Responses:
    """Validate long-format rows and build :class:`Responses`.

    Parameters
    ----------
    person_ids, item_ids, scores : sequences of equal length N (one row per administered response)
    max_scores : item id → maximum score (1 for a dichotomous item, K−1 for K categories); its order fixes the
        item order of the result, and items without responses are kept (they have no data).

    Raises
    ------
    ResponseDataError
        naming the first bad rows (1-based) for: a score that is missing, NaN or infinite, not an integer, below 0
        or above the item's maximum; an item id not in ``max_scores``; the same (person, item) pair twice.
        Nothing is built when any row is bad.

    Examples
    --------
    >>> r = responses_from_long(["s1", "s1", "s2"], ["q1", "q2", "q1"], [1, 2, 0], {"q1": 1, "q2": 2})
    >>> r.n_persons, r.n_items, r.score.tolist()
    (2, 2, [1, 2, 0])
    """
    person_ids = np.asarray(person_ids)
    item_ids = np.asarray(item_ids).astype(str)
    n = len(person_ids)
    if len(item_ids) != n or len(scores) != n:
        raise ValueError(f"person_ids, item_ids and scores must have the same length ({n}, {len(item_ids)}, "
                         f"{len(scores)})")
    items = tuple(str(i) for i in max_scores)
    maxs = np.array([int(max_scores[i]) for i in max_scores], dtype=np.int64)
    if np.any(maxs < 1):
        bad = [items[j] for j in np.flatnonzero(maxs < 1)]
        raise EngineError(f"items {', '.join(bad[:_SHOW])}: maximum score must be at least 1", code="bad_max_score")
    try:
        raw = np.array(scores, dtype=np.float64)
    except (TypeError, ValueError):
        conv = np.array([_to_float(s) for s in scores], dtype=np.float64)
        _fail_if(np.isnan(conv), "score", "not_a_number", "a score that is not a number")
        raw = conv
    _fail_if(~np.isfinite(raw), "score", "non_finite", "a missing, NaN or infinite score")
    _fail_if(raw != np.round(raw), "score", "non_integer", "a score that is not a whole number")
    pos = {it: j for j, it in enumerate(items)}
    uniq_items, inv = np.unique(item_ids, return_inverse=True)
    lookup = np.array([pos.get(str(u), -1) for u in uniq_items], dtype=np.int64)
    item = lookup[inv] if n else np.zeros(0, dtype=np.int64)
    _fail_if(item < 0, "item", "unknown_item", "an item id that is not in the item list")
    score = raw.astype(np.int64)
    _fail_if((score < 0) | (score > maxs[item]), "score", "out_of_range",
             "a score outside 0..the item's maximum score")
    persons, person = np.unique(person_ids, return_inverse=True)
    person = person.astype(np.int64).reshape(-1)
    key = person * max(len(items), 1) + item
    order = np.argsort(key, kind="stable")
    dup_sorted = np.zeros(n, dtype=bool)
    if n > 1:
        dup_sorted[1:] = key[order][1:] == key[order][:-1]
    dup = np.zeros(n, dtype=bool)
    dup[order] = dup_sorted
    _fail_if(dup, "person/item", "duplicate", "a (person, item) pair already given in an earlier row")
    return Responses(person=person, item=item, score=score, persons=persons, items=items, n_categories=maxs + 1)


def _fail_if(mask: NDArray[np.bool_], column: str, reason: str, what: str) -> None:
    if mask.any():
        _fail(mask, column, reason, what)


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
