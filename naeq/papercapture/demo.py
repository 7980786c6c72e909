"""Demo data for paper capture: one scanned batch of the demo school's answer cards, with the errors real scanners
produce waiting in the review queue.

The demo school is the first school (by code) of the first county (by code) of the first province that has test
takers assigned a published instrument with bubble items (the online-objective / paper-constructed ``math`` of 2024
when present). Its cards are filled by simulated students (``seed``): mostly the key, sometimes another option, now
and then a blank; then the scanner's troubles are injected:

* a double mark on a single-choice item (→ 97 once confirmed),
* two blanks (→ 99),
* a student who copied the wrong booklet number onto the card,
* a test ID misread by one digit (unknown),
* a spare card scanned twice (the same test ID on two sheets).

The file is imported as the system through the same reader and checks as an upload (held at the province, as if
the province coordinator had imported it). Idempotent: a second run finds the batch by its file name and leaves it.
"""

from __future__ import annotations

import csv
import io
import random

from naeq.cycles.models import Cycle
from naeq.delivery.models import Instrument, InstrumentStatus, TestTaker
from naeq.papercapture.layout import SINGLE_MARK_TYPES
from naeq.papercapture.models import ScanBatch
from naeq.papercapture.services import batch_import_system, layout_for
from naeq.registry.models import Region, RegionLevel

MAX_CARDS = 40


def _instrument(cycle: Cycle) -> Instrument | None:
    published = list(Instrument.objects.filter(cycle=cycle, status=InstrumentStatus.PUBLISHED, kind="test")
                     .order_by("code"))
    published.sort(key=lambda i: i.code != "math")
    for inst in published:
        if layout_for(inst).bubble_fields and TestTaker.objects.filter(
                cycle=cycle, booklets__has_key=inst.code).exists():
            return inst
    return None


def demo_papercapture(cycle: Cycle, *, seed: int) -> ScanBatch | None:
    """Make (once) the demo school's scanned batch with its review queue (see the module docstring). Returns the
    batch, or None when the cycle has no test takers on a suitable instrument yet."""
    inst = _instrument(cycle)
    province = Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code").first()
    if inst is None or province is None:
        return None
    takers = TestTaker.objects.filter(cycle=cycle, booklets__has_key=inst.code, path__startswith=province.path,
                                      school__isnull=False)
    first = takers.order_by("path", "school__code", "code").values_list("school_id", flat=True).first()
    if first is None:
        return None
    name = f"demo-scan-{inst.code}-{first}.csv"
    existing = ScanBatch.objects.filter(instrument=inst, source=name).first()
    if existing is not None:
        return existing
    school_takers = list(takers.filter(school_id=first).order_by("code")[:MAX_CARDS])
    layout = layout_for(inst)
    blocks = {b.number: set(b.blocks) for b in inst.booklets.all()}
    keys = dict(inst.items.values_list("code", "key"))
    rng = random.Random(seed)  # noqa: S311 - demo data, reproducible by seed
    rows: list[list[str]] = []
    for n, taker in enumerate(school_takers, start=1):
        booklet = int(taker.booklets.get(inst.code) or 1)
        marks = []
        for f in layout.bubble_fields:
            if f.block not in blocks.get(booklet, set()):
                marks.append("")
                continue
            key = keys.get(f.item)
            keyed = key if isinstance(key, list) else [key]
            r = rng.random()
            if r < 0.05:
                marks.append("")
            elif r < 0.7 and all(k in f.options for k in keyed if k is not None) and key is not None:
                marks.append("".join(str(k) for k in keyed))
            else:
                marks.append(rng.choice(f.options))
        rows.append(["S01", str(n), taker.code, str(booklet), *marks])
    if not rows:
        return None
    fields = layout.bubble_fields

    def sheet(k: int) -> list[str]:  # the scanner's troubles, on distinct sheets where the school has enough
        return rows[k % len(rows)]

    def single_in(row: list[str]) -> int | None:  # a single-choice item of the sheet's booklet
        return next((i for i, f in enumerate(fields) if f.type in SINGLE_MARK_TYPES and len(f.options) > 1
                     and f.block in blocks.get(int(row[3]), set())), None)

    for k, spoil in ((0, "double"), (1, ""), (2, "")):
        row = sheet(k)
        i = single_in(row)
        if i is not None:
            row[4 + i] = fields[i].options[0] + fields[i].options[1] if spoil else ""
    numbers = sorted(blocks)
    if len(numbers) > 1:
        wrong = sheet(3)
        wrong[3] = str(next(n for n in numbers if str(n) != wrong[3]))  # copied the wrong booklet number
    misread = sheet(4)
    known = set(TestTaker.objects.filter(cycle=cycle).values_list("code", flat=True))
    code = misread[2]
    for d in "0123456789":
        candidate = code[:-1] + d
        if candidate not in known:
            misread[2] = candidate  # a test ID misread by its last digit
            break
    rows.append(["S01", str(len(rows) + 1), sheet(5)[2], sheet(5)[3], *sheet(5)[4:]])  # a sheet scanned twice
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(layout.columns)
    writer.writerows(rows)
    return batch_import_system(cycle=cycle, instrument=inst, name=name, data=buf.getvalue().encode("utf-8"),
                               path=province.path)
