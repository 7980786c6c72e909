"""Cycle configuration files: parse and validate YAML into frozen dataclasses.

The file is composed into YAML nodes (not loaded into Python objects) so that every value keeps its 1-based line
number, and so that scalars are read as written: ``10:20`` stays a time (plain YAML 1.1 would make it the integer
620), ``2023-05-24`` stays a date string. Validation collects every problem in the file before failing; each
problem names the file, the line, the field as a dotted path (``schedule.sample.primary[0].sessions[1].start``)
and the reason in Chinese. The format is documented in ``docs/cycles.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from django.utils.translation import gettext as _

from naeq.core.errors import InvalidInput, ProblemCollector

if TYPE_CHECKING:
    from naeq.cycles.selectors import ScheduleEntry

KINDS = ("test", "questionnaire")
RESPONDENTS = ("student", "teacher", "principal", "county_manager")
TEACHER_ROLES = ("head_teacher", "subject_teacher")
DELIVERY_MODES = (
    "paper",  # paper booklet; see answer_card
    "online",  # network testing system
    "online_objective_paper_constructed",  # objective items online; constructed items on screen, answered on paper
    "county_choice",  # paper or online, as each county decides
    "field_test",  # PE field test, results written on a paper record card and entered afterwards
)
ANSWER_CARDS = ("separate", "combined")  # 题卡分离 / 题卡合一
PARTICIPATIONS = ("sample", "agreement", "application")
LEVELS = ("primary", "middle", "county")
CONTENT_GRADES = (4, 8)
GRADE_LEVEL = {4: "primary", 8: "middle"}

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_PROVINCE_RE = re.compile(r"^[0-9]{2}$")

INT_TAG = "tag:yaml.org,2002:int"
BOOL_TAG = "tag:yaml.org,2002:bool"
NULL_TAG = "tag:yaml.org,2002:null"


# --------------------------------------------------------------------------------------------------- results


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


# --------------------------------------------------------------------------------------------------- parsing


def parse_file(path: str | Path) -> CycleConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        c = ProblemCollector(file=str(path))
        c.add(_("无法读取文件：%(error)s") % {"error": exc})
        c.raise_if_any(_("配置文件无法读取。"))
        raise  # pragma: no cover - raise_if_any raised
    return parse_text(text, file=str(path))


def parse_text(text: str, *, file: str = "<text>") -> CycleConfig:
    """Parse and validate; raise :class:`InvalidInput` listing every problem."""
    collector = ProblemCollector(file=file)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        collector.add(_("YAML 语法错误：%(problem)s") % {"problem": problem},
                      row=mark.line + 1 if mark is not None else None)
        collector.raise_if_any(_("配置文件有误，未做任何更改。"))
    if root is None:
        collector.add(_("配置文件为空。"))
        raise InvalidInput(_("配置文件有误，未做任何更改。"), problems=collector.problems)
    config = _Validator(collector).cycle(root)
    collector.raise_if_any(_("配置文件有误，未做任何更改。"))
    if config is None:  # every path that returns None reports a problem first
        raise RuntimeError("cycle configuration rejected without a reported problem")
    return config


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@dataclass
class _Validator:
    c: ProblemCollector
    subjects: dict[str, Subject] = field(default_factory=dict)
    instruments: dict[str, Instrument] = field(default_factory=dict)
    # Codes that were declared, even where the rest of the entry has problems: a reference to them is not
    # reported again as "not defined" (one mistake, one problem).
    subject_codes: set[str] = field(default_factory=set)
    instrument_codes: set[str] = field(default_factory=set)
    year: int | None = None

    # ---- primitives

    def err(self, node: yaml.Node | None, path: str, reason: str) -> None:
        row = _line(node) if node is not None else None
        # A block reused through a YAML alias (``middle: *primary_days``) is checked once per use; its mistakes
        # are reported once, under the path of the anchor (the first use).
        if node is not None and any(p.row == row and p.reason == reason for p in self.c.problems):
            return
        self.c.add(reason, row=row, field=path or None)

    def mapping(self, node: yaml.Node, path: str, *, required: Iterable[str],
                optional: Iterable[str]) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        """Key -> (key node, value node); reports unknown, duplicate and missing keys."""
        if not isinstance(node, yaml.MappingNode):
            self.err(node, path, _("应为键值映射（mapping）。"))
            return None
        required, optional = tuple(required), tuple(optional)
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            if key in out:
                self.err(key_node, _join(path, key), _("配置项重复。"))
                continue
            if key not in required and key not in optional:
                self.err(key_node, _join(path, key),
                         _("未知的配置项“%(key)s”，允许的配置项：%(allowed)s。")
                         % {"key": key, "allowed": "、".join(required + optional)})
                continue
            out[key] = (key_node, value_node)
        for key in required:
            if key not in out:
                self.err(node, _join(path, key), _("缺少必填配置项“%(key)s”。") % {"key": key})
        return out

    def seq(self, node: yaml.Node, path: str, *, non_empty: bool = True) -> list[yaml.Node] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.err(node, path, _("应为列表。"))
            return None
        if non_empty and not node.value:
            self.err(node, path, _("列表不能为空。"))
            return None
        return list(node.value)

    def scalar(self, node: yaml.Node, path: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag == NULL_TAG:
            self.err(node, path, _("应为单个值。"))
            return None
        return str(node.value)

    def text(self, node: yaml.Node, path: str) -> str | None:
        value = self.scalar(node, path)
        if value is not None and not value.strip():
            self.err(node, path, _("不能为空。"))
            return None
        return value.strip() if value is not None else None

    def integer(self, node: yaml.Node, path: str, *, low: int | None = None, high: int | None = None) -> int | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag != INT_TAG or not re.fullmatch(r"[0-9]+", node.value):
            self.err(node, path, _("应为整数。"))
            return None
        value = int(node.value)
        if (low is not None and value < low) or (high is not None and value > high):
            self.err(node, path, _("应在 %(low)s 到 %(high)s 之间。") % {"low": low, "high": high})
            return None
        return value

    def code(self, node: yaml.Node, path: str) -> str | None:
        value = self.scalar(node, path)
        if value is not None and not _CODE_RE.match(value):
            self.err(node, path, _("代码“%(code)s”应由小写英文字母、数字和下划线组成，并以字母开头。")
                     % {"code": value})
            return None
        return value

    def choice(self, node: yaml.Node, path: str, allowed: tuple[str, ...]) -> str | None:
        value = self.scalar(node, path)
        if value is not None and value not in allowed:
            self.err(node, path, _("“%(value)s”不是允许的取值，应为：%(allowed)s。")
                     % {"value": value, "allowed": "、".join(allowed)})
            return None
        return value

    def boolean(self, node: yaml.Node, path: str) -> bool | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag != BOOL_TAG:
            self.err(node, path, _("应为 true 或 false。"))
            return None
        return node.value.lower() in ("true", "yes", "on", "y")

    def date(self, node: yaml.Node, path: str) -> dt.date | None:
        value = self.scalar(node, path)
        if value is None:
            return None
        try:
            if not _DATE_RE.match(value):
                raise ValueError(value)
            day = dt.date.fromisoformat(value)
        except ValueError:
            self.err(node, path, _("日期“%(value)s”格式不对，应为 YYYY-MM-DD。") % {"value": value})
            return None
        if self.year is not None and day.year != self.year:
            self.err(node, path, _("日期 %(date)s 不在监测年度 %(year)s 年内。") % {"date": value, "year": self.year})
            return None
        return day

    def time(self, node: yaml.Node, path: str) -> dt.time | None:
        value = self.scalar(node, path)
        if value is None:
            return None
        if not _TIME_RE.match(value):
            self.err(node, path, _("时间“%(value)s”格式不对，应为 HH:MM（24小时制，如 08:30）。") % {"value": value})
            return None
        return dt.time.fromisoformat(value)

    def items(self, node: yaml.Node, path: str, each: Callable[[yaml.Node, str], Any], *,
              non_empty: bool = True) -> list[Any] | None:
        nodes = self.seq(node, path, non_empty=non_empty)
        if nodes is None:
            return None
        return [each(n, f"{path}[{i}]") for i, n in enumerate(nodes)]

    def unique(self, values: list[tuple[str | None, yaml.Node, str]], what: str) -> None:
        seen: set[str] = set()
        for value, node, path in values:
            if value is None:
                continue
            if value in seen:
                self.err(node, path, _("%(what)s“%(value)s”重复。") % {"what": what, "value": value})
            seen.add(value)

    # ---- the document

    def cycle(self, root: yaml.Node) -> CycleConfig | None:
        m = self.mapping(root, "", required=("year", "name", "subjects", "instruments", "participation",
                                             "schedule"),
                         optional=("round", "sources", "local_time"))
        if m is None:
            return None
        year = self.integer(m["year"][1], "year", low=2000, high=2100) if "year" in m else None
        self.year = year
        name = self.text(m["name"][1], "name") if "name" in m else None
        round_number = round_year = None
        if "round" in m:
            r = self.mapping(m["round"][1], "round", required=("number", "year"), optional=())
            if r is not None and "number" in r and "year" in r:
                round_number = self.integer(r["number"][1], "round.number", low=1, high=99)
                round_year = self.integer(r["year"][1], "round.year", low=1, high=3)
        sources = tuple(s for s in (self.items(m["sources"][1], "sources", self.text) or []) if s) \
            if "sources" in m else ()
        subjects = self.subject_list(m["subjects"][1]) if "subjects" in m else None
        instruments = self.instrument_list(m["instruments"][1]) if "instruments" in m else None
        regions, note = self.local_time(m["local_time"][1]) if "local_time" in m else ((), "")
        participations = self.participation_map(m["participation"][1]) if "participation" in m else None
        schedules = (self.schedule_map(m["schedule"][1], participations or {})
                     if "schedule" in m and participations is not None else None)
        if participations is not None and schedules is not None:
            self.check_participations(m["participation"][1], participations, schedules)
        if (year is None or name is None or subjects is None or instruments is None or participations is None
                or schedules is None):
            return None
        return CycleConfig(year=year, name=name, round_number=round_number, round_year=round_year,
                           subjects=tuple(subjects), instruments=tuple(instruments),
                           participations=tuple(p for p, _node in participations.values()),
                           schedules=schedules, local_time_regions=regions, local_time_note=note, sources=sources)

    def subject_list(self, node: yaml.Node) -> list[Subject] | None:
        nodes = self.seq(node, "subjects")
        if nodes is None:
            return None
        out: list[Subject] = []
        codes: list[tuple[str | None, yaml.Node, str]] = []
        for i, n in enumerate(nodes):
            path = f"subjects[{i}]"
            m = self.mapping(n, path, required=("code", "name", "content_grades"), optional=("tested_grades",))
            if m is None:
                continue
            code = self.code(m["code"][1], f"{path}.code") if "code" in m else None
            if "code" in m:
                codes.append((code, m["code"][1], f"{path}.code"))
            name = self.text(m["name"][1], f"{path}.name") if "name" in m else None
            content = self.grades(m["content_grades"][1], f"{path}.content_grades") if "content_grades" in m \
                else None
            tested = content
            if "tested_grades" in m:
                tested = self.items(m["tested_grades"][1], f"{path}.tested_grades",
                                    lambda gn, gp: self.integer(gn, gp, low=1, high=12))
                if tested is not None and content is not None and len(tested) != len(content):
                    self.err(m["tested_grades"][1], f"{path}.tested_grades",
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

    def instrument_list(self, node: yaml.Node) -> list[Instrument] | None:
        nodes = self.seq(node, "instruments")
        if nodes is None:
            return None
        out: list[Instrument] = []
        codes: list[tuple[str | None, yaml.Node, str]] = []
        for i, n in enumerate(nodes):
            path = f"instruments[{i}]"
            inst = self.instrument(n, path)
            m = n.value if isinstance(n, yaml.MappingNode) else []
            for k, v in m:
                if getattr(k, "value", None) == "code":
                    codes.append((inst.code if inst else getattr(v, "value", None), v, f"{path}.code"))
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
            if key not in m:
                return None
            value = parse(m[key][1], f"{path}.{key}")
            ok = ok and value is not None
            return value

        code = get("code", self.code)
        name = get("name", self.text)
        kind = get("kind", lambda n, p: self.choice(n, p, KINDS))
        respondent = get("respondent", lambda n, p: self.choice(n, p, RESPONDENTS))
        teacher_role = get("teacher_role", lambda n, p: self.choice(n, p, TEACHER_ROLES))
        subject = get("subject", self.scalar)
        grades = get("grades", self.grades)
        booklets = None
        if "booklets" in m and m["booklets"][1].tag != NULL_TAG:
            booklets = get("booklets", lambda n, p: self.integer(n, p, low=1, high=99))
        answer_card = get("answer_card", lambda n, p: self.choice(n, p, ANSWER_CARDS))
        ok = ok and all(k in m for k in ("code", "name", "kind", "respondent", "delivery"))
        if subject is not None and subject not in self.subject_codes:
            self.err(m["subject"][1], f"{path}.subject", _("学科“%(code)s”未在 subjects 中定义。") % {"code": subject})
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
        delivery = self.delivery(m["delivery"][1], f"{path}.delivery", levels) if "delivery" in m else None
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

    def local_time(self, node: yaml.Node) -> tuple[tuple[LocalTimeRegion, ...], str]:
        m = self.mapping(node, "local_time", required=("regions",), optional=("note",))
        if m is None:
            return (), ""
        note = (self.text(m["note"][1], "local_time.note") or "") if "note" in m else ""
        regions: list[LocalTimeRegion] = []
        codes: list[tuple[str | None, yaml.Node, str]] = []
        for i, n in enumerate(self.seq(m["regions"][1], "local_time.regions") or [] if "regions" in m else []):
            path = f"local_time.regions[{i}]"
            r = self.mapping(n, path, required=("code", "name"), optional=())
            if r is None or "code" not in r or "name" not in r:
                continue
            code = self.scalar(r["code"][1], f"{path}.code")
            if code is not None and not _PROVINCE_RE.match(code):
                self.err(r["code"][1], f"{path}.code", _("省级区划代码应为两位数字（如 65），不能是“%(code)s”。")
                         % {"code": code})
                code = None
            codes.append((code, r["code"][1], f"{path}.code"))
            name = self.text(r["name"][1], f"{path}.name")
            if code and name:
                regions.append(LocalTimeRegion(code=code, name=name))
        self.unique(codes, _("省级区划代码"))
        return tuple(regions), note

    def participation_map(self, node: yaml.Node) -> dict[str, tuple[Participation, yaml.Node]] | None:
        m = self.mapping(node, "participation", required=(), optional=PARTICIPATIONS)
        if m is None:
            return None
        if not m:
            self.err(node, "participation", _("至少要有一种参测类型。"))
            return None
        out: dict[str, tuple[Participation, yaml.Node]] = {}
        for code, (_k, v) in m.items():
            path = f"participation.{code}"
            p = self.mapping(v, path, required=("name", "subjects"), optional=("schedule_from",))
            if p is None:
                continue
            name = self.text(p["name"][1], f"{path}.name") if "name" in p else None
            subjects = None
            if "subjects" in p:
                subjects = self.items(p["subjects"][1], f"{path}.subjects", self.scalar)
                for i, (s, sn) in enumerate(zip(subjects or [], p["subjects"][1].value, strict=False)):
                    if s is not None and s not in self.subject_codes:
                        self.err(sn, f"{path}.subjects[{i}]",
                                 _("学科“%(code)s”未在 subjects 中定义。") % {"code": s})
                        subjects = None
                        break
            schedule_from = None
            if "schedule_from" in p:
                schedule_from = self.choice(p["schedule_from"][1], f"{path}.schedule_from", PARTICIPATIONS)
                if schedule_from is not None and schedule_from not in m:
                    self.err(p["schedule_from"][1], f"{path}.schedule_from",
                             _("参测类型“%(code)s”未定义。") % {"code": schedule_from})
                    schedule_from = None
                elif schedule_from == code:
                    self.err(p["schedule_from"][1], f"{path}.schedule_from", _("不能引用自身的日程。"))
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
        dates: list[tuple[str | None, yaml.Node, str]] = []
        for i, n in enumerate(nodes):
            dpath = f"{path}[{i}]"
            m = self.mapping(n, dpath, required=("date", "sessions"), optional=("end_date",))
            if m is None or "date" not in m or "sessions" not in m:
                ok = False
                continue
            date = self.date(m["date"][1], f"{dpath}.date")
            dates.append((str(date) if date else None, m["date"][1], f"{dpath}.date"))
            end_date = self.date(m["end_date"][1], f"{dpath}.end_date") if "end_date" in m else None
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
        start = self.time(m["start"][1], f"{path}.start") if "start" in m else None
        end = self.time(m["end"][1], f"{path}.end") if "end" in m else None
        ok = ok and ("start" not in m or start is not None) and ("end" not in m or end is not None)
        until_done = False
        if "until_done" in m:
            flag = self.boolean(m["until_done"][1], f"{path}.until_done")
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
                ipath = f"{path}.instruments[{i}]"
                if code is None:
                    ok = False
                    continue
                inst = self.instruments.get(code)
                if inst is None and code in self.instrument_codes:
                    ok = False  # declared, but the instrument itself has problems (already reported)
                    continue
                if inst is None:
                    self.err(cn, ipath, _("工具“%(code)s”未在 instruments 中定义。") % {"code": code})
                    ok = False
                    continue
                if level not in inst.levels:
                    self.err(cn, ipath, _("工具“%(code)s”不用于学段“%(level)s”。") % {"code": code, "level": level})
                    ok = False
                    continue
                if inst.kind == "test" and inst.subject not in participation.subjects:
                    self.err(cn, ipath, _("工具“%(code)s”的学科“%(subject)s”不在参测类型“%(p)s”的监测学科中。")
                             % {"code": code, "subject": inst.subject, "p": participation.code})
                    ok = False
                    continue
                instruments.append(inst)
        derived = tuple(dict.fromkeys(i.respondent for i in instruments))
        respondents = derived
        if "respondents" in m:
            given = self.items(m["respondents"][1], f"{path}.respondents",
                               lambda n, p: self.choice(n, p, RESPONDENTS))
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
            title = self.text(m["title"][1], f"{path}.title") or ""
            ok = ok and bool(title)
        if not ok:
            return None
        return Session(start=start, end=end, until_done=until_done, instruments=tuple(i.code for i in instruments),
                       respondents=respondents, title=title or "、".join(i.name for i in instruments),
                       line=_line(node))

    def check_participations(self, node: yaml.Node, participations: dict[str, tuple[Participation, yaml.Node]],
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


# --------------------------------------------------------------------------------------------------- schedules


def _overlap(a: Session, b: Session) -> bool:
    if a.start is None or b.start is None:
        return False
    if a.start == b.start:
        return True
    first_end, second_start = (a.end, b.start) if a.start < b.start else (b.end, a.start)
    return first_end is not None and second_start < first_end


def entries_for(config: CycleConfig, *, levels: tuple[str, ...], participation: str,
                province_code: str | None) -> list[ScheduleEntry]:
    """Flatten the schedule of ``participation`` for the given configuration levels into sorted entries;
    a session that appears identically in several levels (same day, times, title, respondents and delivery
    mode) is listed once, with ``level`` naming all of them (e.g. ``primary+middle``)."""
    from naeq.cycles.selectors import ScheduleEntry

    local = config.is_local_time(province_code)
    schedule = config.schedule_of(participation)
    merged: dict[tuple[Any, ...], ScheduleEntry] = {}
    for level in levels:
        for day in schedule.get(level, ()):
            for s in day.sessions:
                modes = tuple(dict.fromkeys(config.instrument(c).mode_at(level) for c in s.instruments))
                key = (day.date, s.start, s.end, day.end_date, s.title, s.respondents, modes)
                entry = ScheduleEntry(date=day.date, start=s.start, end=s.end, end_date=day.end_date, title=s.title,
                                      respondents=s.respondents, mode="+".join(modes), local_time=local,
                                      instruments=s.instruments, level=level)
                if key in merged:
                    prev = merged[key]
                    entry = ScheduleEntry(
                        date=prev.date, start=prev.start, end=prev.end, end_date=prev.end_date, title=prev.title,
                        respondents=prev.respondents, mode=prev.mode, local_time=local,
                        instruments=tuple(dict.fromkeys(prev.instruments + s.instruments)),
                        level=f"{prev.level}+{level}")
                merged[key] = entry
    return sorted(merged.values(), key=lambda e: (e.date, e.start or dt.time.min, e.end or dt.time.max, e.title,
                                                e.level))
