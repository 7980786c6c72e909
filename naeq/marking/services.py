"""Writes of constructed-response scoring: settings, rubrics, responses, raters, assignment, scores, arbitration,
suspension.

Every service is atomic, takes the acting user keyword-only (``None`` is the system: the CLI and the demo),
checks access through :mod:`naeq.marking.access`, validates with precise Chinese messages and writes an audit
event in the same transaction. The pure rules (double share, allocation, final score) are in
:mod:`naeq.marking.rules`.
"""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.accounts.models import User
from naeq.accounts.roles import Role
from naeq.accounts.services import user_create
from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, NotFound, Problem, ProblemCollector
from naeq.core.validation import full_clean_or_raise
from naeq.cycles.models import Cycle
from naeq.delivery.models import (
    MISSING_OMITTED,
    Answer,
    AttemptStatus,
    InstrumentKind,
    InstrumentStatus,
    Item,
    ItemScore,
    SessionKind,
    TestTaker,
)
from naeq.marking import access, images, rules
from naeq.marking.models import (
    AdjacentRule,
    AnchorPaper,
    Arbitration,
    Assignment,
    AssignmentRun,
    AssignmentStatus,
    FinalRule,
    MarkingSettings,
    MarkResponse,
    RaterItem,
    RaterProfile,
    ResponseStatus,
    Rubric,
    ScorePoint,
    Source,
)
from naeq.marking.workbook import manifest_parse, rubric_parse

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_response_code() -> str:
    """An anonymous response ID. Drawn from the operating system's CSPRNG on purpose: it must not be
    predictable or reproducible from anything (it hides the test taker), unlike statistical randomness."""
    while True:
        code = "R" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
        if not MarkResponse.objects.filter(code=code).exists():
            return code


# ------------------------------------------------------------------------------------------------ settings


def settings_for(cycle: Cycle) -> MarkingSettings:
    obj, _created = MarkingSettings.objects.get_or_create(cycle=cycle)
    return obj


SETTING_FIELDS = ("double_share", "check_rate", "small_item_max", "threshold_small", "threshold_large",
                  "adjacent_rule", "min_exact", "min_kappa", "drift_window", "drift_min_papers",
                  "min_check_accuracy")


@transaction.atomic
def settings_update(*, actor: Any, cycle: Cycle, **values: Any) -> MarkingSettings:
    access.require_organiser(actor=actor)
    obj = settings_for(cycle)
    before = obj.as_audit()
    c = ProblemCollector()
    for name, raw in values.items():
        if name not in SETTING_FIELDS:
            raise ValueError(f"unknown setting {name}")
        f = MarkingSettings._meta.get_field(name)
        assert isinstance(f, models.Field)  # every setting is a concrete column
        try:
            value: Any = raw if name == "adjacent_rule" else f.to_python(raw)
        except Exception:
            c.add(_("应为数值。"), field=str(f.verbose_name), value=raw)
            continue
        setattr(obj, name, value)
    c.raise_if_any(_("评分设置有误。"))
    if obj.adjacent_rule not in AdjacentRule.values:
        raise InvalidInput(_("相邻分处理方式未知。"), problems=[Problem(field=_("相邻分处理"),
                                                                 reason=_("应为取较高分、取较低分或取平均分"))])
    full_clean_or_raise(obj)
    obj.save()
    audit_record(actor=actor, action="marking.settings_update", object_type="marking.MarkingSettings",
                 object_id=obj.pk, before=before, after=obj.as_audit())
    return obj


# ------------------------------------------------------------------------------------------------ rubrics


def rater_scored_items(cycle: Cycle) -> dict[tuple[str, str], Item]:
    """The items raters score: items of the cycle's published test instruments with no key and a positive
    maximum score (open, extended text, fill-in items without a key)."""
    items = (Item.objects.filter(instrument__cycle=cycle, instrument__status=InstrumentStatus.PUBLISHED,
                                 instrument__kind=InstrumentKind.TEST, key__isnull=True, max_score__gt=0)
             .select_related("instrument").order_by("instrument__code", "seq"))
    return {(i.instrument.code, i.code): i for i in items}


def _item_max(item: Item) -> int:
    return round(item.max_score)


