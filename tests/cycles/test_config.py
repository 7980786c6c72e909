"""Cycle configuration files: the shipped 2023 and 2024 cycles say what the seeds say; malformed files get
precise problems (file, line, dotted field, Chinese reason)."""

from __future__ import annotations

import datetime as dt

import pytest

from naeq.core.errors import InvalidInput, Problem
from naeq.cycles.config import CycleConfig, entries_for, parse_file, parse_text
from naeq.cycles.services import CONFIG_DIR

T = dt.time


@pytest.fixture(scope="module")
def c2023() -> CycleConfig:
    return parse_file(CONFIG_DIR / "2023.yaml")


@pytest.fixture(scope="module")
def c2024() -> CycleConfig:
    return parse_file(CONFIG_DIR / "2024.yaml")


def _entries(config: CycleConfig, level: str, participation: str = "sample") -> list[tuple]:
    return [(e.date, e.start, e.end, e.end_date, e.title, e.mode)
            for e in entries_for(config, levels=(level,), participation=participation, province_code=None)]


# --------------------------------------------------------------------------------------------------- 2023


def test_2023_subjects_and_booklets(c2023: CycleConfig) -> None:
    # Notice 一: "2023年主要监测义务教育阶段学生德育、科学、劳动三个学科领域"
    assert [s.name for s in c2023.subjects] == ["德育", "科学", "劳动"]
    assert (c2023.round_number, c2023.round_year) == (3, 3)  # "第三周期收官之年"
    # "学生德育测试卷：纸笔测试，题卡分离；共2套题本" / "学生科学测试卷：…共6套题本" / "学生劳动测试卷：…共2套题本"
    assert c2023.instrument("g4_moral").booklets == 2
    assert c2023.instrument("g4_science").booklets == 6
    assert c2023.instrument("g4_labor").booklets == 2
    for code in ("g4_moral", "g4_science", "g4_labor"):
        inst = c2023.instrument(code)
        assert inst.delivery == {"primary": "paper"} and inst.answer_card == "separate"
    # "学生相关因素问卷：类型一：纸笔填答，类型二：在线填答，题卡合一，1套题本" (by county)
    q = c2023.instrument("g4_questionnaire_1")
    assert (q.booklets, q.mode_at("primary"), q.answer_card) == (1, "county_choice", "combined")


def test_2023_middle_school_is_objective_online_constructed_on_paper(c2023: CycleConfig) -> None:
    # "客观题在线填答，主观题电子呈现，在配套填答题卡上纸笔作答"; questionnaires "在线填答，共四场问卷测试，均为1套题本"
    for code in ("g8_moral", "g8_science", "g8_labor"):
        assert c2023.instrument(code).mode_at("middle") == "online_objective_paper_constructed"
    assert c2023.instrument("g8_labor").booklets == 2  # "共2套题本"
    assert c2023.instrument("g8_science").booklets is None  # not stated in the briefing
    assert [c2023.instrument(f"g8_questionnaire_{i}").mode_at("middle") for i in range(1, 5)] == ["online"] * 4
    # "校长与教师问卷测试、区县教育管理人员问卷测试均以在线填答的形式进行"
    assert c2023.instrument("principal_questionnaire").delivery == {"primary": "online", "middle": "online"}
    assert c2023.instrument("county_manager_questionnaire").delivery == {"county": "online"}


def test_2023_primary_schedule(c2023: CycleConfig) -> None:
    # Briefing (四) 小学现场测试安排
    d1, d2 = dt.date(2023, 5, 24), dt.date(2023, 5, 25)
    assert _entries(c2023, "primary") == [
        (d1, T(9, 0), T(10, 20), None, "学生德育测试", "paper"),
        (d1, T(11, 0), T(11, 30), None, "学生相关因素问卷（一）填答", "county_choice"),
        (d1, T(14, 0), T(14, 30), None, "学生相关因素问卷（二）填答", "county_choice"),
        (d1, T(15, 0), T(15, 30), None, "学生相关因素问卷（三）填答", "county_choice"),
        (d1, T(16, 0), T(16, 30), None, "学生相关因素问卷（四）填答", "county_choice"),
        (d2, T(8, 30), T(9, 50), None, "学生科学测试", "paper"),
        (d2, T(9, 0), None, None, "校长与教师问卷填答", "online"),  # "09:00至全部填答完成"
        (d2, T(10, 20), T(11, 40), None, "学生劳动测试", "paper"),
    ]


