"""Item response models on the logistic metric (no D = 1.7 constant).

Dichotomous items (categories 0/1)::

    rasch  P(1 | θ) = σ(θ − b)
    2pl    P(1 | θ) = σ(a (θ − b))
    3pl    P(1 | θ) = c + (1 − c) σ(a (θ − b))

Polytomous items (categories 0..K−1, Masters 1982; Muraki 1992)::

    pcm    P(k | θ) ∝ exp Σ_{v=1..k} (θ − b_v)
    gpcm   P(k | θ) ∝ exp Σ_{v=1..k} a (θ − b_v)          (empty sum = 0 for k = 0)

``σ`` is the logistic function. A 2PL item is a GPCM item with two categories, a Rasch item a PCM item with two
categories, so all five share one vectorised code path; the 3PL adds the lower asymptote ``c`` afterwards.

References: Lord (1980) *Applications of IRT to practical testing problems*; Masters (1982) Psychometrika 47;
Muraki (1992) Applied Psychological Measurement 16; Baker & Kim (2004) *Item response theory: parameter
estimation techniques*, 2nd ed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from naeq.engines.errors import EngineError

MODELS: tuple[str, ...] = ("rasch", "2pl", "3pl", "pcm", "gpcm")
DICHOTOMOUS: frozenset[str] = frozenset({"rasch", "2pl", "3pl"})
FREE_SLOPE: frozenset[str] = frozenset({"2pl", "3pl", "gpcm"})


def _nan_like(n: int) -> NDArray[np.float64]:
    return np.full(n, np.nan)


@dataclass(frozen=True)
class ItemParameters:
    """Parameters of ``J`` items, one row each (arrays are copied and made read-only).

    Attributes
    ----------
    items : tuple of str, length J
    model : (J,) str, one of :data:`MODELS`
    a : (J,) slopes (1.0 for rasch/pcm)
    b : (J, Kmax−1) step difficulties, NaN-padded beyond ``n_categories − 1``; dichotomous: ``b[:, 0]``
    c : (J,) lower asymptote (0 unless 3pl)
    n_categories : (J,) int, categories 0..K−1 (2 for dichotomous items)
    a_se, b_se, c_se : standard errors of the same shapes; NaN where fixed or not estimated
    """

    items: tuple[str, ...]
    model: NDArray[Any]
    a: NDArray[np.float64]
    b: NDArray[np.float64]
    c: NDArray[np.float64]
    n_categories: NDArray[np.int64]
    a_se: NDArray[np.float64] = field(default=None)  # type: ignore[arg-type]
    b_se: NDArray[np.float64] = field(default=None)  # type: ignore[arg-type]
    c_se: NDArray[np.float64] = field(default=None)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        items = tuple(str(i) for i in self.items)
        n = len(items)
        model = np.asarray(self.model, dtype=object).astype(str)
        a = np.array(self.a, dtype=np.float64).reshape(-1)
        c = np.array(self.c, dtype=np.float64).reshape(-1)
        k = np.array(self.n_categories, dtype=np.int64).reshape(-1)
        b = np.array(self.b, dtype=np.float64)
        if b.ndim == 1:
            b = b.reshape(-1, 1)
        for name, arr in (("model", model), ("a", a), ("c", c), ("n_categories", k)):
            if len(arr) != n:
                raise ValueError(f"{name} has {len(arr)} entries, expected {n} (one per item)")
        if b.shape[0] != n:
            raise ValueError(f"b has {b.shape[0]} rows, expected {n} (one per item)")
        if len(set(items)) != n:
            raise EngineError("item ids must be unique", code="duplicate_item")
        bad = ~np.isin(model, MODELS)
        if bad.any():
            raise EngineError(f"item {items[int(np.flatnonzero(bad)[0])]}: unknown model "
                              f"{model[bad][0]!r}; use one of {', '.join(MODELS)}", code="unknown_model")
        dich = np.isin(model, list(DICHOTOMOUS))
        if np.any(k < 2) or np.any(dich & (k != 2)):
            j = int(np.flatnonzero((k < 2) | (dich & (k != 2)))[0])
            raise EngineError(f"item {items[j]}: model {model[j]} cannot have {k[j]} categories",
                              code="bad_categories")
        kmax = int(k.max()) if n else 2
        if b.shape[1] < kmax - 1:
            raise ValueError(f"b has {b.shape[1]} columns, need {kmax - 1} for {kmax} categories")
        b = b[:, : max(kmax - 1, 1)].copy()
        steps = np.arange(b.shape[1])[None, :] < (k - 1)[:, None]
        b[~steps] = np.nan
        for name, arr in (("a", a), ("c", c), ("b", b[steps])):
            if not np.all(np.isfinite(arr)):
                raise EngineError(f"item parameter {name} must be finite", code="non_finite")
        if np.any(c < 0) or np.any(c >= 1):
            raise EngineError("lower asymptote c must lie in [0, 1)", code="bad_c")
        ses = []
        for name, se, shape in (("a_se", self.a_se, (n,)), ("b_se", self.b_se, b.shape), ("c_se", self.c_se, (n,))):
            arr = np.full(shape, np.nan)
            if se is not None:
                given = np.array(se, dtype=np.float64)
                if name == "b_se":
                    given = given.reshape(n, -1)[:, : shape[1]]
                    arr[:, : given.shape[1]] = given
                else:
                    arr[:] = given.reshape(shape)
            if name == "b_se":
                arr[~steps] = np.nan
            ses.append((name, arr))
        out = [("items", items), ("model", model), ("a", a), ("b", b), ("c", c), ("n_categories", k), *ses]
        for name, value in out:
            if isinstance(value, np.ndarray):
                value.setflags(write=False)
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def max_categories(self) -> int:
        return int(self.n_categories.max()) if len(self) else 2

    def index(self, item: str) -> int:
        return self.items.index(item)

    def take(self, idx: Any) -> ItemParameters:
        """The items at positions ``idx`` (a subset or a reordering)."""
        idx = np.asarray(idx, dtype=np.int64)
        return ItemParameters(items=tuple(self.items[i] for i in idx), model=self.model[idx], a=self.a[idx],
                              b=self.b[idx], c=self.c[idx], n_categories=self.n_categories[idx],
                              a_se=self.a_se[idx], b_se=self.b_se[idx], c_se=self.c_se[idx])

    def select(self, items: Any) -> ItemParameters:
        """The named items, in the order given (KeyError for an unknown id)."""
        pos = {item: j for j, item in enumerate(self.items)}
        return self.take([pos[str(i)] for i in items])

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per item: id, model, a, b1..b(K−1), c, categories and SEs (NaN → None)."""
        def num(x: float) -> float | None:
            return None if not np.isfinite(x) else float(x)

        rows = []
        for j, item in enumerate(self.items):
            row: dict[str, Any] = {"item": item, "model": str(self.model[j]), "n_categories": int(self.n_categories[j]),
                                   "a": num(self.a[j]), "a_se": num(self.a_se[j]), "c": num(self.c[j]),
                                   "c_se": num(self.c_se[j])}
            for v in range(int(self.n_categories[j]) - 1):
                row[f"b{v + 1}"] = num(self.b[j, v])
                row[f"b{v + 1}_se"] = num(self.b_se[j, v])
            rows.append(row)
        return rows

    @classmethod
    def from_rows(cls, rows: Any) -> ItemParameters:
        """Inverse of :meth:`to_rows` (keys ``item, model, n_categories, a, c, b1..``; missing a → 1, c → 0)."""
        rows = list(rows)
        k = np.array([int(r.get("n_categories", 2)) for r in rows], dtype=np.int64)
        kmax = int(k.max()) if len(rows) else 2
        b = np.full((len(rows), max(kmax - 1, 1)), np.nan)
        b_se = np.full_like(b, np.nan)
        for j, r in enumerate(rows):
            for v in range(int(k[j]) - 1):
                b[j, v] = float(r[f"b{v + 1}"])
                se = r.get(f"b{v + 1}_se")
                b_se[j, v] = np.nan if se is None else float(se)

        def col(key: str, default: float) -> NDArray[np.float64]:
            return np.array([default if r.get(key) is None else float(r[key]) for r in rows], dtype=np.float64)

        return cls(items=tuple(str(r["item"]) for r in rows), model=np.array([str(r["model"]) for r in rows]),
                   a=col("a", 1.0), b=b, c=col("c", 0.0), n_categories=k, a_se=col("a_se", np.nan), b_se=b_se,
                   c_se=col("c_se", np.nan))


