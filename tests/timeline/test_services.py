"""Marking milestones done and reviewing them up the chain; derived milestones; overdue; reports and attachments.

The review chain (DOMAIN.md, from the seeds): school → county (审核) → province (审核/汇总) → national; city accounts
view and supervise, not submit. 2024-nanchang-city-plan.txt: "县级实施工作领导小组将《县级实施工作总结》通过
“实施管理系统”提交至省级实施工作领导小组".
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.delivery.models import SessionStatus
from naeq.registry.models import Submission, SubmissionKind, SubmissionStatus
from naeq.timeline import selectors, services
from naeq.timeline.models import MilestoneStatus, Report, ReportAttachment, State
from tests.delivery.factories import make_session
from tests.personas import World

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
TEST_DAY = dt.date(2024, 5, 22)


def _cell(actor: Any, cycle: Any, code: str, milestone: str, today: dt.date) -> selectors.Cell:
    t = selectors.unit_timeline(actor=actor, cycle=cycle, code=code, today=today)
    return next(c for c in t.cells if c.milestone.code == milestone)


def test_school_marks_done_county_approves(sample: World, cycle: Any) -> None:
    """仙游: "9月14日至18日，各样本校开展……填答练习……答题卡练习" — the school marks practice done, its county
    reviews."""
    school = sample.schools["A1a-1"].code
    head, liaison = sample.users["school_head@A"], sample.users["county_liaison@A"]
    st = services.milestone_submit(actor=head, cycle=cycle, unit_code=school, milestone="practice", note="已练习")
    assert st.state == State.SUBMITTED and st.submitted_by == head
    assert AuditEvent.objects.filter(action="timeline.milestone_submit", object_id=str(st.pk)).exists()
    with pytest.raises(InvalidInput):  # not twice
        services.milestone_submit(actor=head, cycle=cycle, unit_code=school, milestone="practice")
    assert [i.unit.code for i in selectors.review_queue(actor=liaison, cycle=cycle)] == [school]
    services.milestone_review(actor=liaison, cycle=cycle, unit_code=school, milestone="practice", decision="approve")
    st.refresh_from_db()
    assert st.state == State.APPROVED and st.reviewed_by == liaison
    ev = AuditEvent.objects.get(action="timeline.milestone_approve")
    assert ev.before["state"] == "submitted" and ev.after["state"] == "approved"
    assert _cell(liaison, cycle, school, "practice", TEST_DAY).state == State.APPROVED


def test_return_needs_a_reason_and_goes_back_to_the_unit(sample: World, cycle: Any) -> None:
    county = sample.regions["A1a"].code
    liaison, coord = sample.users["county_liaison@A"], sample.users["province_coordinator@A"]
    services.milestone_submit(actor=liaison, cycle=cycle, unit_code=county, milestone="staff_lists")
    with pytest.raises(InvalidInput) as exc:
        services.milestone_review(actor=coord, cycle=cycle, unit_code=county, milestone="staff_lists",
                                  decision="return", reason="  ")
    assert exc.value.problems[0].field == "reason"
    services.milestone_review(actor=coord, cycle=cycle, unit_code=county, milestone="staff_lists",
                              decision="return", reason="缺少主监测员名单")
    st = MilestoneStatus.objects.get(milestone="staff_lists")
    assert (st.state, st.reason) == (State.RETURNED, "缺少主监测员名单")
    services.milestone_submit(actor=liaison, cycle=cycle, unit_code=county, milestone="staff_lists")
    st.refresh_from_db()
    assert st.state == State.SUBMITTED and st.reason == ""


def test_who_may_write(sample: World, cycle: Any) -> None:
    """City viewers and inspectors read only; other counties' units do not exist for a county; a school cannot
    review itself; derived milestones cannot be ticked."""
    school = sample.schools["A1a-1"].code
    for persona in ("city_viewer@A", "inspector@A", "chief_proctor@A", "national_analyst@A"):
        with pytest.raises((PermissionDenied, NotFound)):
            services.milestone_submit(actor=sample.users[persona], cycle=cycle, unit_code=school,
                                      milestone="practice")
    with pytest.raises(PermissionDenied):
        services.milestone_submit(actor=sample.users["city_viewer@A"], cycle=cycle, unit_code=school,
                                  milestone="practice")
    with pytest.raises(NotFound):
        services.milestone_submit(actor=sample.users["county_liaison@A"], cycle=cycle,
                                  unit_code=sample.schools["A1b-1"].code, milestone="practice")
    services.milestone_submit(actor=sample.users["school_info_officer@A"], cycle=cycle, unit_code=school,
                              milestone="practice")
    with pytest.raises(PermissionDenied):
        services.milestone_review(actor=sample.users["school_head@A"], cycle=cycle, unit_code=school,
                                  milestone="practice", decision="approve")
    with pytest.raises(PermissionDenied):  # the province reviews counties, not schools
        services.milestone_review(actor=sample.users["province_coordinator@A"], cycle=cycle, unit_code=school,
                                  milestone="practice", decision="approve")
    with pytest.raises(InvalidInput) as exc:
        services.milestone_submit(actor=sample.users["school_head@A"], cycle=cycle, unit_code=school,
                                  milestone="roster_review")
    assert exc.value.code == "derived_milestone"
    with pytest.raises(NotFound):  # a county milestone on a school
        services.milestone_submit(actor=sample.users["school_head@A"], cycle=cycle, unit_code=school,
                                  milestone="staff_lists")
    with pytest.raises(NotFound):  # a refused school has no timeline
        selectors.unit_timeline(actor=sample.users["national_admin@A"], cycle=cycle,
                                code=sample.schools["A1b-2"].code, today=TEST_DAY)


def test_derived_from_rosters_registry_and_sessions(sample: World, cycle: Any) -> None:
    """Roster submitted (naeq/registry) and sessions closed on the test days (naeq/delivery) are computed."""
    school, county = sample.schools["A1a-1"], sample.regions["A1a"]
    admin = sample.users["national_admin@A"]
    late = dt.date(2024, 7, 1)
    assert _cell(admin, cycle, school.code, "roster_review", late).overdue
    Submission.objects.create(kind=SubmissionKind.ROSTER, year=2024, county=county, school=school,
                              status=SubmissionStatus.SUBMITTED, pending_level="county")
    c = _cell(admin, cycle, school.code, "roster_review", late)
    assert c.state == State.SUBMITTED and not c.overdue
    Submission.objects.create(kind=SubmissionKind.REGISTRY, year=2024, county=county, status=SubmissionStatus.LOCKED)
    assert _cell(admin, cycle, county.code, "registry_upload", late).state == State.APPROVED
    s1 = make_session(cycle, school, instruments=["math"], status=SessionStatus.CLOSED, title="数学")
    make_session(cycle, school, instruments=["mental_health"], status=SessionStatus.OPEN, title="心理健康")
    c = _cell(admin, cycle, school.code, "test_days", late)
    assert (c.state, c.detail, c.overdue) == (State.NOT_STARTED, "1/2", True)
    s1.__class__.objects.filter(school=school).update(status=SessionStatus.CLOSED)
    assert _cell(admin, cycle, school.code, "test_days", late).state == State.APPROVED


def test_overdue_within_jurisdiction(sample: World, cycle: Any) -> None:
    """县级: "9月10日前……遴选确定样本校相关监测工作人员名单" (staff lists due 2024-05-04); on 5/10 every county owes
    it; a county that submitted is not overdue; each actor sees only its own units."""
    day = dt.date(2024, 5, 10)
    services.milestone_submit(actor=sample.users["county_liaison@A"], cycle=cycle,
                              unit_code=sample.regions["A1a"].code, milestone="staff_lists")
    nation = selectors.overdue(sample.users["national_admin@A"], cycle, day)
    staff = {i.unit.code for i in nation if i.milestone.code == "staff_lists"}
    assert staff == {sample.regions[k].code for k in ("A1b", "B1a", "B1b")}
    prov = selectors.overdue(sample.users["province_coordinator@B"], cycle, day)
    assert prov and all(i.unit.path.startswith(sample.regions["B"].path) for i in prov)
    school = selectors.overdue(sample.users["school_head@A"], cycle, day)
    assert {i.unit.code for i in school} == {sample.schools["A1a-1"].code}
    assert selectors.overdue(sample.users["student@A"], cycle, day) == []
    assert all(i.days_late > 0 for i in nation)
    assert selectors.overdue(sample.users["national_admin@A"], cycle, dt.date(2024, 1, 1)) == []


def test_report_chain_with_return_for_revision(sample: World, cycle: Any) -> None:
    """仙游: "10月16日前……总结提县级国家义务教育监测实施工作总结"; the province returns it with a reason, the county
    revises and submits again, the province approves."""
    county = sample.regions["A1a"].code
    liaison, coord = sample.users["county_liaison@A"], sample.users["province_coordinator@A"]
    services.report_save(actor=liaison, cycle=cycle, unit_code=county, sections={"overview": "概况"})
    with pytest.raises(InvalidInput) as exc:
        services.report_submit(actor=liaison, cycle=cycle, unit_code=county)
    assert {p.field for p in exc.value.problems} == {"practice", "problems"}
    with pytest.raises(InvalidInput) as exc:
        services.report_save(actor=liaison, cycle=cycle, unit_code=county, sections={"overview": "x" * 5001})
    assert exc.value.problems[0].field == "overview"
    services.report_save(actor=liaison, cycle=cycle, unit_code=county,
                         sections={"overview": "概况", "practice": "做法", "problems": "问题"})
    services.attachment_add(actor=liaison, cycle=cycle, unit_code=county, name="总结.pdf", data=PDF)
    services.report_submit(actor=liaison, cycle=cycle, unit_code=county)
    with pytest.raises(InvalidInput):  # locked while under review
        services.report_save(actor=liaison, cycle=cycle, unit_code=county, sections={"overview": "改"})
    with pytest.raises(PermissionDenied):
        services.report_review(actor=sample.users["city_viewer@A"], cycle=cycle, unit_code=county,
                               decision="approve")
    services.report_review(actor=coord, cycle=cycle, unit_code=county, decision="return", reason="请补充应急处置情况")
    rep = Report.objects.get()
    assert (rep.state, rep.reason) == (State.RETURNED, "请补充应急处置情况")
    assert _cell(coord, cycle, county, "county_summary", dt.date(2024, 7, 1)).overdue
    services.report_save(actor=liaison, cycle=cycle, unit_code=county,
                         sections={"overview": "概况", "practice": "做法（补充应急处置）", "problems": "问题"})
    services.report_submit(actor=liaison, cycle=cycle, unit_code=county)
    services.report_review(actor=coord, cycle=cycle, unit_code=county, decision="approve")
    rep.refresh_from_db()
    assert rep.state == State.APPROVED and rep.reviewed_by == coord
    actions = list(AuditEvent.objects.filter(object_type="timeline.Report").values_list("action", flat=True))
    assert actions.count("timeline.report_submit") == 2 and "timeline.report_return" in actions
    assert _cell(coord, cycle, county, "county_summary", dt.date(2024, 7, 1)).state == State.APPROVED


def test_province_summary_goes_to_the_nation(sample: World, cycle: Any) -> None:
    prov = sample.regions["A"].code
    coord = sample.users["province_coordinator@A"]
    services.report_save(actor=coord, cycle=cycle, unit_code=prov,
                         sections={"overview": "概况", "practice": "做法", "problems": "问题"})
    services.report_submit(actor=coord, cycle=cycle, unit_code=prov)
    with pytest.raises(PermissionDenied):
        services.report_review(actor=sample.users["national_analyst@A"], cycle=cycle, unit_code=prov,
                               decision="approve")
    services.report_review(actor=sample.users["national_admin@A"], cycle=cycle, unit_code=prov, decision="approve")
    assert Report.objects.get().state == State.APPROVED


def test_attachments_are_checked_and_stored_outside_media(sample: World, cycle: Any, settings: Any,
                                                          tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    school = sample.schools["A1a-1"].code
    head = sample.users["school_head@A"]
    for name, data, why in (("a.exe", b"MZ", "类型"), ("a.pdf", b"MZ\x90\x00", "不符"), ("a.pdf", b"", "空文件"),
                            ("../a.pdf", PDF, "不合法"), ("a.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "10 MB")):
        with pytest.raises(InvalidInput) as exc:
            services.attachment_add(actor=head, cycle=cycle, unit_code=school, name=name, data=data)
        assert why in exc.value.message, name
    att = services.attachment_add(actor=head, cycle=cycle, unit_code=school, name="测试情况记录表.pdf", data=PDF)
    stored = tmp_path / "timeline-attachments" / str(att.report_id) / att.stored_name
    assert stored.read_bytes() == PDF
    got, data = selectors.attachment_get(actor=sample.users["county_liaison@A"], cycle=cycle, code=school,
                                         attachment_id=att.pk)
    assert data == PDF and got.name == "测试情况记录表.pdf"
    with pytest.raises(NotFound):
        selectors.attachment_get(actor=sample.users["county_liaison@B"], cycle=cycle, code=school,
                                 attachment_id=att.pk)
    services.attachment_remove(actor=head, cycle=cycle, unit_code=school, attachment_id=att.pk)
    assert not ReportAttachment.objects.exists()
    assert AuditEvent.objects.filter(action="timeline.attachment_remove").exists()


def test_progress_counts_overdue_below(sample: World, cycle: Any) -> None:
    """A province row counts the overdue milestones of its counties and schools; a county row those of its
    schools only."""
    day = dt.date(2024, 7, 1)
    admin = sample.users["national_admin@A"]
    items = selectors.overdue(admin, cycle, day)
    nation = selectors.overview(actor=admin, cycle=cycle, today=day)
    row_a = next(r for r in nation.rows if r.unit.code == sample.regions["A"].code)
    assert row_a.overdue_below == sum(1 for i in items if i.unit.path.startswith(sample.regions["A"].path)
                                      and i.unit.level != "province")
    prov = selectors.overview(actor=sample.users["province_coordinator@A"], cycle=cycle, today=day)
    row = next(r for r in prov.rows if r.unit.code == sample.regions["A1a"].code)
    assert row.overdue_below == sum(1 for i in items if i.unit.level == "school"
                                    and i.unit.path == sample.regions["A1a"].path) > 0
    assert row.overdue_own == sum(1 for i in items if i.unit.code == sample.regions["A1a"].code) > 0