def test_2023_middle_schedule(c2023: CycleConfig) -> None:
    # Briefing (四) 中学现场测试安排
    d1, d2 = dt.date(2023, 5, 24), dt.date(2023, 5, 25)
    mixed = "online_objective_paper_constructed"
    assert _entries(c2023, "middle") == [
        (d1, T(9, 0), T(10, 20), None, "学生德育测试", mixed),
        (d1, T(10, 50), T(11, 20), None, "学生相关因素问卷（一）填答", "online"),
        (d1, T(14, 0), T(15, 20), None, "学生科学测试", mixed),
        (d1, T(15, 50), T(16, 20), None, "学生相关因素问卷（二）填答", "online"),
        (d2, T(8, 30), T(9, 30), None, "学生劳动测试", mixed),
        (d2, T(9, 0), None, None, "校长与教师问卷填答", "online"),
        (d2, T(10, 0), T(10, 30), None, "学生相关因素问卷（三）填答", "online"),
        (d2, T(11, 0), T(11, 30), None, "学生相关因素问卷（四）填答", "online"),
    ]


def test_2023_local_time_regions(c2023: CycleConfig) -> None:
    # 备注: "新疆、西藏地区使用地方时间"
    assert c2023.is_local_time("650102") and c2023.is_local_time("54")
    assert not c2023.is_local_time("310101") and not c2023.is_local_time(None)


# --------------------------------------------------------------------------------------------------- 2024


def test_2024_sample_day_one_and_two(c2024: CycleConfig) -> None:
    # Plan 一(四)1: 5月22日 08:30—09:50 学生数学测试; 10:20—11:40 学生心理健康测试; 09:00 至全部完成 校长与教师问卷填答;
    # 14:00—14:30 / 15:00—15:30 / 16:00—16:30 问卷（一）（二）（三）; 5月23日 09:00 至全部完成 学生体育现场测试
    d1, d2 = dt.date(2024, 5, 22), dt.date(2024, 5, 23)
    expected = [
        (d1, T(8, 30), T(9, 50), None, "学生数学测试", "online_objective_paper_constructed"),
        (d1, T(9, 0), None, None, "校长与教师问卷填答", "online"),
        (d1, T(10, 20), T(11, 40), None, "学生心理健康测试", "online"),
        (d1, T(14, 0), T(14, 30), None, "学生相关因素问卷（一）填答", "online"),
        (d1, T(15, 0), T(15, 30), None, "学生相关因素问卷（二）填答", "online"),
        (d1, T(16, 0), T(16, 30), None, "学生相关因素问卷（三）填答", "online"),
        (d2, T(9, 0), None, None, "学生体育现场测试", "field_test"),
    ]
    assert _entries(c2024, "primary") == expected
    assert _entries(c2024, "middle") == expected  # one table for both grades
    # "样本县、协议县" share the schedule
    assert _entries(c2024, "primary", "agreement") == expected


def test_2024_county_manager_window(c2024: CycleConfig) -> None:
    # "5 月 24 日至 31 日 县（市、区）教育管理人员问卷填答"
    assert _entries(c2024, "county") == [
        (dt.date(2024, 5, 24), None, None, dt.date(2024, 5, 31), "县（市、区）教育管理人员问卷填答", "online")]


