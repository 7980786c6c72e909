"""The public portal (门户): what anyone may read about the current cycle without an account.

A home page for the cycle (what is monitored, when, how the work proceeds), downloads (blank templates only:
nothing with data), help for test takers and schools, and each participating sample school's notice board
(公示栏) while the school posts it — "于测试前一天在校内醒目位置设置《…公示栏》，公示期为 5 天，公示内容包括测试时间、
测试学生名单（预留位置）、举报电话及测试生守则" (2024-nanchang-city-plan.txt 二(二)(6)). The page shows no names: the
list of test takers stays a reserved space, as on the paper board before check-in.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET

from naeq.core.errors import NotFound
from naeq.cycles.selectors import cycle_current, schedule_for
from naeq.registry.rosters import ROSTER_KINDS
from naeq.sampling.selectors import public_notice
from naeq.web.views_rosters import template_response
from naeq.web.views_sampling import NOTICE_RULES

#: The monitoring process as the seeds lay it out (2024-nanchang-city-plan.txt 二;
#: collected-county-and-school-plans.txt).
PROCESS = (
    (gettext_noop("学校信息上报与抽样"),
     gettext_noop("各县上报学校与学生名单，国家监测中心抽取样本县、样本校和样本学生。")),
    (gettext_noop("组织准备"),
     gettext_noop("组建县级工作组和学校工作组，开展培训、练习和自查，学校于测试前一天设置公示栏。")),
    (gettext_noop("现场测试"),
     gettext_noop("按统一日程开展学生测试、问卷和体育现场测试，主监测员和责任督学到校。")),
    (gettext_noop("工具回收与信息上报"),
     gettext_noop("测试工具当天返还县级保密室，学校上报测试学生信息，县级提交完成情况报告。")),
    (gettext_noop("总结与结果使用"),
     gettext_noop("县、省提交实施工作总结；监测结果形成报告，各地据此制定整改方案。")),
)

HELP = (
    (gettext_noop("学生怎样参加在线测试？"),
     gettext_noop("在测试教室的计算机上打开测试地址，输入测试信息条上的测试编号和监测员公布的场次码即可进入；"
                  "不需要个人密码。每道题作答后自动保存，页面显示“已保存”。")),
    (gettext_noop("网络中断了怎么办？"),
     gettext_noop("继续作答即可。答案先保存在本机，网络恢复后自动上传；换一台计算机登录也能从服务器上的答案继续。")),
    (gettext_noop("教师怎样选择问卷？"),
     gettext_noop("教师登录后选择自己担任的角色（班主任、学科教师），系统给出对应问卷；选错需由县级审核后重置。")),
    (gettext_noop("对测试组织有意见或发现违规行为向谁反映？"),
     gettext_noop("请拨打学校公示栏上公布的县级监督专线电话。")),
)


@require_GET
def portal_home(request: HttpRequest) -> HttpResponse:
    cycle = cycle_current()
    days: list[Any] = []
    subjects: list[tuple[str, str]] = []
    if cycle is not None:
        names = {s.code: s.name for s in cycle.config.subjects}
        for part in cycle.config.participations:
            subjects.append((part.name, "、".join(names.get(c, c) for c in part.subjects)))
        try:
            days = sorted({e.date for e in schedule_for(cycle, school_level="middle") if "student" in e.respondents})
        except ValueError:
            days = []
    return render(request, "web/portal/home.html", {"cycle": cycle, "days": days, "subjects": subjects,
                                                    "process": [(_(a), _(b)) for a, b in PROCESS]})


@require_GET
def portal_help(request: HttpRequest) -> HttpResponse:
    return render(request, "web/portal/help.html", {"faq": [(_(q), _(a)) for q, a in HELP]})


@require_GET
def portal_downloads(request: HttpRequest) -> HttpResponse:
    return render(request, "web/portal/downloads.html", {"roster_kinds": ROSTER_KINDS})


@require_GET
def portal_template(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    """A blank roster template (no data), for anyone preparing a school's lists."""
    return template_response(kind, fmt)


@require_GET
def portal_notice(request: HttpRequest, code: str) -> HttpResponse:
    try:
        notice = public_notice(code=code, today=timezone.localdate())
    except NotFound as exc:
        raise Http404(str(exc)) from None
    response = render(request, "web/portal/notice.html", {"notice": notice, "rules": [_(r) for r in NOTICE_RULES]})
    response["Cache-Control"] = "no-cache"
    return response