@transaction.atomic
def rubric_save(*, actor: Any, cycle: Cycle, instrument_code: str, item_code: str, points: dict[int, str],
                anchors: list[dict[str, Any]] | None = None, source: str = "") -> Rubric:
    """A new version of an item's rubric (the previous current version is kept, no longer current)."""
    access.require_organiser(actor=actor)
    item = rater_scored_items(cycle).get((instrument_code, item_code))
    if item is None:
        raise InvalidInput(_("工具“%(i)s”没有需人工评分的题目“%(q)s”。") % {"i": instrument_code, "q": item_code},
                           code="unknown_item")
    max_score = _item_max(item)
    c = ProblemCollector()
    clean: dict[int, str] = {}
    for s, desc in points.items():
        if not 0 <= int(s) <= max_score:
            c.add(_("分值应为0至%(m)s。") % {"m": max_score}, field=_("分值"), value=s)
        elif not str(desc or "").strip():
            c.add(_("分值%(s)s的评分描述不能为空。") % {"s": s}, field=_("评分描述"))
        else:
            clean[int(s)] = str(desc).strip()
    missing = sorted(set(range(max_score + 1)) - set(clean))
    if missing and not c.problems:
        c.add(_("缺少分值%(m)s的评分描述（须覆盖0至满分）。") % {"m": "、".join(map(str, missing))}, field=_("分值"))
    codes: set[str] = set()
    for a in anchors or []:
        if not a.get("code") or a["code"] in codes:
            c.add(_("样卷编号为空或重复。"), field=_("样卷编号"), value=a.get("code"))
        codes.add(str(a.get("code")))
        if not 0 <= int(a.get("score", -1)) <= max_score:
            c.add(_("样卷评定分数应为0至%(m)s。") % {"m": max_score}, field=_("评定分数"))
        if not str(a.get("text") or "").strip():
            c.add(_("样卷内容不能为空。"), field=_("样卷内容"))
    c.raise_if_any(_("评分标准有误。"))
    current = Rubric.objects.select_for_update().filter(cycle=cycle, instrument_code=instrument_code,
                                                         item_code=item_code, is_current=True).first()
    before = rubric_as_audit(current) if current else None
    last = Rubric.objects.filter(cycle=cycle, instrument_code=instrument_code,
                                 item_code=item_code).aggregate(v=Max("version"))["v"] or 0
    if current is not None:
        current.is_current = False
        current.save(update_fields=["is_current"])
    rubric = Rubric(cycle=cycle, instrument_code=instrument_code, item_code=item_code, version=last + 1,
                    max_score=max_score, source=source[:200],
                    created_by=actor if getattr(actor, "pk", None) else None)
    full_clean_or_raise(rubric)
    rubric.save()
    ScorePoint.objects.bulk_create([ScorePoint(rubric=rubric, score=s, descriptor=d) for s, d in
                                    sorted(clean.items())])
    AnchorPaper.objects.bulk_create([AnchorPaper(rubric=rubric, code=str(a["code"]), text=str(a["text"]).strip(),
                                                 score=int(a["score"]), note=str(a.get("note") or ""))
                                     for a in anchors or []])
    audit_record(actor=actor, action="marking.rubric_save", object_type="marking.Rubric", object_id=rubric.pk,
                 before=before, after=rubric_as_audit(rubric))
    return rubric


def rubric_as_audit(r: Rubric) -> dict[str, Any]:
    return {"instrument": r.instrument_code, "item": r.item_code, "version": r.version,
            "points": {p.score: p.descriptor for p in r.points.all()},
            "anchors": [{"code": a.code, "score": a.score} for a in r.anchors.all()]}


@dataclass(frozen=True)
class RubricImport:
    rubrics: list[Rubric]
    checks: int


@transaction.atomic
def rubric_import(*, actor: Any, cycle: Cycle, data: bytes, filename: str) -> RubricImport:
    """Import a rubric workbook (:mod:`naeq.marking.workbook`): a new rubric version for each item with score
    points, and the check papers listed. Any problem anywhere and nothing is written."""
    access.require_organiser(actor=actor)
    items = rater_scored_items(cycle)
    parsed = rubric_parse(data, filename=filename, max_scores={k: _item_max(v) for k, v in items.items()})
    out: list[Rubric] = []
    checks = 0
    for (inst, item), rub in parsed.items():
        if rub.points:
            out.append(rubric_save(actor=actor, cycle=cycle, instrument_code=inst, item_code=item,
                                   points=rub.points, anchors=rub.anchors, source=filename))
        elif rub.anchors:
            raise InvalidInput(_("题目“%(i)s/%(q)s”只有样卷没有评分标准：样卷须与评分标准一同导入。")
                               % {"i": inst, "q": item}, code="anchors_without_points")
        for chk in rub.checks:
            check_paper_add(actor=actor, cycle=cycle, instrument_code=inst, item_code=item, text=chk["text"],
                            score=chk["score"])
            checks += 1
    return RubricImport(rubrics=out, checks=checks)


