"""Self-checks: saving, submission rules, the review chain school → county → province, evidence uploads.

Seeds: 2024-nanchang-city-plan.txt (7)：
"测试前 2-3 天，参照《样本校测试准备工作自查清单》对本校各项测试准备工作进行自查"
and "县级实施工作领导小组须参照《县级测试准备工作自查清单》完成对本县测试准备情况的自查"; (8)："双人双锁";
DOMAIN.md: "Review chain for every submission: school → county (审核) → province"; city accounts view only.
"""

from __future__ import annotations

from typing import Any

import pytest

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.readiness import selectors, services
from naeq.readiness.evidence import evidence_root
from naeq.readiness.models import CheckStatus, Evidence, SelfCheck
from tests.personas import World
from tests.readiness.conftest import PNG, full_answers


def _fill(sample: World, cycle: Any, persona: str = "school_head@A", key: str = "A1a-1",
          answers: dict[str, dict[str, str]] | None = None, evidence: bool = True) -> SelfCheck:
    actor, code = sample.users[persona], sample.schools[key].code
    check = services.check_save(actor=actor, cycle=cycle, kind="school", code=code,
                                raw=answers if answers is not None else full_answers(cycle))
    if evidence:
        services.evidence_add(actor=actor, cycle=cycle, kind="school", code=code, item_id="cabinet_photo",
                              file_name="cabinet.jpg", data=b"\xff\xd8\xff\xe0rest-of-jpeg")
    return check


