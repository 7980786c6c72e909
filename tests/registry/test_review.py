"""The review chains (naeq.registry.review and the submission services): response, then database, then audit."""

from __future__ import annotations

import pytest

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.registry import review
from naeq.registry.models import School, Submission, SubmissionKind, SubmissionStatus
from naeq.registry.selectors import review_queue, submission_for, submission_list, submission_progress
from naeq.registry.services import (
    frame_lock,
    submission_get_or_create,
    submission_require_editable,
    submission_review,
    submission_submit,
)
from tests.personas import World

YEAR = 2026
REG = SubmissionKind.REGISTRY


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def _sibling_officer(world: World, county: str) -> object:
    from naeq.accounts.roles import Role
    from naeq.accounts.services import user_create

    return user_create(actor=None, username=f"officer_{county.lower()}", password="x-pass-2026-long",
                       role=Role.COUNTY_INFO_OFFICER, region=world.regions[county])


def test_registry_chain_submit_return_resubmit_approve_lock(world: World) -> None:
    county = world.regions["A1a"]
    liaison, coordinator = world.users["county_liaison@A"], world.users["province_coordinator@A"]

    s = submission_submit(actor=liaison, kind=REG, year=YEAR, county_code=county.code)
    assert (s.status, s.pending_level) == (SubmissionStatus.SUBMITTED, "province")
    s.refresh_from_db()
    assert s.status == SubmissionStatus.SUBMITTED and s.updated_by == liaison
    submit = _events("registry.submission.submit")
    assert len(submit) == 1 and submit[0].before["status"] == "draft" and submit[0].after["status"] == "submitted"
    assert submit[0].object_id == f"registry:{YEAR}:{county.code}"

    # While submitted the county cannot change its registry.
    with pytest.raises(InvalidInput) as locked:
        submission_require_editable(kind=REG, year=YEAR, county=county)
    assert locked.value.code == "submission_not_editable"
    assert list(review_queue(actor=coordinator, kind=REG, year=YEAR)) == [s]

    # Returning needs a reason; without one nothing changes.
    with pytest.raises(InvalidInput) as no_reason:
        submission_review(actor=coordinator, submission_id=s.pk, approve=False, reason="  ")
    assert no_reason.value.problems[0].field == "reason"
    s.refresh_from_db()
    assert s.status == SubmissionStatus.SUBMITTED
    assert _events("registry.submission.return") == []

    s = submission_review(actor=coordinator, submission_id=s.pk, approve=False, reason="第3行学校班级数有误")
    assert (s.status, s.pending_level, s.reason) == (SubmissionStatus.RETURNED, "", "第3行学校班级数有误")
    s.refresh_from_db()
    assert s.status == SubmissionStatus.RETURNED
    ret = _events("registry.submission.return")
    assert ret[0].after["reason"] == "第3行学校班级数有误" and ret[0].before["status"] == "submitted"
    submission_require_editable(kind=REG, year=YEAR, county=county)  # editable again

    s = submission_submit(actor=liaison, kind=REG, year=YEAR, county_code=county.code)
    s = submission_review(actor=coordinator, submission_id=s.pk, approve=True)
    assert (s.status, s.pending_level) == (SubmissionStatus.APPROVED, "nation")
    assert _events("registry.submission.approve")[0].after["status"] == "approved"

    # The province cannot be locked while its sibling county has not been approved.
    admin = world.users["national_admin@A"]
    with pytest.raises(InvalidInput) as not_ready:
        frame_lock(actor=admin, year=YEAR, province_code=world.regions["A"].code)
    assert not_ready.value.code == "frame_not_ready"
    assert [p.field for p in not_ready.value.problems] == [world.regions["A1b"].code]
    s.refresh_from_db()
    assert s.status == SubmissionStatus.APPROVED

    other = _sibling_officer(world, "A1b")
    s2 = submission_submit(actor=other, kind=REG, year=YEAR, county_code=world.regions["A1b"].code)
    submission_review(actor=coordinator, submission_id=s2.pk, approve=True)
    assert frame_lock(actor=admin, year=YEAR, province_code=world.regions["A"].code) == 2
    assert set(Submission.objects.values_list("status", flat=True)) == {SubmissionStatus.LOCKED}
    lock = _events("registry.frame.lock")
    assert lock[0].after == {"status": "locked", "counties": sorted([county.code, world.regions["A1b"].code])}
    with pytest.raises(InvalidInput):
        submission_require_editable(kind=REG, year=YEAR, county=county)
    with pytest.raises(InvalidInput):
        submission_submit(actor=liaison, kind=REG, year=YEAR, county_code=county.code)


