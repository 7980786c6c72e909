"""``naeq pe``: The PE field test: entry per exam room, bounds, review and lock, completion, derived indicators."""

from __future__ import annotations

import click


@click.group(name="pe")
def pe_group() -> None:
    """The PE field test: entry per exam room, bounds, review and lock, completion, derived indicators."""
