"""The demo hook: a scanned batch of the demo school with the scanner's errors in the review queue; idempotent."""

from __future__ import annotations

from naeq.papercapture import services
from naeq.papercapture.demo import demo_papercapture
from naeq.papercapture.models import ReviewEntry, ScanBatch
from tests.papercapture.conftest import PaperWorld


def test_demo_batch_has_the_realistic_scanner_errors_and_runs_once(pw: PaperWorld) -> None:
    batch = demo_papercapture(pw.cycle, seed=7)
    assert batch is not None and batch.instrument == pw.instrument
    assert batch.path == pw.world.regions["A"].path and batch.uploaded_by is None
    assert batch.sheets == 7  # the six cards of school A1a-1 and one scanned twice
    kinds = set(ReviewEntry.objects.filter(batch=batch).values_list("kind", flat=True))
    assert {"multiple_marks", "blank", "booklet_mismatch", "unknown_test_id", "duplicate_test_id"} <= kinds
    assert ReviewEntry.objects.filter(batch=batch, kind="blank").count() >= 2
    assert demo_papercapture(pw.cycle, seed=7) == batch
    assert ScanBatch.objects.count() == 1
    # The province coordinator of the demo province works the queue.
    assert services.access.batch_get(actor=pw.user("province_coordinator@A"), batch_id=batch.pk) == batch
