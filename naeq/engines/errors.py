"""The engines' own small error hierarchy.

Engines raise :class:`EngineError` (or a subclass) for a problem in the data or the parameters that a user can act
on, and plain ``ValueError`` / ``TypeError`` for programmer mistakes. Apps translate engine errors into
``naeq.core.errors.ApplicationError`` in their adapters; engines never import the apps.
"""

from __future__ import annotations


class EngineError(Exception):
    """A problem an engine found in its input or parameters, with a message that says what to do."""

    code = "engine_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class ConvergenceWarning(UserWarning):
    """An iterative engine stopped before meeting its convergence criterion."""
