"""Scoring at submission, table-driven (issue 4: "99 omitted (shown, not answered), 97 out of range"; models:
``MISSING_OMITTED = 99``, ``MISSING_OUT_OF_RANGE = 97``)."""

from __future__ import annotations

from typing import Any

import pytest

from naeq.delivery.scoring import Scored, administered, score_items


def item(code: str, type: str, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"code": code, "type": type, "block": "B1", "screen": 1, "key": None, "max_score": 1,
                            "options": [], "rows": [], "constraints": {}, "show_if": None, "skip": None}
    base.update(kw)
    return base


ABC = [{"value": v, "label": v} for v in "ABC"]
ROWS = [{"value": "r1", "label": "一"}, {"value": "r2", "label": "二"}, {"value": "r3", "label": "三"}]

CASES: list[tuple[str, dict[str, Any], Any, str, float | None]] = [
    # (case, item, answer, code, score)
    ("single right", item("X", "single", options=ABC, key="B"), "B", "B", 1.0),
    ("single wrong", item("X", "single", options=ABC, key="B"), "A", "A", 0.0),
    ("single omitted", item("X", "single", options=ABC, key="B"), None, "99", 0.0),
    ("single empty string", item("X", "single", options=ABC, key="B"), "", "99", 0.0),
    ("single not an option", item("X", "single", options=ABC, key="B"), "D", "97", 0.0),
    ("true/false", item("X", "true_false", key="T"), "T", "T", 1.0),
    ("likert no key", item("X", "likert", options=ABC), "C", "C", None),
    ("likert omitted no key", item("X", "likert", options=ABC), None, "99", None),
    ("multiple exact", item("X", "multiple", options=ABC, key=["A", "C"], max_score=2), ["C", "A"], '["C","A"]', 2.0),
    ("multiple all-or-nothing", item("X", "multiple", options=ABC, key=["A", "C"], max_score=2), ["A"], '["A"]', 0.0),
    ("multiple partial credit", item("X", "multiple", options=ABC, key=["A", "C"], max_score=2,
                                     constraints={"partial_credit": True}), ["A"], '["A"]', 1.0),
    ("multiple partial, wrong pick cancels", item("X", "multiple", options=ABC, key=["A", "C"], max_score=2,
                                                  constraints={"partial_credit": True}), ["A", "B"], '["A","B"]',
     0.0),
    ("multiple empty", item("X", "multiple", options=ABC, key=["A"]), [], "99", 0.0),
    ("multiple over max_choices", item("X", "multiple", options=ABC, key=["A"], constraints={"max_choices": 1}),
     ["A", "B"], "97", 0.0),
    ("multiple unknown option", item("X", "multiple", options=ABC, key=["A"]), ["A", "Z"], "97", 0.0),
    ("numeric exact", item("X", "numeric", key="36", constraints={"min": 0, "max": 100}), "36", "36", 1.0),
    ("numeric as number", item("X", "numeric", key="36", constraints={"min": 0, "max": 100}), 36, "36", 1.0),
    ("numeric within half a unit", item("X", "numeric", key="36", constraints={"decimals": 0}), "35.6", "35.6",
     1.0),
    ("numeric outside tolerance", item("X", "numeric", key="3.14", constraints={"decimals": 2}), "3.2", "3.2",
     0.0),
    ("numeric within two decimals", item("X", "numeric", key="3.14", constraints={"decimals": 2}), "3.141",
     "3.141", 1.0),
    ("numeric above max", item("X", "numeric", key="36", constraints={"min": 0, "max": 100}), "101", "97", 0.0),
    ("numeric below min", item("X", "numeric", constraints={"min": 0, "max": 14}), "-1", "97", None),
    ("numeric not a number", item("X", "numeric", constraints={"min": 0, "max": 14}), "abc", "97", None),
    ("numeric questionnaire", item("X", "numeric", constraints={"min": 0, "max": 14}), "3", "3", None),
    ("text within length", item("X", "text", constraints={"max_length": 5}), "你好", "你好", None),
    ("text too long", item("X", "text", constraints={"max_length": 5}), "一二三四五六", "97", None),
    ("text blank", item("X", "text", constraints={"max_length": 5}), "   ", "99", None),
    ("text keyed, several accepted", item("X", "text", key=["北京", "北京市"]), " 北京市 ", " 北京市 ", 1.0),
    ("single+text", item("X", "single_text", options=ABC, constraints={"max_length": 10}),
     {"choice": "C", "text": "钢琴"}, '{"choice":"C","text":"钢琴"}', None),
    ("single+text bad choice", item("X", "single_text", options=ABC), {"choice": "Q", "text": ""}, "97", None),
    ("matrix", item("X", "matrix", options=ABC, rows=ROWS), {"r1": "A", "r2": "B"}, '{"r1":"A","r2":"B"}', None),
    ("matrix unknown row", item("X", "matrix", options=ABC, rows=ROWS), {"r9": "A"}, "97", None),
    ("matrix unknown column", item("X", "matrix", options=ABC, rows=ROWS), {"r1": "Z"}, "97", None),
    ("matrix keyed all right", item("X", "matrix", options=ABC, rows=ROWS, key={"r1": "A", "r2": "B", "r3": "C"},
                                    max_score=3), {"r1": "A", "r2": "B", "r3": "C"}, '{"r1":"A","r2":"B","r3":"C"}',
     3.0),
    ("matrix keyed partial", item("X", "matrix", options=ABC, rows=ROWS, key={"r1": "A", "r2": "B", "r3": "C"},
                                  max_score=3, constraints={"partial_credit": True}),
     {"r1": "A", "r2": "C", "r3": "C"}, '{"r1":"A","r2":"C","r3":"C"}', 2.0),
    ("matrix key in the item bank's form (one option per row)",
     item("X", "matrix", options=ABC, rows=["甲", "乙"], key=["B", "A"], max_score=2), {"1": "B", "2": "A"},
     '{"1":"B","2":"A"}', 2.0),
    ("matrix list key, one row wrong", item("X", "matrix", options=ABC, rows=["甲", "乙"], key=["B", "A"]),
     {"1": "B", "2": "C"}, '{"1":"B","2":"C"}', 0.0),
    ("multiple under min_choices", item("X", "multiple", options=ABC, constraints={"min_choices": 2}), ["A"], "97",
     None),
    ("ranking", item("X", "ranking", rows=ROWS, key=["r2", "r1", "r3"]), ["r2", "r1", "r3"], '["r2","r1","r3"]',
     1.0),
    ("ranking wrong order", item("X", "ranking", rows=ROWS, key=["r2", "r1", "r3"]), ["r1", "r2", "r3"],
     '["r1","r2","r3"]', 0.0),
    ("ranking not a permutation", item("X", "ranking", rows=ROWS), ["r1", "r1", "r3"], "97", None),
    ("ranking of plain strings", item("X", "ranking", rows=["甲", "乙"]), ["2", "1"], '["2","1"]', None),
    ("slider", item("X", "slider", constraints={"min": 0, "max": 10}), 7, "7", None),
    ("slider out of range", item("X", "slider", constraints={"min": 0, "max": 10}), 11, "97", None),
    ("open item: no score here", item("X", "open", max_score=2), None, "", None),
]


