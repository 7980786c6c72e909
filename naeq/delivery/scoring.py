"""Scoring at submission: one :class:`ItemScore` row per administered item, ``Attempt.score`` their sum.

The rules (also in docs/online-client.md):

* **Administered.** The items of the attempt's booklet, walked in the booklet's own page order. An item hidden
  by its conditional display rule (``show_if``: shown only when the named item was administered and its answer
  is among the listed values) is not administered; a skip rule (``skip``: when the item's answer is among the
  listed values, the screens of its block strictly between its screen and ``to_screen`` are skipped) removes
  the items of the skipped screens. Answers stored for items that were not administered (answered, then hidden
  by a later change) are ignored. Not administered → no row.
* **Codes.** An administered item's code is its answer (a choice's value; lists and objects as compact JSON),
  ``99`` when shown and not answered (null, empty text, empty list or object), ``97`` when out of range: a
  number outside ``min``/``max`` or not a number, text over ``max_length``, a choice not among the options, a
  multiple choice with more than ``max_choices``, a ranking that is not an ordering of the rows, a matrix row
  or value that does not exist.
* **Scores** (items with a key): single choice, true/false and Likert exact; multiple choice all-or-nothing,
  or partial credit when the item's constraints say ``"partial_credit": true`` (max score × (right picks −
  wrong picks) / number of keyed options, not below 0); numeric within half a unit of the last allowed decimal
  (``decimals``, default 0: 35.6 is 36 when whole numbers are asked for); text exact after trimming (the key
  may list several accepted answers); matrix all rows right (partial credit per row likewise); ranking the same
  order. Omitted (99) and out of range (97) score 0. Items without a key (questionnaires) and open items
  (answered on paper, scored by raters) get a null score.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from naeq.core.audit import audit_record
from naeq.delivery.models import (
    MISSING_OMITTED,
    MISSING_OUT_OF_RANGE,
    Answer,
    Attempt,
    Booklet,
    Item,
    ItemScore,
)

OMITTED = str(MISSING_OMITTED)
OUT_OF_RANGE = str(MISSING_OUT_OF_RANGE)

CHOICE_TYPES = {"single", "true_false", "likert"}


@dataclass(frozen=True)
class Scored:
    item: str
    code: str
    score: float | None


# ------------------------------------------------------------------------------------------------ helpers


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, (list, dict)):
        return len(value) == 0
    return False


def _values(options: Sequence[Any]) -> list[str]:
    return [str(o.get("value")) if isinstance(o, Mapping) else str(o) for o in options or []]


def row_ids(rows: Sequence[Any]) -> list[str]:
    """A matrix's or ranking's row identifiers: a row's ``value`` (or ``code``) when rows are objects, else its
    1-based position."""
    out = []
    for n, row in enumerate(rows or [], start=1):
        if isinstance(row, Mapping):
            out.append(str(row.get("value", row.get("code", n))))
        else:
            out.append(str(n))
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        x = float(value)
    elif isinstance(value, str):
        try:
            x = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return x if math.isfinite(x) else None


def _code(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value) if isinstance(value, float) and not value.is_integer() else str(int(value))
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def matches(value: Any, accepted: Sequence[Any]) -> bool:
    """A rule's ``in`` test: the answer (or any of a multiple choice's picks) among ``accepted``."""
    wanted = {str(v) for v in accepted or []}
    if isinstance(value, list):
        return any(str(v) in wanted for v in value)
    if isinstance(value, Mapping):  # single choice with text: its choice
        value = value.get("choice")
    return value is not None and str(value) in wanted


# ------------------------------------------------------------------------------------------------ range


def in_range(item: Mapping[str, Any], value: Any) -> bool:
    """Whether a non-blank answer is a possible answer of ``item`` (else it is coded 97)."""
    kind = item["type"]
    cons = item.get("constraints") or {}
    opts = _values(item.get("options") or [])
    if kind in CHOICE_TYPES:
        return isinstance(value, (str, int)) and not isinstance(value, bool) and (not opts or str(value) in opts)
    if kind == "multiple":
        if not isinstance(value, list) or any(not isinstance(v, (str, int)) for v in value):
            return False
        picks = [str(v) for v in value]
        if len(set(picks)) != len(picks) or (opts and any(p not in opts for p in picks)):
            return False
        if "min_choices" in cons and len(picks) < int(cons["min_choices"]):
            return False
        return not ("max_choices" in cons and len(picks) > int(cons["max_choices"]))
    if kind in {"numeric", "slider"}:
        x = _number(value)
        if x is None:
            return False
        if "min" in cons and x < float(cons["min"]):
            return False
        return not ("max" in cons and x > float(cons["max"]))
    if kind == "text":
        return isinstance(value, str) and not ("max_length" in cons and len(value) > int(cons["max_length"]))
    if kind == "single_text":
        if not isinstance(value, Mapping):
            return False
        choice, text = value.get("choice"), value.get("text", "")
        if choice is None or (opts and str(choice) not in opts) or not isinstance(text, (str, type(None))):
            return False
        return not ("max_length" in cons and len(text or "") > int(cons["max_length"]))
    if kind == "matrix":
        ids = row_ids(item.get("rows") or [])
        if not isinstance(value, Mapping):
            return False
        return all(str(k) in ids and (not opts or str(v) in opts) for k, v in value.items())
    if kind == "ranking":
        ids = row_ids(item.get("rows") or [])
        return isinstance(value, list) and sorted(str(v) for v in value) == sorted(ids)
    return True


# ------------------------------------------------------------------------------------------------ scoring


def item_score(item: Mapping[str, Any], value: Any) -> float:
    """The score of an in-range, non-blank answer to an item with a key."""
    key, top = item["key"], float(item.get("max_score") or 0)
    kind = item["type"]
    cons = item.get("constraints") or {}
    partial = bool(cons.get("partial_credit"))
    if kind in CHOICE_TYPES:
        return top if str(value) == str(key) else 0.0
    if kind == "multiple":
        keyed = {str(k) for k in (key if isinstance(key, list) else [key])}
        picks = {str(v) for v in value}
        if picks == keyed:
            return top
        if not partial or not keyed:
            return 0.0
        right, wrong = len(picks & keyed), len(picks - keyed)
        return max(0.0, top * (right - wrong) / len(keyed))
    if kind in {"numeric", "slider"}:
        x, want = _number(value), _number(key)
        if x is None or want is None:
            return 0.0
        tolerance = 0.5 * 10 ** (-int(cons.get("decimals", 0))) + 1e-9
        return top if abs(x - want) <= tolerance else 0.0
    if kind in {"text", "single_text"}:
        got = value.get("text", "") if isinstance(value, Mapping) else value
        accepted = key if isinstance(key, list) else [key]
        return top if str(got).strip() in {str(k).strip() for k in accepted} else 0.0
    if kind == "matrix":
        # The key is one option per row in row order (the item bank's form), or a mapping row id -> option.
        ids = row_ids(item.get("rows") or [])
        pairs = zip(ids, key, strict=False) if isinstance(key, list) else (key or {}).items()
        cells = {str(k): str(v) for k, v in pairs}
        got = {str(k): str(v) for k, v in value.items()}
        right = sum(1 for k, v in cells.items() if got.get(k) == v)
        if cells and right == len(cells):
            return top
        return top * right / len(cells) if partial and cells else 0.0
    if kind == "ranking":
        return top if [str(v) for v in value] == [str(k) for k in key or []] else 0.0
    return 0.0


def administered(items: Sequence[Mapping[str, Any]], answers: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The items actually shown, given ``items`` in the booklet's page order and the answers."""
    shown: dict[str, Mapping[str, Any]] = {}
    skipped: set[tuple[str, int]] = set()
    for item in items:
        block, screen = str(item.get("block", "Q")), int(item.get("screen", 1))
        if (block, screen) in skipped:
            continue
        rule = item.get("show_if")
        if rule and not (rule.get("item") in shown and matches(answers.get(rule["item"]), rule.get("in") or [])):
            continue
        shown[item["code"]] = item
        skip = item.get("skip")
        if skip and matches(answers.get(item["code"]), skip.get("in") or []):
            target = int(skip.get("to_screen", screen))
            skipped.update((block, s) for s in range(screen + 1, target))
    return list(shown.values())


