"""The review chains: who submits each kind of data, who reviews it in which order, and who locks it.

REGISTRY (属地学校信息): the county submits → the province approves or returns → the national centre locks the
frame. ROSTER (样本校名单) and TEST_TAKERS (测试生基本信息): the school submits (or the county's officers submit for
it, as counties often collect the lists of their sample schools) → the county approves or returns → the province
approves or returns. A return needs a reason and hands the data back to the submitter, who may
change it and submit again; only a draft or returned submission may change
(:func:`naeq.registry.services.submission_require_editable`).

This module holds the rules as data and pure functions of (kind, status, level); the writes live in
:mod:`naeq.registry.services`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from naeq.accounts.roles import Level, Role
from naeq.registry.models import SubmissionKind, SubmissionStatus


@dataclass(frozen=True)
class Chain:
    submitter: str  # the level that uploads and submits
    reviewers: tuple[str, ...]  # levels that approve or return, in order
    locker: str | None  # the level that locks after the last approval, if any
    on_behalf: tuple[str, ...] = ()  # levels that may also submit for the submitter (county officers for schools)

    def may_submit(self, role: str) -> bool:
        return any(acts_at(role, level) for level in (self.submitter, *self.on_behalf))


CHAINS: dict[str, Chain] = {
    SubmissionKind.REGISTRY: Chain(submitter=Level.COUNTY, reviewers=(Level.PROVINCE,), locker=Level.NATION),
    SubmissionKind.ROSTER: Chain(submitter=Level.SCHOOL, reviewers=(Level.COUNTY, Level.PROVINCE), locker=None,
                                 on_behalf=(Level.COUNTY,)),
    SubmissionKind.TEST_TAKERS: Chain(submitter=Level.SCHOOL, reviewers=(Level.COUNTY, Level.PROVINCE),
                                      locker=None, on_behalf=(Level.COUNTY,)),
}

#: Kinds submitted per school (the others per county).
SCHOOL_KINDS = frozenset({SubmissionKind.ROSTER, SubmissionKind.TEST_TAKERS})

#: Statuses in which the submitter may still change the data.
EDITABLE = frozenset({SubmissionStatus.DRAFT, SubmissionStatus.RETURNED})

#: Roles that act in the chain at their level (others, e.g. city viewers or inspectors, only read).
CHAIN_ROLES: dict[str, frozenset[str]] = {
    Level.NATION: frozenset({Role.NATIONAL_ADMIN}),
    Level.PROVINCE: frozenset({Role.PROVINCE_COORDINATOR}),
    Level.COUNTY: frozenset({Role.COUNTY_LIAISON, Role.COUNTY_INFO_OFFICER}),
    Level.SCHOOL: frozenset({Role.SCHOOL_HEAD, Role.SCHOOL_INFO_OFFICER}),
}


def chain_for(kind: str) -> Chain:
    try:
        return CHAINS[kind]
    except KeyError:
        raise ValueError(f"unknown submission kind: {kind!r}") from None


def acts_at(role: str, level: str) -> bool:
    """Whether an account of this role acts in review chains at this level."""
    return role in CHAIN_ROLES.get(level, frozenset())


def after_submit(kind: str) -> tuple[str, str]:
    """(status, pending_level) once the submitter submits."""
    return SubmissionStatus.SUBMITTED, chain_for(kind).reviewers[0]


def after_approve(kind: str, level: str) -> tuple[str, str]:
    """(status, pending_level) once the reviewer at ``level`` approves."""
    chain = chain_for(kind)
    i = chain.reviewers.index(level)
    if i + 1 < len(chain.reviewers):
        return SubmissionStatus.SUBMITTED, chain.reviewers[i + 1]
    return SubmissionStatus.APPROVED, chain.locker or ""


def after_return() -> tuple[str, str]:
    return SubmissionStatus.RETURNED, ""


# ---------------------------------------------------------------------------------------- pre-submit checks

#: Checks run before a submission of a kind is accepted: ``check(submission) -> None`` raising InvalidInput
#: (e.g. "the county has no schools yet"). Apps register theirs with :func:`register_submit_check`.
SubmitCheck = Callable[[Any], None]
_SUBMIT_CHECKS: dict[str, list[SubmitCheck]] = {}


def register_submit_check(kind: str, check: SubmitCheck) -> None:
    chain_for(kind)
    checks = _SUBMIT_CHECKS.setdefault(kind, [])
    if check not in checks:
        checks.append(check)


def submit_checks(kind: str) -> list[SubmitCheck]:
    return list(_SUBMIT_CHECKS.get(kind, []))
