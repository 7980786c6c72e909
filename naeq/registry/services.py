"""Writes to the registry. Every write goes through the access funnel and is audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Level
from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, PermissionDenied, Problem
from naeq.core.validation import full_clean_or_raise
from naeq.registry import review
from naeq.registry.access import (
    region_access,
    region_access_for_write,
    school_access,
    school_access_for_write,
    submission_access_for_action,
)
from naeq.registry.models import Region, RegionLevel, School, Submission, SubmissionKind, SubmissionStatus

MAILING_FIELDS = ("mailing_address", "postcode", "mailing_recipient", "mailing_phone", "supervision_hotline")
SCHOOL_EDITABLE_FIELDS = ("name", "urban_rural", "ownership", "g4_enrollment", "g4_classes", "g8_enrollment",
                          "g8_classes")


@transaction.atomic
def county_mailing_update(*, actor: Any, code: str, **changes: str) -> Region:
    """Update a county's mailing details (where instruments are posted and returned from)."""
    region = region_access_for_write(actor=actor, code=code)
    if region.level != RegionLevel.COUNTY:
        raise InvalidInput(_("只有县级区域有邮寄信息。"))
    unknown = set(changes) - set(MAILING_FIELDS)
    if unknown:
        raise TypeError(f"not mailing fields: {sorted(unknown)}")
    before = {f: getattr(region, f) for f in MAILING_FIELDS}
    for f, v in changes.items():
        setattr(region, f, v.strip())
    full_clean_or_raise(region)
    region.save(update_fields=list(changes))
    audit_record(actor=actor, action="registry.county.mailing_update", object_type="region", object_id=code,
                 before=before, after={f: getattr(region, f) for f in MAILING_FIELDS})
    return region