@transaction.atomic
def check_paper_add(*, actor: Any, cycle: Cycle, instrument_code: str, item_code: str, text: str,
                    score: int) -> MarkResponse:
    """A pre-scored check paper (检测卷) for an item; it looks like any response to a rater."""
    access.require_organiser(actor=actor)
    item = rater_scored_items(cycle).get((instrument_code, item_code))
    if item is None:
        raise InvalidInput(_("工具“%(i)s”没有需人工评分的题目“%(q)s”。") % {"i": instrument_code, "q": item_code},
                           code="unknown_item")
    r = MarkResponse(cycle=cycle, code=new_response_code(), instrument_code=instrument_code, item_code=item_code,
                     max_score=_item_max(item), source=Source.CHECK, text=text.strip(), check_score=score)
    full_clean_or_raise(r)
    r.save()
    audit_record(actor=actor, action="marking.check_paper_add", object_type="marking.MarkResponse",
                 object_id=r.pk, after={"code": r.code, "item": f"{instrument_code}/{item_code}",
                                        "check_score": score})
    return r


# ------------------------------------------------------------------------------------------------ responses


def _answer_text(raw: str) -> str:
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return str(raw or "").strip()
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class Collected:
    created: int
    omitted: int
    existing: int


@transaction.atomic
def responses_collect(*, actor: Any, cycle: Cycle) -> Collected:
    """Collect the answers of submitted attempts in formal sessions to rater-scored items (idempotent: a test
    taker's response to an item is collected once; practice attempts never are). A blank answer — an empty
    answer, or an administered item never answered (its submission code 99) — is final at 0 (未作答) without a
    rater. Streams the answers in chunks; writes in batches."""
    access.require_organiser(actor=actor)
    items = rater_scored_items(cycle)
    by_instrument: dict[int, dict[str, Item]] = defaultdict(dict)
    for item in items.values():
        by_instrument[item.instrument_id][item.code] = item
    have = set(MarkResponse.objects.filter(cycle=cycle, test_taker__isnull=False)
               .values_list("instrument_code", "item_code", "test_taker_id"))
    counts = {"created": 0, "omitted": 0, "existing": 0}
    batch: list[MarkResponse] = []
    formal = {"attempt__instrument_id__in": list(by_instrument), "attempt__status": AttemptStatus.SUBMITTED,
              "attempt__session__kind": SessionKind.FORMAL, "item__in": sorted({i.code for i in items.values()})}
    fields = ("attempt_id", "attempt__test_taker_id", "attempt__instrument_id", "item")

    def take(attempt_id: int, taker_id: int, instrument_id: int, code: str, text: str) -> None:
        item = by_instrument[instrument_id].get(code)
        if item is None:
            return  # an item code of another instrument
        key = (item.instrument.code, code, taker_id)
        if key in have:
            counts["existing"] += 1
            return
        have.add(key)
        r = MarkResponse(cycle=cycle, code=new_response_code(), instrument_code=item.instrument.code,
                         item_code=code, max_score=_item_max(item), source=Source.ONLINE, test_taker_id=taker_id,
                         attempt_id=attempt_id, text=text[:20000])
        if not text:
            r.status, r.final_score, r.final_rule = ResponseStatus.FINAL, 0, FinalRule.OMITTED
            counts["omitted"] += 1
        else:
            counts["created"] += 1
        batch.append(r)
        if len(batch) >= 2000:
            MarkResponse.objects.bulk_create(batch)
            batch.clear()

    for attempt_id, taker_id, instrument_id, code, value in (
            Answer.objects.filter(**formal).values_list(*fields, "value").order_by("attempt_id", "item")
            .iterator(chunk_size=5000)):
        take(attempt_id, taker_id, instrument_id, code, _answer_text(value))
    # Administered but never answered: no Answer row, only the submission's code 99.
    for attempt_id, taker_id, instrument_id, code in (
            ItemScore.objects.filter(**formal, code=str(MISSING_OMITTED)).values_list(*fields)
            .order_by("attempt_id", "item").iterator(chunk_size=5000)):
        if (by_instrument[instrument_id].get(code) is not None
                and (by_instrument[instrument_id][code].instrument.code, code, taker_id) in have):
            continue  # counted with its (blank) answer above
        take(attempt_id, taker_id, instrument_id, code, "")
    MarkResponse.objects.bulk_create(batch)
    audit_record(actor=actor, action="marking.collect", object_type="cycles.Cycle", object_id=cycle.pk,
                 after=counts)
    return Collected(**counts)


