"""Excel export of the review progress table."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from naeq.registry.models import SubmissionStatus


def progress_export_xlsx(rows: Sequence[Any], *, title: str) -> bytes:
    """One row per region (a :class:`naeq.registry.selectors.ProgressRow`): code, name, counts by status."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = _("进度")
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([_("行政区划代码"), _("名称"), *[str(s.label) for s in SubmissionStatus], _("合计")])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([r.region.code, r.region.name, *[r.counts.get(s.value, 0) for s in SubmissionStatus], r.total])
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 28
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
