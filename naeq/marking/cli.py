"""``naeq marking``: Constructed-response scoring: rubrics, raters, assignment, agreement, arbitration, drift."""

from __future__ import annotations

import click


@click.group(name="marking")
def marking_group() -> None:
    """Constructed-response scoring: rubrics, raters, assignment, agreement, arbitration, drift."""
