"""Demo data for rectification: the problem letters of the cycle's estimates and a few plans under way.

Runs after the estimation runs exist (the lead wires it into ``naeq demo``). For every province with problems a
letter is drafted and issued by a national administrator; in the first province that has a coordinator account,
the coordinator plans against the first problem (submitted, approved by the nation, one progress update), and a
county liaison of that province plans against a problem of its county or the province's first (submitted,
awaiting the province's review). Everything goes through the services, so it is checked and audited like the
pages. A second run leaves issued letters and existing plans alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from naeq.accounts.roles import Role
from naeq.analysis.models import Estimate
from naeq.core.errors import InvalidInput
from naeq.cycles.models import Cycle
from naeq.rectification import services
from naeq.rectification.letters import latest_runs
from naeq.rectification.models import ProblemLetter, RectificationPlan
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
    runs = latest_runs(cycle.pk)
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
    for letter in ProblemLetter.objects.filter(cycle=cycle, status="issued").order_by("path"):
        coord = _user(Role.PROVINCE_COORDINATOR, letter.path)
        if coord is None or RectificationPlan.objects.filter(problem__letter=letter).exists():
            continue
        first = letter.problems.filter(region=letter.province).order_by("seq").first()
        if first is not None:
            base = services.baseline_for(first, letter.province)
            plan = services.plan_create(
                actor=coord, problem_id=first.pk, unit=letter.province, department="省教育厅基础教育处",
                target_value=_target(base.value if base else None, first.better, first.target_statistic),
                deadline=deadline, measures=["开展全省学科教研专题活动", "落实国家课程方案，开足开齐课程",
                                             "将整改情况纳入年度考核"])
            services.plan_submit(actor=coord, plan_id=plan.pk)
            services.plan_review(actor=admin, plan_id=plan.pk, decision="approve", comment="同意该方案，请按期推进。")
            services.plan_update_add(actor=coord, plan_id=plan.pk, text="已召开全省整改推进会，部署各地任务。",
                                     percent=20)
            out["plans"] += 1
        liaison = _user(Role.COUNTY_LIAISON, letter.path)
        if liaison is not None:
            county = Region.objects.filter(path=liaison.scope_path).first()
            problem = (letter.problems.filter(region=county).order_by("seq").first()
                       or letter.problems.filter(region=letter.province).order_by("seq").first())
            if county is not None and problem is not None:
                base = services.baseline_for(problem, county)
                if base is not None:
                    plan = services.plan_create(
                        actor=liaison, problem_id=problem.pk, unit=county, department="县教育局教研室",
                        target_value=_target(base.value, problem.better, problem.target_statistic),
                        deadline=deadline, measures=["校际教师交流轮岗", "薄弱学校结对帮扶"])
                    services.plan_submit(actor=liaison, plan_id=plan.pk)
                    out["plans"] += 1
        break  # one province's plans are enough for the demo
    return out
