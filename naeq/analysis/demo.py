"""Demo of the estimation runs: for the current cycle, one estimation run per subject with a finished calibration
run (from its latest calibration run and the cycle's weights), then the balanced-county evaluation of the
application counties if the cycle's sample has any. Idempotent: a subject whose latest calibration run already has
a done estimation run is left alone. The lead wires :func:`demo_analysis` into ``naeq demo`` (naeq.ops).

Background: when the cycle's student questionnaires carry the demo bank's background items
(:data:`naeq.delivery.demo_bank.BACKGROUND_ITEMS`), the runs map them by name (``factors`` = homework_time,
tutoring, interest, sleep, pe_lessons; ``groups`` = migrant, disadvantaged: :func:`demo_options`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from naeq.analysis.models import EstimationRun, RunStatus
from naeq.core.errors import InvalidInput
from naeq.cycles.models import Cycle
from naeq.scaling.models import CalibrationRun


def demo_options(cycle: Cycle) -> dict[str, Any]:
    """The run options of the demo: the demo bank's background mapping when its items are in the cycle's
    questionnaires, else none (every single-choice item becomes a ``q_<item>`` factor)."""
    from naeq.delivery.demo_bank import BACKGROUND_ITEMS, DEMO_FACTORS, DEMO_GROUPS
    from naeq.delivery.models import InstrumentKind, Item

    if not Item.objects.filter(instrument__cycle=cycle, instrument__kind=InstrumentKind.QUESTIONNAIRE,
                               code__in=list(BACKGROUND_ITEMS)).exists():
        return {}
    return {"factors": DEMO_FACTORS, "groups": DEMO_GROUPS}


def demo_analysis(*, actor: Any, cycle: Cycle | None = None) -> dict[str, Any]:
    """Run (once) the current cycle's estimation runs; returns per subject the run id and status, or why not."""
    cycle = cycle or Cycle.objects.filter(is_current=True).first()
    if cycle is None:
        return {"status": "no_cycle", "subjects": {}}
    out: dict[str, Any] = {"status": "done", "subjects": {}, "balanced": None}
    codes = sorted(set(CalibrationRun.objects.filter(cycle=cycle, status=RunStatus.DONE)
                       .values_list("instrument_code", flat=True)))
    from naeq.analysis.services import estimation_start

    options = demo_options(cycle)
    for code in codes:
        cal = (CalibrationRun.objects.filter(cycle=cycle, instrument_code=code, status=RunStatus.DONE)
               .order_by("-finished_at", "-pk").first())
        done = EstimationRun.objects.filter(cycle=cycle, instrument_code=code, calibration_run=cal,
                                            status=RunStatus.DONE).order_by("-pk").first()
        if done is not None:
            out["subjects"][code] = {"run": done.pk, "status": "exists"}
            continue
        try:
            with transaction.atomic():
                run = estimation_start(actor=actor, cycle=cycle, instrument_code=code,
                                       calibration_run=cal.pk if cal else None, options=options)
        except InvalidInput as exc:
            out["subjects"][code] = {"run": None, "status": "refused", "reason": exc.message,
                                     "problems": [str(p) for p in exc.problems]}
            continue
        run.refresh_from_db()
        out["subjects"][code] = {"run": run.pk, "status": run.status, "error": run.error,
                                 "estimates": (run.summary or {}).get("n_estimates", 0)}
    from naeq.analysis.balanced import application_counties, evaluate

    if application_counties(cycle) and any(s.get("status") in ("done", "exists") for s in out["subjects"].values()):
        try:
            res = evaluate(actor=actor, cycle=cycle)
            out["balanced"] = {r.path: r.status for r in res}
        except InvalidInput as exc:
            out["balanced"] = {"refused": exc.message}
    return out
