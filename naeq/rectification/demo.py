"""Demo data for rectification: the problem letters of the cycle's estimates and two plans under way.

Runs after the estimation runs exist (``naeq demo``'s results step, naeq/ops.py). For every province with problems a
letter is drafted and issued by a national administrator. In the first issued letter two problems get plans, each
written by the responsible unit's own account: the province coordinator for a province problem, the county's
liaison for a county problem (the demo world has one province, the whole nation, so its problems are its counties'
— ``county_below_nation``, ``county_low_share``, ``diff_rate``). The first plan is submitted, approved by the
supervising level (the nation for a province plan, the province coordinator for a county plan) and under way with
one progress update and its evidence (a PDF of the meeting minutes); the second is submitted and awaits review.
The demo county's problems come first, so the demo's county liaison login sees a plan of its own. Everything goes
through the services, so it is checked and audited like the pages. A second run leaves issued letters and existing
plans alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.html import escape

from naeq.accounts.roles import Role
from naeq.analysis.models import Estimate
from naeq.analysis.selectors import latest_done_runs
from naeq.core.errors import InvalidInput
from naeq.cycles.models import Cycle
from naeq.rectification import services
from naeq.rectification.models import Problem, ProblemLetter, RectificationPlan
from naeq.registry.models import Region


def _user(role: str, path_prefix: str = "") -> Any:
    qs = get_user_model().objects.filter(role=role, is_active=True).order_by("id")
    if path_prefix:
        qs = qs.filter(scope_path__startswith=path_prefix)
    return qs.first()


def _target(baseline: float | None, better: int, statistic: str) -> float:
    if baseline is None:
        return 0.0
    step = 5.0 if statistic == "mean" else 0.03
    return round(baseline + better * step, 4)


def demo_rectification(cycle: Cycle | None = None) -> dict[str, int]:
    """Letters for the cycle's provinces with problems, and two plans (one approved and under way, one awaiting
    review). Returns counts of what was added."""
    cycle = cycle or Cycle.objects.filter(is_current=True).first()
    admin = _user(Role.NATIONAL_ADMIN)
    out = {"letters": 0, "plans": 0}
    if cycle is None or admin is None:
        return out
    runs = latest_done_runs(cycle)
    paths = set(Estimate.objects.filter(run__in=runs, level="province").values_list("path", flat=True))
    for province in Region.objects.filter(level="province", path__in=paths).order_by("code"):
        existing = ProblemLetter.objects.filter(cycle=cycle, province=province).first()
        if existing is not None and existing.issued:
            continue
        try:
            letter = services.letter_draft(actor=admin, cycle=cycle, province=province)
        except InvalidInput:
            continue  # no problems: no letter
        services.letter_issue(actor=admin, letter_id=letter.pk)
        out["letters"] += 1
    deadline = timezone.localdate() + dt.timedelta(days=180)
    first = ProblemLetter.objects.filter(cycle=cycle, status="issued").order_by("path").first()
    if first is not None and not RectificationPlan.objects.filter(problem__letter=first).exists():
        out["plans"] += _plans(first, admin, deadline)  # one province's plans are enough for the demo
    return out


MEASURES = {"province": ["开展全省学科教研专题活动", "落实国家课程方案，开足开齐课程", "将整改情况纳入年度考核"],
            "county": ["组织薄弱学校学科教师专项培训", "校际教师交流轮岗，城乡学校结对帮扶",
                       "县教研室每学期开展教学视导"]}
DEPARTMENT = {"province": "省教育厅基础教育处", "county": "县教育局教研室"}


def _writer(problem: Problem) -> Any:
    if problem.region.level == "province":
        return _user(Role.PROVINCE_COORDINATOR, problem.path)
    return (get_user_model().objects.filter(role=Role.COUNTY_LIAISON, is_active=True, scope_path=problem.path)
            .order_by("id").first())


def _reviewer(problem: Problem, admin: Any) -> Any:
    return admin if problem.region.level == "province" else _user(Role.PROVINCE_COORDINATOR, problem.letter.path)


def _candidates(letter: ProblemLetter) -> list[Problem]:
    """The letter's problems that can get a plan, the province's first, then the demo county's (the county of the
    first county liaison account), then by number; at most one per unit."""
    first_liaison = _user(Role.COUNTY_LIAISON, letter.path)
    home = first_liaison.scope_path if first_liaison is not None else None
    problems = list(letter.problems.select_related("region", "letter", "estimate").order_by("seq"))
    problems.sort(key=lambda p: (p.region.level != "province", p.path != home, p.seq))
    out: list[Problem] = []
    for p in problems:
        if p.path in {o.path for o in out} or _writer(p) is None:
            continue
        if services.baseline_for(p, p.region) is None:
            continue
        out.append(p)
    return out


def _minutes_pdf(unit: Region, problem: Problem) -> bytes:
    """A one-page PDF of a (fictitious) meeting's minutes: the evidence of the demo's progress update."""
    from weasyprint import HTML  # late: loading pango costs time

    from naeq.rectification.pdf import font_css

    html = (f"<html><head><meta charset='utf-8'><style>{font_css()} body {{ font-size: 12pt; }}</style></head>"
            f"<body><h1>{escape(unit.name)}整改推进会会议纪要（演示）</h1>"
            f"<p>针对问题：{escape(problem.text)}</p><p>会议部署了整改措施、责任分工和时间安排。</p></body></html>")
    pdf = HTML(string=html).write_pdf()
    assert pdf is not None
    return bytes(pdf)


def _plans(letter: ProblemLetter, admin: Any, deadline: dt.date) -> int:
    made = 0
    for n, problem in enumerate(_candidates(letter)[:2]):
        writer, unit = _writer(problem), problem.region
        reviewer = _reviewer(problem, admin)
        base = services.baseline_for(problem, unit)
        assert base is not None
        plan = services.plan_create(
            actor=writer, problem_id=problem.pk, unit=unit, department=DEPARTMENT[unit.level],
            target_value=_target(base.value, problem.better, problem.target_statistic), deadline=deadline,
            measures=MEASURES[unit.level])
        services.plan_submit(actor=writer, plan_id=plan.pk)
        made += 1
        if n == 0 and reviewer is not None:
            services.plan_review(actor=reviewer, plan_id=plan.pk, decision="approve",
                                 comment="同意该方案，请按期推进。")
            services.plan_update_add(actor=writer, plan_id=plan.pk, text="已召开整改推进会，部署各项整改任务。",
                                     percent=20, files=[("整改推进会纪要.pdf", _minutes_pdf(unit, problem))])
    return made
