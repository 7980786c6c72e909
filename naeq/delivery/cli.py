"""``naeq items``: the item bank from the command line (template, import, QTI export and import, list, publish).

Actions run as the system (``actor=None``), like ``naeq registry import``: the command line is the national
centre's own tool. Bad input: every problem with sheet, row, column and reason, nothing imported, exit code 1
(the house convention of :mod:`naeq.cli`; usage errors exit 2).
"""

from __future__ import annotations

import os
from typing import Any

import click

from naeq.core.clitools import django_setup as _django_setup


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _show(inst: Any) -> str:
    return f"{inst.code} v{inst.version} [{inst.status}] {inst.name}"


@click.group()
def items() -> None:
    """The item bank (题库): workbook template, import, QTI 3.0 export/import, list, publish."""


@items.command("template")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def template_cmd(out: str) -> None:
    """Write the item workbook template OUT.xlsx (sheets 说明, 题目, 共享材料, 题本, 填写说明)."""
    _django_setup()
    from naeq.delivery.items import workbook_write

    with open(out, "wb") as fh:
        fh.write(workbook_write())
    click.echo(f"template written to {out}")


@items.command("import")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="The cycle year.")
@click.option("--media", "media", type=click.Path(exists=True), default=None,
              help="A folder or .zip with the pictures and recordings the workbook names.")
@click.option("--publish", is_flag=True, help="Publish the new version at once (retires the published one).")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_cmd(year: int, media: str | None, publish: bool, file: str) -> None:
    """Import FILE (.xlsx) as a new draft version of its instrument (the code in its 说明 sheet).

    Any problem: every one is listed with sheet, row, column and reason; nothing is imported (exit code 1).
    """
    _django_setup()
    from naeq.delivery.items import instrument_import, media_load

    inst = instrument_import(actor=None, year=year, data=_read(file), file_name=os.path.basename(file),
                             media=media_load(path=media) if media else {}, publish=publish)
    click.echo(f"imported {_show(inst)}: {inst.items.count()} items, {inst.booklets.count()} booklets "
               f"(id {inst.pk})")


@items.command("export-qti")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="The cycle year.")
@click.option("--code", required=True, help="The instrument code (e.g. math).")
@click.option("--version", "version", type=click.IntRange(min=1), default=None,
              help="The version (default: the published one, else the latest).")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def export_qti_cmd(year: int, code: str, version: int | None, out: str) -> None:
    """Write the QTI 3.0 package of an instrument to OUT.zip (keys included: keep it secret). Audited."""
    _django_setup()
    from django.utils.translation import gettext as _

    from naeq.core.errors import InvalidInput
    from naeq.delivery.items import instrument_export_qti
    from naeq.delivery.models import Instrument, InstrumentStatus

    qs = Instrument.objects.filter(cycle__year=year, code=code)
    if version is not None:
        inst = qs.filter(version=version).first()
    else:
        inst = qs.filter(status=InstrumentStatus.PUBLISHED).first() or qs.order_by("-version").first()
    if inst is None:
        raise InvalidInput(_("题库中没有 %(year)s 年的工具 %(code)s。") % {"year": year, "code": code})
    data = instrument_export_qti(actor=None, instrument_id=inst.pk)
    with open(out, "wb") as fh:
        fh.write(data)
    click.echo(f"exported {_show(inst)} to {out} ({len(data)} bytes)")


@items.command("import-qti")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="The cycle year.")
@click.option("--code", required=True, help="The instrument code the package becomes a version of.")
@click.option("--publish", is_flag=True, help="Publish the new version at once.")
@click.argument("package", type=click.Path(exists=True, dir_okay=False))
def import_qti_cmd(year: int, code: str, publish: bool, package: str) -> None:
    """Import a QTI 3.0 package (zip with imsmanifest.xml) as a new draft version of instrument CODE.

    Invalid items are listed with their identifier and reason; nothing is imported (exit code 1).
    """
    _django_setup()
    from naeq.delivery.items import instrument_import_qti

    inst = instrument_import_qti(actor=None, year=year, code=code, data=_read(package),
                                 file_name=os.path.basename(package), publish=publish)
    click.echo(f"imported {_show(inst)}: {inst.items.count()} items (id {inst.pk})")


@items.command("list")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="The cycle year.")
def list_cmd(year: int) -> None:
    """List every version in the bank of a cycle: code, version, status, items, booklets."""
    _django_setup()
    from django.db.models import Count

    from naeq.delivery.models import Instrument

    rows = (Instrument.objects.filter(cycle__year=year)
            .annotate(n_items=Count("items", distinct=True), n_booklets=Count("booklets", distinct=True))
            .order_by("code", "-version"))
    click.echo(f"{'id':>5}  {'code':<38}{'ver':>4}  {'status':<10}{'items':>6}{'booklets':>9}  name")
    for r in rows:
        click.echo(f"{r.pk:>5}  {r.code:<38}{r.version:>4}  {r.status:<10}{r.n_items:>6}{r.n_booklets:>9}  {r.name}")


@items.command("publish")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="The cycle year.")
@click.option("--code", required=True, help="The instrument code.")
@click.option("--version", "version", type=click.IntRange(min=1), default=None,
              help="The draft version to publish (default: the latest draft).")
def publish_cmd(year: int, code: str, version: int | None) -> None:
    """Publish a draft version of an instrument; the previously published version is retired."""
    _django_setup()
    from django.utils.translation import gettext as _

    from naeq.core.errors import InvalidInput
    from naeq.delivery.items import instrument_publish
    from naeq.delivery.models import Instrument, InstrumentStatus

    qs = Instrument.objects.filter(cycle__year=year, code=code)
    inst = (qs.filter(version=version) if version is not None
            else qs.filter(status=InstrumentStatus.DRAFT).order_by("-version")).first()
    if inst is None:
        raise InvalidInput(_("没有可发布的草稿：%(year)s 年 %(code)s。") % {"year": year, "code": code})
    inst = instrument_publish(actor=None, instrument_id=inst.pk)
    click.echo(f"published {_show(inst)}")
