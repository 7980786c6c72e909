"""``naeq report``: county, provincial and national reports (HTML and PDF) from recorded estimation runs.
See docs/reports.md.

``generate`` starts a batch as the named national account (``--as``) and follows its progress with a bar; in the
embedded default the job runs in this process (rendering in worker processes), with REDIS_URL a Celery worker
runs it and the bar follows the batch's stored progress. ``list`` shows the batches and reports the account may
read; ``export`` copies a batch's HTML and PDF files (those the account may read) into a folder, audited.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from naeq.core.clitools import account as _actor
from naeq.core.clitools import django_setup as _django_setup


@click.group(name="report")
def report_group() -> None:
    """Reports: generate county, provincial and national reports (HTML, PDF) in batch; list and export them."""


@report_group.command(name="generate")
@click.option("--cycle", "year", type=int, required=True, help="Cycle year.")
@click.option("--level", "levels", type=click.Choice(("county", "province", "nation")), multiple=True,
              help="Report level (repeatable; default all three).")
@click.option("--region", "region_code", default="", help="Only the units inside this province or county (code).")
@click.option("--run", "run_ids", type=int, multiple=True,
              help="Estimation run id (repeatable; default the latest done run of each subject).")
@click.option("--workers", type=click.IntRange(1, 16), default=2, show_default=True,
              help="Worker processes that render the reports.")
@click.option("--as", "username", required=True, help="National account that starts the batch (audited).")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Follow the batch to its end (with a Celery worker: --no-wait returns once it is queued).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def generate_cmd(year: int, levels: tuple[str, ...], region_code: str, run_ids: tuple[int, ...], workers: int,
                 username: str, wait: bool, quiet: bool) -> None:
    """Generate the cycle's reports (HTML and PDF) in one batch and follow its progress."""
    _django_setup()
    from django.db import transaction
    from django.utils.translation import gettext as _

    from naeq.core.errors import NotFound
    from naeq.cycles.selectors import cycle_of_year
    from naeq.registry.models import Region
    from naeq.reports.models import ReportBatch
    from naeq.reports.services import report_batch_start
    from naeq.scaling.cli_calibrate import ProgressBar

    actor = _actor(username)
    cycle = cycle_of_year(year)
    region = None
    if region_code:
        region = Region.objects.filter(code=region_code).first()
        if region is None:
            raise NotFound(_("没有代码为“%(c)s”的地区。") % {"c": region_code})
    with transaction.atomic():
        batch = report_batch_start(actor=actor, cycle=cycle, levels=list(levels) or None, region=region,
                                   run_ids=list(run_ids) or None, workers=workers)
    bar = ProgressBar(enabled=not quiet, desc=f"reports {year}")
    try:
        batch.refresh_from_db()
        while wait and not batch.finished:
            bar(batch.stage or "queued", batch.progress)
            time.sleep(1.0)
            batch.refresh_from_db()
        bar(batch.stage, batch.progress)
    finally:
        bar.close()
    _show(ReportBatch.objects.get(pk=batch.pk))
    if batch.status == "failed":
        raise click.exceptions.Exit(1)


def _show(batch: object) -> None:
    b = batch
    s = getattr(b, "summary", {}) or {}
    click.echo(f"#{b.pk} {b.cycle.year} {','.join(b.levels)} {b.status} "  # type: ignore[attr-defined]
               f"reports={s.get('reports', 0)} pages={s.get('pages', 0)}")
    click.echo(f"  inputs sha256 {b.inputs_hash}; content sha256 {b.content_hash or '-'}")  # type: ignore[attr-defined]
    if getattr(b, "timings", None):
        click.echo("  seconds: " + ", ".join(f"{k} {v}" for k, v in b.timings.items()))  # type: ignore[attr-defined]
    if getattr(b, "error", ""):
        click.echo(f"  error: {b.error}")  # type: ignore[attr-defined]


@report_group.command(name="list")
@click.option("--as", "username", required=True, help="Account whose batches and reports are listed.")
@click.option("--batch", "batch_id", type=int, default=None, help="Only the reports of this batch.")
def list_cmd(username: str, batch_id: int | None) -> None:
    """Batches (national staff) and the reports the account may read, newest first."""
    _django_setup()
    from naeq.reports.selectors import batch_list, report_list

    actor = _actor(username)
    if batch_id is None:
        for b in batch_list(actor=actor)[:100]:
            click.echo(f"batch #{b.pk}\t{b.cycle.year}\t{','.join(b.levels)}\t{b.status}\t{round(100 * b.progress)}%\t"
                       f"{(b.summary or {}).get('reports', 0)} reports\t{b.content_hash[:12]}")
    for r in report_list(actor=actor, batch_id=batch_id)[:2000]:
        click.echo(f"report #{r.pk}\tbatch #{r.batch_id}\t{r.level}\t{r.title}\t{r.status}\t{r.pages} pages\t"
                   f"{r.pdf_sha256[:12]}")


@report_group.command(name="export")
@click.argument("batch_id", type=int)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to copy the HTML and PDF files into (created if missing).")
@click.option("--as", "username", required=True, help="Account that exports (only its reports; audited).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def export_cmd(batch_id: int, out_dir: Path, username: str, quiet: bool) -> None:
    """Copy a batch's report files (HTML and PDF) the account may read into a folder."""
    _django_setup()
    from naeq.reports.services import report_export
    from naeq.scaling.cli_calibrate import ProgressBar

    bar = ProgressBar(enabled=not quiet, desc=f"export #{batch_id}")
    try:
        written = report_export(actor=_actor(username), batch_id=batch_id, out=out_dir)
        bar("done", 1.0)
    finally:
        bar.close()
    click.echo(f"{len(written)} files in {out_dir}")
