"""Demo of the reports: one batch of the current cycle's reports from its estimation runs.

``demo_reports(actor=...)`` generates the county, provincial and national reports of the current cycle from the
latest done estimation run of each subject. Idempotent: when a done batch already used exactly those runs
(same inputs' hash), nothing more is done and that batch is returned. Without any done estimation run it does
nothing and says so (the demo's estimation step comes first; see naeq.ops).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from naeq.analysis.selectors import latest_done_runs
from naeq.cycles.models import Cycle
from naeq.reports.models import ReportBatch, RunStatus
from naeq.reports.services import report_batch_start


def demo_reports(*, actor: Any, workers: int = 2) -> dict[str, Any]:
    """Generate (once) the current cycle's reports; returns what was done."""
    cycle = Cycle.objects.filter(is_current=True).first()
    if cycle is None:
        return {"status": "no_cycle", "batch": None}
    runs = latest_done_runs(cycle)
    if not runs:
        return {"status": "no_estimation_runs", "batch": None}
    run_ids = {str(r.pk) for r in runs}
    for b in ReportBatch.objects.filter(cycle=cycle, status=RunStatus.DONE):
        if set(b.run_inputs) == run_ids and not b.region_id and len(b.levels) == 3:
            return {"status": "exists", "batch": b.pk, "reports": (b.summary or {}).get("reports", 0)}
    with transaction.atomic():
        batch = report_batch_start(actor=actor, cycle=cycle, workers=workers)
    batch.refresh_from_db()
    return {"status": batch.status, "batch": batch.pk, "reports": (batch.summary or {}).get("reports", 0),
            "error": batch.error}
