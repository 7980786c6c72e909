"""Plain-language labels and meanings of the screening indicators (for the quality pages).

``label(name)`` a short Chinese label, ``meaning(name)`` one or two sentences a county director understands,
``direction(name)`` what a high value means. Unknown names fall back to the name itself, so a page never breaks
when the engine adds an indicator (the indicator list still has to be reviewed against the engine).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

_TEXT = {
    "mean_above_prediction": (_("成绩高于预期"), _("平均成绩明显高于按家庭背景、城乡和上一轮成绩所预测的水平。"),
                              _("越高越可疑：成绩超出预测越多。")),
    "between_variance_small": (_("校间差异过小"), _("区县内各校平均成绩过于接近，比正常情况下学校之间的差异小得多。"),
                               _("越可疑表示各校成绩越整齐划一。")),
    "near_perfect": (_("满分人数过多"), _("接近满分的学生人数远多于按该单位学生能力推算的人数。"),
                     _("越高越可疑：接近满分的人越多。")),
    "item_uniform": (_("题目普遍偏易"), _("该单位几乎所有题目的答对率都比全国同题高出很多。"),
                     _("越高越可疑：整体答对率抬升越多。")),
    "item_partial": (_("个别题目异常"), _("少数题目的答对率异常高而其他题目正常，可能是这些题目提前泄露。"),
                     _("越高越可疑：个别题目偏离越大。")),
    "absent": (_("缺考率偏高"), _("缺考学生比例明显高于全国平均水平，可能有意让成绩差的学生不参加测试。"),
               _("越高越可疑。")),
    "exempt": (_("免考率偏高"), _("免考学生比例明显高于全国平均水平。"), _("越高越可疑。")),
    "replaced": (_("替换率偏高"), _("抽中学生被替换的比例明显高于全国平均水平。"), _("越高越可疑。")),
    "roster_changed": (_("名单变动偏多"), _("抽样后学生名单被修改（转入、转出）的比例明显偏高。"), _("越高越可疑。")),
    "changed_after_close": (_("考后修改作答"), _("有学生的答案在考试场次结束之后被写入或修改，正常系统中不应出现。"),
                            _("越高越可疑：考后改动的人越多。")),
    "time_short": (_("作答时间过短"), _("学生作答用时的中位数明显短于全国水平。"), _("越短越可疑。")),
    "time_uniform": (_("作答时间过于一致"), _("学生之间的作答用时几乎一样，像是统一指挥作答。"), _("越一致越可疑。")),
    "heaping": (_("数值取整过多"), _("填报的数值过多落在整数（个位是0或5），可能是估填而非实测。"), _("越高越可疑。")),
    "repeated": (_("数值重复过多"), _("同一个数值被反复填写，次数远超全国同值的频率。"), _("越高越可疑。")),
    "straightlining": (_("问卷同一选项"), _("问卷中整块题目都选同一个选项的学生过多，可能是敷衍或代填。"),
                       _("越高越可疑。")),
    "pairs_excess": (_("雷同答卷偏多"),
                     _("答案高度相同的学生对数明显多于按学生能力预计的数目，可能存在抄袭或统一答案。"),
                     _("越高越可疑：雷同的学生对越多。")),
    "person_misfit": (_("个人作答异常"), _("作答模式与其能力不符的学生（难题答对、易题答错）比例偏高。"),
                      _("越高越可疑。")),
    "worst_school": (_("最可疑学校"),
                     _("区县内最可疑的一所学校的异常程度（已按学校数校正），少数学校作弊不会被区县平均掩盖。"),
                     _("越可疑表示该区县至少有一所学校明显异常。")),
}


def label(name: str) -> str:
    """Short Chinese label of an indicator (the name itself when unknown)."""
    row = _TEXT.get(name)
    return str(row[0]) if row else name


def meaning(name: str) -> str:
    """One or two plain sentences of what the indicator measures."""
    row = _TEXT.get(name)
    return str(row[1]) if row else ""


def direction(name: str) -> str:
    """What a high (more significant) value of the indicator means."""
    row = _TEXT.get(name)
    return str(row[2]) if row else ""


def known() -> frozenset[str]:
    """The indicator names with a label and meaning."""
    return frozenset(_TEXT)
