"""Small, explicit builders for delivery tests: a published instrument, an open session, test takers.

They write rows directly (no import, no sample draw) so that each test states the few facts it depends on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from naeq.delivery.models import (
    Booklet,
    Instrument,
    InstrumentKind,
    InstrumentStatus,
    Item,
    ItemType,
    Respondent,
    SessionKind,
    SessionStatus,
    TestSession,
    TestTaker,
)

#: A four-item maths test in two blocks: two objective items with keys, one numeric entry, one open item.
MATH_ITEMS: list[dict[str, Any]] = [
    {"code": "M01", "block": "B1", "screen": 1, "type": ItemType.SINGLE, "stem": "3 + 4 = ?",
     "options": [{"value": "A", "label": "6"}, {"value": "B", "label": "7"}, {"value": "C", "label": "8"}],
     "key": "B", "max_score": 1, "dimension": "数与代数", "indicator_1": "运算"},
    {"code": "M02", "block": "B1", "screen": 2, "type": ItemType.MULTIPLE, "stem": "哪些是偶数？",
     "options": [{"value": "A", "label": "2"}, {"value": "B", "label": "3"}, {"value": "C", "label": "4"}],
     "key": ["A", "C"], "max_score": 1, "dimension": "数与代数", "indicator_1": "数的认识"},
    {"code": "M03", "block": "B2", "screen": 1, "type": ItemType.NUMERIC, "stem": "12 × 3 = ?",
     "key": "36", "max_score": 1, "constraints": {"min": 0, "max": 1000, "decimals": 0},
     "dimension": "数与代数", "indicator_1": "运算"},
    {"code": "M04", "block": "B2", "screen": 2, "type": ItemType.OPEN, "stem": "请在答题卡上写出解题过程。",
     "max_score": 2, "dimension": "数与代数", "indicator_1": "问题解决"},
]

#: A three-screen questionnaire with a Likert item, a conditional item and a skip rule.
QUESTIONNAIRE_ITEMS: list[dict[str, Any]] = [
    {"code": "Q01", "screen": 1, "type": ItemType.SINGLE, "stem": "你每天睡眠多长时间？",
     "options": [{"value": "1", "label": "不足8小时"}, {"value": "2", "label": "8至9小时"},
                 {"value": "3", "label": "9小时以上"}], "dimension": "睡眠", "indicator_1": "睡眠时间"},
    {"code": "Q02", "screen": 1, "type": ItemType.LIKERT, "stem": "我喜欢上数学课。",
     "options": [{"value": str(i), "label": label} for i, label in
                 enumerate(["完全不同意", "不同意", "同意", "完全同意"], start=1)],
     "skip": {"in": ["1"], "to_screen": 3}, "dimension": "学习兴趣", "indicator_1": "数学兴趣"},
    {"code": "Q03", "screen": 2, "type": ItemType.TEXT, "stem": "你最喜欢数学课的什么？",
     "constraints": {"max_length": 200}, "dimension": "学习兴趣", "indicator_1": "数学兴趣"},
    {"code": "Q04", "screen": 3, "type": ItemType.SINGLE_TEXT, "stem": "你参加校外辅导班吗？",
     "options": [{"value": "1", "label": "不参加"}, {"value": "2", "label": "参加（请注明）"}],
     "dimension": "校外辅导", "indicator_1": "校外辅导"},
    {"code": "Q05", "screen": 3, "type": ItemType.NUMERIC, "stem": "每周参加几次？",
     "show_if": {"item": "Q04", "in": ["2"]}, "constraints": {"min": 0, "max": 14, "decimals": 0},
     "dimension": "校外辅导", "indicator_1": "校外辅导"},
]


def make_instrument(cycle: Any, code: str = "math", *, kind: str = InstrumentKind.TEST,
                    items: list[dict[str, Any]] | None = None, booklets: dict[int, list[str]] | None = None,
                    time_limit_minutes: int | None = 80, published: bool = True, version: int = 1) -> Instrument:
    """A published instrument with ``items`` (default: :data:`MATH_ITEMS` for tests, the questionnaire for
    questionnaires) and ``booklets`` (number → block codes; default one booklet of all blocks in order)."""
    rows = items if items is not None else (MATH_ITEMS if kind == InstrumentKind.TEST else QUESTIONNAIRE_ITEMS)
    inst = Instrument.objects.create(
        cycle=cycle, code=code, version=version, name=code, kind=kind, time_limit_minutes=time_limit_minutes,
        status=InstrumentStatus.PUBLISHED if published else InstrumentStatus.DRAFT,
        published_at=timezone.now() if published else None)
    for seq, spec in enumerate(rows, start=1):
        Item.objects.create(instrument=inst, seq=seq, **spec)
    if booklets is None:
        blocks = list(dict.fromkeys(spec.get("block", "Q") for spec in rows))
        booklets = {1: blocks}
    for number, blocks in booklets.items():
        Booklet.objects.create(instrument=inst, number=number, blocks=blocks)
    return inst


_session_no = [0]


def make_session(cycle: Any, school: Any, *, instruments: list[str], respondent: str = Respondent.STUDENT,
                 kind: str = SessionKind.FORMAL, status: str = SessionStatus.OPEN, grade: int | None = 8,
                 starts_at: dt.datetime | None = None, minutes: int | None = 80, key: str = "K7Q2M9",
                 title: str = "学生数学测试") -> TestSession:
    """A session at ``school`` (open by default, started ten minutes ago)."""
    _session_no[0] += 1
    start = starts_at or timezone.now() - dt.timedelta(minutes=10)
    return TestSession.objects.create(
        cycle=cycle, county=school.county, school=school, path=school.path, level="middle" if grade == 8 else
        "primary", grade=grade, respondent=respondent, kind=kind, title=title, instruments=instruments,
        starts_at=start, ends_at=start + dt.timedelta(minutes=minutes) if minutes else None,
        code=f"S{_session_no[0]:06d}", key=key, status=status,
        opened_at=timezone.now() if status != SessionStatus.SCHEDULED else None)


def make_taker(cycle: Any, school: Any, code: str, *, kind: str = Respondent.STUDENT, grade: int | None = 8,
               booklets: dict[str, int] | None = None) -> TestTaker:
    return TestTaker.objects.create(cycle=cycle, kind=kind, code=code, county=school.county, school=school,
                                    path=school.path, grade=grade, booklets=booklets or {})
