"""``naeq paper``: Paper booklets and answer cards: printing, scanned-result import, review queue, double keying.

Every verb acts as a named account (``--as``) through the same access rules as the pages (printing booklets is
for national staff and audited; imports, the queue and release for the national administrator and province
coordinators). Bad input exits 1 with the precise message; usage errors exit 2.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click


def _django_setup() -> None:
    # naeq.cli (a higher layer) has the same helper; this app must not import it.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naeq.settings")
    import django

    django.setup()


def _fail(exc: Any) -> click.ClickException:
    return click.ClickException(str(exc))


def _actor(username: str) -> Any:
    from naeq.accounts.models import User

    actor = User.objects.filter(username=username, is_active=True).first()
    if actor is None:
        raise click.ClickException(f"没有找到账户“{username}”。")
    return actor


def _instrument(year: int | None, code: str) -> Any:
    from naeq.core.errors import ApplicationError
    from naeq.cycles.selectors import cycle_for
    from naeq.delivery.models import Instrument, InstrumentStatus

    try:
        cycle = cycle_for(year)
    except ApplicationError as exc:
        raise _fail(exc) from exc
    inst = Instrument.objects.filter(cycle=cycle, code=code, status=InstrumentStatus.PUBLISHED).first()
    if inst is None:
        raise click.ClickException(f"{cycle.year}年监测周期没有已发布的工具“{code}”。")
    return inst


def _write(data: bytes, output: str) -> None:
    Path(output).write_bytes(data)
    click.echo(f"{output}: {len(data)} bytes")


AS = click.option("--as", "username", required=True, help="The account acting (its access rules apply; audited).")
YEAR = click.option("--cycle", "year", type=click.IntRange(2000, 2100), default=None,
                    help="The cycle year (default: the current cycle).")
INSTRUMENT = click.option("--instrument", "code", required=True, help="The instrument code, e.g. sci4.")


@click.group(name="paper", context_settings={"help_option_names": ["-h", "--help"]})
def paper_group() -> None:
    """Paper booklets and answer cards: printing, scanned-result import, review queue, double keying."""


@paper_group.command()
@YEAR
@INSTRUMENT
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default="csv", show_default=True,
              help="csv/xlsx: the scan-file template; json: the card layout (item → card position).")
@click.option("-o", "--output", required=True, help="File to write.")
def template(year: int | None, code: str, fmt: str, output: str) -> None:
    """The scan-file template of an instrument's answer card, or its layout in machine form."""
    _django_setup()
    from naeq.papercapture.importer import template_csv, template_xlsx
    from naeq.papercapture.services import layout_for

    layout = layout_for(_instrument(year, code))
    if fmt == "json":
        data = json.dumps(layout.as_dict(), ensure_ascii=False, indent=2).encode()
    else:
        data = template_csv(layout) if fmt == "csv" else template_xlsx(layout)
    _write(data, output)


@paper_group.command()
@AS
@YEAR
@INSTRUMENT
@click.option("--school", "school_code", required=True, help="The school's identification code.")
@click.option("-o", "--output", required=True, help="PDF file to write.")
def cards(username: str, year: int | None, code: str, school_code: str, output: str) -> None:
    """Answer cards (PDF) of one school: one card per test taker assigned the instrument."""
    _django_setup()
    from naeq.core.errors import ApplicationError
    from naeq.papercapture.services import cards_print

    try:
        pdf, _name = cards_print(actor=_actor(username), instrument_id=_instrument(year, code).pk,
                                 school_code=school_code)
    except ApplicationError as exc:
        raise _fail(exc) from exc
    _write(pdf, output)


@paper_group.command()
@AS
@YEAR
@INSTRUMENT
@click.option("--number", type=int, required=True, help="The booklet number.")
@click.option("--county", "county_code", default=None, help="County printing it (required for county accounts).")
@click.option("-o", "--output", required=True, help="PDF file to write.")
def booklet(username: str, year: int | None, code: str, number: int, county_code: str | None, output: str) -> None:
    """A booklet (PDF, secret item content; audited)."""
    _django_setup()
    from naeq.core.errors import ApplicationError
    from naeq.papercapture.services import booklet_print

    try:
        pdf, _name = booklet_print(actor=_actor(username), instrument_id=_instrument(year, code).pk, number=number,
                                   county_code=county_code)
    except ApplicationError as exc:
        raise _fail(exc) from exc
    _write(pdf, output)


@paper_group.command(name="import")
@AS
@YEAR
@INSTRUMENT
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_(username: str, year: int | None, code: str, file: str) -> None:
    """Import a scan file (CSV or .xlsx, docs/papercapture.md): problems go to the review queue."""
    _django_setup()
    from naeq.core.errors import ApplicationError
    from naeq.papercapture.services import batch_import

    inst = _instrument(year, code)
    try:
        batch = batch_import(actor=_actor(username), cycle=inst.cycle, instrument=inst, name=Path(file).name,
                             data=Path(file).read_bytes())
    except ApplicationError as exc:
        raise _fail(exc) from exc
    open_n = batch.entries.filter(resolved_at__isnull=True).count()
    click.echo(f"batch {batch.pk}: {batch.sheets} sheets, {open_n} problems in the review queue, "
               f"status {batch.status}")


@paper_group.command()
@AS
@click.option("--batch", "batch_id", type=int, default=None, help="Only this batch.")
def queue(username: str, batch_id: int | None) -> None:
    """List the open problems of the review queue (tab-separated)."""
    _django_setup()
    from naeq.papercapture.selectors import open_entries

    click.echo("entry\tbatch\trow\tsheet\ttest_id\tkind\titem\tscanned\tdetail")
    n = 0
    for e in open_entries(actor=_actor(username), batch_id=batch_id).iterator(chunk_size=2000):
        n += 1
        click.echo(f"{e.pk}\t{e.batch_id}\t{e.card.row}\t{e.card.scanner_batch}/{e.card.sheet}\t"
                   f"{e.card.test_id_read}\t{e.kind}\t{e.item}\t{e.scanned}\t{e.detail}")
    click.echo(f"{n} open", err=True)


@paper_group.command()
@AS
@click.argument("entry_id", type=int)
@click.option("--resolution", required=True,
              type=click.Choice(["accept", "correct", "confirm", "fix_test_id", "use_assigned", "discard"]),
              help="How to resolve it (the kinds each problem allows: docs/papercapture.md).")
@click.option("--value", default="", help="The corrected value (mark, booklet number or test ID).")
def resolve(username: str, entry_id: int, resolution: str, value: str) -> None:
    """Resolve one entry of the review queue (audited)."""
    _django_setup()
    from naeq.core.errors import ApplicationError
    from naeq.papercapture.services import entry_resolve

    try:
        entry = entry_resolve(actor=_actor(username), entry_id=entry_id, resolution=resolution, value=value)
    except ApplicationError as exc:
        raise _fail(exc) from exc
    click.echo(f"entry {entry.pk}: {entry.resolution} {entry.value}".rstrip())


@paper_group.command()
@AS
@click.argument("batch_id", type=int)
def score(username: str, batch_id: int) -> None:
    """Score and release a batch whose review queue is empty (exit 1 while problems are open)."""
    _django_setup()
    from naeq.core.errors import ApplicationError
    from naeq.papercapture.models import PaperResponse
    from naeq.papercapture.services import batch_release

    try:
        batch = batch_release(actor=_actor(username), batch_id=batch_id)
    except ApplicationError as exc:
        raise _fail(exc) from exc
    click.echo(f"batch {batch.pk}: released, {PaperResponse.objects.filter(batch=batch).count()} scored responses")
