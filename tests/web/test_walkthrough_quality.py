"""Issue 7's check, walked through in a real browser (Chromium through Playwright): a case walked from flag to
decision, and its effect on the estimates. Demo-like responses with injected anomalies (a proctor's copying in
three schools of one county, neighbour copying, item preknowledge, late answers) are screened and calibrated by the
platform (``tests/web/quality_world.py``); then

1. the national admin opens an investigation case (立案调查) on the top-ranked flagged school that copied and
   assigns it to the province coordinator of that province;
2. the province coordinator sees the case (and not the other province's), starts the investigation, adds a note
   and uploads a photo — and cannot decide (no decide form; a forged POST is refused and changes nothing);
3. the national admin collects the school's incident report and session record, decides *data excluded* with a
   reason and re-runs the calibration from the case page; the case page then shows the county, province and
   national means before, after and re-run.

Ends with the database: the case's decision, the DataMark rows, an AuditEvent for each step, the re-run without
the excluded test takers, and the page's numbers equal to :func:`naeq.quality.effects.case_effect`. Run with
``pytest -m browser``; needs /usr/bin/chromium. Screenshots of each step go to ``$NAEQ_SHOTS`` (else pytest's
tmp dir).

Seed quoted where it rules: 2023-national-briefing.txt — the national centre investigates flagged data and decides.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.template.defaultfilters import floatformat
from django.urls import reverse

from naeq.core.models import AuditEvent
from naeq.quality import cases
from naeq.quality.effects import case_effect
from naeq.quality.models import Case, CaseEvidence, CaseState, DataMark, EvidenceKind
from naeq.scaling.models import CalibrationPerson, CalibrationRun, RunStatus
from tests.personas import PASSWORD, World
from tests.web.browser import BROWSER_MARKS
from tests.web.quality_world import QualityWorld, build_quality_world

pytestmark = BROWSER_MARKS

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cfc0f01f0005fe02fea35c8e640000000049454e44ae426082")
REASON = "经调查核实：主监测员在测试期间向学生提示答案，8名学生与同一考生的作答高度一致，该校本学科数据剔除。"
NOTE = "约谈了该校主监测员和两名学生，主监测员承认在测试期间走动并提示了部分题目。"


def _page(browser: Any, base: str, username: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.wait_for_url(f"{base}/")
    return page


def _click(page: Any, selector: str, timeout: float = 20_000) -> None:
    with page.expect_navigation(timeout=timeout):
        page.click(selector)


def _messages(page: Any) -> str:
    return page.inner_text(".messages") if page.locator(".messages").count() else ""


class _Shots:
    """Full-page screenshots of each step: under ``$NAEQ_SHOTS`` when set (to look at them), else pytest's tmp."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = Path(os.environ["NAEQ_SHOTS"]) if os.environ.get("NAEQ_SHOTS") else tmp_path / "shots"
        self.dir.mkdir(parents=True, exist_ok=True)

    def __call__(self, page: Any, name: str) -> None:
        page.screenshot(path=str(self.dir / f"{name}.png"), full_page=True)


def _post(page: Any, action: str, fields: dict[str, str]) -> int:
    """POST a form the page does not offer (as a forged request would), with the page's CSRF token; returns the
    HTTP status."""
    token = page.locator("form.logout input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    response = page.request.post(action, form={"csrfmiddlewaretoken": token, **fields},
                                 headers={"Referer": page.url}, max_redirects=0)
    return int(response.status)


def _open_from_screening(admin: Any, base: str, qw: QualityWorld, shot: _Shots) -> None:
    """/quality/ → the run → the flagged school's row (its drivers in plain words) → the unit → a pair side by side
    → back → 立案调查."""
    from naeq.quality.meanings import label, meaning

    admin.goto(f"{base}/")
    _click(admin, f"nav a[href='{reverse('web:quality_home')}']")
    shot(admin, "01-quality-home")
    _click(admin, f"#runs a[href='{reverse('web:quality_run', args=[qw.run.pk])}']")
    _click(admin, "a[data-level=school]")
    row = admin.locator("[data-testid=unit-row]", has_text=qw.school.name).first
    assert row.get_attribute("class") == "flagged" and "疑似异常" in row.inner_text()
    drivers = row.locator(".driver").all_inner_texts()
    assert drivers, row.inner_text()
    for name in qw.unit.drivers[:len(drivers)]:
        assert any(label(name) in d and meaning(name) in d for d in drivers), (name, drivers)
    shot(admin, "02-run-schools")
    with admin.expect_navigation():
        row.locator(f"a[href='{reverse('web:quality_unit', args=[qw.unit.pk])}']").click()
    assert qw.school.name in admin.inner_text("h1")
    shot(admin, "03-unit")
    unit_url = admin.url
    with admin.expect_navigation():
        admin.locator("[data-testid=pair-link]").first.click()
    table = admin.locator("[data-testid=pair-table]")
    assert table.locator("tbody tr").count() == 40  # every item of the paper, the two answers side by side
    assert table.locator("tr[data-kind=same_wrong]").count() > 0  # the same wrong answers that betray copying
    shot(admin, "04-pair")
    admin.go_back()
    assert admin.url == unit_url
    _click(admin, "[data-testid=open-case]")


