"""Simulated item parameters, booklet designs and responses with known truth (tests, benches, demos).

Everything is drawn from an explicit seed or ``numpy.random.Generator``; the same seed gives the same output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from naeq.engines.irt.data import Responses
from naeq.engines.irt.models import DICHOTOMOUS, FREE_SLOPE, MODELS, ItemParameters, category_probabilities


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def simulate_items(models: Sequence[str] | str, n_items: int | None = None, *, seed: int | np.random.Generator,
                   n_categories: int | Sequence[int] = 3, prefix: str = "i") -> ItemParameters:
    """Draw item parameters: b ~ N(0, 1); a ~ lognormal(0, 0.25) for 2pl/3pl/gpcm (1 otherwise);
    c ~ U(0.10, 0.25) for 3pl; polytomous steps b_v = location + N(spread_v, 0.2) with spreads evenly in
    [−1, 1] (so the steps are mostly ordered, as in real partial-credit items).

    ``models`` is one model for all ``n_items`` or a sequence (one per item); ``n_categories`` applies to the
    polytomous items (one value or one per item).

    Examples
    --------
    >>> p = simulate_items(["2pl", "3pl", "gpcm"], seed=1)
    >>> p.n_categories.tolist(), len(p)
    ([2, 2, 3], 3)
    """
    rng = _rng(seed)
    if isinstance(models, str):
        if n_items is None:
            raise ValueError("n_items is required when models is a single model")
        model_list = [models] * n_items
    else:
        model_list = [str(m) for m in models]
    bad = [m for m in model_list if m not in MODELS]
    if bad:
        raise ValueError(f"unknown model {bad[0]!r}")
    j = len(model_list)
    model = np.array(model_list)
    dich = np.isin(model, list(DICHOTOMOUS))
    k = np.where(dich, 2, np.broadcast_to(np.asarray(n_categories, dtype=np.int64), (j,))).astype(np.int64)
    kmax = int(k.max()) if j else 2
    loc = rng.normal(0.0, 1.0, j)
    a_draw = rng.lognormal(0.0, 0.25, j)
    c_draw = rng.uniform(0.10, 0.25, j)
    noise = rng.normal(0.0, 0.2, (j, max(kmax - 1, 1)))
    a = np.where(np.isin(model, list(FREE_SLOPE)), a_draw, 1.0)
    c = np.where(model == "3pl", c_draw, 0.0)
    b = np.full((j, max(kmax - 1, 1)), np.nan)
    for kk in np.unique(k):
        rows = np.flatnonzero(k == kk)
        spread = np.linspace(-1.0, 1.0, kk - 1) if kk > 2 else np.zeros(1)
        b[rows, : kk - 1] = loc[rows, None] + spread[None, :] + (noise[rows, : kk - 1] if kk > 2 else 0.0)
    items = tuple(f"{prefix}{n + 1:03d}" for n in range(j))
    return ItemParameters(items=items, model=model, a=a, b=b, c=c, n_categories=k)


def rotated_booklets(n_items: int, n_booklets: int, blocks_per_booklet: int = 2) -> NDArray[np.bool_]:
    """A rotated block design: the items are cut into ``n_booklets`` consecutive blocks and booklet ``m`` holds
    blocks m, m+1, …, m+blocks_per_booklet−1 (mod n_booklets), so every block appears in
    ``blocks_per_booklet`` booklets and neighbouring booklets share a block (the design links all booklets).
    Returns (n_booklets, n_items) booleans."""
    if n_booklets < 1 or not 1 <= blocks_per_booklet <= n_booklets:
        raise ValueError("need n_booklets >= 1 and 1 <= blocks_per_booklet <= n_booklets")
    block = np.arange(n_items) * n_booklets // max(n_items, 1)
    design = np.zeros((n_booklets, n_items), dtype=bool)
    for m in range(n_booklets):
        for s in range(blocks_per_booklet):
            design[m, block == (m + s) % n_booklets] = True
    return design


@dataclass(frozen=True)
class Simulation:
    """Known truth and the simulated data."""

    params: ItemParameters
    theta: NDArray[np.float64]
    group: NDArray[np.int64]
    booklet: NDArray[np.int64]
    responses: Responses


def simulate_responses(params: ItemParameters, theta: Any, *, seed: int | np.random.Generator,
                       design: NDArray[np.bool_] | None = None, booklet: Any = None) -> Responses:
    """Draw responses of persons with abilities ``theta`` (P,) to the items of ``params``.

    ``design`` (B × J booleans) says which items each booklet holds and ``booklet`` (P,) which booklet each person
    took (drawn uniformly when omitted); without a design every person takes every item. Persons are ids 0..P−1.
    """
    rng = _rng(seed)
    theta = np.asarray(theta, dtype=np.float64).reshape(-1)
    n_p, n_j = len(theta), len(params)
    if design is None:
        design = np.ones((1, n_j), dtype=bool)
    design = np.asarray(design, dtype=bool)
    if booklet is None:
        booklet = rng.integers(0, design.shape[0], n_p)
    booklet = np.asarray(booklet, dtype=np.int64)
    persons_out, items_out, scores_out = [], [], []
    for m in range(design.shape[0]):
        who = np.flatnonzero(booklet == m)
        which = np.flatnonzero(design[m])
        if len(who) == 0 or len(which) == 0:
            continue
        prob = category_probabilities(theta[who], params.take(which))          # (Jb, Pb, K)
        cum = np.cumsum(prob, axis=2)
        u = rng.random((len(which), len(who), 1))
        score = (u > cum[:, :, :-1]).sum(axis=2)                               # (Jb, Pb)
        persons_out.append(np.broadcast_to(who[None, :], score.shape).ravel())
        items_out.append(np.broadcast_to(which[:, None], score.shape).ravel())
        scores_out.append(score.ravel())
    person = np.concatenate(persons_out) if persons_out else np.zeros(0, dtype=np.int64)
    item = np.concatenate(items_out) if items_out else np.zeros(0, dtype=np.int64)
    score = np.concatenate(scores_out) if scores_out else np.zeros(0, dtype=np.int64)
    order = np.lexsort((item, person))
    return Responses(person=person[order].astype(np.int64), item=item[order].astype(np.int64),
                     score=score[order].astype(np.int64), persons=np.arange(n_p), items=params.items,
                     n_categories=params.n_categories.copy())


def simulate(models: Sequence[str] | str, n_persons: int, *, seed: int, n_items: int | None = None,
             n_categories: int | Sequence[int] = 3, n_booklets: int = 1, blocks_per_booklet: int = 2,
             group_means: Sequence[float] = (0.0,), group_sds: Sequence[float] = (1.0,)) -> Simulation:
    """Items, abilities (group g ~ N(mean_g, sd_g), persons assigned to groups in equal shares), a rotated
    booklet design and responses, all from one seed.

    Examples
    --------
    >>> s = simulate("2pl", 200, n_items=12, n_booklets=3, seed=7)
    >>> s.responses.n_persons, len(s.responses) == 200 * 8
    (200, True)
    """
    rng = np.random.default_rng(seed)
    params = simulate_items(models, n_items, seed=rng, n_categories=n_categories)
    n_groups = len(group_means)
    group = np.arange(n_persons) % n_groups
    sds = np.broadcast_to(np.asarray(group_sds, dtype=np.float64), (n_groups,))
    theta = rng.normal(np.asarray(group_means, dtype=np.float64)[group], sds[group])
    design = (rotated_booklets(len(params), n_booklets, min(blocks_per_booklet, n_booklets))
              if n_booklets > 1 else None)
    booklet = rng.integers(0, n_booklets, n_persons)
    responses = simulate_responses(params, theta, seed=rng, design=design, booklet=booklet)
    return Simulation(params=params, theta=theta, group=group.astype(np.int64), booklet=booklet,
                      responses=responses)
