"""``naeq synth``: generate a synthetic world."""

from __future__ import annotations

import click


@click.command()
def synth() -> None:
    """Generate a deterministic synthetic world (regions, schools, rosters)."""
    raise click.ClickException("not implemented yet")
