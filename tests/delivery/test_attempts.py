"""Starting attempts and delivering their content (issue 4: "Secrecy", booklets, practice vs formal)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from naeq.core.errors import InvalidInput, NotFound
from naeq.core.models import AuditEvent
from naeq.delivery.attempts import attempt_content, attempt_start, booklet_pages, shuffled
from naeq.delivery.models import Attempt, AttemptStatus, InstrumentKind, Respondent, SessionKind
from tests.delivery.factories import QUESTIONNAIRE_ITEMS, make_instrument, make_session, make_taker


def _submit(attempt: Attempt) -> None:
    from django.utils import timezone

    attempt.status = AttemptStatus.SUBMITTED
    attempt.submitted_at = timezone.now()
    attempt.save()


def test_content_never_contains_keys_and_is_audited_once_per_call(cycle: Any, world: Any) -> None:
    school = world.schools["A1a-1"]
    make_instrument(cycle, "math")
    session = make_session(cycle, school, instruments=["math"])
    taker = make_taker(cycle, school, "S0001")
    attempt = attempt_start(taker=taker, session=session, instrument_code="math")
    before = AuditEvent.objects.filter(action="delivery.content").count()
    content = attempt_content(attempt=attempt)
    text = json.dumps(content, ensure_ascii=False)
    assert '"key"' not in text
    assert "indicator_1" not in text and "dimension" not in text
    # The keys' values do not leak either (M02's key ["A", "C"] would appear as a list).
    assert all("key" not in item for page in content["pages"] for item in page["items"])
    assert AuditEvent.objects.filter(action="delivery.content").count() == before + 1
    event = AuditEvent.objects.filter(action="delivery.content").latest("id")
    assert event.object_id == str(attempt.pk)
    assert event.after["booklet"] == 1 and event.after["version"] == 1 and event.after["taker"] == "S0001"


def test_pages_follow_booklet_block_order(cycle: Any, world: Any) -> None:
    school = world.schools["A1a-1"]
    make_instrument(cycle, "math", booklets={1: ["B1", "B2"], 2: ["B2", "B1"]})
    session = make_session(cycle, school, instruments=["math"])
    taker = make_taker(cycle, school, "S0002", booklets={"math": 2})
    attempt = attempt_start(taker=taker, session=session, instrument_code="math")
    assert attempt.booklet == 2
    assert attempt.page_order == ["B2:1", "B2:2", "B1:1", "B1:2"]
    content = attempt_content(attempt=attempt)
    assert [[i["code"] for i in p["items"]] for p in content["pages"]] == [["M03"], ["M04"], ["M01"], ["M02"]]


def test_questionnaire_pages_by_screen(cycle: Any, world: Any) -> None:
    school = world.schools["A1a-1"]
    make_instrument(cycle, "stu_q", kind=InstrumentKind.QUESTIONNAIRE)
    session = make_session(cycle, school, instruments=["stu_q"])
    attempt = attempt_start(taker=make_taker(cycle, school, "S0003"), session=session, instrument_code="stu_q")
    content = attempt_content(attempt=attempt)
    assert [[i["code"] for i in p["items"]] for p in content["pages"]] == [["Q01", "Q02"], ["Q03"], ["Q04", "Q05"]]
    assert content["pages"][2]["items"][1]["show_if"] == {"item": "Q04", "in": ["2"]}


def test_missing_booklet_is_refused(cycle: Any, world: Any) -> None:
    school = world.schools["A1a-1"]
    make_instrument(cycle, "math")
    session = make_session(cycle, school, instruments=["math"])
    taker = make_taker(cycle, school, "S0004", booklets={"math": 7})
    with pytest.raises(InvalidInput):
        attempt_start(taker=taker, session=session, instrument_code="math")
    assert not Attempt.objects.exists()


def test_instrument_not_in_session_is_not_found(cycle: Any, world: Any) -> None:
    school = world.schools["A1a-1"]
    make_instrument(cycle, "math")
    session = make_session(cycle, school, instruments=["chinese"])
    with pytest.raises(NotFound):
        attempt_start(taker=make_taker(cycle, school, "S0005"), session=session, instrument_code="math")


def test_shuffle_is_seeded_by_attempt(cycle: Any, world: Any) -> None:
    school = world.schools["A1a-1"]
    items = [dict(QUESTIONNAIRE_ITEMS[0], code=f"Q{n:02d}", screen=n, skip=None) for n in range(1, 13)]
    inst = make_instrument(cycle, "stu_q", kind=InstrumentKind.QUESTIONNAIRE, items=items)
    inst.shuffle_pages = True
    inst.save()
    session = make_session(cycle, school, instruments=["stu_q"])
    a1 = attempt_start(taker=make_taker(cycle, school, "S0006"), session=session, instrument_code="stu_q")
    a2 = attempt_start(taker=make_taker(cycle, school, "S0007"), session=session, instrument_code="stu_q")
    natural = [f"Q:{n}" for n in range(1, 13)]
    assert sorted(a1.page_order) == sorted(natural)
    assert a1.page_order == shuffled(natural, a1.pk)  # reproducible from the attempt id
    assert a1.page_order != natural or a2.page_order != natural
    assert shuffled(natural, a1.pk) != shuffled(natural, a1.pk + 1) or shuffled(natural, a1.pk + 2) != natural
    content = attempt_content(attempt=a1)
    assert [p["name"] for p in content["pages"]] == a1.page_order


def test_formal_session_one_attempt(cycle: Any, world: Any) -> None:
    """Issue 4: a formal session's instrument is taken once; starting again resumes it."""
    school = world.schools["A1a-1"]
    make_instrument(cycle, "math")
    session = make_session(cycle, school, instruments=["math"], kind=SessionKind.FORMAL)
    taker = make_taker(cycle, school, "S0008")
    first = attempt_start(taker=taker, session=session, instrument_code="math")
    again = attempt_start(taker=taker, session=session, instrument_code="math")
    assert again.pk == first.pk
    _submit(first)
    with pytest.raises(InvalidInput, match="正式测试只能作答一次"):
        attempt_start(taker=taker, session=session, instrument_code="math")
    assert Attempt.objects.filter(test_taker=taker).count() == 1


