"""Issue 5's check, walked through in a real browser (Chromium through Playwright): one county's whole preparation
as its liaison and as a school would do it — a rule-breaking staff list seen with its rule and fixed, the training
record, the county and school self-checks (with evidence), the instrument ledger with a late return, a grade-3
incident, the session record (测试情况记录表), the school's incident report form, the county's implementation
summary — then the city viewer's read-only view and the province coordinator's review and dashboard drill-down.
Ends with the database and the audit trail. Run with ``pytest -m browser``; needs /usr/bin/chromium.

Seeds quoted where they rule:
* 2024-nanchang-city-plan.txt, 主监测员: "由县级实施工作领导小组从非本校教师中遴选" — the same-school chief proctor;
* 2024-nanchang-city-plan.txt: "测试工具当天发放、当天收回" — issue and return on the test day (late return);
* 2023-dongli-district-rules.txt 六: impersonation (替考) is a grade-3 (严重) incident, reported at once upward;
* collected-county-and-school-plans.txt: "样本校按照要求上传测试情况记录表".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from naeq.core.models import AuditEvent
from naeq.custody.models import CustodyEvent, SessionRecord
from naeq.incidents.models import IncidentCase, IncidentReport
from naeq.readiness.models import SelfCheck, TrainingEvent
from naeq.staffing.models import StaffAssignment
from naeq.timeline.models import Report
from tests.custody.conftest import at
from tests.delivery.factories import make_session, make_taker
from tests.personas import PASSWORD, World
from tests.staffing.conftest import build_staffing_sample
from tests.web.browser import BROWSER_MARKS

pytestmark = BROWSER_MARKS

DAY = dt.date(2024, 5, 22)  # the first test day of the shipped 2024 cycle
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cfc0f01f0005fe02fea35c8e640000000049454e44ae426082")


def _page(browser: Any, base: str, username: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")
    return page


def _click(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def _messages(page: Any) -> str:
    return page.inner_text(".messages") if page.locator(".messages").count() else ""


def _fill_check(page: Any, tmp_path: Any) -> None:
    """Answer every item of the open self-check form: yes, a generous number, a text; a photo on every evidence
    item; save the draft."""
    for radio in page.locator("#check-form input[type=radio][value=yes]").all():
        radio.check()
    for number in page.locator("#check-form input[type=number]").all():
        number.fill("500")
    for area in page.locator("#check-form textarea").all():
        area.fill("0791-12345678")
    _click(page, "#check-form button.btn-primary")
    photo = tmp_path / "cabinet.png"
    photo.write_bytes(PNG)
    forms = [f.get_attribute("form") for f in page.locator("input[type=file][name=file]").all()]
    assert forms  # every checklist has a photo to upload
    for form_id in forms:
        page.locator(f"input[type=file][form='{form_id}']").set_input_files(str(photo))
        _click(page, f"button[form='{form_id}']")
        assert "cabinet.png" in page.inner_text("#check-form"), _messages(page)


def test_a_county_prepares_and_the_city_and_province_see_it(browser: Any, live_server: Any, world: World,
                                                            cycle: Any, tmp_path: Any, settings: Any) -> None:
    settings.DATA_DIR = tmp_path
    build_staffing_sample(world, cycle)
    base = live_server.url
    county, school, other = world.regions["A1a"], world.schools["A1a-1"], world.schools["A1a-2"]
    session = make_session(cycle, school, instruments=["math"], grade=8, status="closed", starts_at=at(DAY, 8, 30))
    takers = [make_taker(cycle, school, f"{school.code}8{i:02d}", grade=8).code for i in range(1, 5)]

    # ---------------------------------------------------------------- the county liaison
    liaison = _page(browser, base, world.users["county_liaison@A"].username)
    # Staff: a teacher of the school itself sent as its chief proctor breaks the rule; the panel names the rule
    # and its seed; revoking him and sending a teacher of another school fixes it.
    liaison.goto(f"{base}/staffing/schools/{school.code}/")
    for name, home in (("本校甲", school.code), ("外校乙", other.code)):
        form = liaison.locator("form[action$='/people/']")
        form.locator("input[name=name]").fill(name)
        form.locator("input[name=phone]").fill("13900000001" if name == "本校甲" else "13900000002")
        form.locator("input[name=home_school]").fill(home)
        _click(liaison, "form[action$='/people/'] button")
        assert f"已添加人员{name}。" in liaison.content()
    form = liaison.locator("form[action$='/assign/']")
    form.locator("select[name=post]").select_option("chief_proctor")
    form.locator("select[name=person]").select_option(label=f"本校甲（{school.name}）")
    _click(liaison, "form[action$='/assign/'] button")
    liaison.goto(f"{base}/staffing/counties/{county.code}/")
    panel = liaison.inner_text("#violations")
    assert "本校甲是本校人员，不能担任本校的“主监测员”。" in panel
    assert "非本校" in panel  # the rule's seed: "由县级实施工作领导小组从非本校教师中遴选"
    liaison.goto(f"{base}/staffing/schools/{school.code}/")
    _click(liaison, "span.person:has-text('本校甲') button")
    form = liaison.locator("form[action$='/assign/']")
    form.locator("select[name=post]").select_option("chief_proctor")
    form.locator("select[name=person]").select_option(label=f"外校乙（{other.name}）")
    _click(liaison, "form[action$='/assign/'] button")
    liaison.goto(f"{base}/staffing/counties/{county.code}/")
    assert "不能担任本校的“主监测员”" not in liaison.inner_text("#violations")

    # Training record (county level).
    liaison.goto(f"{base}/readiness/trainings/new/")
    liaison.fill("input[name=title]", "甲县测试程序与工作规范培训")
    for box in liaison.locator("input[name=topics]").all():
        box.check()
    liaison.fill("input[name=date]", "2024-05-10")
    liaison.fill("input[name=place]", "县教育局会议室")
    liaison.fill("input[name=trainer]", "县教育督导室")
    _click(liaison, "form.form button.btn-primary")
    assert "甲县测试程序与工作规范培训" in liaison.inner_text("main")

    # County self-check: every item answered, the secure room photographed, submitted.
    liaison.goto(f"{base}/readiness/check/county/{county.code}/")
    _fill_check(liaison, tmp_path)
    assert liaison.inner_text("#check-status") == "草稿"
    _click(liaison, "#submit-check")
    assert liaison.inner_text("#check-status") == "已提交", _messages(liaison)

    # Instruments: received, issued to the school on the test day, returned the next morning (late).
    liaison.goto(f"{base}/custody/counties/{county.code}/")
    ev = "form[action$='/events/']"

    def record(**fields: str) -> None:
        liaison.select_option(f"{ev} select[name=kind]", fields.pop("kind"))
        for name, value in fields.items():
            if name in ("school", "issue", "seals_intact"):
                liaison.select_option(f"{ev} select[name={name}]", value)
            else:
                liaison.fill(f"{ev} input[name={name}]", value)
        _click(liaison, f"{ev} button")
        assert "交接记录已登记" in _messages(liaison), _messages(liaison)

    two = {"signatory_1": "县保密员甲", "signatory_2": "县保密员乙"}
    record(kind="received", at="2024-05-19 10:00", boxes="2", expected_boxes="2", seals_intact="yes",
           seal_numbers="F01-F02", **two)
    record(kind="stored", at="2024-05-19 11:00", boxes="2", location="县教育局保密室1号铁皮柜", **two)
    record(kind="issued", at="2024-05-22 07:10", boxes="2", school=school.code, test_day="2024-05-22",
           signatory_1="县保密员甲", signatory_2="校保密员丙")
    issue = CustodyEvent.objects.get(kind="issued")
    record(kind="returned", at="2024-05-23 08:30", boxes="2", issue=str(issue.pk), seals_intact="yes",
           signatory_1="县保密员甲", signatory_2="校保密员丙", note="当晚车辆故障，次日早晨送回")
    alert = "2024-05-22发放的监测工具于2024-05-23 08:30才送回，超过当天送回时限。"
    assert alert in liaison.inner_text("main")

    # A grade-3 incident at the school: impersonation, graded 3 by the rules and at the province at once.
    liaison.goto(f"{base}/incidents/new/")
    liaison.select_option("select[name=county]", county.code)
    liaison.select_option("select[name=school]", school.code)
    liaison.select_option("select[name=category]", "impersonation")
    liaison.fill("input[name=occurred_at]", "2024-05-22 08:35")
    liaison.fill("textarea[name=description]", "检录时发现一名考生与名单照片不符，疑似替考，已停止其测试")
    _click(liaison, "form button.btn-primary")
    assert "应急事件已登记。" in _messages(liaison)
    case = IncidentCase.objects.get()
    assert liaison.inner_text("h1 .badge-g3") == case.grade_name  # 严重（3级）-style badge of the rules
    assert "省级" in liaison.inner_text("dl.facts")  # escalated at once
    assert "按规定立即上报" in liaison.inner_text("ol.log")

    # ---------------------------------------------------------------- the school
    head = _page(browser, base, world.users["school_head@A"].username)
    head.goto(f"{base}/implementation/")
    head.click("text=本校实施人员")
    assert head.url == f"{base}/staffing/schools/{school.code}/"
    assert "外校乙" in head.inner_text("main")
    form = head.locator("form[action$='/people/']")
    form.locator("input[name=name]").fill("校保密员丙")
    form.locator("input[name=phone]").fill("13900000003")
    _click(head, "form[action$='/people/'] button")
    form = head.locator("form[action$='/assign/']")
    form.locator("select[name=post]").select_option("custodian")
    form.locator("select[name=person]").select_option(label=f"校保密员丙（{school.name}）")
    _click(head, "form[action$='/assign/'] button")
    assert StaffAssignment.objects.filter(school=school, post="custodian", person__name="校保密员丙").exists()

    head.goto(f"{base}/readiness/check/school/{school.code}/")
    _fill_check(head, tmp_path)
    _click(head, "#submit-check")
    assert head.inner_text("#check-status") == "已提交", _messages(head)

    # The session record: four expected, three present, one absent, one PE-exempt.
    head.goto(f"{base}/custody/sessions/{session.pk}/record/")
    head.fill("input[name=room]", "第1测试室")
    head.fill("input[name=actual_start]", "2024-05-22 08:35")
    head.fill("input[name=actual_end]", "2024-05-22 09:50")
    head.fill("input[name=expected]", "4")
    head.fill("input[name=present]", "3")
    head.fill("textarea[name=absentees]", f"{takers[2]} 病假")
    head.fill("textarea[name=pe_exempt]", f"{takers[0]} 腿部骨折")
    _click(head, "form.form button.btn-primary")
    assert "第1测试室" in head.inner_text("main") and "病假" in head.inner_text("main"), _messages(head)

    # The incident report form of the test day lists the day's case.
    head.goto(f"{base}/incidents/reports/{school.code}/{DAY.isoformat()}/")
    assert f"#{case.pk}" in head.inner_text("main")
    head.fill("textarea[name=handling]", "已停止疑似替考学生测试，材料封存，配合县级调查")
    head.fill("input[name=signed_by]", "校长甲")
    _click(head, "form.form button.btn-primary")
    assert IncidentReport.objects.filter(school=school, test_date=DAY, no_incident=False).exists(), _messages(head)

    # ---------------------------------------------------------------- the liaison reviews and sums up
    liaison.goto(f"{base}/readiness/check/school/{school.code}/")
    _click(liaison, "button[name=decision][value=approve]")
    assert liaison.inner_text("#check-status") == "已通过"
    liaison.goto(f"{base}/timeline/reports/{county.code}/")
    for area in liaison.locator("form.form textarea").all():
        area.fill("测试组织规范有序；一所学校测试工具次日送回，一起替考事件已上报。")
    _click(liaison, "button[name=submit]")
    assert "报告已提交，等待上级审核。" in _messages(liaison)
    assert liaison.inner_text(".page-head .badge") == "待审核"

    # ---------------------------------------------------------------- the city viewer: sees, cannot write
    city = _page(browser, base, world.users["city_viewer@A"].username)
    city.goto(f"{base}/implementation/")
    row = city.locator("tr", has=city.locator(f"a:has-text('{county.name}')")).first
    assert "1 / 0 / 0" in row.inner_text()  # grade 3 / 2 / 1
    assert alert in city.inner_text("main")
    city.goto(f"{base}/custody/counties/{county.code}/")
    assert city.locator("form[action$='/events/']").count() == 0 and alert in city.inner_text("main")
    city.goto(f"{base}/incidents/{case.pk}/")
    assert "疑似替考" in city.inner_text("main") and city.locator("main form").count() == 0
    city.goto(f"{base}/readiness/check/county/{county.code}/")
    assert city.locator("button[name=decision]").count() == 0 and city.locator("#submit-check").count() == 0

    # ---------------------------------------------------------------- the province coordinator
    province = _page(browser, base, world.users["province_coordinator@A"].username)
    province.goto(f"{base}/readiness/review/")
    province.click(f"a[href$='/readiness/check/county/{county.code}/']")
    province.fill("input[name=reason]", "保密室照片看不清双锁，请重新拍摄上传")
    _click(province, "button[name=decision][value=return]")
    assert province.inner_text("#check-status") == "已退回"
    liaison.goto(f"{base}/readiness/check/county/{county.code}/")
    assert "退回理由：保密室照片看不清双锁，请重新拍摄上传" in liaison.inner_text(".page-head")
    _click(liaison, "#submit-check")
    assert liaison.inner_text("#check-status") == "已提交"
    province.goto(f"{base}/readiness/check/county/{county.code}/")
    _click(province, "button[name=decision][value=approve]")
    assert province.inner_text("#check-status") == "已通过"
    province.goto(f"{base}/timeline/reports/{county.code}/")
    _click(province, "button[name=decision][value=approve]")
    assert province.inner_text(".page-head .badge") == "已通过", _messages(province)
    province.goto(f"{base}/implementation/")
    assert "三级应急事件" in province.inner_text("main")
    province.click(f"th a:has-text('{county.name}')")
    assert province.url == f"{base}/timeline/units/{county.code}/"

    # ---------------------------------------------------------------- what the database and the audit say
    assert TrainingEvent.objects.filter(region=county).count() == 1
    checks = {c.kind: c.status for c in SelfCheck.objects.all()}
    assert checks == {"county": "approved", "school": "approved"}
    record_row = SessionRecord.objects.get(session=session)
    assert (record_row.expected, record_row.present) == (4, 3)
    assert record_row.absentees == [{"code": takers[2], "reason": "病假"}]
    assert case.grade == 3 and case.level == "province"
    assert Report.objects.get(region=county).state == "approved"
    assert list(CustodyEvent.objects.order_by("id").values_list("kind", flat=True)) == [
        "received", "stored", "issued", "returned"]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    for expected in ("staffing.person_create", "staffing.assignment_create", "staffing.assignment_delete",
                     "readiness.training_create", "readiness.check_submit", "readiness.check_approve",
                     "readiness.check_return", "readiness.evidence_add",
                     "custody.event_received", "custody.event_returned", "custody.record_save",
                     "incidents.case_open", "incidents.report_file", "timeline.report_submit",
                     "timeline.report_approve"):
        assert expected in actions, (expected, sorted(actions))
