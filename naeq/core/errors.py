"""The one application error type (HackSoft ApplicationError, Zulip JsonableError).

Every error a user can cause is raised as an :class:`ApplicationError` with a stable machine ``code``, a
translatable ``message`` and structured ``details`` (file, row, field, ...). It is rendered in one place:
:mod:`naeq.core.middleware` for pages and APIs, :mod:`naeq.cli` for the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One precise complaint about input: where it is and what is wrong."""

    reason: str
    file: str | None = None
    row: int | None = None  # 1-based line or spreadsheet row
    field: str | None = None
    value: Any = None

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field:
            parts.append(self.field)
        return ":".join(parts[:1]) + (" " + ", ".join(parts[1:]) if len(parts) > 1 else "")

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.reason}" if where else self.reason

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "row": self.row, "field": self.field, "reason": self.reason}


class ApplicationError(Exception):
    """An error the user caused and can act on.

    ``status`` is the HTTP status used when rendered by the web layer.
    """

    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, problems: list[Problem] | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = str(message)
        if code:
            self.code = code
        self.problems: list[Problem] = list(problems or [])
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        lines = [self.message, *(f"  - {p}" for p in self.problems[:50])]
        if len(self.problems) > 50:
            lines.append(f"  ... and {len(self.problems) - 50} more")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "problems": [p.as_dict() for p in self.problems],
            **({"details": self.details} if self.details else {}),
        }


class InvalidInput(ApplicationError):
    code = "invalid_input"
    status = 400


class NotFound(ApplicationError):
    """Missing and forbidden look the same: both raise this, with the same message."""

    code = "not_found"
    status = 404


class PermissionDenied(ApplicationError):
    """The actor may see the object but not do this to it (e.g. a read-only city viewer writing)."""

    code = "permission_denied"
    status = 403


@dataclass
class ProblemCollector:
    """Collects every problem in a file before failing, so the user fixes them all in one pass."""

    file: str | None = None
    problems: list[Problem] = field(default_factory=list)

    def add(self, reason: str, *, row: int | None = None, field: str | None = None, value: Any = None) -> None:
        self.problems.append(Problem(reason=reason, file=self.file, row=row, field=field, value=value))

    def raise_if_any(self, message: str) -> None:
        if self.problems:
            raise InvalidInput(message, problems=self.problems)