@pytest.mark.parametrize(("case", "spec", "answer", "code", "score"), CASES, ids=[c[0] for c in CASES])
def test_item_scoring(case: str, spec: dict[str, Any], answer: Any, code: str, score: float | None) -> None:
    answers = {} if answer is None else {"X": answer}
    assert score_items([spec], answers) == [Scored("X", code, score)]


QUESTIONNAIRE = [
    item("Q01", "single", block="Q", screen=1, options=[{"value": "1"}, {"value": "2"}]),
    item("Q02", "likert", block="Q", screen=1, options=[{"value": str(v)} for v in range(1, 5)],
         skip={"in": ["1"], "to_screen": 3}),
    item("Q03", "text", block="Q", screen=2),
    item("Q04", "single_text", block="Q", screen=3, options=[{"value": "1"}, {"value": "2"}]),
    item("Q05", "numeric", block="Q", screen=3, show_if={"item": "Q04", "in": ["2"]},
         constraints={"min": 0, "max": 14}),
]


@pytest.mark.parametrize(("answers", "shown"), [
    ({}, ["Q01", "Q02", "Q03", "Q04"]),
    # Skip rule: answering 1 to Q02 skips screen 2 (Q03); a Q03 answer given before is then ignored.
    ({"Q02": "1", "Q03": "早先写的"}, ["Q01", "Q02", "Q04"]),
    ({"Q02": "3"}, ["Q01", "Q02", "Q03", "Q04"]),
    # Conditional display: Q05 only when Q04 is 2.
    ({"Q04": {"choice": "2", "text": "奥数"}}, ["Q01", "Q02", "Q03", "Q04", "Q05"]),
    ({"Q04": {"choice": "1", "text": ""}, "Q05": "3"}, ["Q01", "Q02", "Q03", "Q04"]),
])
def test_show_if_and_skip_decide_what_was_administered(answers: dict[str, Any], shown: list[str]) -> None:
    assert [i["code"] for i in administered(QUESTIONNAIRE, answers)] == shown
    scored = {s.item: s.code for s in score_items(QUESTIONNAIRE, answers)}
    assert sorted(scored) == sorted(shown)  # not administered: no row at all
    for code in shown:
        if code not in answers:
            assert scored[code] == "99"  # shown and unanswered


