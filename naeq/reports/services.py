"""Writes of report batches: start one (validated, recorded, audited, sent to the job mechanism), execute it (the
job's body: read the estimation runs' rows once, lay out every unit's report, render them in parallel, store the
files and their hashes), re-run one, and read a report's file for a download (audited).

Reproducible: a batch records the estimation runs it used and their inputs' hashes; its ``inputs_hash`` is the
hash of those and the content options. Rendering is a pure function of the laid-out numbers
(:mod:`naeq.reports.render`), so a rerun of the same runs gives the same HTML and PDF bytes and the same
``content_hash``.

Parallel: reports render in a :class:`~concurrent.futures.ProcessPoolExecutor` (``workers`` option, default 2;
forked workers that never touch the database). Inside a daemonic process (a Celery prefork worker), which may not
fork children, and with ``workers`` 1 they render in this process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

import naeq
from naeq.analysis.models import Estimate, EstimationRun, RunStatus
from naeq.analysis.selectors import latest_done_runs
from naeq.core import runs as recorded
from naeq.core.audit import audit_record
from naeq.core.errors import ApplicationError, InvalidInput, Problem
from naeq.core.jobs import enqueue
from naeq.cycles.models import Cycle
from naeq.registry.models import Region
from naeq.reports import access
from naeq.reports.content import ROW_FIELDS, Index, RunInfo, Unit, report_context
from naeq.reports.models import Report, ReportBatch, ReportStatus
from naeq.reports.render import Rendered, render_report

log = logging.getLogger(__name__)
LEVELS = ("county", "province", "nation")
DEFAULT_WORKERS = 2
REPORT_LANGUAGE = "zh-hans"


def code_version() -> str:
    return f"naeq {naeq.__version__} / naeq.reports"


def reports_root() -> Path:
    return Path(settings.DATA_DIR) / "reports"


def batch_dir(batch_id: int) -> Path:
    return reports_root() / str(int(batch_id))


# ------------------------------------------------------------------------------------------------ start


def _inputs_hash(run_inputs: dict[str, Any], levels: list[str], region_code: str) -> str:
    payload = json.dumps({"runs": run_inputs, "levels": levels, "region": region_code, "code": code_version()},
                         sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


@transaction.atomic
def report_batch_start(*, actor: Any, cycle: Cycle, levels: list[str] | None = None, region: Region | None = None,
                       run_ids: list[int] | None = None, workers: int = DEFAULT_WORKERS) -> ReportBatch:
    """Record a batch of the cycle's reports (``levels`` of county / province / nation, all by default; only the
    units inside ``region`` when given) from the given estimation runs (default: the latest done run of each
    subject) and send it to the job mechanism after commit."""
    access.require_generator(actor=actor)
    asked = list(levels or LEVELS)
    problems = [Problem(reason=_("报告层级只能是 county、province 或 nation。"), field="level", value=lv)
                for lv in asked if lv not in LEVELS]
    levels = sorted({lv for lv in asked if lv in LEVELS}, key=LEVELS.index)
    if not isinstance(workers, int) or not 1 <= workers <= 16:
        problems.append(Problem(reason=_("并行进程数应为 1–16 的整数。"), field="workers", value=workers))
    if region is not None and region.level not in ("province", "county"):
        problems.append(Problem(reason=_("限定地区只能是省或县（区）。"), field="region", value=region.code))
    if run_ids:
        chosen = list(EstimationRun.objects.filter(pk__in=run_ids, cycle=cycle, status=RunStatus.DONE))
        missing = sorted(set(run_ids) - {r.pk for r in chosen})
        problems += [Problem(reason=_("没有该周期已完成的估计记录。"), field="run", value=m) for m in missing]
    else:
        chosen = latest_done_runs(cycle)
        if not chosen:
            problems.append(Problem(reason=_("该周期还没有已完成的估计记录，请先完成估计。"), field="cycle",
                                    value=cycle.year))
    if problems:
        raise InvalidInput(_("无法生成报告。"), code="bad_report_batch", problems=problems)
    run_inputs = {str(r.pk): {"instrument_code": r.instrument_code, "inputs_hash": r.inputs_hash,
                              "code_version": r.code_version,
                              "finished_at": r.finished_at.isoformat() if r.finished_at else ""}
                  for r in sorted(chosen, key=lambda r: (r.instrument_code, r.pk))}
    batch = ReportBatch(cycle=cycle, run_inputs=run_inputs, levels=levels, region=region,
                        options={"workers": workers}, code_version=code_version(),
                        inputs_hash=_inputs_hash(run_inputs, levels, region.code if region else ""),
                        created_by=actor if getattr(actor, "pk", None) else None)
    batch.full_clean()
    batch.save()
    batch.runs.set(chosen)
    audit_record(actor=actor, action="reports.batch_start", object_type="reports.ReportBatch", object_id=batch.pk,
                 after=batch.as_audit())
    batch_id = batch.pk
    transaction.on_commit(lambda: _send(batch_id))
    return batch


def _send(batch_id: int) -> None:
    from naeq.reports.tasks import report_batch_task

    job = enqueue(report_batch_task, batch_id=batch_id)
    ReportBatch.objects.filter(pk=batch_id, job_id="").update(job_id=job.task_id[:64])


@transaction.atomic
def report_batch_rerun(*, actor: Any, batch_id: int) -> ReportBatch:
    """A new batch from the same estimation runs, levels and region (same runs → the same bytes)."""
    old = access.batch_access(actor=actor, batch_id=batch_id)
    return report_batch_start(actor=actor, cycle=old.cycle, levels=list(old.levels), region=old.region,
                              run_ids=[int(k) for k in old.run_inputs],
                              workers=int(old.options.get("workers", DEFAULT_WORKERS)))


# ------------------------------------------------------------------------------------------------ execute


def report_batch_execute(*, batch_id: int) -> str:
    """The job. Idempotent: a batch that is not queued is left alone. Returns the final status."""
    return recorded.execute(ReportBatch, batch_id, _execute, failed_action="reports.batch_failed",
                            select_related=("cycle", "region"))


def _run_infos(batch: ReportBatch) -> list[RunInfo]:
    config = batch.cycle.config
    instruments = {i.code: i for i in config.instruments}
    subjects = {s.code: s.name for s in config.subjects}
    finished = dict(EstimationRun.objects.filter(pk__in=[int(k) for k in batch.run_inputs]).values_list(
        "pk", "finished_at"))
    out = []
    for rid, info in sorted(batch.run_inputs.items(), key=lambda kv: (kv[1]["instrument_code"], int(kv[0]))):
        code = info["instrument_code"]
        inst = instruments.get(code)
        subject = inst.subject if inst is not None else None
        name = subjects.get(subject or "", inst.name if inst is not None else code)
        at = finished.get(int(rid))
        out.append(RunInfo(run_id=int(rid), code=code, name=name, is_pe=subject == "pe" or code.startswith("pe"),
                           finished_at=timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else "",
                           inputs_hash=info["inputs_hash"]))
    return out


def _units(batch: ReportBatch, index: Index, infos: list[RunInfo]) -> list[tuple[Unit, list[Unit]]]:
    """Every unit of the batch with its comparison chain (county → province → nation)."""
    paths = {lv: sorted({p for (r, level, p) in index.units if level == lv}) for lv in LEVELS}
    regions = {r.path: r for r in Region.objects.filter(path__in=paths["county"] + paths["province"])}
    prov_paths = {p.split("/")[0] + "/" for p in paths["county"]}
    regions.update({r.path: r for r in Region.objects.filter(path__in=prov_paths - set(regions))})
    nation = Unit("nation", "", _("全国"))
    scope = batch.region.path if batch.region else ""
    out: list[tuple[Unit, list[Unit]]] = []
    if "nation" in batch.levels and not scope and paths["nation"]:
        out.append((nation, [nation]))
    if "province" in batch.levels:
        for p in paths["province"]:
            if p in regions and p.startswith(scope):
                u = Unit("province", p, regions[p].name)
                out.append((u, [u, nation]))
    if "county" in batch.levels:
        for p in paths["county"]:
            if p in regions and p.startswith(scope):
                prov = regions.get(p.split("/")[0] + "/")
                u = Unit("county", p, regions[p].name)
                chain = [u] + ([Unit("province", prov.path, prov.name)] if prov else []) + [nation]
                out.append((u, chain))
    return out


def _file_stem(unit: Unit) -> str:
    if unit.level == "nation":
        return "nation"
    return f"{unit.level}-{unit.path.rstrip('/').split('/')[-1]}"


def _render_all(jobs: list[tuple[str, dict[str, Any]]], workers: int,
                done: Callable[[Rendered], None]) -> None:
    if workers <= 1 or len(jobs) <= 1 or multiprocessing.current_process().daemon:
        for key, ctx in jobs:
            done(render_report(key, ctx, REPORT_LANGUAGE))
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        pending: set[Future[Rendered]] = set()
        queue: Iterator[tuple[str, dict[str, Any]]] = iter(jobs)
        for key, ctx in queue:  # keep at most 2 × workers contexts in flight (memory)
            pending.add(pool.submit(render_report, key, ctx, REPORT_LANGUAGE))
            if len(pending) >= 2 * workers:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    done(f.result())
        for f in pending:
            done(f.result())


def _execute(batch: ReportBatch) -> str:
    t0 = time.perf_counter()
    infos = _run_infos(batch)
    rows = Estimate.objects.filter(run_id__in=[i.run_id for i in infos]).values_list(*ROW_FIELDS)
    index = Index.from_values(rows.iterator(chunk_size=20000))
    units = _units(batch, index, infos)
    if not units:
        raise InvalidInput(_("所选估计记录中没有可报告的单位。"), code="no_units")
    t_gather = time.perf_counter() - t0
    recorded.set_progress(ReportBatch, batch.pk, "layout", 0.05)
    region_ids = {r.path: r.pk for r in Region.objects.filter(path__in=[u.path for u, _c in units if u.path])}
    jobs: list[tuple[str, dict[str, Any]]] = []
    reports: dict[str, Report] = {}
    with translation.override(REPORT_LANGUAGE):
        for unit, chain in units:
            ctx = report_context(index, infos, unit, chain, cycle_year=batch.cycle.year,
                                 cycle_name=batch.cycle.name)
            key = _file_stem(unit)
            reports[key] = Report(batch=batch, level=unit.level, path=unit.path, region_id=region_ids.get(unit.path),
                                  title=ctx["title"][:200])
            jobs.append((key, ctx))
    Report.objects.bulk_create(reports.values())
    folder = batch_dir(batch.pk)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    t_layout = time.perf_counter() - t0 - t_gather
    count = {"done": 0}

    def done(r: Rendered) -> None:
        rep = reports[r.key]
        (folder / f"{r.key}.html").write_bytes(r.html)
        (folder / f"{r.key}.pdf").write_bytes(r.pdf)
        Report.objects.filter(batch=batch, level=rep.level, path=rep.path).update(
            status=ReportStatus.DONE, html_name=f"{r.key}.html", pdf_name=f"{r.key}.pdf",
            html_sha256=r.html_sha256, pdf_sha256=r.pdf_sha256, html_bytes=len(r.html), pdf_bytes=len(r.pdf),
            pages=r.pages)
        count["done"] += 1
        recorded.set_progress(ReportBatch, batch.pk, "render", 0.1 + 0.88 * count["done"] / len(jobs))

    _render_all(jobs, int(batch.options.get("workers", DEFAULT_WORKERS)), done)
    t_render = time.perf_counter() - t0 - t_gather - t_layout
    digest = hashlib.sha256()
    for rep in Report.objects.filter(batch=batch).order_by("level", "path"):
        digest.update(f"{rep.level}:{rep.path}:{rep.html_sha256}:{rep.pdf_sha256}\n".encode())
    with transaction.atomic():
        batch.refresh_from_db()
        batch.status = RunStatus.DONE
        batch.progress = 1.0
        batch.stage = "done"
        batch.content_hash = digest.hexdigest()
        batch.summary = {"reports": len(jobs), "by_level": {lv: sum(1 for u, _c in units if u.level == lv)
                                                            for lv in LEVELS},
                         "pages": sum(r.pages for r in Report.objects.filter(batch=batch).only("pages"))}
        batch.timings = {"gather": round(t_gather, 3), "layout": round(t_layout, 3), "render": round(t_render, 3)}
        batch.finished_at = timezone.now()
        batch.full_clean()
        batch.save()
        audit_record(actor=batch.created_by, action="reports.batch_done", object_type="reports.ReportBatch",
                     object_id=batch.pk, after={"status": batch.status, "content_hash": batch.content_hash,
                                                "reports": len(jobs)})
    return RunStatus.DONE


# ------------------------------------------------------------------------------------------------ files


def report_file(*, actor: Any, report_id: int, kind: str) -> tuple[Report, bytes]:
    """A report's HTML or PDF bytes for the actor (404 when missing or not theirs). A PDF download is audited;
    viewing the HTML inline is a read like any page."""
    report = access.report_access(actor=actor, report_id=report_id)
    name = report.pdf_name if kind == "pdf" else report.html_name
    path = batch_dir(report.batch_id) / name if name else None
    if report.status != ReportStatus.DONE or path is None or not path.is_file():
        raise _gone()
    data = path.read_bytes()
    if kind == "pdf":
        with transaction.atomic():
            audit_record(actor=actor, action="reports.download", object_type="reports.Report", object_id=report.pk,
                         after={"kind": kind, "sha256": report.pdf_sha256, "path": report.path,
                                "batch": report.batch_id})
    return report, data


def _gone() -> ApplicationError:
    from naeq.core.errors import NotFound

    return NotFound(_("没有找到该报告。"))


def report_export(*, actor: Any, batch_id: int, out: Path) -> list[Path]:
    """Copy a batch's files the actor may read into ``out`` (audited); returns the written paths."""
    batch = ReportBatch.objects.filter(pk=batch_id).first()
    reports = list(access.reports_visible(actor=actor).filter(batch_id=batch_id, status=ReportStatus.DONE))
    if batch is None or not reports:
        from naeq.core.errors import NotFound

        raise NotFound(_("没有找到该报告批次。"))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for rep in reports:
        for name in (rep.html_name, rep.pdf_name):
            src = batch_dir(batch_id) / name
            dst = out / name
            shutil.copyfile(src, dst)
            written.append(dst)
    with transaction.atomic():
        audit_record(actor=actor, action="reports.export", object_type="reports.ReportBatch", object_id=batch_id,
                     after={"reports": len(reports), "files": [p.name for p in written]})
    return written
