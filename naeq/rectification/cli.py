"""``naeq rectification``: problem letters and rectification plans (整改). See docs/rectification.md."""

from __future__ import annotations

import click


@click.group(name="rectification")
def rectification_group() -> None:
    """Rectification: problem letters to provinces, plans, progress updates, reviews and overdue alerts."""
