"""The readiness pages walked as a school and its county would: the form rendered from the configuration with
Chinese field errors, submission, the county's review, the attendance import with per-row errors, and the demo.

Seeds: 2024-nanchang-city-plan.txt (7)："参照《样本校测试准备工作自查清单》对本校各项测试准备工作进行自查";
(8)："双人双锁"; (6)："开展测试程序与工作规范培训".
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from naeq.readiness.models import CheckStatus, SelfCheck, TrainingEvent
from tests.personas import World
from tests.readiness.conftest import PNG, full_answers, workbook


def _post_answers(cycle: Any, **over: str) -> dict[str, str]:
    data = {f"v_{k}": v["value"] for k, v in full_answers(cycle).items()}
    data.update(over)
    return data


def test_school_fills_and_submits_county_returns_then_approves(client: Client, sample: World, cycle: Any) -> None:
    code = sample.schools["A1a-1"].code
    url = f"/readiness/check/school/{code}/"
    client.force_login(sample.users["school_info_officer@A"])
    page = client.get(url).content.decode()
    assert "样本校测试准备工作自查清单" in page and "保密柜双人双锁" in page and "2024-nanchang-city-plan.txt" in page
    # A bad number is reported next to its item, in Chinese, and nothing is saved.
    response = client.post(url, _post_answers(cycle, v_online_computers="很多"))
    assert response.status_code == 400 and "应填写不小于0的整数。" in response.content.decode()
    assert not SelfCheck.objects.exists()
    # A required "no" without a remedy saves but cannot be submitted.
    assert client.post(url, _post_answers(cycle, v_two_locks="no")).status_code == 302
    client.post(f"{url}evidence/", {"item": "cabinet_photo", "file": SimpleUploadedFile("c.png", PNG)})
    page = client.post(f"{url}submit/", follow=True).content.decode()
    assert "选择“否”时须填写整改措施和整改完成日期。" in page
    assert SelfCheck.objects.get().status == CheckStatus.DRAFT
    client.post(url, _post_answers(cycle, v_two_locks="no", r_two_locks="加装第二把锁", d_two_locks="2024-05-20"))
    client.post(f"{url}submit/")
    assert SelfCheck.objects.get().status == CheckStatus.SUBMITTED
    # The county returns it with a reason, then approves the resubmission.
    client.force_login(sample.users["county_liaison@A"])
    queue = client.get("/readiness/review/?status=submitted").content.decode()
    assert sample.schools["A1a-1"].name in queue and sample.schools["A1a-2"].name not in queue
    page = client.get(url).content.decode()
    assert "加装第二把锁" in page and 'value="approve"' in page
    client.post(f"{url}review/", {"decision": "return", "reason": "保密柜未做到双人双锁"})
    assert SelfCheck.objects.get().status == CheckStatus.RETURNED
    client.force_login(sample.users["school_head@A"])
    assert "保密柜未做到双人双锁" in client.get(url).content.decode()
    client.post(url, _post_answers(cycle))
    client.post(f"{url}submit/")
    client.force_login(sample.users["county_info_officer@A"])
    client.post(f"{url}review/", {"decision": "approve"})
    assert SelfCheck.objects.get().status == CheckStatus.APPROVED
    client.force_login(sample.users["school_head@A"])
    page = client.get(url).content.decode()
    assert "已通过审核，自查表已锁定。" in page and 'name="v_two_locks"' not in page


def test_county_records_training_and_imports_attendance(client: Client, sample: World, cycle: Any) -> None:
    client.force_login(sample.users["county_liaison@A"])
    response = client.post("/readiness/trainings/new/", {"title": "", "date": "2024-05-08"})
    assert response.status_code == 400 and "请填写培训名称。" in response.content.decode()
    response = client.post("/readiness/trainings/new/", {
        "title": "测试程序与工作规范培训", "topics": ["procedure", "chief_proctor"], "date": "2024-05-08",
        "place": "县教育局", "trainer": "督导室"})
    event = TrainingEvent.objects.get()
    assert response.status_code == 302 and response.url == f"/readiness/trainings/{event.pk}/"
    code = sample.schools["A1a-1"].code
    bad = workbook([["甲一", "厨师", code, "是", ""]])
    page = client.post(f"/readiness/trainings/{event.pk}/import/",
                       {"file": SimpleUploadedFile("a.xlsx", bad)}, follow=True).content.decode()
    assert "row 2" in page and "岗位“厨师”不在岗位列表中" in page
    good = workbook([["甲一", "主监测员", code, "是", ""]])
    page = client.post(f"/readiness/trainings/{event.pk}/import/",
                       {"file": SimpleUploadedFile("a.xlsx", good)}, follow=True).content.decode()
    assert "已导入1条签到记录。" in page and "甲一" in page
    coverage = client.get("/readiness/coverage/").content.decode()
    assert sample.schools["A1a-1"].name in coverage
    template = client.get("/readiness/trainings/template.xlsx")
    assert template["Content-Type"].startswith("application/vnd.openxmlformats")


def test_demo_gives_a_realistic_mix(sample: World, cycle: Any) -> None:
    from naeq.readiness.demo import demo_readiness
    from naeq.readiness.selectors import readiness_summary

    demo_readiness(cycle, seed=7)
    statuses = list(SelfCheck.objects.filter(kind="school").values_list("status", flat=True))
    assert CheckStatus.RETURNED in statuses and CheckStatus.APPROVED in statuses
    returned = SelfCheck.objects.get(status=CheckStatus.RETURNED)
    assert returned.answers["two_locks"]["value"] == "no" and "双人双锁" in returned.return_reason
    assert SelfCheck.objects.filter(kind="school").count() < 8  # one school has not started (and more)
    rows = readiness_summary(actor=sample.users["national_analyst@A"], cycle=cycle)
    assert sum(r.trained_complete for r in rows) >= 1
    assert any(r.county_status == "not_started" for r in rows)
    demo_readiness(cycle, seed=7)  # idempotent
    assert SelfCheck.objects.filter(kind="school").count() == len(statuses)


def test_list_pages_do_not_query_per_school(client: Client, sample: World, cycle: Any,
                                            django_assert_max_num_queries: Any) -> None:
    """The overview, queue and coverage pages run a fixed number of queries whatever the number of schools."""
    from naeq.readiness.demo import demo_readiness

    demo_readiness(cycle, seed=3)
    client.force_login(sample.users["national_analyst@A"])
    for url in ("/readiness/", "/readiness/review/", "/readiness/coverage/", "/readiness/trainings/"):
        client.get(url)  # warm the session and the configuration cache
        with django_assert_max_num_queries(16):
            assert client.get(url).status_code == 200, url
