"""Writes and reads of the item bank: import (workbook or QTI package) as a new draft version, publish, export.

Only national staff see the bank; only the national administrator imports and publishes (the national analyst
reads and exports); every other actor gets :class:`NotFound` for reads and :class:`PermissionDenied` for the
export. ``actor=None`` is the system (the command line), as in the registry import.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Role
from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, NotFound, PermissionDenied, Problem
from naeq.cycles.models import Cycle
from naeq.delivery.items.excel import workbook_read
from naeq.delivery.items.qti import media_from_zip, package_read, package_write
from naeq.delivery.items.spec import INFO_SHEET, BookletSpec, InstrumentSpec, ItemSpec, StimulusSpec
from naeq.delivery.items.validate import instrument_problems
from naeq.delivery.media import media_problem, media_read, media_store
from naeq.delivery.models import Booklet, Instrument, InstrumentStatus, Item, Stimulus

ONLINE_MODES = frozenset({"online", "online_objective_paper_constructed"})
NATIONAL_ROLES = frozenset({Role.NATIONAL_ADMIN, Role.NATIONAL_ANALYST})


# ------------------------------------------------------------------------------------------------ access


def may_see_bank(actor: Any) -> bool:
    if actor is None:
        return True
    j = jurisdiction_of(actor)
    return j.is_staff_role and j.role in NATIONAL_ROLES


def may_write_bank(actor: Any) -> bool:
    if actor is None:
        return True
    return may_see_bank(actor) and jurisdiction_of(actor).role == Role.NATIONAL_ADMIN


def _see(actor: Any) -> None:
    if not may_see_bank(actor):
        raise NotFound(_("没有找到该页面。"))


def _write(actor: Any) -> None:
    _see(actor)
    if not may_write_bank(actor):
        raise PermissionDenied(_("只有国家监测中心管理员可以导入和发布题目。"))


def _cycle(year: int) -> Cycle:
    cycle = Cycle.objects.filter(year=year).first()
    if cycle is None:
        raise InvalidInput(_("没有%(year)s年的监测周期。") % {"year": year}, code="no_cycle")
    return cycle


def online_instruments(cycle: Cycle) -> list[Any]:
    """The configuration's instruments delivered online at some level (the ones the bank holds)."""
    return [i for i in cycle.config.instruments if ONLINE_MODES & set(i.delivery.values())]


# ------------------------------------------------------------------------------------------------ reads


def instrument_list(*, actor: Any, year: int) -> QuerySet[Instrument]:
    _see(actor)
    return (Instrument.objects.filter(cycle__year=year).select_related("created_by")
            .annotate(n_items=Count("items", distinct=True)).order_by("code", "-version"))


def instrument_get(*, actor: Any, instrument_id: int) -> Instrument:
    """An instrument version (missing and forbidden are the same 404)."""
    if not may_see_bank(actor):
        raise NotFound(_("没有找到该页面。"))
    inst = Instrument.objects.select_related("cycle").filter(pk=instrument_id).first()
    if inst is None:
        raise NotFound(_("没有找到该页面。"))
    return inst


def instrument_spec(instrument: Instrument, *, with_media: bool = True) -> InstrumentSpec:
    """The rows of an instrument version back as a spec (for the QTI export and comparisons)."""
    stimuli = {s.pk: s for s in instrument.stimuli.all()}
    spec = InstrumentSpec(code=instrument.code, name=instrument.name, kind=instrument.kind,
                          time_limit_minutes=instrument.time_limit_minutes, shuffle_pages=instrument.shuffle_pages)
    spec.stimuli = [StimulusSpec(code=s.code, title=s.title, body=s.body, media=list(s.media))
                    for s in sorted(stimuli.values(), key=lambda s: s.code)]
    for it in instrument.items.order_by("seq"):
        spec.items.append(ItemSpec(
            code=it.code, type=it.type, stem=it.stem, block=it.block, screen=it.screen, options=it.options,
            rows=it.rows, key=it.key, max_score=it.max_score, constraints=it.constraints, show_if=it.show_if,
            skip=it.skip, stimulus=stimuli[it.stimulus_id].code if it.stimulus_id else None, media=it.media,
            required=it.required, dimension=it.dimension, indicator_1=it.indicator_1,
            indicator_2=it.indicator_2, indicator_3=it.indicator_3))
    spec.booklets = [BookletSpec(number=b.number, blocks=list(b.blocks)) for b in instrument.booklets.all()]
    if with_media:
        names = {m["file"] for it in spec.items for m in it.media} | {m["file"] for s in spec.stimuli for m in s.media}
        for name in sorted(names):
            data = media_read(instrument, name)
            if data is not None:
                spec.media[name] = data
    return spec


