"""naeq.scaling.raters without a marking flow: what a run stores when the many-facet model cannot be fitted (an
item with an unobserved score category is left out, with a warning), and that the inputs' hash only grows when
there are ratings."""

from __future__ import annotations

import numpy as np
import pytest

from naeq.marking.selectors import RatingRows
from naeq.scaling import raters


def _gathered(scores: list[int], rater: list[int]) -> raters.Gathered:
    n = len(scores)
    return raters.Gathered(rows=RatingRows(person=np.arange(n) // 2, item=np.full(n, "E01"),
                                           rater=np.array(rater, dtype=np.int64),
                                           score=np.array(scores, dtype=np.int64)), max_scores={"E01": 4})


def test_no_ratings_add_nothing_to_the_hash() -> None:
    assert raters.hash_parts(None) == {}
    g = _gathered([0, 1, 2, 3], [1, 2, 1, 2])
    parts = raters.hash_parts(g)
    assert set(parts) == {"ratings_person", "ratings_item", "ratings_rater", "ratings_score"}
    assert parts["ratings_score"].tolist() == [0, 1, 2, 3]


@pytest.mark.django_db
def test_an_item_with_an_unobserved_score_is_left_out_with_a_warning() -> None:
    # score 4 never given on E01: its step cannot be estimated; the run keeps its calibration and says why
    block, notes = raters.fit(_gathered([0, 1, 2, 3] * 10, [1, 2] * 20), z=2.0, min_logit=0.3)
    assert block is None
    assert notes == ["题目“E01”的评分中没有得分4，未纳入评分员效应模型。"]


@pytest.mark.django_db
def test_one_rater_left_is_no_rater_model() -> None:
    block, notes = raters.fit(_gathered([0, 1, 2, 3, 4] * 8, [1] * 40), z=2.0, min_logit=0.3)
    assert block is None and notes == []


@pytest.mark.django_db
def test_the_block_names_raters_by_id_and_flags_by_the_thresholds() -> None:
    rng = np.random.default_rng(4)
    n = 400
    theta = rng.normal(0, 1, n)
    person = np.repeat(np.arange(n), 2)
    rater = np.tile([11, 12], n)
    shift = np.where(rater == 11, 1.0, -1.0)          # rater 11 harsh by 2 logits against rater 12
    steps = np.array([-1.5, -0.5, 0.5, 1.5])
    k = np.arange(5)
    eta = k[None, :] * (theta[person] - shift)[:, None] - np.concatenate([[0], np.cumsum(steps)])[None, :]
    p = np.exp(eta - eta.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    score = (rng.random(len(person))[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    g = raters.Gathered(rows=RatingRows(person=person, item=np.full(len(person), "E01"), rater=rater,
                                        score=score), max_scores={"E01": 4})
    block, notes = raters.fit(g, z=2.0, min_logit=0.3)
    assert block is not None
    by_id = {r["rater_id"]: r for r in block["raters"]}
    assert by_id[11]["severity"] == pytest.approx(1.0, abs=0.15) and by_id[11]["flagged"]
    assert by_id[12]["severity"] == pytest.approx(-by_id[11]["severity"]) and by_id[12]["flagged"]
    assert by_id[11]["name"] == "11"                    # no account with that id: the id is shown
    assert any("2名评分员" in w for w in notes)
    loose, _n = raters.fit(g, z=2.0, min_logit=1.5)
    assert loose is not None and not any(r["flagged"] for r in loose["raters"])


def test_rater_thresholds_are_validated_options_with_defaults() -> None:
    from naeq.core.errors import InvalidInput
    from naeq.scaling.options import clean_options

    opts = clean_options({})
    assert opts["rater_z"] == 2.0 and opts["rater_logit"] == 0.3
    assert clean_options({"rater_z": "3", "rater_logit": 0.5})["rater_z"] == 3.0
    with pytest.raises(InvalidInput) as e:
        clean_options({"rater_logit": -1})
    assert [p.field for p in e.value.problems] == ["rater_logit"]
    with pytest.raises(InvalidInput) as e:
        clean_options({"rater_z": "x"})
    assert [p.field for p in e.value.problems] == ["rater_z"]
