"""The scan file with the errors real scanners produce, shared by the importer, queue and CLI tests."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook

from tests.papercapture.conftest import HEADER

#: batch, sheet, test_id, booklet, P01, P02, P03, P04, P06 — one line per sheet (file row = index + 2).
SCAN_LINES = [
    "B001,1,A0001,1,B,AC,A,D,",     # row 2: clean, booklet 1 (P06 is not in booklet 1 and blank)
    "B001,2,A0002,2,,,,A,C",        # row 3: clean, booklet 2
    "B001,3,A0003,1,AB,CA,,D,",     # row 4: P01 double mark (97), P03 blank (99); P02 "CA" is the same as "AC"
    "B001,4,A0004,1,B,AC,A,D,",     # row 5: A0004 was assigned booklet 2: mismatch
    "B001,5,Z9999,1,B,AC,A,D,",     # row 6: unknown test ID
    "B001,6,A0005,13,B,AC,A,D,",    # row 7: booklet bubbles 1 and 3 both filled: unreadable
    "B002,1,A0001,1,B,AC,A,D,",     # row 8: A0001 again (duplicate of row 2)
    "B002,2,A0006,2,B,,,D,E",       # row 9: P01 filled but not in booklet 2; P06 "E" is not an option (97)
]

#: The open entries the file must raise: (file row, kind, item).
EXPECTED_ENTRIES = {
    (4, "multiple_marks", "P01"), (4, "blank", "P03"),
    (5, "booklet_mismatch", ""),
    (6, "unknown_test_id", ""),
    (7, "booklet_unreadable", ""),
    (2, "duplicate_test_id", ""), (8, "duplicate_test_id", ""),
    (9, "not_in_booklet", "P01"), (9, "multiple_marks", "P06"),
}


def scan_csv(lines: list[str] | None = None, header: str = HEADER) -> bytes:
    return (header + "\n".join(SCAN_LINES if lines is None else lines) + "\n").encode("utf-8")


def scan_xlsx(lines: list[str] | None = None, header: str = HEADER) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row in csv.reader(io.StringIO(header + "\n".join(SCAN_LINES if lines is None else lines))):
        # Sheet and booklet numbers as Excel numbers, the rest as text: what a scanner's export looks like.
        ws.append([int(v) if n in (1, 3) and v.isdigit() else v for n, v in enumerate(row)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
