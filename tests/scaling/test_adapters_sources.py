"""Regressions (issue 6 chain test): a test taker scored only on paper kept booklet 0 ("unknown") in the gathered
layout, so the score distributions and test information by booklet put every paper test taker under 0. The paper
card's booklet is now the person's booklet; a later source wins over an earlier one, as for the scores. And a
rater's score of an item outside the test taker's booklet (marking imports any writing box of the card, which has
every item's box) entered the calibration as if administered; it is now left out with a warning."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from naeq.scaling import adapters


def test_paper_booklet_is_the_persons_booklet(world: Any, cycle: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from naeq.delivery.models import ItemType
    from tests.delivery.factories import make_instrument, make_taker

    items = [{"code": f"Q{k}", "block": "B1" if k < 3 else "B2", "screen": k, "type": ItemType.SINGLE,
              "stem": "（示例）", "options": [{"value": "A", "label": "甲"}, {"value": "B", "label": "乙"}],
              "key": "A", "max_score": 1}
             for k in (1, 2, 3, 4)]
    inst = make_instrument(cycle, "regr", items=items, booklets={1: ["B1"], 2: ["B2"]})
    school = world.schools["A1a-1"]
    paper, rater_only = (make_taker(cycle, school, code, booklets={"regr": 2}) for code in ("RP001", "RR001"))
    rows = {"naeq.papercapture.selectors": [
        {"test_taker_id": paper.pk, "item": "Q3", "score": 1, "booklet": 2},
        {"test_taker_id": paper.pk, "item": "Q4", "score": 0, "booklet": 2}],
        "naeq.marking.selectors": [{"test_taker_id": rater_only.pk, "item": "Q3", "score": 1},
                                   # Q1 is in booklet 1 only: not administered to the booklet-2 paper taker
                                   {"test_taker_id": paper.pk, "item": "Q1", "score": 1}]}
    for module, got in rows.items():
        monkeypatch.setattr(f"{module}.scores_for_scaling", lambda got=got, **_kw: iter(got))
    table = adapters.item_table_for(inst, default_model="rasch", poly_model="pcm")
    g = adapters.gather(cycle, table, "regr")
    assert g.counts == {"online": 0, "papercapture": 2, "marking": 2, "used": 3}
    assert g.warnings == ["1条评分员得分的题目不在该测试对象的题本中（未施测），未参与校准。"]
    assert sorted(np.asarray(g.responses.item).tolist()) == [2, 2, 3]  # Q3, Q3, Q4
    booklet = dict(zip(g.responses.persons.tolist(), np.asarray(g.responses.booklet).tolist(), strict=True))
    assert booklet == {paper.pk: 2, rater_only.pk: 0}