def test_2024_instruments_and_teacher_roles(c2024: CycleConfig) -> None:
    # "校长问卷、班主任问卷、数学教师问卷、体育教师问卷和心理健康教师问卷", all "在线填答"
    teachers = {(i.teacher_role, i.subject) for i in c2024.instruments if i.respondent == "teacher"}
    assert teachers == {("head_teacher", None), ("subject_teacher", "math"), ("subject_teacher", "pe"),
                        ("subject_teacher", "mental_health")}
    assert c2024.participation("sample").subjects == ("math", "mental_health", "pe")
    assert c2024.instrument("pe_field_test").mode_at("primary") == "field_test"


def test_2024_application_counties_take_nine_subjects_on_their_own_schedule(c2024: CycleConfig) -> None:
    # Plan 一(二)2: "德育、语文、数学、英语、科学、艺术、劳动、体育与健康、心理健康 9 门学科";
    # 一(四)2: "2024 年 5 月 22 日至 24 日上午"
    assert len(c2024.participation("application").subjects) == 9
    rows = _entries(c2024, "primary", "application")
    assert [(r[0].day, r[1], r[2], r[4]) for r in rows] == [
        (22, T(8, 30), T(9, 50), "学生数学测试"),
        (22, T(10, 20), T(11, 40), "学生心理健康测试"),
        (23, T(9, 0), None, "学生体育现场测试"),
        (23, T(14, 0), T(14, 45), "学生语文测试"),
        (23, T(15, 0), T(15, 45), "学生英语测试"),
        (23, T(16, 0), T(16, 45), "学生艺术测试"),
        (24, T(9, 0), T(9, 45), "学生科学测试"),
        (24, T(10, 0), T(10, 45), "学生德育测试"),
        (24, T(11, 0), T(11, 45), "学生劳动测试"),
    ]
    # "学生心理健康、德育、语文、英语、科学、艺术、劳动测试卷 | 在线作答"
    assert {r[5] for r in rows[3:]} == {"online"}
    # 申报县 monitors students only: no questionnaires in its schedule
    assert all("问卷" not in r[4] for r in rows)


# --------------------------------------------------------------------------------------------------- malformed

BASE = """\
year: 2024
name: 测试周期
subjects:
  - {code: math, name: 数学, content_grades: [4, 8]}
instruments:
  - {code: math, name: 学生数学测试, kind: test, respondent: student, subject: math, grades: [4, 8], delivery: online}
  - {code: tq, name: 班主任问卷, kind: questionnaire, respondent: teacher, teacher_role: head_teacher, delivery: online}
participation:
  sample: {name: 样本县, subjects: [math]}
schedule:
  sample:
    primary:
      - date: 2024-05-22
        sessions:
          - {start: "08:30", end: "09:50", instruments: [math]}
          - {start: "09:00", until_done: true, instruments: [tq]}
"""
S0 = "schedule.sample.primary[0].sessions[0]"


def test_base_snippet_is_valid() -> None:
    config = parse_text(BASE, file="base.yaml")
    assert config.year == 2024 and [i.code for i in config.instruments] == ["math", "tq"]