@transaction.atomic
def paper_import(*, actor: Any, cycle: Cycle, manifest: bytes, manifest_name: str, archive: bytes,
                 archive_name: str) -> int:
    """Import scanned writing-box images: a manifest (test_id, instrument, item, image) and a zip of the images.
    Every row is checked — unknown test ID, unknown item, a response already imported, an image missing from the
    zip, a file that is not a PNG or JPEG image — before anything is stored."""
    access.require_organiser(actor=actor)
    rows = manifest_parse(manifest, filename=manifest_name)
    try:
        zf = zipfile.ZipFile(io.BytesIO(archive))
    except zipfile.BadZipFile:
        raise InvalidInput(_("文件“%(f)s”不是有效的zip压缩包。") % {"f": archive_name}, code="bad_zip") from None
    members = {info.filename.rsplit("/", 1)[-1]: info for info in zf.infolist() if not info.is_dir()}
    items = rater_scored_items(cycle)
    takers = dict(TestTaker.objects.filter(cycle=cycle, code__in=[r.test_id for r in rows])
                  .values_list("code", "id"))
    have = set(MarkResponse.objects.filter(cycle=cycle, test_taker__isnull=False)
               .values_list("instrument_code", "item_code", "test_taker_id"))
    c = ProblemCollector(file=manifest_name)
    seen: set[tuple[str, str, str]] = set()
    ready: list[tuple[MarkResponse, bytes]] = []
    for r in rows:
        bad = False
        if r.test_id not in takers:
            c.add(_("未知的测试编号“%(v)s”。") % {"v": r.test_id}, row=r.row, field="test_id", value=r.test_id)
            bad = True
        item = items.get((r.instrument, r.item))
        if item is None:
            c.add(_("工具“%(i)s”没有需人工评分的题目“%(q)s”。") % {"i": r.instrument, "q": r.item}, row=r.row,
                  field="item", value=r.item)
            bad = True
        key = (r.instrument, r.item, r.test_id)
        if key in seen:
            c.add(_("同一测试编号、同一题目重复出现。"), row=r.row, field="test_id", value=r.test_id)
            bad = True
        seen.add(key)
        if not bad and (r.instrument, r.item, takers[r.test_id]) in have:
            c.add(_("该测试编号此题的答卷已导入过。"), row=r.row, field="test_id", value=r.test_id)
            bad = True
        info = members.get(r.image)
        data = b""
        if info is None:
            c.add(_("压缩包“%(z)s”中没有图像文件“%(n)s”。") % {"z": archive_name, "n": r.image}, row=r.row,
                  field="image", value=r.image)
            bad = True
        elif info.file_size > images.MAX_IMAGE_BYTES:
            c.add(_("图像文件“%(n)s”超过10 MB。") % {"n": r.image}, row=r.row, field="image", value=r.image)
            bad = True
        else:
            data = zf.read(info)
            if images.image_kind(data) is None:
                c.add(_("文件“%(n)s”不是PNG或JPEG图像。") % {"n": r.image}, row=r.row, field="image",
                      value=r.image)
                bad = True
        if bad or item is None:
            continue
        code = new_response_code()
        resp = MarkResponse(cycle=cycle, code=code, instrument_code=r.instrument, item_code=r.item,
                            max_score=_item_max(item), source=Source.PAPER, test_taker_id=takers[r.test_id],
                            image=f"{code}.{images.image_kind(data)}")
        ready.append((resp, data))
    c.raise_if_any(_("扫描答卷导入有误，未导入任何内容。"))
    MarkResponse.objects.bulk_create([r for r, _d in ready], batch_size=1000)
    for resp, data in ready:
        images.image_store(cycle.pk, resp.image, data)
    audit_record(actor=actor, action="marking.paper_import", object_type="cycles.Cycle", object_id=cycle.pk,
                 after={"manifest": manifest_name, "archive": archive_name, "responses": len(ready)})
    return len(ready)