@transaction.atomic
def school_update(*, actor: Any, code: str, **changes: Any) -> School:
    """Update a school's registry record (name, classification, enrollment and classes)."""
    school = school_access_for_write(actor=actor, code=code)
    unknown = set(changes) - set(SCHOOL_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable school fields: {sorted(unknown)}")
    before = {f: getattr(school, f) for f in SCHOOL_EDITABLE_FIELDS}
    for f, v in changes.items():
        setattr(school, f, v)
    full_clean_or_raise(school)
    school.save(update_fields=list(changes))
    audit_record(actor=actor, action="registry.school.update", object_type="school", object_id=code,
                 before=before, after={f: getattr(school, f) for f in SCHOOL_EDITABLE_FIELDS})
    return school


# ------------------------------------------------------------------------------------------------ review chain


def _submission_target(*, actor: Any, kind: str, county_code: str | None,
                       school_code: str | None) -> tuple[Region, School | None]:
    """The county (and school, for school-level kinds) a submission is about, through the access funnel."""
    review.chain_for(kind)
    if kind in review.SCHOOL_KINDS:
        if not school_code:
            raise InvalidInput(_("请指定学校。"), problems=[Problem(_("请指定学校。"), field="school_code")])
        school = school_access(actor=actor, code=school_code)
        return school.county, school
    if not county_code:
        raise InvalidInput(_("请指定县（区）。"), problems=[Problem(_("请指定县（区）。"), field="county_code")])
    county = region_access(actor=actor, code=county_code)
    if county.level != RegionLevel.COUNTY:
        raise InvalidInput(_("属地学校信息按县（区）提交，请指定县级区域。"))
    return county, None


def _submission_filter(kind: str, year: int, county: Region | None, school: School | None) -> dict[str, Any]:
    if school is not None:
        return {"kind": kind, "year": year, "school": school}
    return {"kind": kind, "year": year, "county": county, "school__isnull": True}


def _submission_state(s: Submission) -> dict[str, Any]:
    return {"kind": s.kind, "year": s.year, "county": s.county.code,
            "school": s.school.code if s.school is not None else None, "status": s.status,
            "pending_level": s.pending_level, "reason": s.reason}


def _submission_object_id(s: Submission) -> str:
    return f"{s.kind}:{s.year}:{s.school.code if s.school is not None else s.county.code}"


def _check_year(year: int) -> None:
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InvalidInput(_("监测年度无效。"), problems=[Problem(_("监测年度无效。"), field="year", value=year)])


def _get_or_create_locked(actor: Any, kind: str, year: int, county: Region,
                          school: School | None) -> tuple[Submission, bool]:
    existing = (Submission.objects.select_for_update(of=("self",)).order_by("pk")
                .filter(**_submission_filter(kind, year, county, school)))
    submission = existing.first()
    if submission is not None:
        return submission, False
    submission = Submission(kind=kind, year=year, county=county, school=school, status=SubmissionStatus.DRAFT,
                            updated_by=actor if getattr(actor, "pk", None) else None)
    full_clean_or_raise(submission)
    submission.save()
    audit_record(actor=actor, action="registry.submission.create", object_type="submission",
                 object_id=_submission_object_id(submission), before=None, after=_submission_state(submission))
    return submission, True


@transaction.atomic
def submission_get_or_create(*, actor: Any, kind: str, year: int, county_code: str | None = None,
                             school_code: str | None = None) -> Submission:
    """The submission of ``kind`` for the county (or school) and year, created as a draft if there is none.
    Creating is a write: read-only accounts get PermissionDenied (use the selectors to only read)."""
    _check_year(year)
    county, school = _submission_target(actor=actor, kind=kind, county_code=county_code, school_code=school_code)
    existing = Submission.objects.filter(**_submission_filter(kind, year, county, school)).first()
    if existing is not None:
        return existing
    if not jurisdiction_of(actor).can_write_registry:
        raise PermissionDenied(_("您的账户只能查看，不能修改。"))
    return _get_or_create_locked(actor, kind, year, county, school)[0]


def submission_require_editable(*, kind: str, year: int, county: Region | None = None,
                                school: School | None = None) -> None:
    """Raise InvalidInput unless the submission is a draft or returned (no submission yet counts as a draft).

    Call it inside the transaction of the write it guards: the row is locked until that transaction ends, so a
    concurrent submit cannot slip between the check and the write."""
    if county is None and school is None:
        raise TypeError("submission_require_editable needs a county or a school")
    with transaction.atomic():
        submission = (Submission.objects.select_for_update(of=("self",)).order_by("pk")
                      .filter(**_submission_filter(kind, year, county, school)).first())
    if submission is None or submission.status in review.EDITABLE:
        return
    label = SubmissionStatus(submission.status).label
    raise InvalidInput(
        _("%(kind)s（%(year)s年度）当前状态为“%(status)s”，不能修改；只有未提交或已退回时可以修改。")
        % {"kind": SubmissionKind(kind).label, "year": year, "status": label},
        code="submission_not_editable", details={"status": submission.status},
    )


def _county_has_schools(submission: Submission) -> None:
    if not School.objects.filter(county_id=submission.county_id).exists():
        raise InvalidInput(_("该县（区）尚无学校信息，请先上传属地学校信息再提交。"), code="registry_empty")


review.register_submit_check(SubmissionKind.REGISTRY, _county_has_schools)


@transaction.atomic
def submission_submit(*, actor: Any, kind: str, year: int, county_code: str | None = None,
                      school_code: str | None = None) -> Submission:
    """The submitter (county officers for the registry, the school for rosters and test takers) hands the data
    to the first reviewer. Only a draft or returned submission can be submitted."""
    _check_year(year)
    county, school = _submission_target(actor=actor, kind=kind, county_code=county_code, school_code=school_code)
    j = jurisdiction_of(actor)
    if not j.can_write_registry:
        raise PermissionDenied(_("您的账户只能查看，不能修改。"))
    chain = review.chain_for(kind)
    if not chain.may_submit(j.role):
        raise PermissionDenied(_("%(kind)s由%(level)s提交。")
                               % {"kind": SubmissionKind(kind).label, "level": Level(chain.submitter).label})
    submission, _created = _get_or_create_locked(actor, kind, year, county, school)
    if submission.status not in review.EDITABLE:
        raise InvalidInput(_("当前状态为“%(status)s”，不能再次提交。")
                           % {"status": SubmissionStatus(submission.status).label}, code="submission_not_editable")
    for check in review.submit_checks(kind):
        check(submission)
    before = _submission_state(submission)
    submission.status, submission.pending_level = review.after_submit(kind)
    submission.updated_by = actor
    full_clean_or_raise(submission)
    submission.save()
    audit_record(actor=actor, action="registry.submission.submit", object_type="submission",
                 object_id=_submission_object_id(submission), before=before, after=_submission_state(submission))
    return submission


#: Longest return reason kept.
REASON_MAX = 500


@transaction.atomic
def submission_review(*, actor: Any, submission_id: int, approve: bool, reason: str = "") -> Submission:
    """The reviewer whose turn it is approves (the submission moves up the chain) or returns it with a reason
    (the submitter may change it and submit again)."""
    submission = submission_access_for_action(actor=actor, submission_id=submission_id)
    submission = (Submission.objects.select_for_update(of=("self",)).select_related("county", "school")
                  .get(pk=submission.pk))
    j = jurisdiction_of(actor)
    if submission.status != SubmissionStatus.SUBMITTED:
        raise InvalidInput(_("该提交当前状态为“%(status)s”，不在审核中。")
                           % {"status": SubmissionStatus(submission.status).label}, code="not_pending")
    if not review.acts_at(j.role, submission.pending_level):
        raise PermissionDenied(_("该提交当前由%(level)s审核。") % {"level": Level(submission.pending_level).label})
    reason = (reason or "").strip()
    if not approve and not reason:
        message = _("退回时必须填写退回原因。")
        raise InvalidInput(message, problems=[Problem(message, field="reason")], code="reason_required")
    if len(reason) > REASON_MAX:
        message = _("退回原因不能超过%(n)d个字。") % {"n": REASON_MAX}
        raise InvalidInput(message, problems=[Problem(message, field="reason")])
    before = _submission_state(submission)
    if approve:
        submission.status, submission.pending_level = review.after_approve(submission.kind, submission.pending_level)
    else:
        submission.status, submission.pending_level = review.after_return()
        submission.reason = reason
    submission.updated_by = actor
    full_clean_or_raise(submission)
    submission.save()
    audit_record(actor=actor, action="registry.submission." + ("approve" if approve else "return"),
                 object_type="submission", object_id=_submission_object_id(submission), before=before,
                 after={**_submission_state(submission), **({"reason": reason} if reason else {})})
    return submission


@transaction.atomic
def frame_lock(*, actor: Any, year: int, province_code: str | None = None, accept_unreviewed: bool = False) -> int:
    """The national centre locks the sampling frame of one province (or of all): every county's registry must be
    approved by its province first. Returns how many county registries were locked now.

    ``accept_unreviewed`` locks the registry as it stands in the database for counties that have not been through
    the review chain — for a frame the national centre loaded itself (from the education statistics, or a
    synthetic world) rather than collected from the counties. It is recorded as its own audit action with the
    county codes. Counties under review or returned are never locked this way."""
    _check_year(year)
    j = jurisdiction_of(actor)
    if not (j.is_national and review.acts_at(j.role, Level.NATION)):
        raise PermissionDenied(_("只有国家监测中心管理员可以锁定抽样框。"))
    counties = Region.objects.filter(level=RegionLevel.COUNTY)
    if province_code:
        province = region_access(actor=actor, code=province_code)
        if province.level != RegionLevel.PROVINCE:
            raise InvalidInput(_("请指定省级区域。"))
        counties = counties.filter(path__startswith=province.path)
    if not counties.exists():
        raise InvalidInput(_("没有可锁定的县（区）。"))
    registry = Submission.objects.filter(kind=SubmissionKind.REGISTRY, year=year, county__in=counties)
    list(registry.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True))  # lock them
    if accept_unreviewed:
        _accept_unreviewed(actor=actor, year=year, counties=counties, registry=registry,
                           scope=province_code or "all")
    ready = registry.filter(status__in=[SubmissionStatus.APPROVED, SubmissionStatus.LOCKED]).values("county_id")
    not_ready = counties.exclude(pk__in=ready).order_by("code")
    missing = list(not_ready[:51])
    if missing:
        status_of = dict(registry.filter(county__in=missing).values_list("county_id", "status"))
        problems = [
            Problem(_("%(county)s的属地学校信息尚未通过省级审核（%(status)s）。")
                    % {"county": c, "status": SubmissionStatus(status_of.get(c.pk, SubmissionStatus.DRAFT)).label},
                    field=c.code)
            for c in missing[:50]
        ]
        raise InvalidInput(_("有%(n)d个县（区）的属地学校信息尚未通过审核，不能锁定。") % {"n": not_ready.count()},
                           problems=problems, code="frame_not_ready")
    to_lock = registry.filter(status=SubmissionStatus.APPROVED)
    codes = sorted(to_lock.values_list("county__code", flat=True))
    n = to_lock.update(status=SubmissionStatus.LOCKED, pending_level="", updated_by=actor,
                       updated_at=timezone.now())
    if n == 0:
        return 0  # everything in scope was locked already: nothing happened, nothing to record
    audit_record(actor=actor, action="registry.frame.lock", object_type="frame",
                 object_id=f"{year}:{province_code or 'all'}",
                 before={"status": SubmissionStatus.APPROVED, "counties": codes},
                 after={"status": SubmissionStatus.LOCKED, "counties": codes})
    return n


