"""``naeq cycle ...``: validate and load cycle configuration files."""

from __future__ import annotations

import click


@click.group()
def cycle() -> None:
    """Cycle configuration: validate, load, list."""
