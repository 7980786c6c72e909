"""Writes of cycles: load a validated configuration file (upsert by year), audited."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Role
from naeq.core.audit import audit_record
from naeq.core.errors import PermissionDenied
from naeq.core.validation import full_clean_or_raise
from naeq.cycles.config import parse_file, parse_text
from naeq.cycles.models import Cycle

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def _may_load(actor: Any) -> bool:
    if actor is None:  # the system itself: the CLI on the server, the demo
        return True
    j = jurisdiction_of(actor)
    return j.is_national and j.role == Role.NATIONAL_ADMIN


def _snapshot(cycle: Cycle | None) -> dict[str, Any] | None:
    if cycle is None:
        return None
    return {"year": cycle.year, "name": cycle.name, "source_name": cycle.source_name,
            "config_hash": cycle.config_hash, "is_current": cycle.is_current}


@transaction.atomic
def cycle_load(*, actor: Any, path_or_text: str | Path, make_current: bool = True,
               source_name: str | None = None) -> Cycle:
    """Validate a cycle configuration completely, then create or replace the cycle of its year.

    ``path_or_text`` is a file path (a :class:`~pathlib.Path`, or a string without a line break) or the YAML text
    itself. Any problem raises :class:`~naeq.core.errors.InvalidInput` listing every problem with file, line,
    field and reason, before anything is written. With ``make_current`` the cycle becomes the current one (the
    previous current cycle stops being current). Loading the same text again changes nothing and audits nothing.
    Only national administrators (or the system, ``actor=None``) may load.
    """
    if not _may_load(actor):
        raise PermissionDenied(_("只有国家监测中心管理员可以载入监测周期配置。"))
    if isinstance(path_or_text, Path) or "\n" not in path_or_text:
        path = Path(path_or_text)
        config = parse_file(path)
        text = path.read_text(encoding="utf-8")
        name = source_name or path.name
    else:
        text = path_or_text
        name = source_name or "<text>"
        config = parse_text(text, file=name)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()

    existing = Cycle.objects.select_for_update().filter(year=config.year).first()
    current = Cycle.objects.select_for_update().filter(is_current=True).first()
    is_current = make_current or bool(existing and existing.is_current)
    if existing is not None and existing.config_hash == digest and existing.is_current == is_current:
        return existing
    before = _snapshot(existing)
    demoted = None
    if make_current and current is not None and current.year != config.year:
        demoted = current.year
        Cycle.objects.filter(pk=current.pk).update(is_current=False)
    cycle = existing or Cycle(year=config.year)
    cycle.name = config.name
    cycle.source_name = name
    cycle.config_text = text
    cycle.config_hash = digest
    cycle.loaded_at = timezone.now()
    cycle.is_current = is_current
    full_clean_or_raise(cycle, file=name)
    cycle.save()
    cycle.__dict__["config"] = config  # the cached property: already parsed
    after = _snapshot(cycle)
    assert after is not None
    if demoted is not None:
        after["previous_current_year"] = demoted
    audit_record(actor=actor, action="cycles.cycle.load", object_type="cycle", object_id=config.year,
                 before=before, after=after)
    return cycle


def load_shipped_cycles(*, actor: Any = None) -> list[Cycle]:
    """Load every configuration shipped in ``naeq/cycles/configs``; the latest year becomes current."""
    paths = sorted(CONFIG_DIR.glob("*.yaml"))
    cycles = []
    for i, path in enumerate(paths):
        cycles.append(cycle_load(actor=actor, path_or_text=path, make_current=i == len(paths) - 1))
    return cycles