def test_practice_session_repeats(cycle: Any, world: Any) -> None:
    school = world.schools["A1a-1"]
    make_instrument(cycle, "teacher_q", kind=InstrumentKind.QUESTIONNAIRE)
    session = make_session(cycle, school, instruments=["teacher_q"], kind=SessionKind.PRACTICE,
                           respondent=Respondent.TEACHER)
    taker = make_taker(cycle, school, "T0001", kind=Respondent.TEACHER)
    first = attempt_start(taker=taker, session=session, instrument_code="teacher_q")
    assert attempt_start(taker=taker, session=session, instrument_code="teacher_q").pk == first.pk
    _submit(first)
    second = attempt_start(taker=taker, session=session, instrument_code="teacher_q")
    assert second.pk != first.pk and second.number == 2


def test_booklet_pages_drop_blocks_not_in_booklet(cycle: Any, world: Any) -> None:
    inst = make_instrument(cycle, "math", booklets={1: ["B2"]})
    names = [name for name, _items in booklet_pages(inst, inst.booklets.get(number=1))]
    assert names == ["B2:1", "B2:2"]


def test_every_demo_instrument_is_delivered_without_keys_and_scored(cycle: Any, world: Any, settings: Any,
                                                                    tmp_path: Any) -> None:
    """The item bank's demo content (every online instrument of the cycle) goes through start, delivery and
    scoring: no key in any content, one score row per administered item, a key-matching answer scores full."""
    from naeq.delivery import hotpath
    from naeq.delivery.demo_bank import demo_bank_load
    from naeq.delivery.models import Instrument, ItemScore
    from naeq.delivery.scoring import score_attempt

    settings.DATA_DIR = tmp_path
    demo_bank_load(actor=None, year=cycle.year)
    school = world.schools["A1a-1"]
    instruments = list(Instrument.objects.filter(cycle=cycle, status="published"))
    assert instruments
    session = make_session(cycle, school, instruments=[i.code for i in instruments])
    full_marks = 0
    for n, inst in enumerate(instruments):
        taker = make_taker(cycle, school, f"D{n:04d}", booklets={inst.code: inst.booklets.order_by("number")
                                                                  .values_list("number", flat=True).first()})
        attempt = attempt_start(taker=taker, session=session, instrument_code=inst.code)
        content = attempt_content(attempt=attempt)
        assert '"key"' not in json.dumps(content, ensure_ascii=False), inst.code
        delivered = [i["code"] for p in content["pages"] for i in p["items"]]
        keyed = {i.code: i for i in inst.items.all() if i.key is not None and i.code in delivered}
        # Answer every keyed item with its key, in the client's value shapes.
        answers = []
        for code, it in keyed.items():
            value: Any = it.key
            if it.type == "matrix" and isinstance(it.key, dict):
                value = {str(k): v for k, v in it.key.items()}
            elif it.type == "text" and isinstance(it.key, list):
                value = it.key[0]
            answers.append({"item": code, "value": value, "seq": 1})
        hotpath.submit(attempt.pk, answers)
        scored = score_attempt(attempt.pk)
        rows = {s.item: s for s in ItemScore.objects.filter(attempt=attempt)}
        assert set(rows) <= set(delivered), inst.code
        for code, it in keyed.items():
            if code in rows:  # administered (not hidden by a rule)
                assert rows[code].score == it.max_score, (inst.code, code, rows[code].code)
                full_marks += 1
        if keyed:
            assert scored.score == sum(rows[c].score or 0 for c in rows)
    assert full_marks >= 5  # the demo tests have keyed items of several types, all scored
