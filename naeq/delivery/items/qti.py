"""QTI 3.0 packages: export an instrument and import one back.

A package is a zip with ``imsmanifest.xml``, one ``items/<code>.xml`` (``qti-assessment-item``) per item, one
``stimuli/<code>.xml`` (``qti-assessment-stimulus``) per shared stimulus, the media under ``media/`` and
``naeq.json`` (the instrument: name, time limit, page shuffling, booklets; optional on import).

Interactions (see the support table in docs/items.md):

=============  =====================================================================================
naeq type      QTI 3.0
=============  =====================================================================================
single         qti-choice-interaction max-choices="1"
true_false     qti-choice-interaction max-choices="1" + data-naeq-type="true_false"
likert         qti-choice-interaction max-choices="1" + data-naeq-type="likert"
multiple       qti-choice-interaction max-choices="n" min-choices="m"
text           qti-text-entry-interaction (base-type string, expected-length = max length)
numeric        qti-text-entry-interaction, base-type float (integer when 0 decimals) + data-naeq-min/max
open           qti-extended-text-interaction, no correct response
matrix         qti-match-interaction (rows as the first set, columns as the second; one column per row)
ranking        qti-order-interaction (naeq extension of the list above: QTI 3.0 has it)
slider         qti-slider-interaction
single_text    qti-choice-interaction + qti-text-entry-interaction + data-naeq-text-option
=============  =====================================================================================

naeq properties QTI has no place for (block, screen, indicator hierarchy, conditional display, skip rule,
required) travel as ``data-naeq-*`` attributes of ``qti-item-body`` (QTI 3.0 allows ``data-*`` attributes on
body elements); a package from another system without them gets block Q, one item a screen.

Performance tasks (issue 9): an item's audio with a play limit is wrapped in ``qti-media-interaction
max-plays="n"`` (QTI's own place for it; its response ``PLAYS_n`` counts plays), marked
``data-naeq-inherited="true"`` when the limit is the item's ``constraints["play_limit"]`` (also
``data-naeq-play-limit`` on the body) rather than the file's own. A stimulus body has no interactions: its audio
carries ``data-naeq-play-limit``. QTI 3.0 has no recording interaction (only custom PCIs), so ``record`` and
``record_seconds`` travel as ``data-naeq-record`` / ``data-naeq-record-seconds`` of the body.

XML safety: every XML file is refused if it has a DOCTYPE or entity declaration (no entity expansion), zip
members may not leave the package, and sizes are bounded.
"""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from typing import Any

from django.utils.translation import gettext as _

from naeq.core.errors import InvalidInput, Problem
from naeq.delivery.items.spec import BookletSpec, InstrumentSpec, ItemSpec, StimulusSpec
from naeq.delivery.media import media_kind, media_problem
from naeq.delivery.models import ItemType

NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
MAX_PACKAGE_BYTES = 200 * 1024 * 1024
MAX_MEMBER_BYTES = 50 * 1024 * 1024
MAX_MEMBERS = 5000
_DANGEROUS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_CHOICE_TYPES = (ItemType.SINGLE, ItemType.TRUE_FALSE, ItemType.LIKERT, ItemType.MULTIPLE, ItemType.SINGLE_TEXT)