def _accept_unreviewed(*, actor: Any, year: int, counties: Any, registry: Any, scope: str) -> None:
    """Mark the counties in scope that never entered the chain (no submission, or a draft) as approved, as loaded."""
    busy = registry.filter(status__in=[SubmissionStatus.SUBMITTED, SubmissionStatus.RETURNED])
    if busy.exists():
        raise InvalidInput(_("有县（区）的属地学校信息正在审核或已被退回，不能按现有数据直接锁定。"),
                           problems=[Problem(_("审核中或已退回"), field=c) for c in
                                     sorted(busy.values_list("county__code", flat=True))[:50]],
                           code="frame_under_review")
    have = set(registry.values_list("county_id", flat=True))
    now = timezone.now()
    Submission.objects.bulk_create([
        Submission(kind=SubmissionKind.REGISTRY, year=year, county_id=cid, status=SubmissionStatus.DRAFT,
                   updated_by=actor, updated_at=now)
        for cid in counties.exclude(pk__in=have).values_list("pk", flat=True)
    ], batch_size=1000)
    drafts = registry.filter(status=SubmissionStatus.DRAFT)
    codes = sorted(drafts.values_list("county__code", flat=True))
    if not codes:
        return
    drafts.update(status=SubmissionStatus.APPROVED, pending_level="", updated_by=actor, updated_at=now)
    audit_record(actor=actor, action="registry.frame.accept_unreviewed", object_type="frame",
                 object_id=f"{year}:{scope}", before={"status": SubmissionStatus.DRAFT, "counties": codes},
                 after={"status": SubmissionStatus.APPROVED, "counties": codes})
