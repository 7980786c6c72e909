"""Conditional log-likelihood of every person's responses at every quadrature node, and the posterior over nodes.

With X the sparse P × (J·Kmax) indicator of the responses (:meth:`Responses.indicator`) and
L[j·Kmax + k, q] = log P(X_j = k | θ_q), the log-likelihood of person i at node q is::

    ℓ[i, q] = Σ_{(i, j, k) observed} log P(X_j = k | θ_q) = (X @ L)[i, q]

one sparse matrix product, whatever the booklet design (items not administered have no entry). Bock & Aitkin
(1981) Psychometrika 46, 443–459.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from naeq.engines.irt.data import Responses
from naeq.engines.irt.models import ItemParameters, category_probabilities

_TINY = 1e-300


def _aligned(responses: Responses, params: ItemParameters) -> ItemParameters:
    if params.items == responses.items:
        return params
    missing = [i for i in responses.items if i not in set(params.items)]
    if missing:
        raise ValueError(f"no parameters for items {', '.join(missing[:5])}")
    return params.select(responses.items)


def log_probability_table(params: ItemParameters, nodes: NDArray[np.float64], kmax: int) -> NDArray[np.float64]:
    """L (J·kmax, Q) = log P(k | θ_q), rows beyond an item's categories 0."""
    p = category_probabilities(nodes, params)                      # (J, Q, K)
    if p.shape[2] < kmax:
        p = np.concatenate([p, np.zeros((p.shape[0], p.shape[1], kmax - p.shape[2]))], axis=2)
    logp = np.log(np.maximum(p, _TINY))
    logp[p <= 0] = 0.0
    return np.ascontiguousarray(logp.transpose(0, 2, 1).reshape(-1, len(nodes)))


def log_likelihood(responses: Responses, params: ItemParameters, nodes: Any,
                   indicator: sparse.csr_matrix | None = None) -> NDArray[np.float64]:
    """log P(x_i | θ_q) for every person and node; shape (P, Q).

    Parameters
    ----------
    responses : the sparse responses
    params : item parameters (any order; selected by item id)
    nodes : (Q,) θ values
    indicator : optionally the precomputed :meth:`Responses.indicator` (reused across EM iterations)

    Examples
    --------
    >>> import numpy as np
    >>> from naeq.engines.irt.data import responses_from_long
    >>> r = responses_from_long(["p"], ["i"], [1], {"i": 1})
    >>> p = ItemParameters(items=("i",), model=np.array(["rasch"]), a=np.ones(1), b=np.zeros((1, 1)),
    ...                    c=np.zeros(1), n_categories=np.array([2]))
    >>> float(np.exp(log_likelihood(r, p, np.array([0.0]))[0, 0]))
    0.5
    """
    nodes = np.asarray(nodes, dtype=np.float64).reshape(-1)
    params = _aligned(responses, params)
    x = responses.indicator() if indicator is None else indicator
    table = log_probability_table(params, nodes, responses.max_categories)
    return np.asarray(x @ table)


def posterior(loglik: NDArray[np.float64], log_prior: NDArray[np.float64]) -> tuple[NDArray[np.float64],
                                                                                       NDArray[np.float64]]:
    """Normalised posterior weights over nodes and each person's log marginal likelihood.

    ``log_prior`` is (Q,) or (P, Q) (log quadrature weights of the person's group). Returns (post (P, Q), logml (P,)).
    """
    w = np.add(loglik, log_prior)                 # one new (P, Q) array, then in place
    m = w.max(axis=1, keepdims=True)
    w -= m
    np.exp(w, out=w)
    s = w.sum(axis=1, keepdims=True)
    w *= 1.0 / s
    return w, (m + np.log(s)).reshape(-1)
