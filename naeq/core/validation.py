"""Model validation that speaks the application's error language."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from naeq.core.errors import InvalidInput, Problem


def full_clean_or_raise(obj: Any, *, exclude: list[str] | None = None, file: str | None = None,
                        row: int | None = None) -> None:
    """Run ``obj.full_clean()``; turn Django's ValidationError into :class:`InvalidInput` with one problem
    per field and message."""
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        problems = []
        for field, messages in exc.message_dict.items():
            for message in messages:
                problems.append(Problem(reason=str(message), file=file, row=row,
                                        field=None if field == "__all__" else field))
        raise InvalidInput(_("数据校验未通过。"), problems=problems) from exc