def test_wrong_people_cannot_act(world: World) -> None:
    county = world.regions["A1a"]
    # A province coordinator does not submit a county's registry; a city viewer reads only.
    with pytest.raises(PermissionDenied):
        submission_submit(actor=world.users["province_coordinator@A"], kind=REG, year=YEAR, county_code=county.code)
    with pytest.raises(PermissionDenied):
        submission_submit(actor=world.users["city_viewer@A"], kind=REG, year=YEAR, county_code=county.code)
    # Outside the jurisdiction: not found, same as a county that does not exist.
    with pytest.raises(NotFound) as outside:
        submission_submit(actor=world.users["county_liaison@B"], kind=REG, year=YEAR, county_code=county.code)
    with pytest.raises(NotFound) as missing:
        submission_submit(actor=world.users["county_liaison@B"], kind=REG, year=YEAR, county_code="319999")
    assert str(outside.value) == str(missing.value)
    assert not Submission.objects.exists()

    s = submission_submit(actor=world.users["county_info_officer@A"], kind=REG, year=YEAR, county_code=county.code)
    for persona, error in (("province_coordinator@B", NotFound), ("county_liaison@A", PermissionDenied),
                           ("city_viewer@A", PermissionDenied), ("national_admin@A", PermissionDenied),
                           ("school_head@A", NotFound), ("student@A", NotFound)):
        with pytest.raises(error):
            submission_review(actor=world.users[persona], submission_id=s.pk, approve=True)
    with pytest.raises(PermissionDenied):
        frame_lock(actor=world.users["province_coordinator@A"], year=YEAR)
    with pytest.raises(PermissionDenied):
        frame_lock(actor=world.users["national_analyst@A"], year=YEAR)
    s.refresh_from_db()
    assert s.status == SubmissionStatus.SUBMITTED
    assert _events("registry.submission.approve") == []


def test_empty_county_cannot_submit(world: World) -> None:
    county = world.regions["A1b"]
    School.objects.filter(county=county).delete()
    with pytest.raises(InvalidInput) as empty:
        submission_submit(actor=_sibling_officer(world, "A1b"), kind=REG, year=YEAR, county_code=county.code)
    assert empty.value.code == "registry_empty"
    assert not Submission.objects.filter(status=SubmissionStatus.SUBMITTED).exists()


