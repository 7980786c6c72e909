"""The pure rules of marking (naeq.marking.rules): the double-scoring share, the allocation (a rater never gets a
response twice, loads balanced, check papers at the configured rate and shuffled in, the same seed gives the same
queues), and the final-score rule."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from naeq.marking.rules import Need, allocate, arbitrated, choose_double, final_score


@pytest.mark.parametrize(("n", "share", "k"), [(100, 0.15, 15), (10, 0.2, 2), (7, 0.1, 1), (0, 0.5, 0), (9, 1, 9)])
def test_double_share_is_the_configured_share(n: int, share: float, k: int) -> None:
    mask = choose_double(n, share, np.random.default_rng(1))
    assert mask.shape == (n,) and int(mask.sum()) == k


def test_double_share_is_random_but_reproducible() -> None:
    a = choose_double(200, 0.15, np.random.default_rng(42))
    b = choose_double(200, 0.15, np.random.default_rng(42))
    c = choose_double(200, 0.15, np.random.default_rng(43))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def _needs(n: int, double: set[int]) -> list[Need]:
    return [Need(response=i, count=2 if i in double else 1) for i in range(n)]


def test_allocation_properties() -> None:
    rng = np.random.default_rng(5)
    double = set(range(0, 300, 7))
    slots = allocate(_needs(300, double), [11, 12, 13, 14], rng=rng, checks=[901, 902, 903, 904, 905, 906, 907, 908,
                                                                                909, 910], check_rate=0.05)
    real = [s for s in slots if not s.check]
    per_response = Counter(s.response for s in real)
    assert all(per_response[i] == (2 if i in double else 1) for i in range(300))
    # Never twice: every (response, rater) pair at most once, real responses and check papers alike.
    assert len({(s.response, s.rater) for s in slots}) == len(slots)
    # Balanced: 343 real assignments over 4 raters differ by at most one.
    loads = Counter(s.rater for s in real)
    assert max(loads.values()) - min(loads.values()) <= 1
    # Check papers: round(load × 0.05 / 0.95) each = 5 of ~86; distinct per rater.
    checks = Counter(s.rater for s in slots if s.check)
    assert all(checks[r] == int(np.floor(loads[r] * 0.05 / 0.95 + 0.5)) for r in loads)
    # Each rater's queue positions run 1..len without gaps, and check papers are not all at the end.
    for r in loads:
        pos = sorted(s.position for s in slots if s.rater == r)
        assert pos == list(range(1, len(pos) + 1))
        check_pos = [s.position for s in slots if s.rater == r and s.check]
        assert min(check_pos) < len(pos) - len(check_pos)


def test_allocation_is_reproducible_from_the_seed() -> None:
    def run(seed: int) -> list[tuple[int, int, int, bool]]:
        slots = allocate(_needs(50, {1, 2, 3}), [1, 2, 3], rng=np.random.default_rng(seed), checks=[100, 101],
                         check_rate=0.1)
        return [(s.response, s.rater, s.position, s.check) for s in slots]

    assert run(9) == run(9)
    assert run(9) != run(10)


def test_excluded_raters_and_seen_checks_are_respected() -> None:
    needs = [Need(response=1, count=1, exclude=frozenset({1, 2})), Need(response=2, count=2, exclude=frozenset({3}))]
    slots = allocate(needs, [1, 2, 3], rng=np.random.default_rng(0), checks=[50, 51], check_rate=0.5,
                     checks_seen={1: {50, 51}}, next_position={1: 8, 2: 1, 3: 4})
    assert {(s.response, s.rater) for s in slots if not s.check} == {(1, 3), (2, 1), (2, 2)}
    assert not [s for s in slots if s.check and s.rater == 1]  # rater 1 has seen both check papers
    assert min(s.position for s in slots if s.rater == 1) == 8


def test_too_few_raters_is_an_error() -> None:
    with pytest.raises(ValueError, match="needs 2 raters"):
        allocate([Need(response=1, count=2)], [7], rng=np.random.default_rng(0))


# The final-score rule. Configuration (naeq.marking.models.MarkingSettings): the arbitration threshold is 0 for
# items of at most 2 points (any difference goes to arbitration) and 1 otherwise; adjacent scores take the higher
# by default, or the lower, or the mean rounded half up.

@pytest.mark.parametrize(("scores", "max_score", "threshold", "rule", "expected"), [
    ([2], 2, 0, "higher", ("final", 2, "single")),
    ([1, 1], 2, 0, "higher", ("final", 1, "agreed")),
    ([1, 2], 2, 0, "higher", ("arbitration", None, "")),       # 2-point item: any difference is arbitrated
    ([3, 4], 6, 1, "higher", ("final", 4, "adjacent")),
    ([3, 4], 6, 1, "lower", ("final", 3, "adjacent")),
    ([3, 4], 6, 1, "mean", ("final", 4, "adjacent")),          # 3.5 rounds half up
    ([2, 3], 6, 1, "mean", ("final", 3, "adjacent")),
    ([2, 4], 6, 2, "mean", ("final", 3, "adjacent")),
    ([2, 4], 6, 1, "higher", ("arbitration", None, "")),       # more than the threshold apart
    ([0, 6], 6, 1, "higher", ("arbitration", None, "")),
])
def test_final_score_rule(scores: list[int], max_score: int, threshold: int, rule: str,
                          expected: tuple[str, int | None, str]) -> None:
    o = final_score(scores, max_score=max_score, threshold=threshold, adjacent_rule=rule)
    assert (o.status, o.score, o.rule) == expected


def test_arbitrated_score_is_final_and_checked() -> None:
    o = arbitrated(1, max_score=2)
    assert (o.status, o.score, o.rule) == ("final", 1, "arbitrated")
    with pytest.raises(ValueError):
        arbitrated(3, max_score=2)
    with pytest.raises(ValueError):
        final_score([1, 2, 3], max_score=4, threshold=1, adjacent_rule="higher")
    with pytest.raises(ValueError):
        final_score([1, 2], max_score=4, threshold=1, adjacent_rule="median")
