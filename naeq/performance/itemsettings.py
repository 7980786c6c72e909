"""The item settings of performance tasks, read from the item bank's rows (no schema of their own).

* **Listening.** An audio entry of an item's or a stimulus's ``media`` (``{"kind": "audio", "file": …}``) may
  carry ``"play_limit": n``; otherwise an item's audio takes the item's ``constraints["play_limit"]``, and a
  stimulus's audio the smallest ``play_limit`` among the items that use the stimulus. No limit: unlimited plays.
* **Recording.** An ``open`` item whose ``constraints["record"]`` is ``"speaking"`` (English oral) or
  ``"singing"`` is a recorded task, ``constraints["record_seconds"]`` long (default 60, 5 to 600).

The item bank's importers write these keys (the workbook's 播放次数 / 录音 / 录音时长 columns, QTI ``max-plays``
and ``data-naeq-record*``) and check them (``naeq.delivery.items.validate``); the limits live there.
"""

from __future__ import annotations

from typing import Any

from naeq.delivery.items.spec import DEFAULT_RECORD_SECONDS, MAX_RECORD_SECONDS, MIN_RECORD_SECONDS, RECORD_KINDS

__all__ = ["DEFAULT_RECORD_SECONDS", "MAX_RECORD_SECONDS", "MIN_RECORD_SECONDS", "RECORD_KINDS", "item_play_limit",
           "media_play_limit", "record_kind", "record_seconds"]


def _limit(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value


def media_play_limit(entry: dict[str, Any], fallback: int | None) -> int | None:
    own = _limit(entry.get("play_limit")) if isinstance(entry, dict) else None
    return own if own is not None else fallback


def item_play_limit(item: Any) -> int | None:
    return _limit((item.constraints or {}).get("play_limit"))


def record_kind(item: Any) -> str | None:
    kind = (item.constraints or {}).get("record") if isinstance(item.constraints, dict) else None
    return kind if item.type == "open" and kind in RECORD_KINDS else None


def record_seconds(item: Any) -> int:
    value = (item.constraints or {}).get("record_seconds")
    if isinstance(value, bool) or not isinstance(value, int):
        return DEFAULT_RECORD_SECONDS
    return max(MIN_RECORD_SECONDS, min(MAX_RECORD_SECONDS, value))