# ------------------------------------------------------------------------------------------------ raters


@transaction.atomic
def rater_add(*, actor: Any, cycle: Cycle, username: str, password: str | None, region: Any,
              display_name: str = "", items: list[tuple[str, str]] | None = None, senior: bool = False) -> User:
    """A rater account (评分员, anchored at a province) with its profile and the items it marks."""
    access.require_organiser(actor=actor)
    user = user_create(actor=actor, username=username, password=password, role=Role.RATER, region=region,
                       display_name=display_name)
    RaterProfile.objects.create(user=user, senior=senior)
    known = rater_scored_items(cycle)
    c = ProblemCollector()
    for inst, item in items or []:
        if (inst, item) not in known:
            c.add(_("工具“%(i)s”没有需人工评分的题目“%(q)s”。") % {"i": inst, "q": item}, field=_("题目"))
    c.raise_if_any(_("评分员的评分题目有误。"))
    RaterItem.objects.bulk_create([RaterItem(cycle=cycle, instrument_code=i, item_code=q, rater=user)
                                   for i, q in dict.fromkeys(items or [])])
    audit_record(actor=actor, action="marking.rater_add", object_type="accounts.User", object_id=user.pk,
                 after={"username": username, "senior": senior, "items": [f"{i}/{q}" for i, q in items or []]})
    return user


@transaction.atomic
def rater_suspend(*, actor: Any, rater_id: int, reason: str) -> int:
    """Suspend a rater: no more scoring; the unfinished assignments go back to the pool (withdrawn), to be given
    to other raters by the next assignment run. Returns how many were withdrawn."""
    access.require_organiser(actor=actor)
    profile = RaterProfile.objects.select_for_update().filter(user_id=rater_id).first()
    if profile is None:
        raise NotFound(_("没有找到该评分员。"))
    if not reason.strip():
        raise InvalidInput(_("请填写暂停原因。"), problems=[Problem(field=_("暂停原因"), reason=_("不能为空"))])
    profile.suspended, profile.suspended_at, profile.suspended_reason = True, timezone.now(), reason.strip()[:200]
    profile.save()
    n = (Assignment.objects.filter(rater_id=rater_id, status__in=[AssignmentStatus.PENDING,
                                                                   AssignmentStatus.FLAGGED])
         .update(status=AssignmentStatus.WITHDRAWN))
    audit_record(actor=actor, action="marking.rater_suspend", object_type="accounts.User", object_id=rater_id,
                 after={"reason": profile.suspended_reason, "withdrawn": n})
    return n


@transaction.atomic
def rater_reinstate(*, actor: Any, rater_id: int) -> None:
    access.require_organiser(actor=actor)
    profile = RaterProfile.objects.select_for_update().filter(user_id=rater_id).first()
    if profile is None:
        raise NotFound(_("没有找到该评分员。"))
    profile.suspended, profile.suspended_at, profile.suspended_reason = False, None, ""
    profile.save()
    audit_record(actor=actor, action="marking.rater_reinstate", object_type="accounts.User", object_id=rater_id)


# ------------------------------------------------------------------------------------------------ assignment


