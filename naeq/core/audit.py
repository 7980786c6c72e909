"""Writing and verifying the audit log (see :class:`naeq.core.models.AuditEvent`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from naeq.core.models import AuditEvent

GENESIS = "0" * 64
_LOCK_KEY = 0x6E616571  # "naeq": PostgreSQL advisory lock that serialises appends to the chain


def _canonical(value: Any) -> Any:
    """JSON round-trip so what is hashed equals what the database gives back."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False))


def _digest(prev_hash: str, at: datetime, actor_label: str, action: str, object_type: str, object_id: str,
            before: Any, after: Any) -> str:
    payload = json.dumps(
        [prev_hash, at.isoformat(), actor_label, action, object_type, object_id, before, after],
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def audit_record(*, actor: Any, action: str, object_type: str, object_id: Any, before: Any = None,
                 after: Any = None) -> AuditEvent:
    """Append one event. Call inside the transaction of the write it records."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        prev_hash = last or GENESIS
        at = timezone.now().replace(microsecond=(timezone.now().microsecond // 1000) * 1000)
        actor_obj = actor if getattr(actor, "pk", None) is not None else None
        label = getattr(actor, "username", None) or "system"
        before_c, after_c = _canonical(before), _canonical(after)
        oid = str(object_id)
        digest = _digest(prev_hash, at, label, action, object_type, oid, before_c, after_c)
        event = AuditEvent(at=at, actor=actor_obj, actor_label=label, action=action, object_type=object_type,
                           object_id=oid, before=before_c, after=after_c, prev_hash=prev_hash, hash=digest)
        event.save()
        return event


@dataclass(frozen=True)
class ChainReport:
    events: int
    first_bad_id: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def audit_verify() -> ChainReport:
    """Recompute the chain; report the first event whose hash or link does not match."""
    prev = GENESIS
    count = 0
    for ev in AuditEvent.objects.order_by("id").iterator(chunk_size=5000):
        count += 1
        if ev.prev_hash != prev:
            return ChainReport(count, ev.id, "link to previous event broken (an event was removed or reordered)")
        expect = _digest(prev, ev.at, ev.actor_label, ev.action, ev.object_type, ev.object_id, ev.before,
                         ev.after)
        if expect != ev.hash:
            return ChainReport(count, ev.id, "content does not match its hash (the event was altered)")
        prev = ev.hash
    return ChainReport(count, None, None)
