"""The demo item bank: small, invented, harmless content for every online instrument of a cycle.

Each instrument is written as a workbook by the same writer as the upload template and imported through
:func:`naeq.delivery.items.instrument_import` (so the demo exercises the real import path, rules included), then
published. One PNG (a bar chart) is drawn at build time with zlib; nothing is downloaded. Idempotent: an
instrument code that already has a published version is left alone.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np
from django.utils.translation import gettext as _

from naeq.core.errors import InvalidInput
from naeq.delivery.items.excel import workbook_write
from naeq.delivery.items.services import instrument_import, online_instruments
from naeq.delivery.items.spec import BookletSpec, InstrumentSpec, ItemSpec, StimulusSpec
from naeq.delivery.models import Instrument, InstrumentStatus, ItemType

CHART = "bar-chart.png"


def bar_chart_png(width: int = 160, height: int = 100, bars: tuple[int, ...] = (30, 55, 80, 45)) -> bytes:
    """A small PNG bar chart (RGB, no compression tricks): white background, grey axis, blue bars."""
    pixels = [[(255, 255, 255)] * width for _ in range(height)]
    for y in range(height):
        pixels[y][8] = (90, 90, 90)
    for x in range(8, width):
        pixels[height - 8][x] = (90, 90, 90)
    gap = (width - 16) // len(bars)
    for i, h in enumerate(bars):
        x0 = 14 + i * gap
        for x in range(x0, x0 + gap - 8):
            for y in range(height - 9, height - 9 - h, -1):
                pixels[y][x] = (46, 110, 200)
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in pixels)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def _opts(*labels: str, letters: bool = True) -> list[dict[str, str]]:
    return [{"value": "ABCDEFGH"[i] if letters else str(i + 1), "label": label} for i, label in enumerate(labels)]


FREQ = ("从不", "有时", "经常", "总是")
AGREE = ("很不同意", "不太同意", "比较同意", "非常同意")


def _math() -> InstrumentSpec:
    d: dict[str, Any] = {"dimension": "数学学业表现", "indicator_1": "知识技能"}
    items = [
        ItemSpec("M01", ItemType.SINGLE, "小明有12支铅笔，送给同学5支，还剩几支？", block="M1",
                 options=_opts("5支", "7支", "17支", "6支"), key="B", max_score=1, indicator_2="数的运算", **d),
        ItemSpec("M02", ItemType.MULTIPLE, "下面哪些数是偶数？（选出所有正确答案）", block="M1",
                 options=_opts("14", "21", "36", "45"), key=["A", "C"], max_score=2,
                 constraints={"min_choices": 1, "max_choices": 4}, indicator_2="数的认识", **d),
        ItemSpec("M03", ItemType.NUMERIC, "一个长方形长8厘米、宽5厘米，它的面积是多少平方厘米？", block="M1",
                 key=40, max_score=1, constraints={"min": 0, "max": 1000, "decimals": 0}, indicator_2="图形的测量",
                 **d),
        ItemSpec("M04", ItemType.TRUE_FALSE, "所有的正方形都是长方形。", block="M1",
                 options=_opts("对", "错"), key="A", max_score=1, indicator_2="图形的认识", **d),
        ItemSpec("M05", ItemType.SINGLE, "根据图表，哪一组同学最多？", block="M2", stimulus="S1",
                 options=_opts("第一组", "第二组", "第三组", "第四组"), key="C", max_score=1,
                 indicator_2="数据分析", **d),
        ItemSpec("M06", ItemType.NUMERIC, "第二组比第一组多多少人？", block="M2", stimulus="S1",
                 key=5, max_score=1, constraints={"min": 0, "max": 100, "decimals": 0}, indicator_2="数据分析",
                 **d),
        ItemSpec("M07", ItemType.OPEN, "请在答题卡上写出你是怎样比较四个小组人数的。", block="M2",
                 stimulus="S1", max_score=3, dimension="数学学业表现", indicator_1="问题解决",
                 indicator_2="数据分析"),
        ItemSpec("M08", ItemType.RANKING, "把下面的数从小到大排列。", block="M3",
                 rows=["0.5", "1/4", "0.75"], key=["2", "1", "3"], max_score=1, indicator_2="数的认识", **d),
        ItemSpec("M09", ItemType.SINGLE, "一个数的3倍是27，这个数是多少？", block="M3",
                 options=_opts("6", "9", "24", "81"), key="B", max_score=1, indicator_2="数的运算", **d),
        ItemSpec("M10", ItemType.NUMERIC, "一瓶水1.5升，喝掉0.3升，还剩多少升？", block="M3", key=1.2,
                 max_score=1, constraints={"min": 0, "max": 10, "decimals": 1}, indicator_2="数的运算", **d),
    ]
    screens = {"M01": 1, "M02": 2, "M03": 3, "M04": 4, "M05": 1, "M06": 1, "M07": 1, "M08": 1, "M09": 2, "M10": 3}
    for it in items:
        it.screen = screens[it.code]
    return InstrumentSpec(
        code="math", time_limit_minutes=80, items=items,
        stimuli=[StimulusSpec("S1", "四个兴趣小组的人数", "下图是某校四年级四个兴趣小组的人数统计图（虚构数据）。",
                              media=[{"kind": "image", "file": CHART, "alt": "四个小组人数的条形图"}])],
        booklets=[BookletSpec(1, ["M1", "M2"]), BookletSpec(2, ["M2", "M3"]), BookletSpec(3, ["M3", "M1"])])


def _mental_health() -> InstrumentSpec:
    d: dict[str, Any] = {"dimension": "心理健康", "indicator_1": "情绪与行为"}
    items = [
        ItemSpec("H01", ItemType.MATRIX, "最近两周，下面的情况在你身上出现的频率是？", screen=1,
                 rows=["我感到心情愉快", "我能专心学习", "我和同学相处融洽", "我睡得很好"],
                 options=_opts(*FREQ, letters=False), required=True, indicator_2="情绪状态", **d),
        ItemSpec("H02", ItemType.LIKERT, "遇到困难时，我会向别人求助。", screen=2,
                 options=_opts(*AGREE, letters=False), indicator_2="求助行为", **d),
        ItemSpec("H03", ItemType.LIKERT, "我相信努力就能把事情做好。", screen=2,
                 options=_opts(*AGREE, letters=False), indicator_2="自我效能", **d),
        ItemSpec("H04", ItemType.MATRIX, "你在多大程度上同意下面的说法？", screen=3,
                 rows=["我喜欢我自己", "我有好朋友", "我对未来有信心"],
                 options=_opts(*AGREE, letters=False), indicator_2="自我认识", **d),
        ItemSpec("H05", ItemType.SLIDER, "用0到10分表示你今天的心情。", screen=4,
                 constraints={"min": 0, "max": 10, "decimals": 0}, indicator_2="情绪状态", **d),
    ]
    return InstrumentSpec(code="mental_health", time_limit_minutes=40, items=items)


#: The background items of the demo's student questionnaires (code → questionnaire number, type, stem, options,
#: second-level indicator), the variables of the national reports (DOMAIN.md "Reporting"): homework time, sleep,
#: out-of-school tutoring, interest, PE lessons per week, and the migrant and disadvantaged groups.
BACKGROUND_ITEMS: dict[str, tuple[int, str, str, tuple[str, ...], str]] = {
    "S1Q08": (1, ItemType.SINGLE, "上学日，你每天完成作业大约需要多长时间？",
              ("30分钟以内", "30分钟–1小时", "1–2小时", "2小时以上"), "作业时间"),
    "S1Q09": (1, ItemType.SINGLE, "本学期，你参加校外学科类培训（辅导班或家教）吗？",
              ("没有参加", "参加了1门", "参加了2门及以上"), "校外培训"),
    "S1Q10": (1, ItemType.LIKERT, "我对学习很感兴趣。", AGREE, "学习兴趣"),
    "S2Q08": (2, ItemType.SINGLE, "你的户口（户籍）在哪里？", ("本县（区）", "本省其他县（区）", "外省", "不知道"),
              "户籍与随迁"),
    "S2Q09": (2, ItemType.SINGLE, "你家是否被认定为家庭经济困难家庭（例如享受低保，或领取学校的困难学生资助）？",
              ("是", "不是", "不知道"), "家庭经济状况"),
    "S2Q10": (2, ItemType.SINGLE, "上学日，你每天晚上一般睡多长时间（从上床睡觉到起床）？",
              ("10小时及以上", "9–10小时", "8–9小时", "不到8小时"), "睡眠时间"),
    "S3Q08": (3, ItemType.SINGLE, "这学期，你们班平均每周上几节体育课？", ("2节及以下", "3节", "4节", "5节及以上"),
              "体育课时"),
}

#: How the estimation runs read them (``naeq.analysis`` options ``factors`` and ``groups``, docs/analysis.md):
#: the factor names the reports print (``naeq.reports.content.var_names``) and the groups they compare.
DEMO_FACTORS: dict[str, Any] = {
    "homework_time": "S1Q08",
    "tutoring": {"item": "S1Q09", "codes": {"0": [1], "1": [2, 3]}, "labels": {"0": "未参加", "1": "参加"}},
    "interest": {"item": "S1Q10", "codes": {"3": [4], "2": [3], "1": [1, 2]},
                 "labels": {"3": "浓厚", "2": "一般", "1": "缺乏"}},
    # 睡眠: ≥ 10 h in grade 4, ≥ 9 h in grade 8 (《关于进一步加强中小学生睡眠管理工作的通知》, 教基厅函〔2021〕11号)
    "sleep": {"item": "S2Q10", "codes": {"1": [1], "0": [2, 3, 4]}, "grade_codes": {"8": {"1": [1, 2], "0": [3, 4]}},
              "labels": {"1": "达到规定时间", "0": "未达到规定时间"}},
    "pe_lessons": "S3Q08",
}
#: 随迁子女: household registration outside the county of study (本省其他县 or 外省; "不知道" is no group);
#: 家庭经济困难学生: the family recognised as in economic difficulty ("不知道" is no group).
DEMO_GROUPS: dict[str, Any] = {
    "migrant": {"item": "S2Q08", "codes": {"1": [2, 3], "0": [1]}},
    "disadvantaged": {"item": "S2Q09", "codes": {"1": [1], "0": [2]}},
}


def _student_questionnaire(n: int) -> InstrumentSpec:
    p = f"S{n}"
    d: dict[str, Any] = {"dimension": "学生背景", "indicator_1": ("学习环境", "家庭环境", "校园生活")[n - 1]}
    items = [
        ItemSpec(f"{p}Q01", ItemType.SINGLE, "你是否住在学校宿舍？", screen=1, options=_opts("是", "否", letters=False),
                 skip={"in": ["2"], "to_screen": 3}, required=True, indicator_2="住宿情况", **d),
        ItemSpec(f"{p}Q02", ItemType.NUMERIC, "你每周在学校住几个晚上？", screen=2,
                 constraints={"min": 0, "max": 7, "decimals": 0}, show_if={"item": f"{p}Q01", "in": ["1"]},
                 indicator_2="住宿情况", **d),
        ItemSpec(f"{p}Q03", ItemType.MULTIPLE, "放学后你通常做哪些事？（可多选，最多3项）", screen=3,
                 options=_opts("写作业", "运动", "阅读", "看电视", "做家务", letters=False),
                 constraints={"min_choices": 1, "max_choices": 3}, indicator_2="课余生活", **d),
        ItemSpec(f"{p}Q04", ItemType.MATRIX, "你在多大程度上同意下面的说法？", screen=4,
                 rows=["我喜欢上学", "老师关心我", "我在学校感到安全"], options=_opts(*AGREE, letters=False),
                 indicator_2="学校归属感", **d),
        ItemSpec(f"{p}Q05", ItemType.SINGLE_TEXT, "你平时主要怎样上学？", screen=5,
                 options=_opts("步行", "自行车", "校车", "家长接送", "其他（请写明）", letters=False),
                 constraints={"text_option": "5", "max_length": 20}, indicator_2="上学方式", **d),
        ItemSpec(f"{p}Q06", ItemType.RANKING, "请按你喜欢的程度给下面的活动排序。", screen=6,
                 rows=["读书", "体育运动", "画画", "唱歌"], indicator_2="兴趣爱好", **d),
        ItemSpec(f"{p}Q07", ItemType.TEXT, "你最想对学校说的一句话是什么？", screen=7,
                 constraints={"max_length": 100}, indicator_2="学校归属感", **d),
    ]
    for k, (code, (_q, kind, stem, labels, ind2)) in enumerate(
            (c, v) for c, v in BACKGROUND_ITEMS.items() if v[0] == n):
        items.append(ItemSpec(code, kind, stem, screen=8 + k, options=_opts(*labels, letters=False),
                              indicator_2=ind2, **d))
    return InstrumentSpec(code=f"questionnaire_{n}", items=items, shuffle_pages=False)


def _ordinal(rng: np.random.Generator, z: np.ndarray, cuts: tuple[float, ...]) -> np.ndarray:
    """Option numbers 1…K from a latent ``z`` plus logistic noise cut at ``cuts`` (increasing)."""
    return np.searchsorted(np.asarray(cuts), z + rng.logistic(0.0, 1.0, len(z))) + 1


def background_answers(theta: np.ndarray, grade: np.ndarray, *, seed: Any) -> dict[str, np.ndarray]:
    """Simulated answers (option numbers as text; "99" omitted, about 2 %) to :data:`BACKGROUND_ITEMS` for students
    of ability ``theta`` (SD about 1) and tested ``grade``, with invented but plausible relations to ability: more
    interest, enough sleep and less homework time go with higher scores, tutoring weakly, migrant and disadvantaged
    students a little lower; grade-8 students sleep less and do more homework. Demo only."""
    rng = np.random.default_rng(seed)
    t = np.asarray(theta, dtype=np.float64)
    g8 = np.asarray(grade) == 8
    n = len(t)
    out = {
        "S1Q08": _ordinal(rng, -0.45 * t + 0.8 * g8, (-0.6, 1.2, 2.8)),
        "S1Q09": _ordinal(rng, 0.25 * t - 0.2 * g8, (0.4, 1.8)),
        "S1Q10": _ordinal(rng, 0.9 * t, (-2.4, -0.9, 0.9)),
        "S2Q08": np.where(rng.random(n) < 0.03, 4,
                          np.where(rng.random(n) < 1 / (1 + np.exp(1.7 + 0.3 * t)),
                                   np.where(rng.random(n) < 0.6, 2, 3), 1)),
        "S2Q09": np.where(rng.random(n) < 0.05, 3,
                          np.where(rng.random(n) < 1 / (1 + np.exp(2.0 + 0.5 * t)), 1, 2)),
        "S2Q10": _ordinal(rng, -0.35 * t + 1.3 * g8, (-0.3, 1.4, 3.0)),
        "S3Q08": _ordinal(rng, -0.1 * t, (-1.2, 1.5, 3.0)),
    }
    answers = {}
    for code, v in out.items():
        text = v.astype(np.int64).astype(str)
        answers[code] = np.where(rng.random(n) < 0.02, "99", text)
    return answers


BACKGROUND_TITLE = "学生相关因素问卷演示（模拟作答）"


def demo_background_responses(cycle: Any, takers: list[tuple[int, int, int, int, str]], theta: np.ndarray, *,
                              seed: int) -> int:
    """Submitted attempts of the demo's student questionnaires with :func:`background_answers`, for the given test
    takers ``(test taker, school, county, grade, school path)`` of ability ``theta``, in one closed formal session per
    school and grade (once: an existing session of this title means they exist). Returns the attempts written."""
    import datetime as dt

    from django.utils import timezone

    from naeq.delivery.models import (
        Attempt,
        AttemptStatus,
        ItemScore,
        Respondent,
        SessionKind,
        SessionStatus,
        TestSession,
    )

    if not takers or TestSession.objects.filter(cycle=cycle, title=BACKGROUND_TITLE).exists():
        return 0
    codes = sorted({f"questionnaire_{q}" for q, *_rest in BACKGROUND_ITEMS.values()})
    insts = {}
    for code in codes:
        inst = (Instrument.objects.filter(cycle=cycle, code=code, status=InstrumentStatus.PUBLISHED)
                .order_by("-version").first())
        if inst is not None:
            insts[code] = inst
    if not insts:
        return 0
    grade = np.array([t[3] for t in takers], dtype=np.int64)
    answers = background_answers(theta, grade, seed=[seed, 0xBA5E])
    start = timezone.now() - dt.timedelta(days=1)
    sessions = {}
    for k, key in enumerate(sorted({(t[1], t[3]) for t in takers})):
        county_id, path = next((t[2], t[4]) for t in takers if (t[1], t[3]) == key)
        sessions[key] = TestSession.objects.create(
            cycle=cycle, county_id=county_id, school_id=key[0], path=path,
            level="primary" if key[1] == 4 else "middle", grade=key[1], respondent=Respondent.STUDENT,
            kind=SessionKind.FORMAL, title=BACKGROUND_TITLE, instruments=sorted(insts),
            starts_at=start, ends_at=start + dt.timedelta(minutes=30),
            code=f"BQ{cycle.year % 100:02d}{k:05d}{seed % 1000:03d}"[:12], key="DEMO00",
            status=SessionStatus.CLOSED, opened_at=start, closed_at=start)
    written = 0
    for code, inst in sorted(insts.items()):
        items = [c for c, v in BACKGROUND_ITEMS.items() if f"questionnaire_{v[0]}" == code]
        attempts = Attempt.objects.bulk_create([Attempt(
            session=sessions[(t[1], t[3])], test_taker_id=t[0], instrument=inst, booklet=1,
            status=AttemptStatus.SUBMITTED, started_at=start, submitted_at=start) for t in takers], batch_size=2000)
        if attempts[0].pk is None:  # backends without RETURNING ids
            by_taker = dict(Attempt.objects.filter(instrument=inst, test_taker_id__in=[t[0] for t in takers])
                            .values_list("test_taker_id", "pk"))
            ids = [by_taker[t[0]] for t in takers]
        else:
            ids = [a.pk for a in attempts]
        ItemScore.objects.bulk_create([ItemScore(attempt_id=a, item=item, code=str(answers[item][i]))
                                       for item in items for i, a in enumerate(ids)], batch_size=5000)
        written += len(ids)
    return written


def _adult_questionnaire(code: str, who: str) -> InstrumentSpec:
    d: dict[str, Any] = {"dimension": f"{who}背景", "indicator_1": "基本情况"}
    items = [
        ItemSpec("A01", ItemType.NUMERIC, f"您从事{who}相关工作多少年？", screen=1,
                 constraints={"min": 0, "max": 50, "decimals": 0}, required=True, indicator_2="工作年限", **d),
        ItemSpec("A02", ItemType.SINGLE, "您的最高学历是？", screen=1,
                 options=_opts("高中及以下", "专科", "本科", "研究生", letters=False), indicator_2="学历", **d),
        ItemSpec("A03", ItemType.SINGLE, "过去一年，您是否参加过区县及以上的培训？", screen=2,
                 options=_opts("是", "否", letters=False), indicator_2="专业发展", **d),
        ItemSpec("A04", ItemType.NUMERIC, "过去一年，您参加培训的总天数约为？", screen=3,
                 constraints={"min": 0, "max": 365, "decimals": 0}, show_if={"item": "A03", "in": ["1"]},
                 indicator_2="专业发展", **d),
        ItemSpec("A05", ItemType.MATRIX, "您在多大程度上同意下面的说法？", screen=4,
                 rows=["工作条件能满足需要", "我得到了足够的支持", "我对工作感到满意"],
                 options=_opts(*AGREE, letters=False), indicator_2="工作满意度", **d),
        ItemSpec("A06", ItemType.TEXT, "您对改进本地教育工作有什么建议？", screen=5, constraints={"max_length": 300},
                 indicator_2="意见建议", **d),
    ]
    return InstrumentSpec(code=code, items=items)


def _subject_test(code: str, subject: str) -> InstrumentSpec:
    d: dict[str, Any] = {"dimension": f"{subject}学业表现", "indicator_1": "基础知识"}
    items = [
        ItemSpec("T01", ItemType.SINGLE, f"（{subject}示例题）下面哪一项是示例答案甲？", screen=1,
                 options=_opts("示例答案甲", "示例答案乙", "示例答案丙"), key="A", max_score=1, **d),
        ItemSpec("T02", ItemType.TRUE_FALSE, f"（{subject}示例题）这句话是正确的。", screen=2,
                 options=_opts("对", "错"), key="A", max_score=1, **d),
        ItemSpec("T03", ItemType.MULTIPLE, f"（{subject}示例题）选出两个示例正确项。", screen=3,
                 options=_opts("正确项一", "错误项", "正确项二", "干扰项"), key=["A", "C"], max_score=2,
                 constraints={"min_choices": 1, "max_choices": 4}, **d),
        ItemSpec("T04", ItemType.TEXT, f"（{subject}示例题）请写出“示例”两个字。", screen=4, key=["示例"],
                 max_score=1, constraints={"max_length": 10}, **d),
        ItemSpec("T05", ItemType.SINGLE, f"（{subject}示例题）数一数：一、二、三，共有几个数？", screen=5,
                 options=_opts("两个", "三个", "四个"), key="B", max_score=1, **d),
    ]
    return InstrumentSpec(code=code, items=items, time_limit_minutes=45)


def demo_spec(code: str, name: str, subject_name: str = "") -> InstrumentSpec | None:
    """The invented content of one instrument code (None for a code the demo does not know)."""
    adults = {"principal_questionnaire": "校长", "head_teacher_questionnaire": "班主任",
              "math_teacher_questionnaire": "数学教师", "pe_teacher_questionnaire": "体育教师",
              "mental_health_teacher_questionnaire": "心理健康教师", "county_manager_questionnaire": "教育管理"}
    if code == "math":
        spec = _math()
    elif code == "mental_health":
        spec = _mental_health()
    elif code.startswith("questionnaire_") and code[-1] in "123":
        spec = _student_questionnaire(int(code[-1]))
    elif code in adults:
        spec = _adult_questionnaire(code, adults[code])
    elif code.startswith("app_"):
        spec = _subject_test(code, subject_name or name)
    else:
        return None
    spec.name = name
    return spec


def demo_bank_load(*, actor: Any, year: int) -> dict[str, Any]:
    """Import and publish the demo content of every online instrument of cycle ``year`` that has no published
    version yet. Returns ``{"created": [codes], "skipped": [codes], "unknown": [codes]}``."""
    from naeq.cycles.models import Cycle

    cycle = Cycle.objects.filter(year=year).first()
    if cycle is None:
        raise InvalidInput(_("没有%(year)s年的监测周期。") % {"year": year}, code="no_cycle")
    subjects = {s.code: s.name for s in cycle.config.subjects}
    chart = bar_chart_png()
    created, skipped, unknown = [], [], []
    for conf in online_instruments(cycle):
        if Instrument.objects.filter(cycle=cycle, code=conf.code, status=InstrumentStatus.PUBLISHED).exists():
            skipped.append(conf.code)
            continue
        spec = demo_spec(conf.code, conf.name, subjects.get(conf.subject or "", ""))
        if spec is None:
            unknown.append(conf.code)
            continue
        spec.kind = conf.kind
        data = workbook_write(spec, notes=False)
        instrument_import(actor=actor, year=year, data=data, file_name=f"demo-{conf.code}.xlsx",
                          media={CHART: chart}, publish=True)
        created.append(conf.code)
    return {"created": created, "skipped": skipped, "unknown": unknown}
