"""``naeq quality``: data-quality screening runs and investigation cases on the platform's database."""

from __future__ import annotations

import click


@click.group(name="quality")
def quality_group() -> None:
    """Data quality: screening runs (three-stage screen) and investigation cases on the platform."""
