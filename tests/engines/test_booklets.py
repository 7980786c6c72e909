"""Booklet spiralling and test IDs (naeq.engines.booklets).

Issue 3: "Booklets of each subject are assigned so that every booklet is used equally often within each school and
overall (spiralled), reproducibly; each test taker gets a test ID with a check character".
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from naeq.engines.booklets import (
    ALPHABET,
    CHECK_ALPHABET,
    assign_booklets,
    booklet_counts,
    group_index,
    make_test_ids,
)
from naeq.engines.booklets import test_id_check_char as check_char  # aliased: pytest would collect test_* names
from naeq.engines.booklets import test_id_valid as id_valid


def _random_design(seed: int) -> tuple[np.ndarray, int]:
    """Random group sizes (1..90, some smaller than the number of booklets), shuffled rows, 1..12 booklets."""
    rng = np.random.default_rng(10_000 + seed)
    n_groups = int(rng.integers(1, 40))
    sizes = rng.integers(1, 91, size=n_groups)
    labels = rng.choice(10_000, size=n_groups, replace=False)  # arbitrary, non-contiguous labels
    group = np.repeat(labels, sizes)
    rng.shuffle(group)  # rows of a group are scattered
    return group.astype(np.int64), int(rng.integers(1, 13))


@pytest.mark.parametrize("seed", range(300))
def test_counts_differ_by_at_most_one_within_every_group_and_overall(seed: int) -> None:
    group, n_booklets = _random_design(seed)
    booklet = assign_booklets(group, n_booklets, rng=np.random.default_rng(seed))
    assert booklet.shape == group.shape
    assert booklet.min() >= 1 and booklet.max() <= n_booklets
    counts = booklet_counts(group, booklet, n_booklets)
    spread_within = counts.max(axis=1) - counts.min(axis=1)
    assert spread_within.max() <= 1, counts
    overall = counts.sum(axis=0)
    assert overall.max() - overall.min() <= 1, overall
    assert counts.sum() == group.size


def test_independent_starts_would_fail_the_overall_property() -> None:
    """What the overall test catches: spiralling each group from its own independent random start lets the
    overall counts drift apart (here 200 groups of 1 student and 4 booklets)."""
    rng = np.random.default_rng(3)
    independent = rng.integers(4, size=200) + 1
    overall = np.bincount(independent, minlength=5)[1:]
    assert overall.max() - overall.min() > 1
    rotated = assign_booklets(np.arange(200), 4, rng=np.random.default_rng(3))
    overall = np.bincount(rotated, minlength=5)[1:]
    assert overall.tolist() == [50, 50, 50, 50]


def test_same_generator_state_gives_the_same_assignment_and_input_is_not_mutated() -> None:
    group, n_booklets = _random_design(7)
    keep = group.copy()
    a = assign_booklets(group, n_booklets, rng=np.random.default_rng(42))
    b = assign_booklets(group, n_booklets, rng=np.random.default_rng(42))
    c = assign_booklets(group, max(n_booklets, 3), rng=np.random.default_rng(43))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.array_equal(group, keep)


def test_start_and_order_are_random() -> None:
    """A one-student group can get any booklet, and the first student of a group does not always get booklet 1."""
    seen_single = {int(assign_booklets(np.array([5]), 6, rng=np.random.default_rng(s))[0]) for s in range(200)}
    assert seen_single == {1, 2, 3, 4, 5, 6}
    firsts = {int(assign_booklets(np.zeros(30, dtype=np.int64), 6, rng=np.random.default_rng(s))[0])
              for s in range(200)}
    assert firsts == {1, 2, 3, 4, 5, 6}


def test_national_size_in_one_call() -> None:
    """About 200,000 test takers in 6,700 schools × grade: one call, both properties hold."""
    rng = np.random.default_rng(2024)
    sizes = rng.integers(5, 31, size=6_700)
    group = np.repeat(np.arange(6_700, dtype=np.int64), sizes)
    booklet = assign_booklets(group, 12, rng=rng)
    counts = booklet_counts(group, booklet, 12)
    assert (counts.max(axis=1) - counts.min(axis=1)).max() <= 1
    overall = counts.sum(axis=0)
    assert overall.max() - overall.min() <= 1


def test_empty_and_single_booklet() -> None:
    assert assign_booklets(np.array([], dtype=np.int64), 4, rng=np.random.default_rng(0)).shape == (0,)
    assert assign_booklets(np.array([1, 1, 2]), 1, rng=np.random.default_rng(0)).tolist() == [1, 1, 1]


@pytest.mark.parametrize(("group", "n_booklets", "rng", "exc", "match"), [
    (np.array([1, 2]), 0, np.random.default_rng(0), ValueError, "at least 1"),
    (np.array([1.5, 2.0]), 3, np.random.default_rng(0), TypeError, "integers"),
    (np.array([[1, 2]]), 3, np.random.default_rng(0), ValueError, "one-dimensional"),
    (np.array([1, 2]), 2.0, np.random.default_rng(0), TypeError, "integer"),
    (np.array([1, 2]), 2, 7, TypeError, "Generator"),
])
def test_bad_arguments_are_rejected(group, n_booklets, rng, exc, match) -> None:
    with pytest.raises(exc, match=match):
        assign_booklets(group, n_booklets, rng=rng)


def test_group_index_combines_school_and_grade() -> None:
    schools = np.array(["1630121001", "1630121002", "1630121001", "1630121001"])
    grades = np.array([4, 4, 8, 4])
    idx = group_index(schools, grades)
    assert idx[0] == idx[3]
    assert len({int(idx[0]), int(idx[1]), int(idx[2])}) == 3


# ---------------------------------------------------------------------------------------------------- test IDs


def test_check_char_reference_value() -> None:
    # Reference: python-stdnum's documentation of stdnum.iso7064.mod_37_2, calc_check_digit('G123498654321') == 'H'
    # (an independent implementation of ISO 7064 MOD 37-2).
    assert check_char("G123498654321") == "H"


def test_the_hybrid_mod_37_36_would_miss_a_transposition() -> None:
    """Why MOD 37-2 and not the hybrid MOD 37,36: this is what the exhaustive test below would catch."""
    def hybrid_ok(text: str) -> bool:
        p = 36
        for ch in text[:-1]:
            s = (p + ALPHABET.index(ch)) % 36 or 36
            p = (2 * s) % 37
        return (p + ALPHABET.index(text[-1])) % 36 == 1

    assert hybrid_ok("9260124374396H") and hybrid_ok("9261024374396H")
    assert id_valid("9260124374396" + check_char("9260124374396"))
    assert not id_valid("9261024374396" + check_char("9260124374396"))


def _valid_any(text: str) -> bool:
    """The check relation itself, over the whole alphabet (test_id_valid also insists on digits in the body)."""
    body = text[:-1]
    if "*" in body:  # "*" has value 36 and may stand only in the check position
        return False
    return check_char(body) == text[-1]


def test_every_single_substitution_and_adjacent_transposition_is_detected() -> None:
    """Exhaustive over 150 random bodies: all 14 × 36 substitutions (by any of 0-9A-Z*) and all 13 adjacent swaps
    of unequal characters of each complete ID break the check."""
    rng = np.random.default_rng(11)
    bodies = ["".join(rng.choice(list("0123456789"), size=13)) for _ in range(120)]
    bodies += ["".join(rng.choice(list(ALPHABET), size=13)) for _ in range(30)]
    for body in bodies:
        full = body + check_char(body)
        assert _valid_any(full)
        for pos in range(len(full)):
            for ch in CHECK_ALPHABET:
                if ch != full[pos]:
                    wrong = full[:pos] + ch + full[pos + 1:]
                    assert not _valid_any(wrong), (full, wrong)
        for pos in range(len(full) - 1):
            if full[pos] != full[pos + 1]:
                swapped = full[:pos] + full[pos + 1] + full[pos] + full[pos + 2:]
                assert not _valid_any(swapped), (full, swapped)


def test_make_test_ids_format_and_agreement_with_the_scalar_function() -> None:
    rng = np.random.default_rng(5)
    n = 2_000
    codes = np.array([f"{c:010d}" for c in rng.integers(10**9, 10**10, size=n)])
    grades = rng.choice([4, 8], size=n)
    seq = rng.integers(1, 100, size=n)
    ids = make_test_ids(codes, grades, seq)
    assert ids.shape == (n,)
    pattern = re.compile(r"^[0-9]{13}[0-9A-Z*]$")
    for i in range(0, n, 97):
        tid = str(ids[i])
        assert pattern.match(tid)
        assert tid[:10] == codes[i] and tid[10] == str(grades[i]) and tid[11:13] == f"{seq[i]:02d}"
        assert tid[13] == check_char(tid[:13])
    assert all(id_valid(str(t)) for t in ids)
    assert make_test_ids(np.array(["1630121001"]), np.array([4]), np.array([7])).tolist() == ["1630121001407K"]


@pytest.mark.parametrize("bad", ["", "1630121001407", "1630121001407KK", "163012100140７K", "1630121001407k",
                                 "1630121001407J", "A630121001407K", "1630121001407-"])
def test_test_id_valid_rejects(bad: str) -> None:
    assert id_valid("1630121001407K")
    assert not id_valid(bad)


@pytest.mark.parametrize(("codes", "grades", "seq", "match"), [
    (["163012100"], [4], [1], "10 digits"),
    (["16301210AB"], [4], [1], "10 digits"),
    (["1630121001"], [10], [1], "single digits"),
    (["1630121001"], [4], [100], "1..99"),
    (["1630121001"], [4], [0], "1..99"),
    (["1630121001", "1630121002"], [4], [1], "same length"),
])
def test_make_test_ids_rejects_bad_parts(codes, grades, seq, match) -> None:
    with pytest.raises(ValueError, match=match):
        make_test_ids(np.array(codes), np.array(grades), np.array(seq))