def score_items(items: Sequence[Mapping[str, Any]], answers: Mapping[str, Any]) -> list[Scored]:
    """Pure scoring: ``items`` (dicts with code, type, block, screen, key, max_score, options, rows,
    constraints, show_if, skip) in the booklet's page order, ``answers`` item code → decoded value."""
    out = []
    for item in administered(items, answers):
        code = item["code"]
        if item["type"] == "open":
            out.append(Scored(code, "", None))
            continue
        value = answers.get(code)
        objective = item.get("key") is not None
        if _blank(value):
            out.append(Scored(code, OMITTED, 0.0 if objective else None))
        elif not in_range(item, value):
            out.append(Scored(code, OUT_OF_RANGE, 0.0 if objective else None))
        else:
            out.append(Scored(code, _code(value), item_score(item, value) if objective else None))
    return out


# ------------------------------------------------------------------------------------------------ wrapper


def _item_dict(item: Item) -> dict[str, Any]:
    return {"code": item.code, "type": item.type, "block": item.block, "screen": item.screen, "key": item.key,
            "max_score": item.max_score, "options": item.options, "rows": item.rows,
            "constraints": item.constraints, "show_if": item.show_if, "skip": item.skip}


def score_attempt(attempt_id: int) -> Attempt:
    """Score a submitted attempt from its stored answers (replacing any earlier scoring). Audited."""
    from naeq.delivery.attempts import booklet_pages

    with transaction.atomic():
        attempt = Attempt.objects.select_for_update().select_related("instrument").get(pk=attempt_id)
        inst = attempt.instrument
        booklet = Booklet.objects.filter(instrument=inst, number=attempt.booklet or 1).first()
        ordered = [item for _name, page in booklet_pages(inst, booklet) for item in page]
        answers: dict[str, Any] = {}
        for code, text in Answer.objects.filter(attempt_id=attempt_id).values_list("item", "value"):
            try:
                answers[code] = json.loads(text)
            except ValueError:
                answers[code] = None
        scored = score_items([_item_dict(i) for i in ordered], answers)
        ItemScore.objects.filter(attempt_id=attempt_id).delete()
        ItemScore.objects.bulk_create([ItemScore(attempt_id=attempt_id, item=s.item, code=s.code, score=s.score)
                                       for s in scored])
        scores = [s.score for s in scored if s.score is not None]
        attempt.score = sum(scores) if scores else None
        attempt.scored_at = timezone.now()
        attempt.save(update_fields=["score", "scored_at"])
        audit_record(actor=None, action="delivery.score", object_type="delivery.Attempt", object_id=attempt_id,
                     after={"status": attempt.status,
                            "submitted_at": attempt.submitted_at.isoformat() if attempt.submitted_at else None,
                            "items": len(scored), "answers": len(answers), "score": attempt.score})
    return attempt


def finish_submission(attempt_id: int, *, first: bool) -> None:
    """After a submission committed: audit it (the first time) and score it (again if an earlier scoring did
    not finish). A small attempt is scored in the submitting request; nothing here can undo the submission."""
    attempt = Attempt.objects.select_related("test_taker", "session", "instrument").get(pk=attempt_id)
    if first:
        from naeq.delivery.attempts import taker_actor

        audit_record(actor=taker_actor(attempt.test_taker), action="delivery.submit",
                     object_type="delivery.Attempt", object_id=attempt_id,
                     after={"taker": attempt.test_taker.code, "session": attempt.session.code,
                            "instrument": attempt.instrument.code, "version": attempt.instrument.version,
                            "submitted_at": attempt.submitted_at.isoformat() if attempt.submitted_at else None,
                            "answers": Answer.objects.filter(attempt_id=attempt_id).count()})
    if first or attempt.scored_at is None:
        score_attempt(attempt_id)