def test_school_fills_submits_county_approves_and_the_form_locks(sample: World, cycle: Any) -> None:
    code = sample.schools["A1a-1"].code
    _fill(sample, cycle)
    check = services.check_submit(actor=sample.users["school_info_officer@A"], cycle=cycle, kind="school",
                                  code=code)
    assert check.status == CheckStatus.SUBMITTED
    with pytest.raises(InvalidInput):  # submitted: not editable until reviewed
        _fill(sample, cycle, evidence=False)
    check = services.check_review(actor=sample.users["county_liaison@A"], cycle=cycle, kind="school", code=code,
                                  approve=True)
    assert check.status == CheckStatus.APPROVED and check.reviewed_by == sample.users["county_liaison@A"]
    with pytest.raises(InvalidInput) as exc:
        _fill(sample, cycle, evidence=False)
    assert exc.value.code == "check_locked"
    actions = list(AuditEvent.objects.filter(object_type="readiness.SelfCheck", object_id=str(check.pk))
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["readiness.check_save", "readiness.check_submit", "readiness.check_approve"]


def test_returned_form_is_editable_again_and_resubmitted(sample: World, cycle: Any) -> None:
    """A returned form (e.g. the cabinet lacks 双人双锁) goes back to the school with the reason."""
    code = sample.schools["A1a-1"].code
    _fill(sample, cycle)
    services.check_submit(actor=sample.users["school_head@A"], cycle=cycle, kind="school", code=code)
    with pytest.raises(InvalidInput) as exc:
        services.check_review(actor=sample.users["county_liaison@A"], cycle=cycle, kind="school", code=code,
                              approve=False, reason="  ")
    assert exc.value.code == "no_reason"
    check = services.check_review(actor=sample.users["county_info_officer@A"], cycle=cycle, kind="school",
                                  code=code, approve=False, reason="保密柜未做到双人双锁")
    assert check.status == CheckStatus.RETURNED and check.return_reason == "保密柜未做到双人双锁"
    check = _fill(sample, cycle, evidence=False)
    assert check.status == CheckStatus.RETURNED  # still returned until resubmitted
    check = services.check_submit(actor=sample.users["school_head@A"], cycle=cycle, kind="school", code=code)
    assert check.status == CheckStatus.SUBMITTED
    assert AuditEvent.objects.filter(action="readiness.check_return",
                                     after__return_reason="保密柜未做到双人双锁").exists()


def test_submission_needs_every_required_item_and_remedy_for_a_no(sample: World, cycle: Any) -> None:
    code = sample.schools["A1a-1"].code
    answers = full_answers(cycle)
    del answers["stationery"]
    answers["two_locks"] = {"value": "no", "remedy": "", "remedy_date": ""}
    answers["cctv"] = {"value": "no", "remedy": "", "remedy_date": ""}  # not required: a "no" is fine
    _fill(sample, cycle, answers=answers, evidence=False)
    with pytest.raises(InvalidInput) as exc:
        services.check_submit(actor=sample.users["school_head@A"], cycle=cycle, kind="school", code=code)
    reasons = {p.field: p.reason for p in exc.value.problems}
    assert set(reasons) == {"2B铅笔、橡皮等文具按参测学生数配齐", "保密柜双人双锁，两把钥匙分别由两人保管",
                            "保密柜照片（双锁可见）"}
    assert "整改措施" in reasons["保密柜双人双锁，两把钥匙分别由两人保管"]
    answers["stationery"] = {"value": "yes"}
    answers["two_locks"] = {"value": "no", "remedy": "加装第二把锁", "remedy_date": "2024-05-20"}
    _fill(sample, cycle, answers=answers)
    check = services.check_submit(actor=sample.users["school_head@A"], cycle=cycle, kind="school", code=code)
    assert check.status == CheckStatus.SUBMITTED
    assert SelfCheck.objects.get(pk=check.pk).answers["two_locks"]["remedy"] == "加装第二把锁"


def test_spare_computers_below_ten_percent_of_students_need_a_remedy(sample: World, cycle: Any) -> None:
    """Spare computers ≥ 10% of the students: school A1a-1 has 45 + 60 students in its tested grades → 11."""
    code = sample.schools["A1a-1"].code
    answers = full_answers(cycle)
    answers["spare_computers"] = {"value": "10", "remedy": "", "remedy_date": ""}
    _fill(sample, cycle, answers=answers)
    view = selectors.check_view(actor=sample.users["school_head@A"], cycle=cycle, kind="school", code=code)
    item = next(iv for _s, items in view.sections for iv in items if iv.item.id == "spare_computers")
    assert item.minimum == 11 and item.remedy_needed
    with pytest.raises(InvalidInput) as exc:
        services.check_submit(actor=sample.users["school_head@A"], cycle=cycle, kind="school", code=code)
    assert "低于要求的11" in exc.value.problems[0].reason
    answers["spare_computers"] = {"value": "11"}
    _fill(sample, cycle, answers=answers, evidence=False)
    assert services.check_submit(actor=sample.users["school_head@A"], cycle=cycle, kind="school",
                                 code=code).status == CheckStatus.SUBMITTED


def test_bad_values_are_refused_with_the_item_label(sample: World, cycle: Any) -> None:
    answers = full_answers(cycle)
    answers["online_computers"] = {"value": "十台"}
    answers["network"] = {"value": "maybe"}
    answers["two_locks"] = {"value": "no", "remedy": "x", "remedy_date": "明天"}
    with pytest.raises(InvalidInput) as exc:
        _fill(sample, cycle, answers=answers, evidence=False)
    fields = {p.field for p in exc.value.problems}
    assert fields == {"可用的联网计算机（台）", "网络稳定，有备用网络（如移动热点）",
                      "保密柜双人双锁，两把钥匙分别由两人保管"}
    assert not SelfCheck.objects.exists()


@pytest.mark.parametrize(("persona", "key", "error"), [
    ("inspector@A", "A1a-1", PermissionDenied),          # reads its school, does not fill
    ("county_liaison@A", "A1a-1", PermissionDenied),     # reviews, does not fill a school's form
    ("city_viewer@A", "A1a-1", PermissionDenied),        # city: read only
    ("school_head@A", "A1a-2", NotFound),                # another school
    ("school_head@B", "A1a-1", NotFound),                # another province
])
def test_only_the_school_fills_its_form(sample: World, cycle: Any, persona: str, key: str, error: type) -> None:
    with pytest.raises(error):
        services.check_save(actor=sample.users[persona], cycle=cycle, kind="school", code=sample.schools[key].code,
                            raw=full_answers(cycle))


def test_school_not_in_the_sample_has_no_self_check(sample: World, cycle: Any) -> None:
    from naeq.sampling.models import SampledSchool

    SampledSchool.objects.filter(school=sample.schools["A1a-1"]).update(participation="refused")
    with pytest.raises(NotFound):
        selectors.check_view(actor=sample.users["school_head@A"], cycle=cycle, kind="school",
                             code=sample.schools["A1a-1"].code)


def test_review_chain_county_reviews_schools_province_reviews_counties(sample: World, cycle: Any) -> None:
    code = sample.schools["A1a-1"].code
    _fill(sample, cycle)
    services.check_submit(actor=sample.users["school_head@A"], cycle=cycle, kind="school", code=code)
    for persona, error in (("province_coordinator@A", PermissionDenied), ("city_viewer@A", PermissionDenied),
                           ("national_admin@A", PermissionDenied), ("school_head@A", PermissionDenied),
                           ("county_liaison@B", NotFound)):
        with pytest.raises(error):
            services.check_review(actor=sample.users[persona], cycle=cycle, kind="school", code=code, approve=True)
    county = sample.regions["A1a"].code
    liaison = sample.users["county_liaison@A"]
    services.check_save(actor=liaison, cycle=cycle, kind="county", code=county, raw=full_answers(cycle, "county"))
    services.evidence_add(actor=liaison, cycle=cycle, kind="county", code=county, item_id="secure_room_photo",
                          file_name="room.png", data=PNG)
    services.check_submit(actor=liaison, cycle=cycle, kind="county", code=county)
    with pytest.raises(PermissionDenied):
        services.check_review(actor=liaison, cycle=cycle, kind="county", code=county, approve=True)
    with pytest.raises(PermissionDenied):
        services.check_review(actor=sample.users["city_viewer@A"], cycle=cycle, kind="county", code=county,
                              approve=True)
    check = services.check_review(actor=sample.users["province_coordinator@A"], cycle=cycle, kind="county",
                                  code=county, approve=True)
    assert check.status == CheckStatus.APPROVED
    with pytest.raises(InvalidInput):  # only a submitted form is reviewed
        services.check_review(actor=sample.users["province_coordinator@A"], cycle=cycle, kind="county",
                              code=county, approve=True)


@pytest.mark.parametrize(("name", "data", "code"), [
    ("cabinet.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "evidence_svg"),
    ("cabinet.png", b"<?xml version='1.0'?><svg/>", "evidence_svg"),
    ("cabinet.exe", b"MZ...", "evidence_type"),
    ("cabinet.png", b"GIF89a....", "evidence_mismatch"),
    ("cabinet.pdf", b"", "evidence_empty"),
])
def test_evidence_type_is_checked(sample: World, cycle: Any, name: str, data: bytes, code: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        services.evidence_add(actor=sample.users["school_head@A"], cycle=cycle, kind="school",
                              code=sample.schools["A1a-1"].code, item_id="cabinet_photo", file_name=name, data=data)
    assert exc.value.code == code
    assert not Evidence.objects.exists()


def test_evidence_size_is_capped(sample: World, cycle: Any) -> None:
    from naeq.readiness.evidence import MAX_EVIDENCE_BYTES

    with pytest.raises(InvalidInput) as exc:
        services.evidence_add(actor=sample.users["school_head@A"], cycle=cycle, kind="school",
                              code=sample.schools["A1a-1"].code, item_id="cabinet_photo", file_name="big.pdf",
                              data=b"%PDF-" + b"0" * MAX_EVIDENCE_BYTES)
    assert exc.value.code == "evidence_too_large"


def test_evidence_is_stored_under_a_generated_name_inside_the_secret_store(sample: World, cycle: Any) -> None:
    services.evidence_add(actor=sample.users["school_head@A"], cycle=cycle, kind="school",
                          code=sample.schools["A1a-1"].code, item_id="cabinet_photo",
                          file_name="../../../etc/passwd.png", data=PNG)
    ev = Evidence.objects.get()
    assert ev.original_name == "passwd.png" and "/" not in ev.stored_name
    path = evidence_root() / str(ev.selfcheck_id) / ev.stored_name
    assert path.read_bytes() == PNG
    assert AuditEvent.objects.filter(action="readiness.evidence_add", after__sha256=ev.sha256).exists()
    with pytest.raises(InvalidInput):  # evidence only on evidence items
        services.evidence_add(actor=sample.users["school_head@A"], cycle=cycle, kind="school",
                              code=sample.schools["A1a-1"].code, item_id="two_locks", file_name="a.png", data=PNG)


def test_readiness_summary_counts_per_county(sample: World, cycle: Any) -> None:
    code = sample.schools["A1a-1"].code
    _fill(sample, cycle)
    services.check_submit(actor=sample.users["school_head@A"], cycle=cycle, kind="school", code=code)
    rows = {r.county.code: r for r in selectors.readiness_summary(actor=sample.users["province_coordinator@A"],
                                                                   cycle=cycle)}
    assert set(rows) == {sample.regions["A1a"].code, sample.regions["A1b"].code}
    a = rows[sample.regions["A1a"].code]
    assert a.schools == 2 and a.by_status["submitted"] == 1 and a.by_status["not_started"] == 1
    assert a.county_status == "not_started" and a.trained_complete == 0
    county_rows = selectors.readiness_summary(actor=sample.users["county_liaison@A"], cycle=cycle)
    assert [r.county.code for r in county_rows] == [sample.regions["A1a"].code]
    nat = selectors.readiness_summary(actor=sample.users["national_analyst@A"], cycle=cycle)
    assert len(nat) == 4