@transaction.atomic
def assign(*, actor: Any, cycle: Cycle, instrument_code: str, item_code: str, seed: int) -> AssignmentRun:
    """One assignment run for an item: every response still needing a rater (new ones, and those withdrawn from a
    suspended rater) goes to the item's active raters; the double-scoring share of new responses gets two
    raters; check papers are seeded at the configured rate. The seed and parameters are recorded."""
    access.require_organiser(actor=actor)
    cfg = settings_for(cycle)
    raters = list(RaterItem.objects.filter(cycle=cycle, instrument_code=instrument_code, item_code=item_code,
                                           rater__rater_profile__suspended=False, rater__is_active=True)
                  .order_by("rater_id").values_list("rater_id", flat=True))
    if not raters:
        raise InvalidInput(_("题目“%(i)s/%(q)s”没有可用的评分员。") % {"i": instrument_code, "q": item_code},
                           code="no_raters")
    base = MarkResponse.objects.filter(cycle=cycle, instrument_code=instrument_code, item_code=item_code)
    open_rs = list(base.filter(status=ResponseStatus.OPEN).exclude(source=Source.CHECK).order_by("id")
                   .values_list("id", "double"))
    live: dict[int, set[int]] = defaultdict(set)
    ever: dict[int, set[int]] = defaultdict(set)
    for rid, rater, status in Assignment.objects.filter(response__in=[r for r, _d in open_rs]).values_list(
            "response_id", "rater_id", "status"):
        ever[rid].add(rater)
        if status != AssignmentStatus.WITHDRAWN:
            live[rid].add(rater)
    rng = np.random.default_rng(seed)
    fresh = [rid for rid, _d in open_rs if not ever[rid]]
    mask = rules.choose_double(len(fresh), cfg.double_share, rng)
    double_ids = {rid for rid, m in zip(fresh, mask, strict=True) if m}
    if len(raters) < 2:
        double_ids = set()
    needs: list[rules.Need] = []
    for rid, was_double in open_rs:
        want = 2 if (rid in double_ids or was_double) else 1
        missing = want - len(live[rid])
        if missing > 0:
            needs.append(rules.Need(response=rid, count=missing, exclude=frozenset(ever[rid])))
    checks = list(base.filter(source=Source.CHECK).order_by("id").values_list("id", flat=True))
    seen: dict[int, set[int]] = defaultdict(set)
    for rater, rid in Assignment.objects.filter(response__in=checks).values_list("rater_id", "response_id"):
        seen[rater].add(rid)
    positions = dict(Assignment.objects.filter(rater_id__in=raters).values_list("rater_id")
                     .annotate(m=Max("position")).values_list("rater_id", "m"))
    try:
        slots = rules.allocate(needs, raters, rng=rng, checks=checks, check_rate=cfg.check_rate,
                               checks_seen=seen, next_position={r: (positions.get(r) or 0) + 1 for r in raters})
    except ValueError:
        raise InvalidInput(_("可用评分员不足：双评或重新分配的答卷需要尚未评过它的评分员。"),
                           code="not_enough_raters") from None
    run = AssignmentRun.objects.create(cycle=cycle, instrument_code=instrument_code, item_code=item_code,
                                       seed=seed, double_share=cfg.double_share, check_rate=cfg.check_rate,
                                       raters=raters, responses=len(needs), assignments=len(slots),
                                       created_by=actor if getattr(actor, "pk", None) else None)
    if double_ids:
        MarkResponse.objects.filter(pk__in=double_ids).update(double=True)
    Assignment.objects.bulk_create([Assignment(response_id=s.response, rater_id=s.rater, run=run,
                                               position=s.position) for s in slots], batch_size=2000)
    audit_record(actor=actor, action="marking.assign", object_type="marking.AssignmentRun", object_id=run.pk,
                 after={"item": f"{instrument_code}/{item_code}", "seed": seed, "raters": raters,
                        "responses": len(needs), "double": len(double_ids), "assignments": len(slots),
                        "double_share": cfg.double_share, "check_rate": cfg.check_rate})
    return run


# ------------------------------------------------------------------------------------------------ scoring


def _resolve(response: MarkResponse, cfg: MarkingSettings) -> None:
    """Settle a response once every live assignment is scored: its final score, or the arbitration queue."""
    if response.source == Source.CHECK or response.status != ResponseStatus.OPEN:
        return
    live = list(response.assignments.exclude(status=AssignmentStatus.WITHDRAWN).values_list("status", "score"))
    need = 2 if response.double else 1
    scores = [int(s) for st, s in live if st == AssignmentStatus.SCORED and s is not None]
    if len(scores) < need or len(live) > len(scores):
        return
    outcome = rules.final_score(scores[:2], max_score=response.max_score,
                                threshold=cfg.threshold_for(response.max_score), adjacent_rule=cfg.adjacent_rule)
    if outcome.status == "arbitration":
        response.status = ResponseStatus.ARBITRATION
        response.save(update_fields=["status"])
        Arbitration.objects.create(response=response, scores=scores[:2])
    else:
        response.status, response.final_score, response.final_rule = ResponseStatus.FINAL, outcome.score, outcome.rule
        response.save(update_fields=["status", "final_score", "final_rule"])


