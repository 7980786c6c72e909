"""Reads of calibration runs, scoped through :mod:`naeq.scaling.access` (national staff only).

Person estimates are read a page at a time by key (``id > after``), and exports stream them with
``iterator()``: a national run's 200,000 rows are never loaded at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from naeq.cycles.models import Cycle
from naeq.delivery.models import Instrument
from naeq.scaling import access
from naeq.scaling.models import CalibrationItem, CalibrationPerson, CalibrationRun, RunStatus

PAGE = 50


def run_list(*, actor: Any, cycle: Cycle | None = None) -> QuerySet[CalibrationRun]:
    access.require_analyst(actor=actor)
    qs = access.runs_visible(actor=actor).select_related("cycle", "created_by").defer("summary")
    return qs.filter(cycle=cycle) if cycle is not None else qs


def run_statuses(*, actor: Any) -> QuerySet[CalibrationRun]:
    """The newest runs' progress only (what the polling list page asks for)."""
    access.require_analyst(actor=actor)
    return access.runs_visible(actor=actor).only("id", "status", "progress", "stage", "error")[:100]


def run_get(*, actor: Any, run_id: int) -> CalibrationRun:
    return access.run_access(actor=actor, run_id=run_id)


def run_items(*, actor: Any, run_id: int) -> tuple[CalibrationRun, QuerySet[CalibrationItem]]:
    run = access.run_access(actor=actor, run_id=run_id)
    return run, CalibrationItem.objects.filter(run=run).order_by("seq")


def run_persons_page(*, actor: Any, run_id: int, after: int = 0, limit: int = PAGE
                     ) -> tuple[CalibrationRun, list[CalibrationPerson], int | None]:
    """One page of a run's person estimates after key ``after``; the key of the next page (None at the end).
    Test takers are shown by their test ID only (pseudonymised: no names)."""
    run = access.run_access(actor=actor, run_id=run_id)
    rows = list(CalibrationPerson.objects.filter(run=run, id__gt=after).select_related("test_taker")
                .only("id", "booklet", "n_items", "raw_score", "max_score", "eap", "eap_se", "wle", "wle_se",
                      "pvs", "test_taker__code").order_by("id")[: limit + 1])
    nxt = rows[limit - 1].id if len(rows) > limit else None
    return run, rows[:limit], nxt


def run_persons_stream(*, actor: Any, run_id: int) -> tuple[CalibrationRun, Iterator[tuple[Any, ...]]]:
    run = access.run_access(actor=actor, run_id=run_id)
    rows = (CalibrationPerson.objects.filter(run=run).order_by("id")
            .values_list("test_taker__code", "booklet", "n_items", "raw_score", "max_score", "eap", "eap_se", "wle",
                         "wle_se", "pvs").iterator(chunk_size=5000))
    return run, rows


def instruments_for_calibration(*, actor: Any) -> list[tuple[int, str, str, str]]:
    """(cycle id, cycle name, instrument code, instrument name) of the tests that can be calibrated."""
    access.require_analyst(actor=actor)
    rows = (Instrument.objects.filter(kind="test").select_related("cycle").order_by("-cycle__year", "code", "-version")
            .values_list("cycle_id", "cycle__name", "code", "name"))
    seen: set[tuple[int, str]] = set()
    out = []
    for cycle_id, cycle_name, code, name in rows:
        if (cycle_id, code) not in seen:
            seen.add((cycle_id, code))
            out.append((cycle_id, cycle_name, code, name))
    return out


def latest_rater_effects(*, actor: Any, cycle: Cycle) -> list[CalibrationRun]:
    """Per instrument, the newest finished run of the cycle that estimated rater effects (the many-facet model's
    block ``summary["raters"]``), for the marking agreement page; empty for an actor who may not read runs."""
    if not access.may_calibrate(actor=actor):
        return []
    seen: set[str] = set()
    out = []
    for run in (access.runs_visible(actor=actor).filter(cycle=cycle, status=RunStatus.DONE,
                                                         summary__has_key="raters")
                .order_by("instrument_code", "-created_at", "-id")):
        if run.instrument_code not in seen:
            seen.add(run.instrument_code)
            out.append(run)
    return out