# ------------------------------------------------------------------------------------------------ writes


def media_from_dir(path: str | Path) -> dict[str, bytes]:
    """The media files of a folder given with a workbook on the command line (not recursive)."""
    folder = Path(path)
    if not folder.is_dir():
        raise InvalidInput(_("媒体文件夹“%(path)s”不存在。") % {"path": folder.name}, code="bad_media_dir")
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and not p.name.startswith(".") and not media_problem(p.name)}


def media_load(*, data: bytes | None = None, path: str | Path | None = None, file_name: str = "") -> dict[str, bytes]:
    """Media supplied with a workbook: a zip's bytes, or a folder or .zip on disk."""
    if data is not None:
        return media_from_zip(data, file_name=file_name or "media.zip")
    if path is None:
        return {}
    p = Path(path)
    if p.is_file():
        return media_from_zip(p.read_bytes(), file_name=p.name)
    return media_from_dir(p)


def _prepare(cycle: Cycle, spec: InstrumentSpec, problems: list[Problem], file_name: str,
             code: str | None = None) -> Any:
    """Check the instrument code against the configuration, set the kind and default booklet, run the rules."""
    if code is not None:
        if spec.code and spec.code != code:
            problems.append(Problem(reason=_("包中的工具代码“%(a)s”与指定的“%(b)s”不一致。") % {
                "a": spec.code, "b": code},
                                    file="naeq.json", field="code"))
        spec.code = code
    online = {i.code: i for i in online_instruments(cycle)}
    conf = online.get(spec.code)
    if spec.code and conf is None:
        problems.append(Problem(
            reason=_("工具代码“%(code)s”不是%(year)s年周期配置中在线作答的工具，应为：%(codes)s。") % {
                "code": spec.code, "year": cycle.year, "codes": "、".join(online)},
            file=INFO_SHEET, field="工具代码"))
    if conf is not None:
        if spec.kind and spec.kind != conf.kind:
            problems.append(Problem(reason=_("类别与周期配置不一致：%(code)s 是%(kind)s。") % {
                "code": conf.code, "kind": _("测试卷") if conf.kind == "test" else _("问卷")},
                file=INFO_SHEET, field="类别"))
        spec.kind = conf.kind
        spec.name = spec.name or conf.name
    if not spec.booklets and spec.items:
        blocks: list[str] = []
        for it in spec.items:
            if it.block not in blocks:
                blocks.append(it.block)
        spec.booklets = [BookletSpec(number=1, blocks=blocks, source="题本")]
    if spec.kind:
        problems.extend(instrument_problems(spec))
    if problems:
        raise InvalidInput(_("%(file)s 有 %(n)d 处问题，没有导入任何内容。") % {"file": file_name, "n": len(problems)},
                           code="invalid_items", problems=problems)
    return conf


def _create(*, actor: Any, cycle: Cycle, spec: InstrumentSpec, file_name: str, sha: str, via: str) -> Instrument:
    last = Instrument.objects.filter(cycle=cycle, code=spec.code).aggregate(v=Max("version"))["v"] or 0
    inst = Instrument(cycle=cycle, code=spec.code, version=last + 1, name=spec.name[:100], kind=spec.kind,
                      status=InstrumentStatus.DRAFT, time_limit_minutes=spec.time_limit_minutes,
                      shuffle_pages=spec.shuffle_pages, source=file_name[:200], sha256=sha,
                      created_by=actor if getattr(actor, "pk", None) else None)
    inst.full_clean()
    inst.save()
    stimuli = {}
    for s in spec.stimuli:
        stimuli[s.code] = Stimulus.objects.create(instrument=inst, code=s.code, title=s.title[:200], body=s.body,
                                                  media=s.media)
    Item.objects.bulk_create([
        Item(instrument=inst, seq=n, stimulus=stimuli.get(it.stimulus) if it.stimulus else None,
             **it.model_fields())
        for n, it in enumerate(spec.items, start=1)])
    Booklet.objects.bulk_create([Booklet(instrument=inst, number=b.number, blocks=b.blocks) for b in spec.booklets])
    names = {m["file"] for it in spec.items for m in it.media} | {m["file"] for s in spec.stimuli for m in s.media}
    for name in sorted(names):
        media_store(inst, name, spec.media[name])
    audit_record(actor=actor, action="delivery.instrument_import", object_type="delivery.Instrument",
                 object_id=inst.pk, after={"code": inst.code, "version": inst.version, "source": inst.source,
                                           "sha256": sha, "via": via, "items": len(spec.items),
                                           "booklets": len(spec.booklets), "media": sorted(names)})
    return inst