@transaction.atomic
def score_submit(*, actor: Any, assignment_id: int, score: int) -> Assignment:
    """A rater scores one response of their queue (once: a scored assignment cannot be changed by the rater)."""
    a = access.assignment_access(actor=actor, assignment_id=assignment_id)
    a = Assignment.objects.select_for_update().select_related("response").get(pk=a.pk)
    if a.status != AssignmentStatus.PENDING:
        raise InvalidInput(_("该答卷已评过，不能重复评分。"), code="already_scored")
    if not isinstance(score, int) or not 0 <= score <= a.response.max_score:
        raise InvalidInput(_("分数应为0至%(m)s的整数。") % {"m": a.response.max_score}, code="bad_score",
                           problems=[Problem(field=_("分数"), reason=_("超出范围"), value=score)])
    a.status, a.score, a.scored_at = AssignmentStatus.SCORED, score, timezone.now()
    full_clean_or_raise(a)
    a.save()
    audit_record(actor=actor, action="marking.score", object_type="marking.Assignment", object_id=a.pk,
                 after={"response": a.response.code, "score": score})
    _resolve(MarkResponse.objects.select_for_update().get(pk=a.response_id), settings_for(a.response.cycle))
    return a


@transaction.atomic
def assignment_skip(*, actor: Any, assignment_id: int) -> Assignment:
    """Put a response at the end of the rater's queue."""
    a = access.assignment_access(actor=actor, assignment_id=assignment_id)
    if a.status != AssignmentStatus.PENDING:
        raise InvalidInput(_("该答卷已评过。"), code="already_scored")
    last = Assignment.objects.filter(rater_id=a.rater_id).aggregate(m=Max("position"))["m"] or 0
    a.position, a.skips = last + 1, a.skips + 1
    a.save(update_fields=["position", "skips"])
    audit_record(actor=actor, action="marking.skip", object_type="marking.Assignment", object_id=a.pk)
    return a


@transaction.atomic
def assignment_flag(*, actor: Any, assignment_id: int, note: str) -> Assignment:
    """Hand a response to the supervisor (illegible scan, off-task answer, a concern): it leaves the queue."""
    a = access.assignment_access(actor=actor, assignment_id=assignment_id)
    if a.status != AssignmentStatus.PENDING:
        raise InvalidInput(_("该答卷已评过。"), code="already_scored")
    a.status, a.flag_note = AssignmentStatus.FLAGGED, note.strip()[:300]
    a.save(update_fields=["status", "flag_note"])
    audit_record(actor=actor, action="marking.flag", object_type="marking.Assignment", object_id=a.pk,
                 after={"note": a.flag_note})
    return a


@transaction.atomic
def flag_return(*, actor: Any, assignment_id: int) -> Assignment:
    """The supervisor sends a flagged response back to its rater's queue (at the end)."""
    a = access.flagged_access(actor=actor, assignment_id=assignment_id)
    last = Assignment.objects.filter(rater_id=a.rater_id).aggregate(m=Max("position"))["m"] or 0
    a.status, a.position = AssignmentStatus.PENDING, last + 1
    a.save(update_fields=["status", "position"])
    audit_record(actor=actor, action="marking.flag_return", object_type="marking.Assignment", object_id=a.pk)
    return a


@transaction.atomic
def arbitrate(*, actor: Any, arbitration_id: int, score: int, note: str = "") -> MarkResponse:
    """The arbiter's score is final."""
    arb = access.arbitration_access(actor=actor, arbitration_id=arbitration_id)
    arb = Arbitration.objects.select_for_update().select_related("response").get(pk=arb.pk)
    if arb.resolved_at is not None:
        raise InvalidInput(_("该答卷已仲裁。"), code="already_arbitrated")
    r = arb.response
    if not isinstance(score, int) or not 0 <= score <= r.max_score:
        raise InvalidInput(_("分数应为0至%(m)s的整数。") % {"m": r.max_score}, code="bad_score",
                           problems=[Problem(field=_("分数"), reason=_("超出范围"), value=score)])
    outcome = rules.arbitrated(score, max_score=r.max_score)
    arb.score, arb.arbiter, arb.note, arb.resolved_at = score, actor, note.strip()[:300], timezone.now()
    arb.save()
    r.status, r.final_score, r.final_rule = ResponseStatus.FINAL, outcome.score, outcome.rule
    r.save(update_fields=["status", "final_score", "final_rule"])
    audit_record(actor=actor, action="marking.arbitrate", object_type="marking.MarkResponse", object_id=r.pk,
                 before={"scores": arb.scores}, after={"score": score, "note": arb.note})
    return r
