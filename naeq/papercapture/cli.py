"""``naeq paper``: Paper booklets and answer cards: printing, scanned-result import, review queue, double keying."""

from __future__ import annotations

import click


@click.group(name="paper")
def paper_group() -> None:
    """Paper booklets and answer cards: printing, scanned-result import, review queue, double keying."""
