"""The validator: walks the composed document, reports every problem, and builds a :class:`CycleConfig`.

Every problem names the line, the field as a dotted path (``schedule.sample.primary[0].sessions[1].start``) and
the reason in Chinese; one mistake gives one problem. A method returns None when its part has a problem (already
reported), and the document is built only when no part returned None.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.utils.translation import gettext as _

from naeq.cycles.config.types import CycleConfig, Day, Instrument, LocalTimeRegion, Participation, Session, Subject
from naeq.cycles.config.vocabulary import (
    ANSWER_CARDS,
    CONTENT_GRADES,
    DELIVERY_MODES,
    GRADE_LEVEL,
    KINDS,
    LEVELS,
    PARTICIPATIONS,
    RESPONDENTS,
    TEACHER_ROLES,
)
from naeq.cycles.config.yamlnodes import NULL_TAG, NodeReader, Seen, line

_PROVINCE_RE = re.compile(r"^[0-9]{2}$")


@dataclass
class Validator(NodeReader):
    subjects: dict[str, Subject] = field(default_factory=dict)
    instruments: dict[str, Instrument] = field(default_factory=dict)
    # Codes that were declared, even where the rest of the entry has problems: a reference to them is not
    # reported again as "not defined" (one mistake, one problem).
    subject_codes: set[str] = field(default_factory=set)
    instrument_codes: set[str] = field(default_factory=set)

    # ---- references

    def undefined_subject(self, node: yaml.Node, path: str, code: str) -> bool:
        """True, after reporting it, when ``code`` is not a subject declared in ``subjects``."""
        if code in self.subject_codes:
            return False
        self.err(node, path, _("学科“%(code)s”未在 subjects 中定义。") % {"code": code})
        return True

    # ---- the document

    def cycle(self, root: yaml.Node) -> CycleConfig | None:
        m = self.mapping(root, "", required=("year", "name", "subjects", "instruments", "participation",
                                             "schedule"),
                         optional=("round", "sources", "local_time"))
        if m is None:
            return None
        year = self.field(m, "", "year", self.integer_in(2000, 2100))
        self.year = year
        name = self.field(m, "", "name", self.text)
        round_number = round_year = None
        r = self.field(m, "", "round", lambda n, p: self.complete_mapping(n, p, required=("number", "year")))
        if r is not None:
            round_number = self.field(r, "round", "number", self.integer_in(1, 99))
            round_year = self.field(r, "round", "year", self.integer_in(1, 3))
        sources = tuple(s for s in (self.items(m["sources"][1], "sources", self.text) or []) if s) \
            if "sources" in m else ()
        subjects = self.field(m, "", "subjects", self.subject_list)
        instruments = self.field(m, "", "instruments", self.instrument_list)
        regions, note = self.local_time(m["local_time"][1]) if "local_time" in m else ((), "")
        participations = self.field(m, "", "participation", self.participation_map)
        schedules = (self.schedule_map(m["schedule"][1], participations or {})
                     if "schedule" in m and participations is not None else None)
        if participations is not None and schedules is not None:
            self.check_participations(participations, schedules)
        if (year is None or name is None or subjects is None or instruments is None or participations is None
                or schedules is None):
            return None
        return CycleConfig(year=year, name=name, round_number=round_number, round_year=round_year,
                           subjects=tuple(subjects), instruments=tuple(instruments),
                           participations=tuple(p for p, _node in participations.values()),
                           schedules=schedules, local_time_regions=regions, local_time_note=note, sources=sources)

    # ---- subjects

    def subject_list(self, node: yaml.Node, path: str) -> list[Subject] | None:
        nodes = self.seq(node, path)
        if nodes is None:
            return None
        out: list[Subject] = []
        codes: Seen = []
        for i, n in enumerate(nodes):
            spath = f"{path}[{i}]"
            m = self.mapping(n, spath, required=("code", "name", "content_grades"), optional=("tested_grades",))
            if m is None:
                continue
            code = self.field(m, spath, "code", self.code)
            if "code" in m:
                codes.append((code, m["code"][1], f"{spath}.code"))
            name = self.field(m, spath, "name", self.text)
            content = self.field(m, spath, "content_grades", self.grades)
            tested = content
            if "tested_grades" in m:
                tested = self.field(m, spath, "tested_grades",
                                    lambda tn, tp: self.items(tn, tp, self.integer_in(1, 12)))
                if tested is not None and content is not None and len(tested) != len(content):
                    self.err(m["tested_grades"][1], f"{spath}.tested_grades",
                             _("实际施测年级应与内容年级一一对应（%(n)s 个）。") % {"n": len(content)})
                    tested = None
            if code and name and content and tested and None not in tested:
                out.append(Subject(code=code, name=name, content_grades=tuple(content), tested_grades=tuple(tested)))
        self.unique(codes, _("学科代码"))
        self.subjects = {s.code: s for s in out}
        self.subject_codes = {c for c, _n, _p in codes if c}
        return out

    def grades(self, node: yaml.Node, path: str) -> list[int] | None:
        values = self.items(node, path, self.grade)
        if values is None or None in values:
            return None
        if len(set(values)) != len(values):
            self.err(node, path, _("年级重复。"))
            return None
        return values

    def grade(self, node: yaml.Node, path: str) -> int | None:
        value = self.integer(node, path)
        if value is not None and value not in CONTENT_GRADES:
            self.err(node, path, _("监测年级应为 4 或 8，不能是 %(grade)s。") % {"grade": value})
            return None
        return value

    # ---- instruments

    def instrument_list(self, node: yaml.Node, path: str) -> list[Instrument] | None:
        nodes = self.seq(node, path)
        if nodes is None:
            return None
        out: list[Instrument] = []
        codes: Seen = []
        for i, n in enumerate(nodes):
            ipath = f"{path}[{i}]"
            inst = self.instrument(n, ipath)
            m = n.value if isinstance(n, yaml.MappingNode) else []
            for k, v in m:
                if getattr(k, "value", None) == "code":
                    codes.append((inst.code if inst else getattr(v, "value", None), v, f"{ipath}.code"))
            if inst is not None:
                out.append(inst)
        self.unique(codes, _("工具代码"))
        self.instruments = {i.code: i for i in out}
        self.instrument_codes = {str(c) for c, _n, _p in codes if c}
        return out

    def instrument(self, node: yaml.Node, path: str) -> Instrument | None:
        m = self.mapping(node, path, required=("code", "name", "kind", "respondent", "delivery"),
                         optional=("teacher_role", "subject", "grades", "booklets", "answer_card"))
        if m is None:
            return None
        ok = True

        def get(key: str, parse: Callable[[yaml.Node, str], Any]) -> Any:
            nonlocal ok
            value = self.field(m, path, key, parse)
            ok = ok and (key not in m or value is not None)
            return value

        code = get("code", self.code)
        name = get("name", self.text)
        kind = get("kind", self.one_of(KINDS))
        respondent = get("respondent", self.one_of(RESPONDENTS))
        teacher_role = get("teacher_role", self.one_of(TEACHER_ROLES))
        subject = get("subject", self.scalar)
        grades = get("grades", self.grades)
        booklets = None
        if "booklets" in m and m["booklets"][1].tag != NULL_TAG:
            booklets = get("booklets", self.integer_in(1, 99))
        answer_card = get("answer_card", self.one_of(ANSWER_CARDS))
        ok = ok and all(k in m for k in ("code", "name", "kind", "respondent", "delivery"))
        if subject is not None and self.undefined_subject(m["subject"][1], f"{path}.subject", subject):
            ok = False
        elif subject is not None and subject not in self.subjects:
            ok = False  # declared, but the subject itself has problems (already reported)
        if kind == "test" and "subject" not in m:
            self.err(node, f"{path}.subject", _("测试卷必须指明学科。"))
            ok = False
        if respondent == "teacher" and teacher_role is None and "teacher_role" not in m:
            self.err(node, f"{path}.teacher_role", _("教师问卷必须指明教师角色（teacher_role）。"))
            ok = False
        if teacher_role is not None and respondent != "teacher":
            self.err(m["teacher_role"][1], f"{path}.teacher_role", _("只有教师问卷才有教师角色。"))
            ok = False
        if teacher_role == "subject_teacher" and "subject" not in m:
            self.err(node, f"{path}.subject", _("学科教师问卷必须指明学科。"))
            ok = False
        if respondent == "student" and "grades" not in m:
            self.err(node, f"{path}.grades", _("学生工具必须指明年级（grades）。"))
            ok = False
        if respondent == "county_manager" and "grades" in m:
            self.err(m["grades"][1], f"{path}.grades", _("区县教育管理人员问卷不分年级。"))
            ok = False
        if subject is not None and grades:
            subj = self.subjects.get(subject)
            missing = [g for g in grades if subj is not None and g not in subj.content_grades]
            if missing:
                self.err(m["grades"][1], f"{path}.grades", _("学科“%(code)s”没有 %(grades)s 年级的监测内容。")
                         % {"code": subject, "grades": "、".join(str(g) for g in missing)})
                ok = False
        if respondent == "county_manager":
            levels: tuple[str, ...] = ("county",)
        elif grades:
            levels = tuple(GRADE_LEVEL[g] for g in sorted(grades))
        else:
            levels = ("primary", "middle")
        delivery = self.field(m, path, "delivery", lambda n, p: self.delivery(n, p, levels))
        if not ok or delivery is None:
            return None
        return Instrument(code=code, name=name, kind=kind, respondent=respondent, teacher_role=teacher_role,
                          subject=subject, grades=tuple(sorted(grades or ())), booklets=booklets, delivery=delivery,
                          answer_card=answer_card, levels=levels)

    def delivery(self, node: yaml.Node, path: str, levels: tuple[str, ...]) -> dict[str, str] | None:
        if isinstance(node, yaml.ScalarNode):
            mode = self.choice(node, path, DELIVERY_MODES)
            return {level: mode for level in levels} if mode else None
        m = self.mapping(node, path, required=levels, optional=())
        if m is None:
            return None
        out = {}
        for level, (_k, v) in m.items():
            mode = self.choice(v, f"{path}.{level}", DELIVERY_MODES)
            if mode is None:
                return None
            out[level] = mode
        return out if set(out) == set(levels) else None

    # ---- local time

    def local_time(self, node: yaml.Node) -> tuple[tuple[LocalTimeRegion, ...], str]:
        m = self.mapping(node, "local_time", required=("regions",), optional=("note",))
        if m is None:
            return (), ""
        note = self.field(m, "local_time", "note", self.text) or ""
        regions: list[LocalTimeRegion] = []
        codes: Seen = []
        for i, n in enumerate(self.field(m, "local_time", "regions", self.seq) or []):
            path = f"local_time.regions[{i}]"
            r = self.complete_mapping(n, path, required=("code", "name"))
            if r is None:
                continue
            code = self.field(r, path, "code", self.scalar)
            if code is not None and not _PROVINCE_RE.match(code):
                self.err(r["code"][1], f"{path}.code", _("省级区划代码应为两位数字（如 65），不能是“%(code)s”。")
                         % {"code": code})
                code = None
            codes.append((code, r["code"][1], f"{path}.code"))
            name = self.field(r, path, "name", self.text)
            if code and name:
                regions.append(LocalTimeRegion(code=code, name=name))
        self.unique(codes, _("省级区划代码"))
        return tuple(regions), note

    # ---- participation types and their schedules

    def participation_map(self, node: yaml.Node, path: str) -> dict[str, tuple[Participation, yaml.Node]] | None:
        m = self.mapping(node, path, required=(), optional=PARTICIPATIONS)
        if m is None:
            return None
        if not m:
            self.err(node, path, _("至少要有一种参测类型。"))
            return None
        out: dict[str, tuple[Participation, yaml.Node]] = {}
        for code, (_k, v) in m.items():
            ppath = f"{path}.{code}"
            p = self.mapping(v, ppath, required=("name", "subjects"), optional=("schedule_from",))
            if p is None:
                continue
            name = self.field(p, ppath, "name", self.text)
            subjects = self.field(p, ppath, "subjects", lambda n, sp: self.items(n, sp, self.scalar))
            if subjects is not None:
                for i, (s, sn) in enumerate(zip(subjects, p["subjects"][1].value, strict=False)):
                    if s is not None and self.undefined_subject(sn, f"{ppath}.subjects[{i}]", s):
                        subjects = None
                        break
            schedule_from = None
            if "schedule_from" in p:
                fnode, fpath = p["schedule_from"][1], f"{ppath}.schedule_from"
                schedule_from = self.choice(fnode, fpath, PARTICIPATIONS)
                if schedule_from is not None and schedule_from not in m:
                    self.err(fnode, fpath, _("参测类型“%(code)s”未定义。") % {"code": schedule_from})
                    schedule_from = None
                elif schedule_from == code:
                    self.err(fnode, fpath, _("不能引用自身的日程。"))
                    schedule_from = None
                if schedule_from is None:
                    continue
            if name and subjects is not None:
                out[code] = (Participation(code=code, name=name, subjects=tuple(subjects),
                                           schedule_from=schedule_from), v)
        return out if len(out) == len(m) else None

    def schedule_map(self, node: yaml.Node, participations: dict[str, tuple[Participation, yaml.Node]]
                     ) -> dict[str, dict[str, tuple[Day, ...]]] | None:
        m = self.mapping(node, "schedule", required=(), optional=PARTICIPATIONS)
        if m is None:
            return None
        out: dict[str, dict[str, tuple[Day, ...]]] = {}
        ok = True
        for code, (key_node, v) in m.items():
            path = f"schedule.{code}"
            if code not in participations:
                self.err(key_node, path, _("参测类型“%(code)s”未在 participation 中定义。") % {"code": code})
                ok = False
                continue
            participation = participations[code][0]
            if participation.schedule_from:
                self.err(key_node, path, _("该参测类型已用 schedule_from 引用“%(code)s”的日程，不能再单独设置。")
                         % {"code": participation.schedule_from})
                ok = False
                continue
            levels = self.mapping(v, path, required=(), optional=LEVELS)
            if levels is None:
                ok = False
                continue
            out[code] = {}
            for level, (_lk, days_node) in levels.items():
                days = self.days(days_node, f"{path}.{level}", level, participation)
                if days is None:
                    ok = False
                else:
                    out[code][level] = days
        return out if ok else None

    def days(self, node: yaml.Node, path: str, level: str, participation: Participation) -> tuple[Day, ...] | None:
        nodes = self.seq(node, path)
        if nodes is None:
            return None
        out: list[Day] = []
        ok = True
        dates: Seen = []
        for i, n in enumerate(nodes):
            dpath = f"{path}[{i}]"
            m = self.complete_mapping(n, dpath, required=("date", "sessions"), optional=("end_date",))
            if m is None:
                ok = False
                continue
            date = self.field(m, dpath, "date", self.date)
            dates.append((str(date) if date else None, m["date"][1], f"{dpath}.date"))
            end_date = self.field(m, dpath, "end_date", self.date)
            if date and end_date and end_date <= date:
                self.err(m["end_date"][1], f"{dpath}.end_date", _("结束日期应晚于开始日期 %(date)s。") % {"date": date})
                end_date = None
                ok = False
            window = "end_date" in m
            sessions = self.sessions(m["sessions"][1], f"{dpath}.sessions", level, participation, window=window)
            if date is None or sessions is None or (window and end_date is None):
                ok = False
                continue
            out.append(Day(date=date, end_date=end_date, sessions=sessions))
        self.unique(dates, _("日期"))
        return tuple(out) if ok and len({d.date for d in out}) == len(out) else None

    def sessions(self, node: yaml.Node, path: str, level: str, participation: Participation, *,
                 window: bool) -> tuple[Session, ...] | None:
        nodes = self.seq(node, path)
        if nodes is None:
            return None
        out: list[Session] = []
        ok = True
        for i, n in enumerate(nodes):
            s = self.session(n, f"{path}[{i}]", level, participation, window=window)
            if s is None:
                ok = False
            else:
                out.append(s)
        if not ok:
            return None
        # Two timed sessions on one day may not overlap when they share respondents (principals and teachers
        # fill questionnaires while students sit tests; one student cannot be in two sessions at once). An
        # open-ended session ("至全部完成") runs until the next session of the same respondents, so only its start
        # may not fall inside another session.
        for i, later in enumerate(out):
            for earlier in out[:i]:
                if later.start is None or earlier.start is None:
                    continue
                shared = set(later.respondents) & set(earlier.respondents)
                if not shared:
                    continue
                if _overlap(earlier, later):
                    self.err(nodes[i], f"{path}[{i}].start",
                             _("与第 %(line)s 行的场次时间重叠（同一批填答对象：%(who)s）。")
                             % {"line": earlier.line, "who": "、".join(sorted(shared))})
                    ok = False
        return tuple(out) if ok else None

    def session(self, node: yaml.Node, path: str, level: str, participation: Participation, *,
                window: bool) -> Session | None:
        m = self.mapping(node, path, required=("instruments",),
                         optional=("start", "end", "until_done", "respondents", "title"))
        if m is None:
            return None
        ok = "instruments" in m
        start = self.field(m, path, "start", self.time)
        end = self.field(m, path, "end", self.time)
        ok = ok and ("start" not in m or start is not None) and ("end" not in m or end is not None)
        until_done = False
        if "until_done" in m:
            flag = self.field(m, path, "until_done", self.boolean)
            ok = ok and flag is not None
            until_done = bool(flag)
        if not window:
            if "start" not in m:
                self.err(node, f"{path}.start", _("缺少开始时间（start）。"))
                ok = False
            if "end" not in m and not until_done:
                self.err(node, f"{path}.end", _("缺少结束时间（end）；不定时结束的场次请写 until_done: true。"))
                ok = False
        if "end" in m and until_done:
            self.err(m["end"][1], f"{path}.end", _("已设置 until_done（至全部完成），不能同时设置结束时间。"))
            ok = False
        if start is not None and end is not None and end <= start:
            self.err(m["end"][1], f"{path}.end",
                     _("结束时间 %(end)s 应晚于开始时间 %(start)s。")
                     % {"end": end.strftime("%H:%M"), "start": start.strftime("%H:%M")})
            ok = False
        instruments: list[Instrument] = []
        if "instruments" in m:
            codes = self.items(m["instruments"][1], f"{path}.instruments", self.scalar) or []
            for i, (code, cn) in enumerate(zip(codes, m["instruments"][1].value, strict=False)):
                inst = self.session_instrument(cn, f"{path}.instruments[{i}]", code, level, participation)
                if inst is None:
                    ok = False
                else:
                    instruments.append(inst)
        derived = tuple(dict.fromkeys(i.respondent for i in instruments))
        respondents = derived
        if "respondents" in m:
            given = self.field(m, path, "respondents", lambda n, p: self.items(n, p, self.one_of(RESPONDENTS)))
            if given is None or None in given:
                ok = False
            else:
                missing = [r for r in derived if r not in given]
                if missing:
                    self.err(m["respondents"][1], f"{path}.respondents",
                             _("填答对象应包含所列工具的对象：%(who)s。") % {"who": "、".join(missing)})
                    ok = False
                respondents = tuple(given)
        title = ""
        if "title" in m:
            title = self.field(m, path, "title", self.text) or ""
            ok = ok and bool(title)
        if not ok:
            return None
        return Session(start=start, end=end, until_done=until_done, instruments=tuple(i.code for i in instruments),
                       respondents=respondents, title=title or "、".join(i.name for i in instruments),
                       line=line(node))

    def session_instrument(self, node: yaml.Node, path: str, code: str | None, level: str,
                           participation: Participation) -> Instrument | None:
        """The instrument ``code`` names in a session of ``level``; None when it cannot be used there."""
        if code is None:
            return None
        inst = self.instruments.get(code)
        if inst is None and code in self.instrument_codes:
            return None  # declared, but the instrument itself has problems (already reported)
        if inst is None:
            self.err(node, path, _("工具“%(code)s”未在 instruments 中定义。") % {"code": code})
            return None
        if level not in inst.levels:
            self.err(node, path, _("工具“%(code)s”不用于学段“%(level)s”。") % {"code": code, "level": level})
            return None
        if inst.kind == "test" and inst.subject not in participation.subjects:
            self.err(node, path, _("工具“%(code)s”的学科“%(subject)s”不在参测类型“%(p)s”的监测学科中。")
                     % {"code": code, "subject": inst.subject, "p": participation.code})
            return None
        return inst

    def check_participations(self, participations: dict[str, tuple[Participation, yaml.Node]],
                             schedules: dict[str, dict[str, tuple[Day, ...]]]) -> None:
        for code, (p, pnode) in participations.items():
            own = schedules.get(p.schedule_from or code)
            if own is None:
                self.err(pnode, f"participation.{code}",
                         _("参测类型“%(code)s”没有日程：请在 schedule.%(code)s 中设置，或用 schedule_from 引用。")
                         % {"code": code})
                continue
            tested = {self.instruments[c].subject for days in own.values() for d in days for s in d.sessions
                      for c in s.instruments if self.instruments[c].kind == "test"}
            for subject in p.subjects:
                if subject not in tested:
                    self.err(pnode, f"participation.{code}.subjects",
                             _("学科“%(subject)s”在该参测类型的日程中没有测试场次。") % {"subject": subject})


def _overlap(a: Session, b: Session) -> bool:
    if a.start is None or b.start is None:
        return False
    if a.start == b.start:
        return True
    first_end, second_start = (a.end, b.start) if a.start < b.start else (b.end, a.start)
    return first_end is not None and second_start < first_end