def test_roster_chain_goes_school_county_province(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(review._SUBMIT_CHECKS, SubmissionKind.ROSTER, [])
    school = world.schools["A1a-1"]
    s = submission_submit(actor=world.users["school_info_officer@A"], kind=SubmissionKind.ROSTER, year=YEAR,
                          school_code=school.code)
    assert (s.status, s.pending_level, s.county_id, s.school_id) == ("submitted", "county", school.county_id,
                                                                      school.pk)
    with pytest.raises(PermissionDenied):  # not the province's turn yet
        submission_review(actor=world.users["province_coordinator@A"], submission_id=s.pk, approve=True)
    assert list(review_queue(actor=world.users["county_liaison@A"], kind=SubmissionKind.ROSTER, year=YEAR)) == [s]
    s = submission_review(actor=world.users["county_liaison@A"], submission_id=s.pk, approve=True)
    assert (s.status, s.pending_level) == ("submitted", "province")
    s = submission_review(actor=world.users["province_coordinator@A"], submission_id=s.pk, approve=True)
    assert (s.status, s.pending_level) == ("approved", "")
    with pytest.raises(InvalidInput):
        submission_require_editable(kind=SubmissionKind.ROSTER, year=YEAR, school=school)
    # The county's officers may submit for one of their schools; the province may not.
    other = submission_submit(actor=world.users["county_info_officer@A"], kind=SubmissionKind.ROSTER, year=YEAR,
                              school_code=world.schools["A1a-2"].code)
    assert (other.status, other.pending_level) == ("submitted", "county")
    with pytest.raises(PermissionDenied):
        submission_submit(actor=world.users["province_coordinator@A"], kind=SubmissionKind.ROSTER, year=YEAR,
                          school_code=world.schools["A1b-1"].code)
    # Another school's roster is untouched and still editable.
    submission_require_editable(kind=SubmissionKind.ROSTER, year=YEAR, school=world.schools["A1b-1"])
    assert [e.after["pending_level"] for e in AuditEvent.objects.filter(
        action__startswith="registry.submission.").exclude(action="registry.submission.create").order_by("id")] == [
        "county", "province", "", "county"]


def test_get_or_create_and_reads(world: World) -> None:
    county = world.regions["A1a"]
    viewer = world.users["city_viewer@A"]
    assert submission_for(actor=viewer, kind=REG, year=YEAR, county_code=county.code) is None
    with pytest.raises(PermissionDenied):
        submission_get_or_create(actor=viewer, kind=REG, year=YEAR, county_code=county.code)
    s = submission_get_or_create(actor=world.users["county_liaison@A"], kind=REG, year=YEAR,
                                 county_code=county.code)
    assert s.status == SubmissionStatus.DRAFT
    again = submission_get_or_create(actor=world.users["province_coordinator@A"], kind=REG, year=YEAR,
                                     county_code=county.code)
    assert again.pk == s.pk and Submission.objects.count() == 1
    assert len(_events("registry.submission.create")) == 1
    assert submission_for(actor=viewer, kind=REG, year=YEAR, county_code=county.code) == s
    assert list(submission_list(actor=world.users["province_coordinator@B"], kind=REG, year=YEAR)) == []
    with pytest.raises(InvalidInput):
        submission_get_or_create(actor=world.users["national_admin@A"], kind=REG, year=YEAR,
                                 county_code=world.regions["A1"].code)


def test_progress_counts_every_county(world: World) -> None:
    submission_submit(actor=world.users["county_liaison@A"], kind=REG, year=YEAR, county_code="310101")
    rows = submission_progress(actor=world.users["national_admin@A"], kind=REG, year=YEAR)
    assert [(r.region.code, r.counts["draft"], r.counts["submitted"], r.total) for r in rows] == [
        ("310000", 1, 1, 2), ("440000", 2, 0, 2)]
    rows = submission_progress(actor=world.users["city_viewer@A"], kind=REG, year=YEAR)
    assert [(r.region.code, r.status) for r in rows] == [("310101", "submitted"), ("310102", "draft")]
    rows = submission_progress(actor=world.users["national_admin@A"], kind=REG, year=YEAR, region_code="440000")
    assert [r.region.code for r in rows] == ["440101", "440102"]
    with pytest.raises(NotFound):
        submission_progress(actor=world.users["city_viewer@A"], kind=REG, year=YEAR, region_code="440000")
    assert submission_progress(actor=world.users["school_head@A"], kind=REG, year=YEAR) == []


def test_whole_country_lock_and_reason_limit(world: World) -> None:
    coordinators = {"A": world.users["province_coordinator@A"], "B": world.users["province_coordinator@B"]}
    submissions = []
    for key in ("A1a", "A1b", "B1a", "B1b"):
        officer = world.users[f"county_liaison@{key[0]}"] if key.endswith("a") else _sibling_officer(world, key)
        submissions.append(submission_submit(actor=officer, kind=REG, year=YEAR,
                                             county_code=world.regions[key].code))
    with pytest.raises(InvalidInput) as too_long:
        submission_review(actor=coordinators["A"], submission_id=submissions[0].pk, approve=False, reason="长" * 501)
    assert too_long.value.problems[0].field == "reason"
    for s in submissions:
        submission_review(actor=coordinators["A" if s.county.code.startswith("31") else "B"],
                          submission_id=s.pk, approve=True)
    admin = world.users["national_admin@A"]
    assert frame_lock(actor=admin, year=YEAR) == 4
    assert frame_lock(actor=admin, year=YEAR) == 0  # already locked: nothing more to lock, still consistent
    assert set(Submission.objects.values_list("status", "pending_level")) == {(SubmissionStatus.LOCKED, "")}
    assert [e.object_id for e in _events("registry.frame.lock")] == [f"{YEAR}:all"]
    with pytest.raises(InvalidInput):  # another year has nothing approved
        frame_lock(actor=admin, year=YEAR + 1)


@pytest.mark.parametrize("kind", [SubmissionKind.ROSTER, SubmissionKind.TEST_TAKERS])
def test_school_kinds_return_to_the_school(world: World, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Other apps register their own pre-submit checks (e.g. "students drawn"); the chain is tested without them.
    monkeypatch.setitem(review._SUBMIT_CHECKS, kind, [])
    school = world.schools["A1a-1"]
    s = submission_submit(actor=world.users["school_head@A"], kind=kind, year=YEAR, school_code=school.code)
    s = submission_review(actor=world.users["county_info_officer@A"], submission_id=s.pk, approve=False,
                          reason="缺少2名学生")
    assert (s.status, s.reason) == (SubmissionStatus.RETURNED, "缺少2名学生")
    submission_require_editable(kind=kind, year=YEAR, school=school)
    with pytest.raises(InvalidInput):  # a school-level kind needs a school
        submission_submit(actor=world.users["school_head@A"], kind=kind, year=YEAR, county_code="310101")
    with pytest.raises(NotFound):  # another school of the county is not the school head's
        submission_submit(actor=world.users["school_head@A"], kind=kind, year=YEAR,
                          school_code=world.schools["A1a-2"].code)


def test_frame_loaded_by_the_centre_is_locked_as_it_stands(world: World) -> None:
    """A frame the national centre loaded itself (statistics, synthetic world) is locked without county review:
    counties never in the chain are approved and locked, audited under their own action with their codes; a county
    whose submission is under review or returned stops it, and nothing changes."""
    admin = world.users["national_admin@A"]
    county = world.regions["A1a"]
    submission_submit(actor=world.users["county_liaison@A"], kind=REG, year=YEAR, county_code=county.code)
    with pytest.raises(InvalidInput) as busy:
        frame_lock(actor=admin, year=YEAR, province_code=world.regions["A"].code, accept_unreviewed=True)
    assert busy.value.code == "frame_under_review"
    assert [p.field for p in busy.value.problems] == [county.code]
    assert Submission.objects.count() == 1 and not _events("registry.frame.accept_unreviewed")
    # Province B never entered the chain: locked as loaded.
    assert frame_lock(actor=admin, year=YEAR, province_code=world.regions["B"].code, accept_unreviewed=True) == 2
    b_codes = sorted([world.regions["B1a"].code, world.regions["B1b"].code])
    locked = Submission.objects.filter(status=SubmissionStatus.LOCKED)
    assert sorted(locked.values_list("county__code", flat=True)) == b_codes
    (accepted,) = _events("registry.frame.accept_unreviewed")
    assert accepted.after == {"status": SubmissionStatus.APPROVED, "counties": b_codes}
    assert _events("registry.frame.lock")[-1].after["counties"] == b_codes
    with pytest.raises(PermissionDenied):
        frame_lock(actor=world.users["province_coordinator@A"], year=YEAR, accept_unreviewed=True)