MALFORMED = [
    # (what, old text, new text, line, field, reason)
    ("unknown key", "name: 测试周期\n", "name: 测试周期\ncolour: red\n", 3, "colour",
     "未知的配置项“colour”，允许的配置项：year、name、subjects、instruments、participation、schedule、round、"
     "sources、local_time。"),
    ("missing required key", "name: 测试周期\n", "", 1, "name", "缺少必填配置项“name”。"),
    ("wrong type", "year: 2024", "year: 二〇二四", 1, "year", "应为整数。"),
    ("time not HH:MM", 'start: "08:30"', 'start: "8:30"', 15, f"{S0}.start",
     "时间“8:30”格式不对，应为 HH:MM（24小时制，如 08:30）。"),
    ("end before start", 'end: "09:50"', 'end: "08:00"', 15, f"{S0}.end", "结束时间 08:00 应晚于开始时间 08:30。"),
    ("overlap, same respondents", "[tq]}\n", '[tq]}\n          - {start: "09:30", end: "10:00", instruments: [math]}\n',
     17, "schedule.sample.primary[0].sessions[2].start", "与第 15 行的场次时间重叠（同一批填答对象：student）。"),
    ("instrument not defined", "instruments: [math]}", "instruments: [maths]}", 15, f"{S0}.instruments[0]",
     "工具“maths”未在 instruments 中定义。"),
    ("grade not 4/8", "content_grades: [4, 8]", "content_grades: [4, 6]", 4, "subjects[0].content_grades[1]",
     "监测年级应为 4 或 8，不能是 6。"),
    ("duplicate instrument code", "participation:\n",
     "  - {code: tq, name: 校长问卷, kind: questionnaire, respondent: principal, delivery: online}\n"
     "participation:\n",
     8, "instruments[2].code", "工具代码“tq”重复。"),
    ("date outside the year", "date: 2024-05-22", "date: 2023-05-22", 13, "schedule.sample.primary[0].date",
     "日期 2023-05-22 不在监测年度 2024 年内。"),
    ("bad delivery mode", "[4, 8], delivery: online}", "[4, 8], delivery: email}", 6, "instruments[0].delivery",
     "“email”不是允许的取值，应为：paper、online、online_objective_paper_constructed、county_choice、field_test。"),
    ("instrument used at the wrong level", "grades: [4, 8], delivery", "grades: [8], delivery", 15,
     f"{S0}.instruments[0]", "工具“math”不用于学段“primary”。"),
    ("end and until_done together", 'until_done: true,', 'until_done: true, end: "10:00",', 16,
     "schedule.sample.primary[0].sessions[1].end", "已设置 until_done（至全部完成），不能同时设置结束时间。"),
    ("participation without a schedule", "  sample: {name: 样本县, subjects: [math]}\n",
     "  sample: {name: 样本县, subjects: [math]}\n  application: {name: 申报县, subjects: [math]}\n", 10,
     "participation.application",
     "参测类型“application”没有日程：请在 schedule.application 中设置，或用 schedule_from 引用。"),
]


@pytest.mark.parametrize(("what", "old", "new", "line", "field", "reason"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_config_gets_a_precise_problem(what: str, old: str, new: str, line: int, field: str,
                                                 reason: str) -> None:
    assert old in BASE, what
    with pytest.raises(InvalidInput) as exc:
        parse_text(BASE.replace(old, new, 1), file="bad.yaml")
    assert exc.value.problems == [Problem(reason=reason, file="bad.yaml", row=line, field=field)]


def test_every_problem_is_reported_in_one_pass() -> None:
    text = BASE.replace('start: "08:30"', 'start: "8:30"').replace("year: 2024", "year: 2024\nextra: 1")
    with pytest.raises(InvalidInput) as exc:
        parse_text(text, file="two.yaml")
    assert [(p.row, p.field) for p in exc.value.problems] == [(2, "extra"), (16, f"{S0}.start")]


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_text(BASE.replace("[math]}\n", "[math]\n", 1), file="syntax.yaml")
    (problem,) = exc.value.problems
    assert problem.file == "syntax.yaml" and problem.field is None
    assert problem.reason.startswith("YAML 语法错误") and problem.row == 10


def test_unquoted_times_are_read_as_written() -> None:
    # YAML 1.1 would load 10:20 as the sexagesimal integer 620; the validator reads the text as written.
    config = parse_text(BASE.replace('"08:30"', "08:30").replace('"09:50"', "09:50"), file="t.yaml")
    (day,) = config.schedules["sample"]["primary"]
    assert (day.sessions[0].start, day.sessions[0].end) == (T(8, 30), T(9, 50))


def test_empty_file() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_text("# nothing\n", file="empty.yaml")
    assert [p.reason for p in exc.value.problems] == ["配置文件为空。"]
