"""Answer-similarity indices for every pair of persons within a group (school), computed group-batched.

For a copier ``c`` and a source ``s`` with observed options ``x_s``, over the items both took:

* **ω** (Wollack 1997): ``h = Σ_j 1[x_cj = x_sj]``, ``E = Σ_j P_c(x_sj)``, ``V = Σ_j P_c(x_sj)(1 − P_c(x_sj))``,
  ``ω = (h − E) / √V``, one-sided normal p-value. ω is directional; the pair reports the larger direction and the
  p-value ``min(1, 2 Φ(−ω_max))`` (Bonferroni over the two directions); the other member is the source candidate.
* **Generalised binomial test** (van der Linden & Sotaridona 2006): under independence given θ, the matches
  ``M = Σ_j 1[x_cj = x_sj]`` are independent Bernoulli with ``π_j = Σ_k P_c(k) P_s(k)``; the p-value
  ``P(M ≥ h)`` is exact, from the compound-binomial recursion (Lord & Wingersky 1984).
* **Identical incorrect** answers (Holland 1996; Sotaridona & Meijer 2002): ``II = Σ_j 1[x_cj = x_sj ≠ key_j]``
  with ``π_j = Σ_{k ≠ key} P_c(k) P_s(k)``, the same exact tail.

Computation: persons are sorted by group and groups are padded to a block; with one-hot responses ``O`` and
probabilities ``P`` of shape ``(G, n, J·K)``, ``E = P Oᵀ`` and ``V = (P(1−P)) Oᵀ`` and ``h = O Oᵀ`` are batched
matrix products, so the work is a few BLAS calls per block of groups.

References: Wollack (1997) Applied Psychological Measurement 21, 307–320; van der Linden & Sotaridona (2006)
Journal of Educational and Behavioral Statistics 31, 283–304; Lord & Wingersky (1984) Applied Psychological
Measurement 8, 453–461.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.special import ndtr

from naeq.engines.forensics.options import OptionModel, check_options

Progress = Callable[[float], None]


def compound_binomial_sf(pi: NDArray[np.float64], observed: NDArray[np.int64]) -> NDArray[np.float64]:
    """``P(M ≥ observed)`` for ``M = Σ_j Bernoulli(π_j)``, row-wise for ``pi`` of shape ``(n, J)``.

    Exact Lord–Wingersky recursion over the items (``O(n J²)``); a π of 0 (item not common) adds nothing.

    Examples
    --------
    >>> import numpy as np
    >>> float(compound_binomial_sf(np.full((1, 3), 0.5), np.array([2]))[0])
    0.5
    """
    n, j = pi.shape
    dist = np.zeros((n, j + 1))
    dist[:, 0] = 1.0
    for col in range(j):
        p = pi[:, col : col + 1]
        dist[:, 1 : col + 2] = dist[:, 1 : col + 2] * (1 - p) + dist[:, 0 : col + 1] * p
        dist[:, 0:1] *= 1 - p
    cum = np.cumsum(dist[:, ::-1], axis=1)[:, ::-1]  # cum[:, m] = P(M ≥ m)
    obs = np.clip(observed, 0, j)
    return np.asarray(np.clip(cum[np.arange(n), obs], 0.0, 1.0))


@dataclass(frozen=True)
class PairStatistics:
    """Statistics of every within-group pair ``(first, second)``, rows of the input matrix, ``first < second``.

    ``omega`` is the larger of the two directional indices and ``copier`` the member it conditions on (the source
    candidate is the other one); ``omega_other`` is the index of the other direction; ``omega_p``, ``gbt_p`` and
    ``ii_p`` are the per-pair p-values.
    """

    first: NDArray[np.int64]
    second: NDArray[np.int64]
    common: NDArray[np.int64]
    matches: NDArray[np.int64]
    identical_incorrect: NDArray[np.int64]
    omega: NDArray[np.float64]
    omega_other: NDArray[np.float64]
    omega_p: NDArray[np.float64]
    copier: NDArray[np.int64]
    gbt_p: NDArray[np.float64]
    ii_p: NDArray[np.float64]

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            arr = np.array(getattr(self, name))
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return len(self.first)


def _group_blocks(group: NDArray[np.int64], budget: int) -> list[tuple[NDArray[np.int64], int]]:
    order = np.argsort(group, kind="stable")
    g_sorted = group[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    by_size = np.argsort(sizes, kind="stable")
    blocks: list[tuple[NDArray[np.int64], int]] = []
    i = 0
    while i < len(by_size):  # groups in increasing size; a block holds as many as fit in ``budget`` padded rows
        j = i
        while j < len(by_size) and (j - i + 1) * max(int(sizes[by_size[j]]), 1) <= budget:
            j += 1
        j = max(j, i + 1)
        nmax = int(sizes[by_size[j - 1]])
        rows = np.full((j - i, nmax), -1, dtype=np.int64)
        for r, gi in enumerate(by_size[i:j]):
            s = starts[gi]
            rows[r, : sizes[gi]] = order[s : s + sizes[gi]]
        blocks.append((rows, nmax))
        i = j
    return blocks


def pair_statistics(model: OptionModel, options: Any, group: Any, *, exact_tests: bool = True,
                    block_persons: int = 2400, progress: Progress | None = None) -> PairStatistics:
    """ω, GBT and identical-incorrect statistics for all pairs sharing a ``group`` code (e.g. the school).

    Parameters
    ----------
    model : the :class:`OptionModel` fitted to the same ``options`` matrix (its θ are used row by row)
    options : (N, J) option codes, −1 = not administered
    group : (N,) integer group codes; pairs are formed within groups only
    exact_tests : compute the GBT and identical-incorrect tails (the ω part alone is the fast path)
    block_persons : persons per batch (memory ≈ block · J · K · 8 bytes × 4)

    Examples
    --------
    >>> import numpy as np
    >>> from naeq.engines.forensics.options import fit_option_model
    >>> x = np.array([[0, 1, 2, 0], [0, 1, 2, 0], [1, 0, 2, 1], [0, 2, 1, 0]])
    >>> m = fit_option_model(x, [0, 1, 2, 0], n_bins=1)
    >>> len(pair_statistics(m, x, [0, 0, 1, 1]))
    2
    """
    x, key = check_options(options, model.key)
    grp = np.asarray(group).reshape(-1)
    if grp.shape[0] != x.shape[0]:
        raise ValueError("group needs one code per row of options")
    grp = np.unique(grp, return_inverse=True)[1].astype(np.int64)
    n_items, k_opt = x.shape[1], model.n_options
    out: dict[str, list[NDArray[Any]]] = {f: [] for f in PairStatistics.__dataclass_fields__}
    blocks = _group_blocks(grp, block_persons)
    key_mask = np.zeros((n_items, k_opt), dtype=bool)
    key_mask[np.arange(n_items), key] = True
    for bi, (rows, nmax) in enumerate(blocks):
        if nmax < 2:
            continue
        g = rows.shape[0]
        valid = rows >= 0
        flat = np.where(valid, rows, 0).reshape(-1)
        xb = x[flat].reshape(g, nmax, n_items)
        taken = (xb >= 0) & valid[:, :, None]
        onehot = np.zeros((g, nmax, n_items, k_opt))
        gi, pi_, ji = np.nonzero(taken)
        onehot[gi, pi_, ji, xb[gi, pi_, ji]] = 1.0
        prob = model.probabilities(flat, taken.reshape(-1, n_items)).reshape(g, nmax, n_items, k_opt)
        o2 = onehot.reshape(g, nmax, -1)
        p2 = prob.reshape(g, nmax, -1)
        expected = p2 @ o2.transpose(0, 2, 1)  # [c, s] = Σ P_c(x_s)
        variance = (p2 * (1 - p2)) @ o2.transpose(0, 2, 1)
        matches = o2 @ o2.transpose(0, 2, 1)
        wrong = (o2 * ~key_mask.reshape(1, 1, -1)) @ o2.transpose(0, 2, 1)
        common = taken.astype(np.float64) @ taken.astype(np.float64).transpose(0, 2, 1)
        omega_cs = (matches - expected) / np.sqrt(np.maximum(variance, 1e-12))
        iu, ju = np.triu_indices(nmax, k=1)
        keep = valid[:, iu] & valid[:, ju]
        bsel, psel = np.nonzero(keep)
        a_idx, b_idx = iu[psel], ju[psel]
        w_ab = omega_cs[bsel, a_idx, b_idx]  # a copies from b
        w_ba = omega_cs[bsel, b_idx, a_idx]
        first, second = rows[bsel, a_idx], rows[bsel, b_idx]
        swap = first > second
        first, second = np.where(swap, second, first), np.where(swap, first, second)
        w = np.maximum(w_ab, w_ba)
        copier = np.where(w_ab >= w_ba, rows[bsel, a_idx], rows[bsel, b_idx])
        h = np.rint(matches[bsel, a_idx, b_idx]).astype(np.int64)
        ii = np.rint(wrong[bsel, a_idx, b_idx]).astype(np.int64)
        out["first"].append(first)
        out["second"].append(second)
        out["common"].append(np.rint(common[bsel, a_idx, b_idx]).astype(np.int64))
        out["matches"].append(h)
        out["identical_incorrect"].append(ii)
        out["omega"].append(w)
        out["omega_other"].append(np.minimum(w_ab, w_ba))
        out["omega_p"].append(np.minimum(1.0, 2 * ndtr(-w)))
        out["copier"].append(copier)
        if exact_tests:
            pa, pb = prob[bsel, a_idx], prob[bsel, b_idx]  # (pairs, J, K)
            both = pa * pb
            pi_all = both.sum(axis=2)
            pi_wrong = pi_all - both[:, np.arange(n_items), key]
            out["gbt_p"].append(compound_binomial_sf(pi_all, h))
            out["ii_p"].append(compound_binomial_sf(pi_wrong, ii))
        else:
            out["gbt_p"].append(np.full(len(h), np.nan))
            out["ii_p"].append(np.full(len(h), np.nan))
        if progress is not None:
            progress((bi + 1) / len(blocks))
    cat: dict[str, Any] = {f: (np.concatenate(v) if v else np.empty(0)) for f, v in out.items()}
    order = np.lexsort((cat["second"], cat["first"])) if len(cat["first"]) else np.empty(0, dtype=np.int64)
    return PairStatistics(**{f: (v[order].astype(np.int64) if f in ("first", "second", "common", "matches",
                                                                    "identical_incorrect", "copier")
                                 else v[order].astype(np.float64)) for f, v in cat.items()})


@dataclass(frozen=True)
class Clusters:
    """Connected components (size ≥ 2) of flagged pairs: ``label`` per person (−1 = in no cluster),
    ``size`` and ``source`` (the member with most flagged links, ties broken by the highest θ) per cluster."""

    label: NDArray[np.int64]
    size: NDArray[np.int64]
    source: NDArray[np.int64]


def clusters(n_persons: int, first: Any, second: Any, theta: Any, weight: Any = None) -> Clusters:
    """Clusters of near-identical answer strings: connected components of the flagged pairs ``(first, second)``.

    A proctor dictating answers to a room, or one leaked answer sheet, shows as one component with a hub: many
    flagged links to one source. Each component's source candidate is its member of highest weighted degree (the
    sum of ``weight``, e.g. ω, over its flagged links; default 1 per link), then highest θ: copies agree with the
    source more than with each other, so the source is the centre even when every pair is flagged.

    Examples
    --------
    >>> c = clusters(5, [0, 0, 0], [1, 2, 3], [0.0, 1.0, 0.0, 0.0, 0.0])
    >>> c.label.tolist(), c.size.tolist(), c.source.tolist()
    ([0, 0, 0, 0, -1], [4], [0])
    """
    f = np.asarray(first, dtype=np.int64)
    s = np.asarray(second, dtype=np.int64)
    th = np.asarray(theta, dtype=np.float64)
    graph = coo_matrix((np.ones(len(f)), (f, s)), shape=(n_persons, n_persons))
    _, comp = connected_components(graph, directed=False)
    w = np.ones(len(f)) if weight is None else np.asarray(weight, dtype=np.float64)
    degree = np.bincount(np.r_[f, s], np.r_[w, w], minlength=n_persons)
    sizes = np.bincount(comp)
    in_cluster = sizes[comp] >= 2
    uniq = np.unique(comp[in_cluster])
    relabel = np.full(len(sizes), -1)
    relabel[uniq] = np.arange(len(uniq))
    label = np.where(in_cluster, relabel[comp], -1)
    members = np.flatnonzero(label >= 0)
    order = np.lexsort((-th[members], -degree[members], label[members]))
    ranked = members[order]
    first_of = np.r_[True, label[ranked][1:] != label[ranked][:-1]] if len(ranked) else np.empty(0, dtype=bool)
    return Clusters(label=label.astype(np.int64), size=sizes[uniq].astype(np.int64),
                    source=ranked[first_of].astype(np.int64))
