"""Issue 8 end to end on the platform: a recorded estimation run over a calibrated, weighted cycle (the analysts'
export world: PVs, final and replicate weights, a quality exclusion), then the county report generated from it —
every printed number must be the run's Estimate row, as the report formats it — and the province's problem letter
drafted from the same rows, listing shortfalls only. The pieces are tested alone in tests/analysis, tests/reports
and tests/rectification; this checks that what analysis writes is what reports and letters read."""

from __future__ import annotations

import re
from typing import Any

import pytest

from naeq.analysis.models import Estimate
from naeq.core.errors import InvalidInput
from naeq.reports import services as report_services
from naeq.reports.models import Report
from tests.analysis.test_exports import YEAR_KEY, ExportWorld, exw  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
SMALL: dict[str, Any] = {"min_n": 5, "min_schools": 1, "max_cv": 0.5}


def _cells(html: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r'data-k="([^"]+)"[^>]*>([^<]*)<', html)}


def test_estimates_flow_into_the_county_report_and_the_letter(
        exw: ExportWorld, django_capture_on_commit_callbacks: Any) -> None:  # noqa: F811
    from naeq.analysis.services import estimation_start
    from naeq.rectification import services as rect

    admin = exw.user("national_admin@A")
    with django_capture_on_commit_callbacks(execute=True):
        run = estimation_start(actor=admin, cycle=exw.cycle, instrument_code=YEAR_KEY, options=SMALL)
    run.refresh_from_db()
    assert run.status == "done", run.error
    county_row = (Estimate.objects.filter(run=run, level="county", statistic="mean", group_var="",
                                          suppressed=False).select_related("region").order_by("path").first())
    assert county_row is not None and county_row.region is not None
    county = county_row.region

    with django_capture_on_commit_callbacks(execute=True):
        batch = report_services.report_batch_start(actor=admin, cycle=exw.cycle, levels=["county"], region=county,
                                                   run_ids=[run.pk], workers=1)
    batch.refresh_from_db()
    assert batch.status == "done", batch.error
    report = Report.objects.get(batch=batch)
    html = (report_services.batch_dir(batch.pk) / report.html_name).read_text(encoding="utf-8")
    cells = _cells(html)
    means = {k: v for k, v in cells.items() if k.endswith(":county:mean")}
    assert len(means) == 1, sorted(cells)[:20]
    assert next(iter(means.values())) == f"{county_row.value:.1f}"
    code = next(iter(means)).split(":")[0]
    province_path = county.path.split("/")[0] + "/"
    for level, path in (("province", province_path), ("nation", "")):
        e = Estimate.objects.get(run=run, level=level, path=path, statistic="mean", group_var="", group_value="",
                                 key="")
        shown = cells[f"{code}:{level}:mean"]
        assert shown == ("—" if e.suppressed else f"{e.value:.1f}")
    for name in exw.names:
        assert name not in html

    from naeq.registry.models import Region

    province = Region.objects.get(path=province_path)
    try:
        letter = rect.letter_draft(actor=admin, cycle=exw.cycle, province=province)
    except InvalidInput:
        # No shortfall: then nothing on which a letter rests may be significantly worse than the nation.
        worse = Estimate.objects.filter(run=run, path__startswith=province_path, statistic="difference",
                                        key="vs_nation", sign=-1, suppressed=False, group_var="")
        assert not worse.filter(level="province").exists()
        return
    for problem in letter.problems.all():
        assert problem.estimate.run_id == run.pk
        assert not problem.estimate.suppressed
