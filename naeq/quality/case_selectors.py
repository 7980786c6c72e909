"""Reads of investigation cases, through the actor's access (:mod:`naeq.quality.access`): the cases the actor may
see (filtered by state, cycle and county; a page at a time by key, newest first), one case with its log, evidence,
linked screened unit and pairs, and the case list as rows for an export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from naeq.quality import access
from naeq.quality.models import Case, CaseEvent, CaseEvidence, CaseState, ScreenedPair, ScreenedUnit, UnitLevel

PAGE = 50


def cases_filtered(*, actor: Any, state: str = "", cycle_id: int | None = None,
                   county_id: int | None = None) -> QuerySet[Case]:
    qs = access.cases_visible(actor=actor)
    if state:
        qs = qs.filter(state=state) if state in CaseState.values else qs.none()
    if cycle_id:
        qs = qs.filter(cycle_id=cycle_id)
    if county_id:
        qs = qs.filter(county_id=county_id)
    return qs


def cases_page(*, actor: Any, state: str = "", cycle_id: int | None = None, county_id: int | None = None,
               before: int | None = None, limit: int = PAGE) -> tuple[list[Case], int | None]:
    """One page of the visible cases, newest first (``id < before``), and the key of the next page (None at the
    end)."""
    qs = cases_filtered(actor=actor, state=state, cycle_id=cycle_id, county_id=county_id)
    if before:
        qs = qs.filter(id__lt=before)
    rows = list(qs.select_related("cycle", "county", "school", "investigator").order_by("-id")[: limit + 1])
    nxt = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], nxt


def cases_rows(*, actor: Any, state: str = "", cycle_id: int | None = None,
               county_id: int | None = None) -> Iterator[tuple[Any, ...]]:
    """The visible cases as export rows (number, year, instrument, level, county, school, title, state,
    investigator, opened, decided, reason)."""
    qs = cases_filtered(actor=actor, state=state, cycle_id=cycle_id, county_id=county_id).order_by("id")
    labels = dict(CaseState.choices)
    levels = dict(UnitLevel.choices)
    for c in qs.values_list("number", "cycle__year", "instrument_code", "level", "county__code", "county__name",
                            "school__code", "school__name", "title", "state", "investigator__username",
                            "opened_at", "decided_at", "decision_reason").iterator(chunk_size=2000):
        yield (c[0], c[1], c[2], str(levels.get(c[3], c[3])), c[4], c[5], c[6] or "", c[7] or "", c[8],
               str(labels.get(c[9], c[9])), c[10] or "", c[11].replace(tzinfo=None) if c[11] else None,
               c[12].replace(tzinfo=None) if c[12] else None, c[13])


@dataclass
class CaseDetail:
    case: Case
    events: list[CaseEvent]
    evidence: list[CaseEvidence]
    unit: ScreenedUnit | None
    pairs: list[ScreenedPair]


def case_detail(*, actor: Any, case_id: int, pairs: int = 20) -> CaseDetail:
    case = access.case_access(actor=actor, case_id=case_id)
    events = list(CaseEvent.objects.filter(case=case).select_related("actor").order_by("at", "id"))
    evidence = list(CaseEvidence.objects.filter(case=case).select_related("added_by").order_by("added_at", "id"))
    unit = ScreenedUnit.objects.filter(pk=case.unit_id).select_related("school", "county").first() \
        if case.unit_id else None
    linked: list[ScreenedPair] = []
    if unit is not None:
        qs = ScreenedPair.objects.filter(run_id=unit.run_id)
        if unit.level == UnitLevel.SCHOOL and unit.school_id is not None:
            qs = qs.filter(school_id=unit.school_id)
        else:
            qs = qs.filter(county_id=unit.county_id)
        linked = list(qs.select_related("person_a", "person_b").order_by("omega_p", "id")[:pairs])
    return CaseDetail(case=case, events=events, evidence=evidence, unit=unit, pairs=linked)


def evidence_get(*, actor: Any, case_id: int, evidence_id: int) -> CaseEvidence:
    """One evidence of a case the actor may see (else NotFound)."""
    from django.utils.translation import gettext as _

    from naeq.core.errors import NotFound

    case = access.case_access(actor=actor, case_id=case_id)
    ev = CaseEvidence.objects.filter(case=case, pk=evidence_id).first()
    if ev is None:
        raise NotFound(_("没有找到该证据。"))
    return ev
