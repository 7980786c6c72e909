"""One county's plans followed from the problem to the next cycle's value (issue 8, "a rectification plan followed
from problem to next-cycle value"), in the demo's shape: one province that is the whole nation, so the letter's
problems are its counties'.

Seed (篇四): "要求制订整改方案、限期整改 … 教育督导部门及时跟进"; (篇六) 整改目标 / 整改措施 / 整改时限."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from naeq.core.models import AuditEvent
from naeq.rectification import selectors, services
from naeq.rectification.models import PlanState, RectificationPlan
from tests.personas import World
from tests.rectification import factories as f

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_county_plan_from_problem_to_next_cycle(client: Client, world: World, settings: Any, tmp_path: Any) -> None:
    from naeq.cycles.services import load_shipped_cycles

    settings.DATA_DIR = tmp_path
    cycles = {c.year: c for c in load_shipped_cycles()}
    a, a1a, a1b = world.regions["A"], world.regions["A1a"], world.regions["A1b"]
    admin = world.users["national_admin@A"]
    coord, liaison = world.users["province_coordinator@A"], world.users["county_liaison@A"]  # liaison of A1a

    # cycle A (2023): county A1a 30 points below the nation and its province, a quarter of its pupils at 待提高
    run_a = f.run(cycles[2023], "math")
    f.one_province_world(run_a, a)
    f.county(run_a, a1a, 470.0, vs_nation=(-30.0, 0.00001, -1), vs_province=(-30.0, 0.00001, -1),
             low=(0.25, 0.03))
    f.county(run_a, a1b, 501.0, vs_nation=(1.0, 0.8, 0), vs_province=(1.0, 0.8, 0), low=(0.09, 0.02))
    letter = services.letter_draft(actor=admin, cycle=cycles[2023], province=a)
    letter = services.letter_issue(actor=admin, letter_id=letter.pk)
    assert list(letter.problems.values_list("rule", "path")) == [("county_below_nation", a1a.path),
                                                                   ("county_low_share", a1a.path)]
    mean_problem = letter.problems.get(rule="county_below_nation")
    share_problem = letter.problems.get(rule="county_low_share")

    # the county claims its problems: one plan each, from the letter page
    client.force_login(liaison)
    body = client.get(f"/rectification/letters/{letter.pk}/").content.decode()
    assert f"/rectification/problems/{mean_problem.pk}/plan/" in body
    deadline = timezone.localdate() + dt.timedelta(days=300)
    r = client.post(f"/rectification/problems/{mean_problem.pk}/plan/", {
        "unit": str(a1a.pk), "department": "县教育局教研室", "target_value": "480", "deadline": deadline.isoformat(),
        "measures": "薄弱学校数学教师专项培训\n城乡学校结对帮扶"})
    assert r.status_code == 302, r.content.decode()[:2000]
    plan_url = r["Location"]
    share_plan = services.plan_create(  # the second through the service, as the demo does
        actor=liaison, problem_id=share_problem.pk, unit=a1a,
                                      department="县教育局教研室", target_value=0.20, deadline=deadline,
                                      measures=["待提高学生个别辅导"])
    plan = RectificationPlan.objects.get(problem=mean_problem)
    assert (plan.unit_id, plan.baseline, plan.target_value, plan.better) == (a1a.pk, 470.0, 480.0, 1)
    assert (share_plan.baseline, share_plan.better, share_plan.target_key) == (0.25, -1, "I")

    # submitted, approved by the supervising level (the province), under way with evidence
    for p in (plan, share_plan):
        client.post(f"/rectification/plans/{p.pk}/submit/")
    client.force_login(coord)
    assert 'id="review-form"' in client.get(plan_url).content.decode()
    for p in (plan, share_plan):
        client.post(f"/rectification/plans/{p.pk}/review/", {"decision": "approve", "comment": "同意"})
    client.force_login(liaison)
    for p in (plan, share_plan):
        client.post(f"/rectification/plans/{p.pk}/update/", {
            "text": "完成薄弱学校教师培训", "percent": "50",
            "files": SimpleUploadedFile("培训签到表.pdf", PDF, content_type="application/pdf")})
        p.refresh_from_db()
        assert p.state == PlanState.IN_PROGRESS
    body = client.get(plan_url).content.decode()
    assert "完成薄弱学校教师培训" in body and "培训签到表.pdf" in body and "尚未测量" in body
    assert selectors.next_cycle_value(plan) is None

    # cycle B (2024): a done run of the same subject measures the county again — not yet the target
    run_b = f.run(cycles[2024], "math")
    f.one_province_world(run_b, a)
    f.county(run_b, a1a, 476.0, low=(0.22, 0.03))
    v = selectors.next_cycle_value(plan)
    assert v is not None and (v.year, v.run_id, v.value, v.met) == (2024, run_b.pk, 476.0, False)
    assert v.change == 6.0
    body = client.get(plan_url).content.decode()
    assert "2024：476.000" in body and "未达到目标" in body
    home = client.get("/rectification/").content.decode()
    assert 'id="n-not-met">2<' in home and 'id="n-met">0<' in home

    # a later run of cycle B: the mean reaches 480 and the share at 待提高 falls to 18% (lower is better)
    newer = f.run(cycles[2024], "math")
    f.one_province_world(newer, a)
    f.county(newer, a1a, 483.5, low=(0.18, 0.03))
    v = selectors.next_cycle_value(plan)
    assert v is not None and v.run_id == newer.pk and v.met is True and v.change == 13.5
    w = selectors.next_cycle_value(share_plan)
    assert w is not None and w.value == 0.18 and w.met is True
    body = client.get(plan_url).content.decode()
    assert "2024：483.500" in body and "达到目标" in body and "未达到目标" not in body
    home = client.get("/rectification/").content.decode()
    assert 'id="n-met">2<' in home
    actions = set(AuditEvent.objects.filter(action__startswith="rectification.").values_list("action", flat=True))
    assert {"rectification.plan_create", "rectification.plan_submit", "rectification.plan_review",
            "rectification.plan_update"} <= actions
