"""The parsed cycle configuration: frozen dataclasses, built only by the validator in :mod:`.validate`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Subject:
    code: str
    name: str
    content_grades: tuple[int, ...]  # the grade whose curriculum is tested: 4 or 8
    tested_grades: tuple[int, ...]  # the grade actually sitting it, position by position (e.g. 5 when moved)

    def tested_grade_for(self, content_grade: int) -> int:
        return self.tested_grades[self.content_grades.index(content_grade)]


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    kind: str  # test / questionnaire
    respondent: str  # student / teacher / principal / county_manager
    teacher_role: str | None  # head_teacher / subject_teacher (with subject) when respondent is teacher
    subject: str | None
    grades: tuple[int, ...]  # content grades; empty when not grade-specific (principal, county manager)
    booklets: int | None  # None: the source does not say
    delivery: dict[str, str]  # level -> delivery mode
    answer_card: str | None  # separate (题卡分离) / combined (题卡合一) for the paper parts
    levels: tuple[str, ...]  # primary / middle / county

    def mode_at(self, level: str) -> str:
        return self.delivery[level]


@dataclass(frozen=True)
class Session:
    start: dt.time | None
    end: dt.time | None
    until_done: bool  # "至全部完成": open-ended, ends when everyone has finished
    instruments: tuple[str, ...]
    respondents: tuple[str, ...]
    title: str
    line: int


@dataclass(frozen=True)
class Day:
    date: dt.date
    end_date: dt.date | None  # a multi-day window (e.g. county manager questionnaire 5/24–5/31)
    sessions: tuple[Session, ...]


@dataclass(frozen=True)
class Participation:
    code: str  # sample / agreement / application
    name: str
    subjects: tuple[str, ...]
    schedule_from: str | None  # takes the schedule of another participation type


@dataclass(frozen=True)
class LocalTimeRegion:
    code: str  # first two digits of the division code (65 Xinjiang, 54 Tibet, 66 the Corps)
    name: str


@dataclass(frozen=True)
class CycleConfig:
    year: int
    name: str
    round_number: int | None
    round_year: int | None
    subjects: tuple[Subject, ...]
    instruments: tuple[Instrument, ...]
    participations: tuple[Participation, ...]
    schedules: dict[str, dict[str, tuple[Day, ...]]]  # participation -> level -> days (own schedules only)
    local_time_regions: tuple[LocalTimeRegion, ...] = ()
    local_time_note: str = ""
    sources: tuple[str, ...] = ()

    def subject(self, code: str) -> Subject:
        return next(s for s in self.subjects if s.code == code)

    def instrument(self, code: str) -> Instrument:
        return next(i for i in self.instruments if i.code == code)

    def participation(self, code: str) -> Participation:
        for p in self.participations:
            if p.code == code:
                return p
        raise ValueError(f"participation type {code!r} is not configured for {self.year}")

    def schedule_of(self, participation: str) -> dict[str, tuple[Day, ...]]:
        p = self.participation(participation)
        return self.schedules.get(p.schedule_from or p.code, {})

    def is_local_time(self, province_code: str | None) -> bool:
        if not province_code:
            return False
        return any(province_code.startswith(r.code) for r in self.local_time_regions)
