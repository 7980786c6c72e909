"""The paper side of the demo item bank's maths (online objective items, paper constructed responses): its card layout,
its booklet with the stimulus picture, and the demo scan batch on it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from naeq.delivery.demo_bank import demo_bank_load
from naeq.delivery.models import Instrument, InstrumentStatus
from naeq.papercapture import services
from naeq.papercapture.demo import demo_papercapture
from naeq.papercapture.models import ReviewEntry
from tests.delivery.factories import make_taker
from tests.personas import World


@pytest.mark.skipif(shutil.which("pdfimages") is None, reason="poppler-utils (pdfimages) not installed")
def test_demo_maths_on_paper(world: World, cycle: Any, settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    demo_bank_load(actor=None, year=cycle.year)
    math = Instrument.objects.get(cycle=cycle, code="math", status=InstrumentStatus.PUBLISHED)
    layout = services.layout_for(math)
    kinds = {f.item: f.kind for f in layout.fields}
    assert kinds["M01"] == "bubbles" and kinds["M03"] == "box" and kinds["M07"] == "box"
    pdf, _name = services.booklet_print(actor=world.users["national_admin@A"], instrument_id=math.pk,
                                        number=1)
    (tmp_path / "b.pdf").write_bytes(pdf)
    images = subprocess.run(["pdfimages", "-list", str(tmp_path / "b.pdf")], capture_output=True, text=True,
                            check=True).stdout.splitlines()[2:]
    assert len(images) >= 1  # the bar chart of the shared stimulus is printed
    for n in range(1, 9):
        make_taker(cycle, world.schools["A1a-1"], f"M000{n}", grade=4,
                   booklets={"math": 1 + n % max(1, math.booklets.count())})
    batch = demo_papercapture(cycle, seed=3)
    assert batch is not None and batch.instrument == math and batch.sheets == 9
    kinds_open = set(ReviewEntry.objects.filter(batch=batch).values_list("kind", flat=True))
    assert {"multiple_marks", "unknown_test_id", "duplicate_test_id"} <= kinds_open
