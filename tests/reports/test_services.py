"""Report batches: the printed numbers are the Estimate rows', suppressed rows print "—" with their rule, marks
follow the rows' significance, no school name appears, the PDF carries Chinese text, and the same runs give the
same bytes (also rendered in two worker processes)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from naeq.analysis.models import Estimate
from naeq.core.errors import InvalidInput, NotFound
from naeq.core.models import AuditEvent
from naeq.registry.models import School
from naeq.reports import services
from naeq.reports.models import Report, ReportBatch
from tests.reports.conftest import ReportsWorld

SHOTS = Path(os.environ.get("NAEQ_SHOTS", "/tmp/shots")) / "reports"  # noqa: S108 — PNGs to look at


def _batch(rw: ReportsWorld, capture: Any, **kwargs: Any) -> ReportBatch:
    with capture(execute=True):
        batch = services.report_batch_start(actor=rw.analyst, cycle=rw.cycle, **kwargs)
    batch.refresh_from_db()
    assert batch.status == "done", batch.error
    return batch


def _files(report: Report) -> tuple[str, bytes]:
    folder = services.batch_dir(report.batch_id)
    return (folder / report.html_name).read_text(encoding="utf-8"), (folder / report.pdf_name).read_bytes()


def _cells(html: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r'data-k="([^"]+)"[^>]*>([^<]*)<', html)}


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout


def _shots(pdf: bytes, name: str, tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "70", str(path), str(SHOTS / name)], check=True)


def _est(run: Any, level: str, path: str, stat: str, key: str = "", gv: str = "", gval: str = "") -> Estimate:
    return Estimate.objects.get(run=run, level=level, path=path, statistic=stat, key=key, group_var=gv,
                                group_value=gval)


def _v(e: Estimate) -> float:
    assert e.value is not None
    return e.value


def test_county_report_prints_the_estimates(rw: ReportsWorld, django_capture_on_commit_callbacks: Any,
                                            tmp_path: Path) -> None:
    county = rw.world.regions["A1a"]
    batch = _batch(rw, django_capture_on_commit_callbacks, levels=["county"], region=county, workers=1)
    report = Report.objects.get(batch=batch)
    assert report.level == "county" and report.path == county.path and report.pages >= 4
    html, pdf = _files(report)
    cells = _cells(html)
    math, mh, pe = rw.runs
    prov = rw.world.regions["A"].path
    for run, code in ((math, "math"), (mh, "mental_health")):
        for level, path in (("county", county.path), ("province", prov), ("nation", "")):
            m = _est(run, level, path, "mean")
            assert cells[f"{code}:{level}:mean"] == f"{m.value:.1f}"
            assert cells[f"{code}:{level}:se"] == f"{m.se:.1f}"
            a = _est(run, level, path, "at_or_above", "II")
            assert cells[f"{code}:{level}:at_or_above"] == f"{100 * _v(a):.1f}"
            for i, key in enumerate(("I", "II", "III", "IV"), start=1):
                share = _v(_est(run, level, path, "level_share", key))
                assert cells[f"{code}:{level}:level{i}"] == f"{100 * share:.1f}"
            assert cells[f"{code}:{level}:diff_rate"] == f"{_est(run, level, path, 'diff_rate').value:.3f}"
        for contrast in ("vs_province", "vs_nation", "trend"):
            d = _est(run, "county", county.path, "difference", contrast)
            assert cells[f"{code}:{contrast}"] == f"{d.value:+.1f}"
            assert cells[f"{code}:{contrast}:mark"] == {1: "▲", 0: "●", -1: "▼"}[d.sign or 0]
        # the first county of the synthetic world has too few rural students: suppressed, printed as "—"
        ur = _est(run, "county", county.path, "difference", "urban-rural", gv="urban_rural")
        assert ur.suppressed and cells[f"{code}:urban-rural"] == "—" and cells[f"{code}:urban-rural:mark"] == "—"
        fm = _est(run, "county", county.path, "difference", "F-M", gv="sex")
        assert cells[f"{code}:F-M"] == f"{fm.value:+.1f}"
    assert "样本量不足（少于62名学生）" in cells["footnote"]
    obesity = _est(pe, "county", county.path, "proportion", "obesity")
    assert cells["pe:obesity:1"] == f"{100 * _v(obesity):.1f}"
    # both significance directions and "not significant" occur in the synthetic world and are explained
    assert "▲" in html and "●" in html and "显著低于比较对象" in html
    text = _pdf_text(pdf, tmp_path)
    assert "2024年国家义务教育质量监测甲省一市a县报告" in text.replace(" ", "")
    assert "校际差异率" in text and "数学" in text and "体质健康达标率" in text
    for name in School.objects.values_list("name", flat=True):
        assert name not in html and name not in text
    _shots(pdf, "county", tmp_path)


def test_province_and_national_reports_rank_nothing(rw: ReportsWorld, django_capture_on_commit_callbacks: Any,
                                                    tmp_path: Path) -> None:
    batch = _batch(rw, django_capture_on_commit_callbacks, levels=["province", "nation"], workers=1)
    reports = {r.level + r.path: r for r in Report.objects.filter(batch=batch)}
    assert set(reports) == {"nation", "province" + rw.world.regions["A"].path, "province" + rw.world.regions["B"].path}
    html, pdf = _files(reports["province" + rw.world.regions["A"].path])
    math = rw.runs[0]
    signs = [_est(math, "county", rw.world.regions[k].path, "difference", "vs_province").sign for k in ("A1a", "A1b")]
    expected = (f"共 2 个单位：显著高于比较对象的 {signs.count(1)} 个，差异不显著的 {signs.count(0)} 个，"
                f"显著低于比较对象的 {signs.count(-1)} 个")
    assert expected in _cells(html)["math:children"]
    text = _pdf_text(pdf, tmp_path)
    for k in ("A1a", "A1b", "B1a", "B1b"):  # no county named, so no county can be ranked
        assert rw.world.regions[k].name not in html and rw.world.regions[k].name not in text
    for name in School.objects.values_list("name", flat=True):
        assert name not in html
    assert "排名" in html  # only in the sentences that say there is none
    assert all("不" in s or "没有" in s for s in re.findall(r"[^。]*排名[^。]*", text.replace("\n", "")))
    _shots(pdf, "province", tmp_path)
    nhtml, npdf = _files(reports["nation"])
    for k in ("A", "B"):
        assert rw.world.regions[k].name not in nhtml
    _shots(npdf, "nation", tmp_path)


def test_rerun_and_parallel_render_give_the_same_bytes(rw: ReportsWorld, django_capture_on_commit_callbacks: Any
                                                       ) -> None:
    province = rw.world.regions["A"]
    first = _batch(rw, django_capture_on_commit_callbacks, region=province, levels=["province", "county"],
                   workers=2)
    assert first.summary["reports"] == 3 and first.options["workers"] == 2
    with django_capture_on_commit_callbacks(execute=True):
        second = services.report_batch_rerun(actor=rw.analyst, batch_id=first.pk)
    second.refresh_from_db()
    assert second.pk != first.pk and second.options["workers"] == 2
    assert second.inputs_hash == first.inputs_hash and second.content_hash == first.content_hash
    one = _batch(rw, django_capture_on_commit_callbacks, region=province, levels=["province", "county"], workers=1)
    assert one.content_hash == first.content_hash
    a = {(r.level, r.path): (r.html_sha256, r.pdf_sha256) for r in Report.objects.filter(batch=first)}
    b = {(r.level, r.path): (r.html_sha256, r.pdf_sha256) for r in Report.objects.filter(batch=one)}
    assert a == b and len(a) == 3
    # a job delivered twice does nothing the second time
    assert services.report_batch_execute(batch_id=first.pk) == "done"
    assert Report.objects.filter(batch=first).count() == 3
    actions = list(AuditEvent.objects.filter(object_type="reports.ReportBatch", object_id=str(first.pk))
                   .values_list("action", flat=True))
    assert actions == ["reports.batch_start", "reports.batch_done"]


def test_start_is_validated_and_national_only(rw: ReportsWorld) -> None:
    with pytest.raises(InvalidInput) as exc:
        services.report_batch_start(actor=rw.analyst, cycle=rw.cycle, levels=["school"], workers=0)
    fields = sorted(p.field or "" for p in exc.value.problems)
    assert fields == ["level", "workers"]
    with pytest.raises(InvalidInput) as exc:
        services.report_batch_start(actor=rw.analyst, cycle=rw.cycle, run_ids=[999999])
    assert exc.value.problems[0].value == 999999
    for persona in ("province_coordinator@A", "county_liaison@A", "school_head@A"):
        with pytest.raises(NotFound):
            services.report_batch_start(actor=rw.world.users[persona], cycle=rw.cycle)
    assert not ReportBatch.objects.exists()


def test_a_failed_render_fails_the_batch(rw: ReportsWorld, django_capture_on_commit_callbacks: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    Estimate.objects.filter(level="county").delete()
    Estimate.objects.filter(level="province").delete()
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.report_batch_start(actor=rw.analyst, cycle=rw.cycle, levels=["county"], workers=1)
    batch.refresh_from_db()
    assert batch.status == "failed" and "没有可报告的单位" in batch.error
