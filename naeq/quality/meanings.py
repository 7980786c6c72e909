"""Plain-language labels and meanings of the screening indicators (for the pages and the case files).

Every indicator name the forensics engine can emit (``naeq.engines.forensics.screen``; documented in
``docs/forensics.md``) has a short Chinese label, one or two sentences a county director understands, and what a
"high" (suspicious) value means. ``tests/quality/test_meanings.py`` runs the engine with every optional input and
fails when it emits a name that is not here.

Public API: :func:`label`, :func:`meaning`, :func:`direction`, :func:`known`, :data:`NAMES`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class _Meaning:
    label: Promise
    meaning: Promise
    direction: Promise


_MEANINGS: dict[str, _Meaning] = {
    "pairs_omega": _Meaning(
        _("答案高度雷同的考生对"),
        _("同一学校里有两名考生的选项（包括错选项）相同得远超凭各自能力所能解释的程度，可能存在抄袭或传递答案。"
          "区县的值取其最可疑的学校。"),
        _("数值越小（p 越小）越可疑：最雷同的一对考生偶然如此相似的可能性极低。")),
    "pairs_excess": _Meaning(
        _("较雷同的考生对偏多"),
        _("单看每一对都不算极端，但比较雷同的考生对数量明显多于正常情况，常见于相邻座位之间小范围互相抄看。"),
        _("实际对数高于期望对数越多越可疑。")),
    "person_misfit": _Meaning(
        _("作答模式异常的考生偏多"),
        _("有些考生难题答对、容易题反而答错，与其整体水平不相符；这样的考生明显偏多，可能提前知道部分题目或答案被改动。"
          "区县的值取其最可疑的学校。"),
        _("异常考生人数高于期望越多越可疑。")),
    "mean_above_prediction": _Meaning(
        _("成绩远高于背景预测"),
        _("根据学校（区县）的家庭背景、城乡和上一轮成绩，预测其平均成绩应在某一水平；实际平均成绩远高于预测，需要核实成绩是否真实。"),
        _("实际平均成绩比预测值高得越多越可疑。")),
    "between_variance_small": _Meaning(
        _("校际差异异常小"),
        _("区县内各学校的平均成绩通常有明显高低之分；若各校成绩异常整齐、差别很小，可能存在统一组织的作弊或统一改分。"),
        _("校际差异比正常情况小得越多越可疑（此项看“偏低”）。")),
    "near_perfect": _Meaning(
        _("接近满分的考生偏多"),
        _("答对 95% 以上题目的考生人数明显多于按本单位学生水平推算的人数，可能有人提前得到答案。"),
        _("接近满分人数高于期望越多越可疑。")),
    "item_uniform": _Meaning(
        _("所有题目普遍答对率偏高"),
        _("本单位几乎每道题的答对率都比全国高出一截，且高出的幅度异常，可能存在考场纪律松弛或集体提示。"),
        _("整体偏高的幅度越大越可疑。")),
    "item_partial": _Meaning(
        _("个别题目答对率异常"),
        _("本单位在少数几道题上答对率特别高，其余题目正常，这是题目泄露或考前押中原题的典型表现。"),
        _("各题表现的参差程度越大越可疑。")),
    "absent": _Meaning(
        _("缺考率偏高"),
        _("抽中的学生中缺考的比例明显高于全国同类水平，可能有意让成绩较差的学生不参加测试。"),
        _("缺考率高于全国水平越多越可疑。")),
    "exempt": _Meaning(
        _("免测率偏高"),
        _("以特殊原因申请免测的学生比例明显偏高，需要核实免测理由是否属实。"),
        _("免测率高于全国水平越多越可疑。")),
    "replaced": _Meaning(
        _("替换学生比例偏高"),
        _("抽中的学生被替换为其他学生的比例明显偏高，可能存在挑选学生参测的情况。"),
        _("替换比例高于全国水平越多越可疑。")),
    "roster_changed": _Meaning(
        _("测试前名单变动偏多"),
        _("测试前几天内学生名单被增删的人数明显偏多（偶尔转学属正常），可能在测试前调换了参测学生。"),
        _("名单变动比例高于正常水平越多越可疑。")),
    "time_short": _Meaning(
        _("作答用时过短"),
        _("在线测试中，本单位学生的作答时间普遍明显短于全国，可能事先知道答案或未认真作答。"),
        _("用时比正常短得越多越可疑（此项看“偏低”）。")),
    "time_uniform": _Meaning(
        _("作答用时过于整齐"),
        _("正常情况下学生快慢不一；本单位学生的用时异常整齐一致，可能有人统一操作或集体按指令作答。"),
        _("用时差异比正常小得越多越可疑（此项看“偏低”）。")),
    "pe_heaping": _Meaning(
        _("体质测试成绩“凑整”偏多"),
        _("体质健康测试记录中，末位为 0 或 5 的成绩比例明显偏高，说明可能是估填而非实测。"),
        _("凑整比例高于正常水平越多越可疑。")),
    "pe_repeated": _Meaning(
        _("体质测试成绩重复偏多"),
        _("同一个成绩数值在本单位反复出现，远多于全国的正常频率，可能是照抄或批量填写。"),
        _("重复次数高于期望越多越可疑。")),
    "straightlining": _Meaning(
        _("问卷“一条线”作答偏多"),
        _("问卷中同一组题全部选同一个选项的人数明显偏多，说明可能未认真填写或被统一代填。"),
        _("此类人数高于正常水平越多越可疑。")),
    "changed_after_close": _Meaning(
        _("考试结束后修改答案"),
        _("在线测试的系统记录显示，考试关闭后仍有答案被写入或改动；偶尔一次网络补传属正常，成批出现则需调查。"),
        _("考后修改的答案数量高于正常水平越多越可疑。")),
    "worst_school": _Meaning(
        _("区县内有高度可疑的学校"),
        _("区县的整体数据可能看不出问题，但其中某所学校的综合指标已经非常可疑；区县的值取其最可疑的学校。"),
        _("最可疑学校的 p 越小越可疑。")),
}

NAMES: tuple[str, ...] = tuple(_MEANINGS)
"""Every indicator name with a label (the engine's names; see ``docs/forensics.md``)."""


def known() -> frozenset[str]:
    """The indicator names with a label and meaning."""
    return frozenset(_MEANINGS)


def label(name: str) -> str:
    """Short Chinese label (translated in the active language); an unknown name is shown as itself."""
    m = _MEANINGS.get(name)
    return str(m.label) if m else name


def meaning(name: str) -> str:
    """One or two plain sentences of what the indicator looks at and why it matters; "" for an unknown name."""
    m = _MEANINGS.get(name)
    return str(m.meaning) if m else ""


def direction(name: str) -> str:
    """What a suspicious ("high") value of the indicator is; "" for an unknown name."""
    m = _MEANINGS.get(name)
    return str(m.direction) if m else ""