def _theta(theta: Any) -> NDArray[np.float64]:
    t = np.asarray(theta, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(t)):
        raise ValueError("theta must be finite")
    return t


def category_logits(theta: NDArray[np.float64], params: ItemParameters) -> NDArray[np.float64]:
    """z[j, q, k] = Σ_{v≤k} a_j (θ_q − b_jv), −inf beyond the item's categories; shape (J, Q, Kmax)."""
    theta = _theta(theta)
    kmax = params.max_categories
    steps = np.nan_to_num(params.b, nan=0.0)[:, : kmax - 1]                     # (J, K-1)
    cum_b = np.concatenate([np.zeros((len(params), 1)), np.cumsum(steps, axis=1)], axis=1)   # (J, K)
    k = np.arange(kmax, dtype=np.float64)
    z = params.a[:, None, None] * (k[None, None, :] * theta[None, :, None] - cum_b[:, None, :])
    z[np.broadcast_to((k[None, :] >= params.n_categories[:, None])[:, None, :], z.shape)] = -np.inf
    return z


def category_probabilities(theta: Any, params: ItemParameters) -> NDArray[np.float64]:
    """P(X_j = k | θ_q) for every item, node and category: shape (J, Q, Kmax), 0 beyond an item's categories.

    Examples
    --------
    >>> p = ItemParameters(items=("i1",), model=np.array(["2pl"]), a=np.array([1.0]), b=np.array([[0.0]]),
    ...                    c=np.array([0.0]), n_categories=np.array([2]))
    >>> category_probabilities(np.array([0.0]), p)[0, 0].tolist()
    [0.5, 0.5]
    """
    z = category_logits(theta, params)
    z -= z.max(axis=2, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=2, keepdims=True)
    g = params.c
    if np.any(g > 0):
        j = np.flatnonzero(g > 0)
        p1 = g[j, None] + (1.0 - g[j, None]) * p[j, :, 1]
        p[j, :, 1] = p1
        p[j, :, 0] = 1.0 - p1
    return p


