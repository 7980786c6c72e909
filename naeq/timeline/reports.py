"""The sections of the completion report and the implementation summaries (deliverable 8).

* School — 测试完成情况报告: collected-county-and-school-plans.txt (仙游): "样本校按照要求上传测试情况记录表、测试完成
  情况"; after the test every school files its incident report (2023-dongli-district-rules.txt).
* County and province — 实施工作总结: 2024-nanchang-city-plan.txt (10): "完成《县级实施工作总结》，并提出改进实施工作
  的意见和建议"; the sections follow the district summary in 2021-yangpu-district-summary.txt
  ("一、基本概况", "二、主要做法与成效", "三、存在问题与改进思考").
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from naeq.timeline.models import ReportKind

MAX_SECTION_CHARS = 5000
StrOrPromise = str | Promise


@dataclass(frozen=True)
class Section:
    code: str
    title: StrOrPromise
    hint: StrOrPromise
    required: bool = True


_SUMMARY = (
    Section("overview", _("一、基本概况"), _("参测学校、学生、教师、校长人数，测试时间与方式。")),
    Section("practice", _("二、主要做法与成效"), _("组织机构、培训、测前准备、现场测试、工具保管与回邮、应急处置。")),
    Section("problems", _("三、存在问题与改进思考"), _("实施中发现的问题，改进实施工作的意见和建议。")),
)

SECTIONS: dict[str, tuple[Section, ...]] = {
    ReportKind.SCHOOL_COMPLETION: (
        Section("conduct", _("测试组织实施情况"), _("各场次实际开考、结束时间，应测与实测人数，缺席与免测情况。")),
        Section("incidents", _("应急事件及处置情况"), _("没有应急事件的，请填写“无”。")),
        Section("problems", _("存在问题与建议"), _("可选。"), required=False),
    ),
    ReportKind.COUNTY_SUMMARY: _SUMMARY,
    ReportKind.PROVINCE_SUMMARY: _SUMMARY,
}