def _effect_cells(page: Any) -> dict[str, list[str]]:
    out = {}
    for row in page.locator("#effect-table tbody tr").all():
        out[str(row.get_attribute("data-level"))] = [c.strip() for c in row.locator("td").all_inner_texts()]
    return out


def _fmt(value: Any, digits: int) -> str:
    return "" if value is None else str(floatformat(value, digits))


def test_a_flagged_school_walked_from_flag_to_decision(browser: Any, live_server: Any, world: World, cycle: Any,
                                                       tmp_path: Any, settings: Any) -> None:
    settings.DATA_DIR = tmp_path
    qw = build_quality_world(world, cycle)
    base = live_server.url
    school, unit = qw.school, qw.unit
    coordinator = world.users["province_coordinator@A"]

    # ---------------------------------------------------------------- the national admin opens and assigns
    shot = _Shots(tmp_path)
    admin = _page(browser, base, world.users["national_admin@A"].username)
    _open_from_screening(admin, base, qw, shot)
    case = Case.objects.get(unit=unit)
    case_url = f"{base}{reverse('web:quality_case', args=[case.pk])}"
    assert admin.url == case_url
    assert f"已立案：{case.number}。" in _messages(admin)
    assert admin.inner_text("#case-state") == "待调查"
    assert school.name in admin.inner_text("h1")
    # the snapshot: every driver of the flag with its Chinese label and plain meaning; the copying pairs
    from naeq.quality.meanings import label, meaning

    indicators = admin.inner_text("#indicators")
    for name in unit.drivers:
        assert label(name) in indicators and meaning(name) in indicators, name
    assert admin.locator("#pairs tbody tr").count() >= 8  # one source, eight copies
    assert "是" in admin.inner_text("#pairs")  # flagged as suspected copying
    # before any decision the effect table shows what excluding the school's data would do
    assert admin.locator("#effect-table tbody tr").count() == 3
    assert admin.locator("#rerun-form").count() == 0
    shot(admin, "05-case-opened")

    admin.select_option("#actions select[name=investigator]", str(coordinator.pk))
    _click(admin, "form[action$='/assign/'] button")
    assert "已指派调查人。" in _messages(admin)
    assert admin.inner_text("#investigator") == coordinator.username
    shot(admin, "06-case-assigned")

    # ---------------------------------------------------------------- the province coordinator investigates
    coord = _page(browser, base, coordinator.username)
    coord.goto(f"{base}{reverse('web:quality_cases')}")
    listed = coord.inner_text("#cases")
    assert case.number in listed and qw.other_case.number not in listed  # province B's case is not theirs
    shot(coord, "07-coordinator-cases")
    other = coord.goto(f"{base}{reverse('web:quality_case', args=[qw.other_case.pk])}")
    assert other is not None and other.status == 404
    coord.goto(f"{base}{reverse('web:quality_cases')}")
    _click(coord, f"#cases a:has-text('{case.number}')")
    assert coord.url == case_url
    assert coord.locator("#decide-form").count() == 0 and coord.locator("form[action$='/assign/']").count() == 0
    _click(coord, "form[action$='/start/'] button")
    assert "已开始调查。" in _messages(coord) and coord.inner_text("#case-state") == "调查中"
    assert "状态变更（待调查 → 调查中）" in coord.inner_text("#events")  # the states' labels, not their codes
    coord.fill("textarea[name=text]", NOTE)
    _click(coord, "form[action$='/note/'] button")
    assert "已添加调查记录。" in _messages(coord) and NOTE in coord.inner_text("#events")
    photo = tmp_path / "proctor-statement.png"
    photo.write_bytes(PNG)
    coord.fill("#upload-form input[name=title]", "主监测员情况说明（照片）")
    coord.set_input_files("#upload-form input[type=file]", str(photo))
    _click(coord, "#upload-form button")
    assert "已上传材料。" in _messages(coord), _messages(coord)
    assert "主监测员情况说明（照片）" in coord.inner_text("#evidence")
    shot(coord, "08-coordinator-investigating")
    # the uploaded file downloads as it was sent
    href = coord.locator("#evidence a", has_text="主监测员情况说明").get_attribute("href")
    got = coord.request.get(f"{base}{href}")
    assert got.status == 200 and got.body() == PNG
    # the coordinator cannot decide: the form is absent and a forged POST is refused and changes nothing
    marks_before = DataMark.objects.count()
    status = _post(coord, f"{base}{reverse('web:quality_case_decide', args=[case.pk])}",
                   {"state": CaseState.DATA_EXCLUDED, "reason": "省级自行剔除"})
    assert status == 403
    case.refresh_from_db()
    assert case.state == CaseState.INVESTIGATING and case.decided_by is None and case.decision_reason == ""
    assert DataMark.objects.count() == marks_before == 0

    # ---------------------------------------------------------------- the national admin collects and decides
    admin.goto(case_url)
    assert NOTE in admin.inner_text("#events")
    _click(admin, "#collect")
    assert "已收集证据。" in _messages(admin)
    evidence = admin.inner_text("#evidence")
    assert "测试情况记录表：第1测试室" in evidence and f"应急事件情况报告表：{school.name}" in evidence
    shot(admin, "09-evidence-collected")
    persons = cases.case_persons(case)
    assert len(persons) == 25  # every test taker of the school in the paper
    before = case_effect(case, persons)
    admin.check(f"#decide-form input[name=state][value={CaseState.DATA_EXCLUDED}]")
    admin.fill("#decide-form textarea[name=reason]", REASON)
    _click(admin, "#decide-form button")
    assert "已作出决定。" in _messages(admin), _messages(admin)
    assert admin.inner_text("#case-state") == "数据剔除"
    assert REASON in admin.inner_text("main") and admin.locator("#decide-form").count() == 0
    assert admin.locator("#reopen-form").count() == 1
    shot(admin, "10-decided")
    # the re-run the case page offers: the same options and seed, without the excluded data
    _click(admin, "#rerun-form button", timeout=120_000)
    assert "已按相同数据、参数与种子重新校准" in _messages(admin), _messages(admin)
    rerun = CalibrationRun.objects.exclude(pk=qw.calibration.pk).get()
    assert rerun.status == RunStatus.DONE, rerun.error
    admin.goto(case_url)
    assert f"重新校准：校准 #{rerun.pk}" in admin.inner_text("#effect")
    assert admin.locator("#rerun-form").count() == 0  # re-run once; its numbers are the table's third column
    shot(admin, "11-effect-after-rerun")

    # ---------------------------------------------------------------- the database
    case.refresh_from_db()
    admin_user = world.users["national_admin@A"]
    assert case.state == CaseState.DATA_EXCLUDED and case.decided_by == admin_user
    assert case.decision_reason == REASON and case.investigator == coordinator
    assert sorted(DataMark.objects.filter(case=case, mark="excluded").values_list("test_taker_id", flat=True)) \
        == persons
    assert DataMark.objects.count() == len(persons)
    actions = list(AuditEvent.objects.filter(object_type="quality.Case", object_id=str(case.pk)).order_by("id")
                   .values_list("action", "actor_id"))
    assert actions == [("quality.case_open", admin_user.pk), ("quality.case_assign", admin_user.pk),
                       ("quality.case_start", coordinator.pk), ("quality.case_note", coordinator.pk),
                       ("quality.case_evidence_upload", coordinator.pk),
                       ("quality.case_evidence_collect", admin_user.pk), ("quality.case_decide", admin_user.pk)]
    kinds = sorted(CaseEvidence.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds == sorted([EvidenceKind.SNAPSHOT, EvidenceKind.UPLOAD, EvidenceKind.INCIDENT,
                            EvidenceKind.SESSION_RECORD])
    # the re-run calibration leaves the excluded test takers out; the first run still has them
    assert not CalibrationPerson.objects.filter(run=rerun, test_taker_id__in=persons).exists()
    assert CalibrationPerson.objects.filter(run=qw.calibration, test_taker_id__in=persons).count() == len(persons)
    n_first = CalibrationPerson.objects.filter(run=qw.calibration).count()
    assert CalibrationPerson.objects.filter(run=rerun).count() == n_first - len(persons)
    # the page's numbers are case_effect's
    effect = case_effect(case, persons)
    assert effect.before_run == qw.calibration and effect.rerun == rerun and effect.excluded == len(persons)
    assert effect.before == before.before and effect.after == before.after  # the decision did not move "before"
    shown = _effect_cells(admin)
    for row in effect.rows():
        cells = shown[row["level"]]
        assert cells == [_fmt(row["before_mean"], 1), str(row["before_n"]), _fmt(row["after_mean"], 1),
                         str(row["after_n"]), _fmt(row["change"], 2), _fmt(row["rerun_mean"], 1),
                         str(row["rerun_n"])], (row["level"], cells, row)
    county = {r["level"]: r for r in effect.rows()}["county"]
    assert county["after_n"] == county["rerun_n"] == county["before_n"] - len(persons)
    assert county["change"] is not None and county["change"] != 0