def expected_score(theta: Any, params: ItemParameters) -> NDArray[np.float64]:
    """E[X_j | θ_q] = Σ_k k P(k | θ_q); shape (J, Q)."""
    p = category_probabilities(theta, params)
    return np.einsum("jqk,k->jq", p, np.arange(p.shape[2], dtype=np.float64))


def item_information(theta: Any, params: ItemParameters) -> NDArray[np.float64]:
    """Fisher information of each item at each θ; shape (J, Q).

    GPCM family (incl. Rasch, 2PL, PCM): I(θ) = a² Var(X | θ) (Muraki 1993). 3PL (Lord 1980, eq. 5-12 on the
    logistic metric): I(θ) = a² (Q/P) ((P − c)/(1 − c))².
    """
    p = category_probabilities(theta, params)
    k = np.arange(p.shape[2], dtype=np.float64)
    m1 = np.einsum("jqk,k->jq", p, k)
    m2 = np.einsum("jqk,k->jq", p, k * k)
    info = params.a[:, None] ** 2 * (m2 - m1 * m1)
    g = params.c
    if np.any(g > 0):
        j = np.flatnonzero(g > 0)
        p1 = np.clip(p[j, :, 1], 1e-300, 1.0)
        info[j] = params.a[j, None] ** 2 * ((1 - p1) / p1) * ((p1 - g[j, None]) / (1 - g[j, None])) ** 2
    return info


def test_information(theta: Any, params: ItemParameters) -> NDArray[np.float64]:
    """Σ_j I_j(θ); shape (Q,)."""
    return np.asarray(item_information(theta, params).sum(axis=0))


test_information.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