# ------------------------------------------------------------------------------------------------ export


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: Any) -> ET.Element:
    e = ET.SubElement(parent, tag, {k.replace("_", "-"): str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        e.text = text
    return e


def _decl(root: ET.Element, identifier: str, cardinality: str, base_type: str, correct: list[str] | None) -> None:
    d = _el(root, "qti-response-declaration", identifier=identifier, cardinality=cardinality, base_type=base_type)
    if correct:
        cr = _el(d, "qti-correct-response")
        for v in correct:
            _el(cr, "qti-value", v)


def _num_text(v: float | int) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def item_xml(item: ItemSpec, stimulus_href: str | None = None) -> bytes:
    """One ``qti-assessment-item``."""
    root = ET.Element("qti-assessment-item", {"xmlns": NS, "identifier": item.code, "title": item.code,
                                              "adaptive": "false", "time-dependent": "false"})
    c, t, key = item.constraints, item.type, item.key
    if t in (ItemType.SINGLE, ItemType.TRUE_FALSE, ItemType.LIKERT, ItemType.SINGLE_TEXT):
        keyed = key is not None and t != ItemType.SINGLE_TEXT
        _decl(root, "RESPONSE", "single", "identifier", [f"C_{key}"] if keyed else None)
    elif t == ItemType.MULTIPLE:
        _decl(root, "RESPONSE", "multiple", "identifier", [f"C_{k}" for k in key] if key else None)
    elif t == ItemType.NUMERIC:
        base = "integer" if c.get("decimals", 0) == 0 else "float"
        _decl(root, "RESPONSE", "single", base, [_num_text(key)] if key is not None else None)
    elif t == ItemType.SLIDER:
        _decl(root, "RESPONSE", "single", "float", [_num_text(key)] if key is not None else None)
    elif t == ItemType.TEXT:
        _decl(root, "RESPONSE", "single", "string", key[:1] if key else None)
        if key and len(key) > 1:
            alt = _el(_el(root, "qti-response-declaration", identifier="RESPONSE_ALT", cardinality="multiple",
                          base_type="string"), "qti-correct-response")
            for v in key:
                _el(alt, "qti-value", v)
    elif t == ItemType.OPEN:
        _decl(root, "RESPONSE", "single", "string", None)
    elif t == ItemType.MATRIX:
        _decl(root, "RESPONSE", "multiple", "directedPair",
              [f"R_{r} C_{key[r]}" for r in sorted(key, key=int)] if key else None)
    elif t == ItemType.RANKING:
        _decl(root, "RESPONSE", "ordered", "identifier", [f"R_{k}" for k in key] if key else None)
    if t == ItemType.SINGLE_TEXT:
        _decl(root, "RESPONSE_TEXT", "single", "string", None)
    limited = [(n, m) for n, m in enumerate(item.media, start=1)
               if m["kind"] == "audio" and (m.get("play_limit") or c.get("play_limit"))]
    for n, _m in limited:  # the play counts of qti-media-interaction
        _decl(root, f"PLAYS_{n}", "single", "integer", None)
    outcome = _el(root, "qti-outcome-declaration", identifier="SCORE", cardinality="single", base_type="float")
    _el(_el(outcome, "qti-default-value"), "qti-value", "0")
    _el(root, "qti-outcome-declaration", identifier="MAXSCORE", cardinality="single",
        base_type="float").append(_value_default(_num_text(item.max_score)))
    if stimulus_href:
        _el(root, "qti-assessment-stimulus-ref", identifier=item.stimulus, href=stimulus_href)
    extra = {"data-naeq-type": t, "data-naeq-block": item.block, "data-naeq-screen": str(item.screen),
             "data-naeq-dimension": item.dimension, "data-naeq-indicator-1": item.indicator_1,
             "data-naeq-indicator-2": item.indicator_2, "data-naeq-indicator-3": item.indicator_3,
             "data-naeq-required": "true" if item.required else "false"}
    if "partial_credit" in c:
        extra["data-naeq-partial-credit"] = "true" if c["partial_credit"] else "false"
    if item.show_if:
        extra["data-naeq-show-if"] = json.dumps(item.show_if, ensure_ascii=False)
    if item.skip:
        extra["data-naeq-skip"] = json.dumps(item.skip, ensure_ascii=False)
    for key in ("play_limit", "record", "record_seconds"):
        if key in c:
            extra["data-naeq-" + key.replace("_", "-")] = str(c[key])
    body = ET.SubElement(root, "qti-item-body", extra)
    for p in item.stem.split("\n"):
        _el(body, "p", p)
    wrapped = dict((n, m) for n, m in limited)
    for n, m in enumerate(item.media, start=1):
        if n in wrapped:
            own = m.get("play_limit")
            mi = _el(body, "qti-media-interaction", response_identifier=f"PLAYS_{n}", autostart="false",
                     max_plays=own or c["play_limit"], data_naeq_inherited=None if own else "true")
            _el(mi, "audio", src=f"../media/{m['file']}", controls="controls")
        elif m["kind"] == "audio":
            _el(body, "audio", src=f"../media/{m['file']}", controls="controls")
        else:
            _el(body, "img", src=f"../media/{m['file']}", alt=m.get("alt", ""))
    if t in _CHOICE_TYPES:
        attrs: dict[str, Any] = {"response_identifier": "RESPONSE", "shuffle": "false",
                                 "max_choices": 1}
        if t == ItemType.MULTIPLE:
            attrs["max_choices"] = c.get("max_choices", len(item.options))
        if t == ItemType.MULTIPLE:
            attrs["min_choices"] = c.get("min_choices", 1)
        if t == ItemType.SINGLE_TEXT:
            attrs["data_naeq_text_option"] = c.get("text_option")
        ci = _el(body, "qti-choice-interaction", **attrs)
        for o in item.options:
            _el(ci, "qti-simple-choice", o["label"], identifier=f"C_{o['value']}", data_naeq_value=o["value"])
        if t == ItemType.SINGLE_TEXT:
            _el(_el(body, "p"), "qti-text-entry-interaction", response_identifier="RESPONSE_TEXT",
                expected_length=c.get("max_length"))
    elif t in (ItemType.TEXT, ItemType.NUMERIC):
        attrs = {"response_identifier": "RESPONSE", "expected_length": c.get("max_length")}
        if t == ItemType.NUMERIC:
            attrs.update(data_naeq_min=_num_text(c["min"]), data_naeq_max=_num_text(c["max"]),
                         data_naeq_decimals=c.get("decimals", 0))
        _el(_el(body, "p"), "qti-text-entry-interaction", **attrs)
    elif t == ItemType.OPEN:
        _el(body, "qti-extended-text-interaction", response_identifier="RESPONSE",
            expected_length=c.get("max_length"), data_naeq_paper="true")
    elif t == ItemType.MATRIX:
        mi = _el(body, "qti-match-interaction", response_identifier="RESPONSE", shuffle="false",
                 max_associations=len(item.rows))
        rows = _el(mi, "qti-simple-match-set")
        for i, r in enumerate(item.rows):
            _el(rows, "qti-simple-associable-choice", r, identifier=f"R_{i + 1}", match_max=1)
        cols = _el(mi, "qti-simple-match-set")
        for o in item.options:
            _el(cols, "qti-simple-associable-choice", o["label"], identifier=f"C_{o['value']}",
                match_max=len(item.rows), data_naeq_value=o["value"])
    elif t == ItemType.RANKING:
        oi = _el(body, "qti-order-interaction", response_identifier="RESPONSE", shuffle="false")
        for i, r in enumerate(item.rows):
            _el(oi, "qti-simple-choice", r, identifier=f"R_{i + 1}")
    elif t == ItemType.SLIDER:
        _el(body, "qti-slider-interaction", response_identifier="RESPONSE", lower_bound=_num_text(c["min"]),
            upper_bound=_num_text(c["max"]), step=_num_text(c.get("step", 1)),
            data_naeq_decimals=c.get("decimals", 0))
    if key is not None or t == ItemType.OPEN:
        _el(root, "qti-response-processing",
            template="https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct.xml"
            if key is not None else None)
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def _value_default(v: str) -> ET.Element:
    d = ET.Element("qti-default-value")
    _el(d, "qti-value", v)
    return d


def stimulus_xml(s: StimulusSpec) -> bytes:
    root = ET.Element("qti-assessment-stimulus", {"xmlns": NS, "identifier": s.code, "title": s.title or s.code})
    body = _el(root, "qti-stimulus-body")
    for p in s.body.split("\n"):
        _el(body, "p", p)
    for m in s.media:
        if m["kind"] == "audio":
            _el(body, "audio", src=f"../media/{m['file']}", controls="controls",
                data_naeq_play_limit=m.get("play_limit"))
        else:
            _el(body, "img", src=f"../media/{m['file']}", alt=m.get("alt", ""))
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def package_write(spec: InstrumentSpec) -> bytes:
    """The QTI 3.0 package of ``spec`` (zip bytes)."""
    manifest = ET.Element("manifest", {"xmlns": CP_NS, "identifier": f"naeq-{spec.code}"})
    _el(_el(manifest, "metadata"), "schema", "QTI Package")
    _el(manifest, "organizations")
    resources = _el(manifest, "resources")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for s in spec.stimuli:
            href = f"stimuli/{s.code}.xml"
            z.writestr(href, stimulus_xml(s))
            r = _el(resources, "resource", identifier=f"S_{s.code}", type="imsqti_stimulus_xmlv3p0", href=href)
            _el(r, "file", href=href)
        for item in spec.items:
            href = f"items/{item.code}.xml"
            z.writestr(href, item_xml(item, f"../stimuli/{item.stimulus}.xml" if item.stimulus else None))
            r = _el(resources, "resource", identifier=f"I_{item.code}", type="imsqti_item_xmlv3p0", href=href)
            _el(r, "file", href=href)
            if item.stimulus:
                _el(r, "dependency", identifierref=f"S_{item.stimulus}")
        for name, data in sorted(spec.media.items()):
            z.writestr(f"media/{name}", data)
            r = _el(resources, "resource", identifier=f"M_{name}", type="webcontent", href=f"media/{name}")
            _el(r, "file", href=f"media/{name}")
        ET.indent(manifest)
        z.writestr("imsmanifest.xml", b'<?xml version="1.0" encoding="UTF-8"?>\n'
                   + ET.tostring(manifest, encoding="utf-8"))
        z.writestr("naeq.json", json.dumps({
            "format": "naeq-qti-extension/1", "code": spec.code, "name": spec.name, "kind": spec.kind,
            "time_limit_minutes": spec.time_limit_minutes, "shuffle_pages": spec.shuffle_pages,
            "booklets": [{"number": b.number, "blocks": b.blocks} for b in spec.booklets],
        }, ensure_ascii=False, indent=1))
    return out.getvalue()


# ------------------------------------------------------------------------------------------------ import


class QtiError(Exception):
    """One QTI file that cannot be read; the reason is already Chinese."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def xml_parse(data: bytes, name: str) -> ET.Element:
    """Parse XML without DOCTYPE or entity declarations (so nothing is expanded) and without namespaces."""
    if _DANGEROUS.search(data):
        raise QtiError(_("%(name)s 含有 DOCTYPE 或实体声明，出于安全原因拒绝。") % {"name": name})
    try:
        root = ET.fromstring(data)  # noqa: S314 - DOCTYPE and entities refused above
    except ET.ParseError as exc:
        raise QtiError(_("%(name)s 不是格式正确的 XML：%(err)s") % {"name": name, "err": exc}) from exc
    for e in root.iter():
        if isinstance(e.tag, str):
            e.tag = _local(e.tag)
    return root


def _texts(e: ET.Element) -> str:
    return "".join(e.itertext()).strip()


def _correct(root: ET.Element, identifier: str = "RESPONSE") -> list[str] | None:
    for d in root.findall("qti-response-declaration"):
        if d.get("identifier") == identifier:
            cr = d.find("qti-correct-response")
            if cr is None:
                return None
            return [(v.text or "").strip() for v in cr.findall("qti-value")]
    return None


def _strip(prefix: str, v: str) -> str:
    return v[len(prefix):] if v.startswith(prefix) else v


def _number(s: str | None) -> float | int | None:
    if s is None:
        return None
    try:
        f = float(s)
    except ValueError:
        return None
    return int(f) if f.is_integer() else f


def item_read(data: bytes, name: str) -> ItemSpec:
    root = xml_parse(data, name)
    if root.tag != "qti-assessment-item":
        raise QtiError(_("%(name)s 的根元素不是 qti-assessment-item。") % {"name": name})
    ident = root.get("identifier") or ""
    body = root.find("qti-item-body")
    if body is None:
        raise QtiError(_("%(id)s：缺少 qti-item-body。") % {"id": ident})
    # qti-media-interaction only counts plays of its audio (a play limit), it is not where the answer goes.
    interactions = [e for e in body.iter() if e.tag.endswith("-interaction") and e.tag != "qti-media-interaction"]
    kinds = [e.tag for e in interactions]
    supported = {"qti-choice-interaction", "qti-text-entry-interaction", "qti-extended-text-interaction",
                 "qti-match-interaction", "qti-order-interaction", "qti-slider-interaction"}
    bad = [k for k in kinds if k not in supported]
    if bad:
        raise QtiError(_("%(id)s：不支持的交互类型 %(kinds)s。") % {"id": ident, "kinds": "、".join(bad)})
    if not interactions:
        raise QtiError(_("%(id)s：没有任何交互（作答区）。") % {"id": ident})
    declared = _local_type(body.get("data-naeq-type"))
    main = interactions[0]
    stem_parts = [_texts(p) for p in body if p.tag == "p" and not any(c.tag.endswith("-interaction") for c in p)]
    item = ItemSpec(code=ident, type="", stem="\n".join(p for p in stem_parts if p), source=name, row=None)
    item.block = body.get("data-naeq-block") or "Q"
    screen = _number(body.get("data-naeq-screen"))
    item.screen = screen if isinstance(screen, int) else 0
    item.dimension = body.get("data-naeq-dimension", "")
    item.indicator_1 = body.get("data-naeq-indicator-1", "")
    item.indicator_2 = body.get("data-naeq-indicator-2", "")
    item.indicator_3 = body.get("data-naeq-indicator-3", "")
    item.required = body.get("data-naeq-required") == "true"
    for attr, target in (("data-naeq-show-if", "show_if"), ("data-naeq-skip", "skip")):
        if body.get(attr):
            try:
                setattr(item, target, json.loads(body.get(attr, "")))
            except ValueError as exc:
                raise QtiError(_("%(id)s：%(attr)s 不是 JSON。") % {"id": ident, "attr": attr}) from exc
    plays: dict[int, int | float | str] = {}  # id of an <audio> in a media interaction -> its own play limit
    for mi in body.iter("qti-media-interaction"):
        raw = mi.get("max-plays", "0")
        limit = _number(raw)
        if mi.get("data-naeq-inherited") == "true" or limit == 0:  # 0: unlimited in QTI
            continue
        for a in mi.iter("audio"):
            plays[id(a)] = limit if limit is not None else raw
    for m in body.iter():
        if m.tag in ("img", "audio") and m.get("src"):
            fname = m.get("src", "").rsplit("/", 1)[-1]
            entry: dict[str, Any] = {"kind": "audio" if m.tag == "audio" else "image", "file": fname,
                                     "alt": m.get("alt", "")}
            if id(m) in plays:
                entry["play_limit"] = plays[id(m)]
            item.media.append(entry)
    ref = root.find("qti-assessment-stimulus-ref")
    if ref is not None:
        item.stimulus = ref.get("identifier")
    for o in root.findall("qti-outcome-declaration"):
        if o.get("identifier") == "MAXSCORE":
            v = o.find("qti-default-value/qti-value")
            num = _number(v.text if v is not None else None)
            item.max_score = float(num) if num is not None else 0.0
    correct = _correct(root)
    tag = main.tag
    if tag == "qti-choice-interaction":
        choices = main.findall("qti-simple-choice")
        item.options = [{"value": c.get("data-naeq-value") or _strip("C_", c.get("identifier", "")),
                         "label": _texts(c)} for c in choices]
        ids = {c.get("identifier", ""): o["value"] for c, o in zip(choices, item.options, strict=True)}
        max_choices = _number(main.get("max-choices", "1"))
        if declared in (ItemType.SINGLE_TEXT,) or (len(interactions) == 2 and kinds[1] == "qti-text-entry-interaction"):
            item.type = ItemType.SINGLE_TEXT
            item.constraints = {"text_option": main.get("data-naeq-text-option") or item.options[-1]["value"]
                                if item.options else ""}
            n = _number(interactions[1].get("expected-length"))
            if n is not None:
                item.constraints["max_length"] = n
        elif max_choices == 1:
            item.type = declared if declared in (ItemType.TRUE_FALSE, ItemType.LIKERT) else ItemType.SINGLE
            if correct:
                if correct[0] not in ids:
                    raise QtiError(_("%(id)s：正确答案 %(v)s 不是选项之一。") % {"id": ident, "v": correct[0]})
                item.key = ids[correct[0]]
        else:
            item.type = ItemType.MULTIPLE
            lo = _number(main.get("min-choices", "0"))
            item.constraints = {"min_choices": lo if isinstance(lo, int) else 0,
                                "max_choices": max_choices if isinstance(max_choices, int) and max_choices > 0
                                else len(item.options)}
            if correct:
                unknown = [v for v in correct if v not in ids]
                if unknown:
                    raise QtiError(_("%(id)s：正确答案 %(v)s 不是选项之一。") % {"id": ident, "v": "、".join(unknown)})
                item.key = [ids[v] for v in correct]
    elif tag == "qti-text-entry-interaction":
        base = _base_type(root)
        if base in ("float", "integer") or declared == ItemType.NUMERIC:
            item.type = ItemType.NUMERIC
            dec = _number(main.get("data-naeq-decimals"))
            item.constraints = {"min": _number(main.get("data-naeq-min")), "max": _number(main.get("data-naeq-max")),
                                "decimals": dec if isinstance(dec, int) else (0 if base == "integer" else 2)}
            item.constraints = {k: v for k, v in item.constraints.items() if v is not None}
            if correct:
                num = _number(correct[0])
                if num is None:
                    raise QtiError(_("%(id)s：数值题的正确答案不是数字。") % {"id": ident})
                item.key = num
        else:
            item.type = ItemType.TEXT
            n = _number(main.get("expected-length"))
            item.constraints = {"max_length": n} if n is not None else {}
            alt = _correct(root, "RESPONSE_ALT")
            item.key = alt or correct or None
    elif tag == "qti-extended-text-interaction":
        item.type = ItemType.OPEN if declared in (None, ItemType.OPEN) else ItemType.TEXT
        n = _number(main.get("expected-length"))
        if n is not None:
            item.constraints = {"max_length": n}
        if correct:
            raise QtiError(_("%(id)s：开放题（纸笔作答）不能有正确答案。") % {"id": ident})
    elif tag == "qti-match-interaction":
        sets = main.findall("qti-simple-match-set")
        if len(sets) != 2:
            raise QtiError(_("%(id)s：qti-match-interaction 必须有两个 qti-simple-match-set。") % {"id": ident})
        rows, cols = sets[0].findall("qti-simple-associable-choice"), sets[1].findall("qti-simple-associable-choice")
        item.type = ItemType.MATRIX
        item.rows = [_texts(r) for r in rows]
        item.options = [{"value": c.get("data-naeq-value") or _strip("C_", c.get("identifier", "")), "label": _texts(c)}
                        for c in cols]
        col_ids = {c.get("identifier", ""): o["value"] for c, o in zip(cols, item.options, strict=True)}
        row_ids = [r.get("identifier", "") for r in rows]
        if correct:
            pairs: dict[str, str] = {}
            for pair in correct:
                parts = pair.split()
                if len(parts) == 2:
                    pairs[parts[0]] = parts[1]
            if len(pairs) != len(correct) or set(pairs) != set(row_ids) or not set(pairs.values()) <= set(col_ids):
                raise QtiError(_("%(id)s：矩阵题的正确答案必须为每一行给出一个列。") % {"id": ident})
            item.key = {str(n): col_ids[pairs[r]] for n, r in enumerate(row_ids, start=1)}
    elif tag == "qti-order-interaction":
        choices = main.findall("qti-simple-choice")
        item.type = ItemType.RANKING
        item.rows = [_texts(c) for c in choices]
        index = {c.get("identifier", ""): str(i + 1) for i, c in enumerate(choices)}
        if correct:
            if not set(correct) <= set(index):
                raise QtiError(_("%(id)s：排序题的正确答案含有未知的选项。") % {"id": ident})
            item.key = [index[v] for v in correct]
    elif tag == "qti-slider-interaction":
        item.type = ItemType.SLIDER
        dec = _number(main.get("data-naeq-decimals"))
        item.constraints = {"min": _number(main.get("lower-bound")), "max": _number(main.get("upper-bound")),
                            "decimals": dec if isinstance(dec, int) else 0}
        step = _number(main.get("step"))
        if step is not None and step != 1:
            item.constraints["step"] = step
        item.constraints = {k: v for k, v in item.constraints.items() if v is not None}
        if correct:
            item.key = _number(correct[0])
    if body.get("data-naeq-partial-credit") in ("true", "false"):
        item.constraints["partial_credit"] = body.get("data-naeq-partial-credit") == "true"
    for key in ("play_limit", "record", "record_seconds"):  # checked by the rules like the workbook's columns
        text = body.get("data-naeq-" + key.replace("_", "-"))
        if text is not None:
            item.constraints[key] = text if key == "record" else (_number(text) if _number(text) is not None else text)
    return item


def _local_type(v: str | None) -> str | None:
    return v if v in ItemType.values else None


def _base_type(root: ET.Element) -> str:
    for d in root.findall("qti-response-declaration"):
        if d.get("identifier") == "RESPONSE":
            return d.get("base-type", "")
    return ""


def stimulus_read(data: bytes, name: str) -> StimulusSpec:
    root = xml_parse(data, name)
    if root.tag != "qti-assessment-stimulus":
        raise QtiError(_("%(name)s 的根元素不是 qti-assessment-stimulus。") % {"name": name})
    body = root.find("qti-stimulus-body")
    paras = [_texts(p) for p in body if p.tag == "p"] if body is not None else []
    media: list[dict[str, Any]] = []
    for m in body.iter() if body is not None else []:
        if m.tag not in ("img", "audio"):
            continue
        entry: dict[str, Any] = {"kind": "audio" if m.tag == "audio" else "image",
                                 "file": m.get("src", "").rsplit("/", 1)[-1], "alt": m.get("alt", "")}
        raw = m.get("data-naeq-play-limit")
        if raw is not None:
            entry["play_limit"] = _number(raw) if _number(raw) is not None else raw
        media.append(entry)
    title = root.get("title", "")
    code = root.get("identifier", "")
    return StimulusSpec(code=code, title="" if title == code else title, body="\n".join(paras), media=media,
                        source=name)


def _safe_members(z: zipfile.ZipFile, file_name: str) -> dict[str, zipfile.ZipInfo]:
    infos = z.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InvalidInput(_("%(file)s 中的文件太多。") % {"file": file_name}, code="bad_package")
    total = 0
    out = {}
    for info in infos:
        name = info.filename
        if name.startswith("/") or ".." in name.split("/") or "\\" in name or ":" in name:
            raise InvalidInput(_("%(file)s 中的路径“%(name)s”不合法。") % {"file": file_name, "name": name},
                               code="bad_package")
        if info.file_size > MAX_MEMBER_BYTES:
            raise InvalidInput(_("%(file)s 中的“%(name)s”太大。") % {"file": file_name, "name": name},
                               code="bad_package")
        total += info.file_size
        if not info.is_dir():
            out[name] = info
    if total > MAX_PACKAGE_BYTES:
        raise InvalidInput(_("%(file)s 解压后超过200 MB。") % {"file": file_name}, code="bad_package")
    return out


def media_from_zip(data: bytes, *, file_name: str = "media.zip") -> dict[str, bytes]:
    """The media files of a zip uploaded with a workbook (any folder; the bare file name counts)."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InvalidInput(_("%(file)s 不是有效的 zip 文件。") % {"file": file_name}, code="bad_zip") from exc
    with z:
        out = {}
        for name, info in _safe_members(z, file_name).items():
            base = name.rsplit("/", 1)[-1]
            if base.startswith(".") or name.startswith("__MACOSX/"):
                continue
            out[base] = z.read(info)
        return out


def package_read(data: bytes, *, file_name: str) -> tuple[InstrumentSpec, list[Problem]]:
    """Read a QTI package. Unreadable or unsupported items become problems (item identifier and reason)."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InvalidInput(_("%(file)s 不是有效的 zip 文件（QTI 包）。") % {"file": file_name}, code="bad_zip") from exc
    problems: list[Problem] = []
    with z:
        members = _safe_members(z, file_name)
        if "imsmanifest.xml" not in members:
            raise InvalidInput(_("%(file)s 中没有 imsmanifest.xml。") % {"file": file_name}, code="bad_package")
        try:
            manifest = xml_parse(z.read(members["imsmanifest.xml"]), "imsmanifest.xml")
        except QtiError as exc:
            raise InvalidInput(str(exc), code="bad_package") from exc
        meta: dict[str, Any] = {}
        if "naeq.json" in members:
            try:
                meta = json.loads(z.read(members["naeq.json"]))
            except ValueError:
                problems.append(Problem(reason=_("naeq.json 不是有效的 JSON。"), file="naeq.json"))
        spec = InstrumentSpec(code=str(meta.get("code", "")), name=str(meta.get("name", "")),
                              time_limit_minutes=meta.get("time_limit_minutes"),
                              shuffle_pages=bool(meta.get("shuffle_pages")))
        for b in meta.get("booklets") or []:
            spec.booklets.append(BookletSpec(number=b.get("number"), blocks=list(b.get("blocks") or []),
                                             source="naeq.json"))
        hrefs = [(r.get("type", ""), r.get("href", "")) for r in manifest.iter("resource")]
        for rtype, href in hrefs:
            if not rtype.startswith("imsqti_stimulus") and not rtype.startswith("imsqti_item"):
                continue
            if href not in members:
                problems.append(Problem(reason=_("清单中列出的文件不在包中。"), file=href))
                continue
            try:
                if rtype.startswith("imsqti_stimulus"):
                    spec.stimuli.append(stimulus_read(z.read(members[href]), href))
                else:
                    spec.items.append(item_read(z.read(members[href]), href))
            except QtiError as exc:
                problems.append(Problem(reason=str(exc), file=href))
        last: dict[str, int] = {}
        for item in spec.items:  # a foreign package has no screens: one item a screen
            if item.screen == 0:
                item.screen = last.get(item.block, 0) + 1
            last[item.block] = item.screen
        for name, info in members.items():
            if name.startswith("media/") and name.count("/") == 1 and not media_problem(name[6:]):
                spec.media[name[6:]] = z.read(info)
    for item in spec.items:
        for m in item.media:
            m["kind"] = media_kind(m["file"]) or m["kind"]
    return spec, problems
