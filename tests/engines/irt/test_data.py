"""The sparse long layout and its validation: each bad row is named (1-based), nothing is built."""

from __future__ import annotations

import numpy as np
import pytest

from naeq.engines.irt.data import ResponseDataError, Responses, responses_from_long
from naeq.engines.irt.likelihood import log_likelihood
from naeq.engines.irt.models import category_probabilities
from naeq.engines.irt.simulate import simulate_items

MAX = {"q1": 1, "q2": 2, "q3": 1}


def _rows() -> tuple[list[str], list[str], list[float]]:
    return (["s1", "s1", "s2", "s2", "s3"], ["q1", "q2", "q1", "q3", "q2"], [1, 2, 0, 1, 1])


def test_builds_sparse_responses() -> None:
    r = responses_from_long(*_rows(), MAX)
    assert r.items == ("q1", "q2", "q3")
    assert r.persons.tolist() == ["s1", "s2", "s3"]
    assert r.n_categories.tolist() == [2, 3, 2]
    assert r.dense().tolist() == [[1, 2, -1], [0, -1, 1], [-1, 1, -1]]
    assert r.raw_scores().tolist() == [3, 1, 1] and r.max_raw_scores().tolist() == [3, 2, 2]


def test_not_administered_is_not_wrong() -> None:
    # s3 answered only q2: its likelihood is P(q2 = 1) alone — q1 and q3 contribute nothing (not a 0 score).
    r = responses_from_long(*_rows(), MAX)
    items = simulate_items(["2pl", "gpcm", "3pl"], seed=1, n_categories=3)
    items = type(items)(items=("q1", "q2", "q3"), model=items.model, a=items.a, b=items.b, c=items.c,
                        n_categories=items.n_categories)
    nodes = np.array([-1.0, 0.0, 1.5])
    ll = log_likelihood(r, items, nodes)
    expected = np.log(category_probabilities(nodes, items)[1, :, 1])
    np.testing.assert_allclose(ll[2], expected)


@pytest.mark.parametrize(("change", "reason", "rows", "column"), [
    ({"scores": [1, 2, np.nan, 1, 1]}, "non_finite", (3,), "score"),
    ({"scores": [1, np.inf, 0, 1, 1]}, "non_finite", (2,), "score"),
    ({"scores": [1, 2, 0, 0.5, 1]}, "non_integer", (4,), "score"),
    ({"scores": [1, 3, 0, 1, -1]}, "out_of_range", (2, 5), "score"),
    ({"scores": [1, 2, "x", 1, 1]}, "not_a_number", (3,), "score"),
    ({"items": ["q1", "q2", "q9", "q3", "q2"]}, "unknown_item", (3,), "item"),
    ({"persons": ["s1", "s1", "s1", "s2", "s3"], "items": ["q1", "q2", "q1", "q3", "q2"]}, "duplicate", (3,),
     "person/item"),
])
def test_bad_rows_are_named(change: dict, reason: str, rows: tuple[int, ...], column: str) -> None:
    persons, items, scores = _rows()
    persons = change.get("persons", persons)
    items = change.get("items", items)
    scores = change.get("scores", scores)
    with pytest.raises(ResponseDataError) as err:
        responses_from_long(persons, items, scores, MAX)
    assert err.value.reason == reason
    assert err.value.rows == rows
    assert err.value.column == column
    assert f"row {rows[0]}" in err.value.message


def test_many_bad_rows_are_counted_not_all_listed() -> None:
    n = 12
    with pytest.raises(ResponseDataError, match=r"12 row\(s\).*and 7 more"):
        responses_from_long([f"s{i}" for i in range(n)], ["q1"] * n, [5] * n, MAX)


def test_from_dense_round_trip() -> None:
    m = np.array([[1, np.nan, 2], [0, 1, np.nan]])
    r = Responses.from_dense(m, ["a", "b", "c"], n_categories=[2, 2, 3])
    assert r.dense().tolist() == [[1, -1, 2], [0, 1, -1]]
    sub = r.subset_items(["c", "a"])
    assert sub.items == ("c", "a") and sub.dense().tolist() == [[2, 1], [-1, 0]]