def test_show_if_on_hidden_item_hides_too() -> None:
    """An item conditional on an item that was itself skipped is not administered."""
    items = [item("A", "single", screen=1, options=[{"value": "1"}, {"value": "2"}],
                  skip={"in": ["1"], "to_screen": 3}),
             item("B", "single", screen=2, options=[{"value": "1"}]),
             item("C", "text", screen=3, show_if={"item": "B", "in": ["1"]})]
    assert [i["code"] for i in administered(items, {"A": "1", "B": "1"})] == ["A"]
    assert [i["code"] for i in administered(items, {"A": "2", "B": "1"})] == ["A", "B", "C"]


def test_score_attempt_writes_rows_and_sum(cycle: Any, world: Any) -> None:
    from naeq.core.models import AuditEvent
    from naeq.delivery import hotpath
    from naeq.delivery.attempts import attempt_start
    from naeq.delivery.models import ItemScore
    from naeq.delivery.scoring import score_attempt
    from tests.delivery.factories import make_instrument, make_session, make_taker

    school = world.schools["A1a-1"]
    make_instrument(cycle, "math")
    session = make_session(cycle, school, instruments=["math"])
    att = attempt_start(taker=make_taker(cycle, school, "S0201"), session=session, instrument_code="math")
    hotpath.submit(att.pk, [{"item": "M01", "value": "B", "seq": 1}, {"item": "M02", "value": ["A", "C"], "seq": 1},
                            {"item": "M03", "value": "5000", "seq": 1}])
    scored = score_attempt(att.pk)
    rows = {s.item: (s.code, s.score) for s in ItemScore.objects.filter(attempt=att)}
    assert rows == {"M01": ("B", 1.0), "M02": ('["A","C"]', 1.0), "M03": ("97", 0.0), "M04": ("", None)}
    assert scored.score == 2.0 and scored.scored_at is not None
    # Re-scoring replaces, never duplicates.
    score_attempt(att.pk)
    assert ItemScore.objects.filter(attempt=att).count() == 4
    assert AuditEvent.objects.filter(action="delivery.score", object_id=str(att.pk)).count() == 2
