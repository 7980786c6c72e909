"""The E-step's two products, organised by booklet pattern for speed.

A booklet design has few patterns (persons who took the same items). Within pattern b, with Y_b the dense
n_b × C_b indicator of the score points (one column per item j in b and category k ≥ 1), and
Δ[j,k,q] = log P_jk(θ_q) − log P_j0(θ_q)::

    ℓ_b = 1 · Σ_{j∈b} log P_j0(θ)  +  Y_b @ Δ_b                      (log-likelihoods, n_b × Q)
    r[j, k≥1] = Y_bᵀ @ w_b,   r[j, 0] = Σ_i w_i − Σ_{k≥1} r[j, k]      (expected counts)

— dense BLAS products instead of sparse ones over every response, in single precision (Y_b is exactly 0/1; the
products are 2× faster than in double and their rounding, ~1e-5 on a log-likelihood and ~1e-6 relative on an
expected count, is far below the EM tolerance and the sampling error; everything else stays double). With
many patterns (e.g. items skipped at random and coded not administered) it falls back to the sparse indicator
of :meth:`Responses.indicator`. Persons are kept in pattern order internally (``order``); callers map back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from naeq.engines.irt.data import Responses
from naeq.engines.irt.likelihood import posterior
from naeq.engines.irt.patterns import booklet_patterns

MAX_PATTERNS = 256
# Below this many indicator cells the sparse product is as fast and avoids BLAS threading overhead on small data.
MIN_DENSE_CELLS = 200_000


@dataclass
class _Block:
    start: int
    stop: int
    items: NDArray[np.int64]
    col_item: NDArray[np.int64]
    col_cat: NDArray[np.int64]
    y: NDArray[np.float32]


class EStep:
    """Precomputed layout of the responses for repeated E-steps (built once per calibration)."""

    def __init__(self, responses: Responses, *, max_patterns: int = MAX_PATTERNS,
                 min_dense_cells: int | None = None) -> None:
        self.n_persons = responses.n_persons
        self.n_items = responses.n_items
        self.kmax = responses.max_categories
        if min_dense_cells is None:
            min_dense_cells = MIN_DENSE_CELLS
        big = len(responses) * (self.kmax - 1) >= min_dense_cells
        pattern, design = booklet_patterns(responses) if big else (None, np.zeros((max_patterns + 1, 0), bool))
        self.dense = design.shape[0] <= max_patterns
        if not self.dense:
            self.order = np.arange(self.n_persons)
            x = responses.indicator()
            self.x = x
            self.x_t = x.T.tocsr()
            self.blocks: list[_Block] = []
            return
        assert pattern is not None
        self.order = np.argsort(pattern, kind="stable")
        rank = np.empty(self.n_persons, dtype=np.int64)
        rank[self.order] = np.arange(self.n_persons)
        bounds = np.searchsorted(pattern[self.order], np.arange(design.shape[0] + 1))
        k = responses.n_categories
        self.blocks = []
        for b in range(design.shape[0]):
            items = np.flatnonzero(design[b])
            col_item = np.repeat(items, k[items] - 1)
            col_cat = np.concatenate([np.arange(1, k[j]) for j in items]) if len(items) else np.zeros(0, np.int64)
            col_of = np.full((self.n_items, self.kmax), -1, dtype=np.int64)
            col_of[col_item, col_cat] = np.arange(len(col_item))
            start, stop = int(bounds[b]), int(bounds[b + 1])
            self.blocks.append(_Block(start, stop, items, col_item, col_cat.astype(np.int64),
                                      np.zeros((stop - start, len(col_item)), dtype=np.float32)))
        row = rank[responses.person]
        blk = pattern[responses.person]
        pos = responses.score > 0
        for b, block in enumerate(self.blocks):
            sel = pos & (blk == b)
            col_of = np.full((self.n_items, self.kmax), -1, dtype=np.int64)
            col_of[block.col_item, block.col_cat] = np.arange(len(block.col_item))
            block.y[row[sel] - block.start, col_of[responses.item[sel], responses.score[sel]]] = 1.0

    def loglik(self, logp: NDArray[np.float64]) -> NDArray[np.float64]:
        """(P, Q) log-likelihoods in internal (pattern) order from log P as (J, Kmax, Q)."""
        q = logp.shape[2]
        if not self.dense:
            return np.asarray(self.x @ logp.reshape(-1, q))
        out = np.empty((self.n_persons, q))
        for b in self.blocks:
            base = logp[b.items, 0].sum(axis=0)
            if len(b.col_item):
                delta = (logp[b.col_item, b.col_cat] - logp[b.col_item, 0]).astype(np.float32)
                out[b.start: b.stop] = b.y @ delta
                out[b.start: b.stop] += base
            else:
                out[b.start: b.stop] = base
        return out

    def counts(self, post: NDArray[np.float64]) -> NDArray[np.float64]:
        """Expected counts r (J, Kmax, Q) from the posterior (P, Q) in internal order."""
        q = post.shape[1]
        if not self.dense:
            return np.asarray(self.x_t @ post).reshape(self.n_items, self.kmax, q)
        r = np.zeros((self.n_items, self.kmax, q))
        for b in self.blocks:
            w = post[b.start: b.stop]
            tot = w.sum(axis=0)
            r[b.items, 0] += tot
            if len(b.col_item):
                s = (b.y.T @ w.astype(np.float32)).astype(np.float64)
                r[b.col_item, b.col_cat] += s
                np.subtract.at(r[:, 0], b.col_item, s)
        return r

    def posterior_counts(self, logp: NDArray[np.float64], log_w: NDArray[np.float64], group: NDArray[np.int64],
                         weights: NDArray[np.float64] | None = None) -> tuple[
            NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """One whole E-step of an EM cycle: (expected counts r (J, Kmax, Q), log marginal likelihoods (P,) in
        internal order (times the weights), posterior mass per group (G, Q)).

        ``log_w`` (G, Q) the groups' log quadrature weights, ``group`` (P,) and ``weights`` (P,) in internal
        order. On the dense path it is fused per pattern block, in single precision throughout: the block's
        log-likelihood product, the prior, the normalisation and the counts product stay in one n_b × Q float32
        array (a few MB, in cache) instead of several passes over a P × Q double array. Rounding: as for the
        products (module docstring) — ~1e-5 on a log-likelihood, ~1e-6 relative on a weight; the counts and
        masses are accumulated in double per block. The final E-step (reported posterior, SEs) uses
        :meth:`loglik` and the double-precision posterior."""
        n_groups = log_w.shape[0]
        if not self.dense:
            post, logml = posterior(self.loglik(logp), log_w[group])
            if weights is not None:
                post *= weights[:, None]
                logml *= weights
            ind = sparse.csr_matrix((np.ones(len(group)), (group, np.arange(len(group)))),
                                    shape=(n_groups, len(group)))
            return self.counts(post), logml, np.asarray(ind @ post)
        q = logp.shape[2]
        r = np.zeros((self.n_items, self.kmax, q))
        logml = np.empty(self.n_persons)
        mass = np.zeros((n_groups, q))
        lw32 = log_w.astype(np.float32)
        for b in self.blocks:
            n_b = b.stop - b.start
            if n_b == 0:
                continue
            base = logp[b.items, 0].sum(axis=0).astype(np.float32)
            if len(b.col_item):
                delta = (logp[b.col_item, b.col_cat] - logp[b.col_item, 0]).astype(np.float32)
                w = b.y @ delta
                w += base
            else:
                w = np.broadcast_to(base, (n_b, q)).copy()
            g = group[b.start: b.stop]
            if n_groups == 1:
                w += lw32[0]
            else:
                w += lw32[g]
            top = w.max(axis=1, keepdims=True)
            w -= top
            np.exp(w, out=w)
            tot_i = w.sum(axis=1, keepdims=True)
            w *= np.float32(1.0) / tot_i
            ml = top[:, 0].astype(np.float64) + np.log(tot_i[:, 0].astype(np.float64))
            if weights is not None:
                wt = weights[b.start: b.stop]
                w *= wt.astype(np.float32)[:, None]
                ml *= wt
            logml[b.start: b.stop] = ml
            tot = w.sum(axis=0, dtype=np.float64)
            r[b.items, 0] += tot
            if n_groups == 1:
                mass[0] += tot
            else:
                onehot = np.zeros((n_b, n_groups), dtype=np.float32)
                onehot[np.arange(n_b), g] = 1.0
                mass += (onehot.T @ w).astype(np.float64)
            if len(b.col_item):
                s = (b.y.T @ w).astype(np.float64)
                r[b.col_item, b.col_cat] += s
                np.subtract.at(r[:, 0], b.col_item, s)
        return r, logml, mass

    def person_rows(self) -> NDArray[np.int64]:
        """order[i] = original person index of internal row i."""
        return self.order

    @property
    def indicator(self) -> sparse.csr_matrix | None:
        return None if self.dense else self.x
