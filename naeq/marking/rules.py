"""The pure rules of marking: which responses are double-scored, who marks what, and the final score.

No Django here: the services turn rows into these plain values and back, so each rule is tested on its own.

Randomness comes only from the explicit :class:`numpy.random.Generator` of an assignment run, built from the
run's recorded seed: the same seed, responses and raters give the same assignment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

HIGHER, LOWER, MEAN = "higher", "lower", "mean"


@dataclass(frozen=True)
class Need:
    """A response that needs ``count`` more raters, none of them in ``exclude`` (raters who already had it)."""

    response: int
    count: int
    exclude: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Slot:
    response: int
    rater: int
    position: int
    check: bool


def choose_double(n: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean mask of shape ``(n,)`` with ``round(share * n)`` True entries at random positions."""
    if not 0 <= share <= 1:
        raise ValueError("share must lie in [0, 1]")
    k = int(np.floor(share * n + 0.5))
    mask = np.zeros(n, dtype=bool)
    if k:
        mask[rng.choice(n, size=k, replace=False)] = True
    return mask


def allocate(needs: Sequence[Need], raters: Sequence[int], *, rng: np.random.Generator,
             checks: Sequence[int] = (), check_rate: float = 0.0,
             checks_seen: dict[int, set[int]] | None = None,
             next_position: dict[int, int] | None = None) -> list[Slot]:
    """Put every need into raters' queues, balancing the load; seed check papers; shuffle each queue.

    * Responses are taken in a random order; each goes to the ``count`` least-loaded eligible raters (ties broken
      at random), never to a rater in its ``exclude`` set and never twice to one rater.
    * Each rater then gets ``round(load × r / (1 − r))`` check papers (``r = check_rate``, so that check papers
      make up the share ``r`` of the queue), drawn without replacement from ``checks`` minus those the rater has
      seen (``checks_seen``); fewer when the pool runs out.
    * Each rater's new items are shuffled together, so check papers sit at random places among real responses,
      and numbered from ``next_position[rater]``.

    Raises ``ValueError`` when a response needs more eligible raters than there are.
    """
    if not 0 <= check_rate < 1:
        raise ValueError("check_rate must lie in [0, 1)")
    rater_list = [int(r) for r in raters]
    if len(set(rater_list)) != len(rater_list):
        raise ValueError("raters must be distinct")
    load = {r: 0 for r in rater_list}
    queues: dict[int, list[tuple[int, bool]]] = {r: [] for r in rater_list}
    order = rng.permutation(len(needs)) if len(needs) else np.zeros(0, dtype=int)
    for idx in order:
        need = needs[int(idx)]
        eligible = [r for r in rater_list if r not in need.exclude]
        if len(eligible) < need.count:
            raise ValueError(f"response {need.response} needs {need.count} raters, only {len(eligible)} eligible")
        ties = rng.random(len(eligible))
        ranked = sorted(range(len(eligible)), key=lambda i: (load[eligible[i]], ties[i]))
        for i in ranked[:need.count]:
            r = eligible[i]
            load[r] += 1
            queues[r].append((need.response, False))
    seen = checks_seen or {}
    pool = [int(c) for c in checks]
    if check_rate > 0 and pool:
        for r in rater_list:
            want = int(np.floor(load[r] * check_rate / (1 - check_rate) + 0.5))
            available = [c for c in pool if c not in seen.get(r, set())]
            take = min(want, len(available))
            if take:
                picked = rng.choice(len(available), size=take, replace=False)
                queues[r].extend((available[int(i)], True) for i in picked)
    slots: list[Slot] = []
    start = next_position or {}
    for r in rater_list:
        items = queues[r]
        perm = rng.permutation(len(items)) if items else np.zeros(0, dtype=int)
        base = int(start.get(r, 1))
        slots.extend(Slot(response=items[int(j)][0], rater=r, position=base + k, check=items[int(j)][1])
                     for k, j in enumerate(perm))
    return slots


@dataclass(frozen=True)
class Outcome:
    status: str  # "final" or "arbitration"
    score: int | None
    rule: str  # "single", "agreed", "adjacent", "" (arbitration waiting)


def final_score(scores: Sequence[int], *, max_score: int, threshold: int, adjacent_rule: str) -> Outcome:
    """The final score of a fully scored response.

    * one score (single-scored): that score;
    * two equal scores: that score ("agreed");
    * two scores within ``threshold`` points (``0 < |a − b| ≤ threshold``): by ``adjacent_rule`` — the higher,
      the lower, or the mean rounded half up ("adjacent");
    * two scores further apart: arbitration, whose score is final (:func:`arbitrated`).
    """
    s = [int(x) for x in scores]
    if not 1 <= len(s) <= 2:
        raise ValueError("a response has one or two scores")
    if any(x < 0 or x > max_score for x in s):
        raise ValueError(f"scores must lie in 0..{max_score}")
    if len(s) == 1:
        return Outcome("final", s[0], "single")
    a, b = s
    d = abs(a - b)
    if d == 0:
        return Outcome("final", a, "agreed")
    if d > threshold:
        return Outcome("arbitration", None, "")
    if adjacent_rule == HIGHER:
        return Outcome("final", max(a, b), "adjacent")
    if adjacent_rule == LOWER:
        return Outcome("final", min(a, b), "adjacent")
    if adjacent_rule == MEAN:
        return Outcome("final", int(np.floor((a + b) / 2 + 0.5)), "adjacent")
    raise ValueError(f"unknown adjacent rule {adjacent_rule!r}")


def arbitrated(score: int, *, max_score: int) -> Outcome:
    """The arbiter's score is final."""
    if not 0 <= int(score) <= max_score:
        raise ValueError(f"score must lie in 0..{max_score}")
    return Outcome("final", int(score), "arbitrated")
