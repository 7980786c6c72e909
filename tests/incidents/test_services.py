"""Incident cases, escalation, report forms and the hotline, through the services (then the database, then the
audit trail). Rules are cited from the seeds in each docstring."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.delivery.sessions import incident_record
from naeq.incidents import selectors, services
from naeq.incidents.config import default_config, parse
from naeq.incidents.models import Escalation, HandlingEntry, IncidentCase, Notice
from tests.delivery.factories import make_session
from tests.personas import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(world: World, cycle: Any) -> Any:
    return make_session(cycle, world.schools["A1a-1"], instruments=["math"])


def _with_mail(world: World) -> None:
    for name in ("county_liaison@A", "city_viewer@A", "province_coordinator@A", "county_liaison@B"):
        u = world.users[name]
        u.email = f"{u.username}@example.org"
        u.save(update_fields=["email"])


def test_config_matches_the_seed() -> None:
    """2023-dongli-district-rules.txt 五: "发现冒名顶替、大面积舞弊等严重（3级）应急事件，须第一时间报市级"; 六 lists 8
    accountable violations."""
    c = default_config()
    assert "冒名顶替" in c.grades[3].definition and c.grades[3].reach_at_once == "province"
    assert {"county", "city"} <= set(c.grades[3].notify_at_once)
    assert c.category("impersonation").min_grade == 3  # type: ignore[union-attr]
    assert len(c.violations) == 8 and c.violation("alter_answers").name == "干预正常作答、测后更改答案"  # type: ignore[union-attr]


def test_config_errors_are_precise() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse("levels: [school]\ncategories: [{code: x, name: X, delivery: bogus, min_grade: 5}]\n", file="t.yaml")
    fields = {p.field for p in exc.value.problems}
    assert {"levels", "categories[0].delivery", "categories[0].min_grade", "grades"} <= fields


def test_grade3_in_a_session_reaches_city_and_province_at_once(world: World, session: Any,
                                                                django_capture_on_commit_callbacks: Any) -> None:
    """2023-dongli 五: 严重（3级）应急事件"须第一时间报市级实施工作领导小组"."""
    _with_mail(world)
    with django_capture_on_commit_callbacks(execute=True):
        incident = incident_record(actor=world.users["inspector@A"], session_id=session.pk, category="impersonation",
                                   grade=3, description="检录发现替考")
    case = IncidentCase.objects.get(incident=incident)
    assert (case.level, case.grade, case.state, case.category) == ("province", 3, "open", "impersonation")
    esc = Escalation.objects.get(case=case)
    assert (esc.from_level, esc.to_level, esc.how) == ("school", "province", "at_once")
    told = set(Notice.objects.filter(case=case).values_list("recipient__username", flat=True))
    assert {"county_liaison_a", "county_info_officer_a", "city_viewer_a", "province_coordinator_a"} <= told
    assert not any(u.endswith("_b") for u in told)
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["city_viewer_a@example.org", "county_liaison_a@example.org",
                                         "province_coordinator_a@example.org"]
    assert AuditEvent.objects.filter(action="incidents.case_open", object_id=str(case.pk)).exists()


def test_impersonation_recorded_as_grade1_is_raised_to_3(world: World, session: Any) -> None:
    """2023-dongli 五 names 冒名顶替 a grade-3 incident whatever the recorder chose."""
    incident = incident_record(actor=world.users["school_head@A"], session_id=session.pk, category="impersonation",
                               grade=1, description="疑似替考")
    case = IncidentCase.objects.get(incident=incident)
    assert case.grade == 3 and case.level == "province"
    assert HandlingEntry.objects.filter(case=case, text__contains="严重（3级）").exists()


def test_grade2_goes_to_county_and_overdue_to_city(world: World, session: Any) -> None:
    """Grade 2: county at once; design rule (configs/default.yaml): city after 2 hours if still open."""
    incident = incident_record(actor=world.users["school_head@A"], session_id=session.pk, category="network",
                               grade=2, description="断网，场次改时")
    case = IncidentCase.objects.get(incident=incident)
    assert case.level == "county"
    assert set(Notice.objects.filter(case=case).values_list("recipient__role", flat=True)) == {
        "county_liaison", "county_info_officer"}
    assert services.cases_escalate_overdue(now=case.occurred_at + dt.timedelta(minutes=119)) == []
    done = services.cases_escalate_overdue(now=case.occurred_at + dt.timedelta(hours=2, minutes=1))
    assert [c.pk for c in done] == [case.pk]
    case.refresh_from_db()
    assert case.level == "city"
    assert Escalation.objects.filter(case=case, how="overdue", to_level="city").exists()
    assert Notice.objects.filter(case=case, recipient=world.users["city_viewer@A"]).exists()


def test_grade1_stays_at_school_and_the_school_closes_it(world: World, session: Any) -> None:
    incident = incident_record(actor=world.users["school_head@A"], session_id=session.pk, category="power",
                               grade=1, description="停电10分钟")
    case = IncidentCase.objects.get(incident=incident)
    assert case.level == "school" and not Notice.objects.filter(case=case).exists()
    services.case_log(actor=world.users["chief_proctor@A"], case_id=case.pk, text="启用备用电源")
    services.case_close(actor=world.users["school_head@A"], case_id=case.pk, summary="恢复供电，测试完成")
    case.refresh_from_db()
    assert case.state == "closed" and case.closed_at is not None
    assert list(case.log.values_list("kind", flat=True)) == ["record", "action", "close"]
    with pytest.raises(InvalidInput, match="已办结"):
        services.case_log(actor=world.users["school_head@A"], case_id=case.pk, text="再记一笔")


def test_escalated_case_is_closed_above_with_a_finding(world: World, session: Any) -> None:
    """"本级能够进行处置的，要立即处置" (2024 plan 四): once the county holds a case, the school cannot close it.
    Accountability (2023-dongli 六) is recorded at closing."""
    incident = incident_record(actor=world.users["school_head@A"], session_id=session.pk, category="cheating",
                               grade=1, description="个别学生抄袭")
    case = IncidentCase.objects.get(incident=incident)
    services.case_escalate(actor=world.users["school_head@A"], case_id=case.pk, to_level="county",
                           reason="监测员未制止")
    with pytest.raises(PermissionDenied):
        services.case_close(actor=world.users["school_head@A"], case_id=case.pk, summary="x")
    with pytest.raises(InvalidInput, match="高于当前层级"):
        services.case_escalate(actor=world.users["county_liaison@A"], case_id=case.pk, to_level="school",
                               reason="x")
    with pytest.raises(InvalidInput, match="责任追究情形"):
        services.case_close(actor=world.users["county_liaison@A"], case_id=case.pk, summary="已处理",
                            finding_note="有说明无情形")
    services.case_close(actor=world.users["county_liaison@A"], case_id=case.pk, summary="已批评教育",
                        violation="tolerate", finding_note="主监测员未及时制止")
    f = case.findings.get()
    assert (f.violation, f.school_id) == ("tolerate", session.school_id)
    event = AuditEvent.objects.filter(action="incidents.case_close").latest("id")
    assert event.after["finding"]["violation"] == "tolerate"


def test_readers_and_outsiders_cannot_act(world: World, session: Any) -> None:
    incident = incident_record(actor=world.users["school_head@A"], session_id=session.pk, category="power",
                               grade=1, description="停电")
    case_id = IncidentCase.objects.get(incident=incident).pk
    with pytest.raises(PermissionDenied):
        services.case_log(actor=world.users["city_viewer@A"], case_id=case_id, text="x")
    for outsider in ("county_liaison@B", "school_head@B", "province_coordinator@B"):
        with pytest.raises(NotFound):
            services.case_log(actor=world.users[outsider], case_id=case_id, text="x")


def test_standalone_county_leak(world: World, cycle: Any) -> None:
    """A leak outside any session (2023-dongli 六 3: 监测工具失密) is grade 3 by configuration."""
    case = services.case_open(actor=world.users["county_liaison@A"], county_code=world.regions["A1a"].code,
                              category="leak", grade=1, description="保密室监测工具包装破损", cycle=cycle)
    assert (case.grade, case.level, case.school_id, case.source) == (3, "province", None, "manual")
    with pytest.raises(NotFound):
        services.case_open(actor=world.users["county_liaison@A"], county_code=world.regions["A1b"].code,
                           category="leak", grade=3, description="x", cycle=cycle)


def test_report_form_rules(world: World, cycle: Any) -> None:
    """2023-dongli 样本校职责 (4): "提交样本校应急事件情况报告表"; the county collects; a missing one is flagged."""
    school = world.schools["A1a-1"]
    yesterday = timezone.now() - dt.timedelta(days=1)
    s = make_session(cycle, school, instruments=["math"], starts_at=yesterday, status="closed")
    make_session(cycle, world.schools["A1a-2"], instruments=["math"], starts_at=yesterday, status="closed")
    day = timezone.localtime(s.starts_at).date()
    head = world.users["school_head@A"]
    incident_record(actor=head, session_id=s.pk, category="illness", grade=1, description="学生不适",
                    at=s.starts_at + dt.timedelta(minutes=5))
    with pytest.raises(InvalidInput, match="不能填报“无应急事件”"):
        services.report_file(actor=head, school_code=school.code, test_date=day, no_incident=True, handling="",
                             signed_by="校长甲", cycle=cycle)
    with pytest.raises(InvalidInput, match="不是本校的测试日"):
        services.report_file(actor=head, school_code=school.code, test_date=day - dt.timedelta(days=3),
                             no_incident=False, handling="x", signed_by="校长甲", cycle=cycle)
    with pytest.raises(PermissionDenied):
        services.report_file(actor=world.users["inspector@A"], school_code=school.code, test_date=day,
                             no_incident=False, handling="x", signed_by="校长甲", cycle=cycle)
    report = services.report_file(actor=head, school_code=school.code, test_date=day, no_incident=False,
                                  handling="医护人员处置后由家长接回", signed_by="校长甲", cycle=cycle)
    assert report.cases.count() == 1
    status = selectors.report_status(actor=world.users["county_liaison@A"], cycle=cycle)
    assert {(r.school.code, r.status) for r in status.rows} == {(school.code, "filed"),
                                                                 (world.schools["A1a-2"].code, "missing")}
    services.report_collect(actor=world.users["county_liaison@A"], report_id=report.pk)
    with pytest.raises(InvalidInput, match="县级已收取"):
        services.report_file(actor=head, school_code=school.code, test_date=day, no_incident=False,
                             handling="改", signed_by="校长甲", cycle=cycle)
    with pytest.raises(NotFound):
        services.report_collect(actor=world.users["county_liaison@B"], report_id=report.pk)


def test_hotline_call_log(world: World, cycle: Any) -> None:
    """2024-nanchang (9): "测试当天，安排熟悉监测组织实施工作的人员值守并做电话记录". No ID numbers; masked phones."""
    liaison = world.users["county_liaison@A"]
    now = timezone.now()
    with pytest.raises(InvalidInput, match="身份证"):
        services.call_record(actor=liaison, received_at=now, caller_type="parent", topic="complaint",
                             summary="孩子身份证号110101201001011234", cycle=cycle)
    with pytest.raises(InvalidInput, match="匿名来电"):
        services.call_record(actor=liaison, received_at=now, caller_type="anonymous", topic="violation",
                             summary="举报", caller_phone="13900001111", cycle=cycle)
    with pytest.raises(PermissionDenied):
        services.call_record(actor=world.users["city_viewer@A"], received_at=now, caller_type="public",
                             topic="question", summary="咨询", cycle=cycle)
    call = services.call_record(actor=liaison, received_at=now, caller_type="parent", topic="violation",
                                summary="举报考前集中复习", caller_phone="13900001111",
                                school_code=world.schools["A1a-1"].code, cycle=cycle)
    assert call.masked_phone == "139******11"
    case = services.call_to_case(actor=liaison, call_id=call.pk, category="other", grade=1)
    assert case.source == "hotline" and case.school_id == world.schools["A1a-1"].pk
    services.call_handle(actor=liaison, call_id=call.pk, result="已转县督导室调查", close=True)
    counts = selectors.hotline_counts(world.users["province_coordinator@A"], cycle)
    assert counts["total"] == 1 and counts["open"] == 0 and counts["by_topic"] == {"violation": 1}
    assert selectors.hotline_counts(world.users["province_coordinator@B"], cycle)["total"] == 0


def test_incident_counts_by_grade_and_unit(world: World, cycle: Any) -> None:
    for key, grade in (("A1a-1", 1), ("A1b-1", 3), ("B1a-1", 2)):
        s = make_session(cycle, world.schools[key], instruments=["math"], title=f"t{key}")
        incident_record(actor=_runner(world, key), session_id=s.pk,
                        category="power", grade=grade, description="停电")
    c = selectors.incident_counts(world.users["province_coordinator@A"], cycle)
    assert c.by_grade == {1: 1, 2: 0, 3: 1} and [u["county"] for u in c.by_unit] == ["310101", "310102"]
    c = selectors.incident_counts(world.users["county_liaison@A"], cycle)
    assert c.total == 1 and c.by_unit[0]["g1"] == 1


def _runner(world: World, key: str) -> Any:
    from naeq.accounts.services import user_create

    return user_create(actor=None, username=f"head_{key}", password=None, role="school_head",
                       school=world.schools[key])


def test_handling_log_is_append_only(world: World, session: Any) -> None:
    incident = incident_record(actor=world.users["school_head@A"], session_id=session.pk, category="power",
                               grade=1, description="停电")
    entry = HandlingEntry.objects.filter(case__incident=incident).first()
    assert entry is not None
    entry.text = "改写"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()