@transaction.atomic
def instrument_import(*, actor: Any, year: int, data: bytes, file_name: str = "items.xlsx",
                      media: dict[str, bytes] | None = None, publish: bool = False) -> Instrument:
    """Import a workbook as a new draft version (version = last + 1) of its instrument; with ``publish`` also
    publish it. Any problem: :class:`InvalidInput` listing them all, nothing imported."""
    _write(actor)
    cycle = _cycle(year)
    spec, problems = workbook_read(data, file_name=file_name)
    spec.media = dict(media or {})
    _prepare(cycle, spec, problems, file_name)
    inst = _create(actor=actor, cycle=cycle, spec=spec, file_name=file_name,
                   sha=hashlib.sha256(data).hexdigest(), via="xlsx")
    if publish:
        inst = instrument_publish(actor=actor, instrument_id=inst.pk)
    return inst


@transaction.atomic
def instrument_import_qti(*, actor: Any, year: int, code: str, data: bytes, file_name: str = "package.zip",
                          publish: bool = False) -> Instrument:
    """Import a QTI 3.0 package as a new draft version of instrument ``code``."""
    _write(actor)
    cycle = _cycle(year)
    spec, problems = package_read(data, file_name=file_name)
    _prepare(cycle, spec, problems, file_name, code=code)
    inst = _create(actor=actor, cycle=cycle, spec=spec, file_name=file_name,
                   sha=hashlib.sha256(data).hexdigest(), via="qti")
    if publish:
        inst = instrument_publish(actor=actor, instrument_id=inst.pk)
    return inst


@transaction.atomic
def instrument_publish(*, actor: Any, instrument_id: int) -> Instrument:
    """Publish a draft version; the previously published version of the same code is retired."""
    _write(actor)
    inst = Instrument.objects.select_for_update().filter(pk=instrument_id).first()
    if inst is None:
        raise NotFound(_("没有找到该页面。"))
    if inst.status != InstrumentStatus.DRAFT:
        raise InvalidInput(_("只有草稿可以发布（%(code)s 第%(v)d版当前为%(status)s）。") % {
            "code": inst.code, "v": inst.version, "status": inst.get_status_display()}, code="not_draft")
    previous = list(Instrument.objects.select_for_update().filter(cycle_id=inst.cycle_id, code=inst.code,
                                                                  status=InstrumentStatus.PUBLISHED))
    for p in previous:
        p.status = InstrumentStatus.RETIRED
        p.save(update_fields=["status"])
    inst.status = InstrumentStatus.PUBLISHED
    inst.published_at = timezone.now()
    inst.save(update_fields=["status", "published_at"])
    audit_record(actor=actor, action="delivery.instrument_publish", object_type="delivery.Instrument",
                 object_id=inst.pk, before={"status": "draft", "published": [p.version for p in previous]},
                 after={"code": inst.code, "version": inst.version, "status": "published",
                        "retired": [p.version for p in previous]})
    return inst


@transaction.atomic
def instrument_export_qti(*, actor: Any, instrument_id: int) -> bytes:
    """The QTI 3.0 package of one version, keys included: national staff only (everyone else
    :class:`PermissionDenied`). Audited with who exported what."""
    if not may_see_bank(actor):
        raise PermissionDenied(_("只有国家监测中心人员可以导出题目。"))
    inst = Instrument.objects.filter(pk=instrument_id).first()
    if inst is None:
        raise NotFound(_("没有找到该页面。"))
    data = package_write(instrument_spec(inst))
    audit_record(actor=actor, action="delivery.instrument_export", object_type="delivery.Instrument",
                 object_id=inst.pk, after={"code": inst.code, "version": inst.version, "format": "qti3",
                                           "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    return data
