"""``naeq calibrate``: IRT calibration over the long-format files of DESIGN.md (being built, issue 6)."""

from __future__ import annotations

import click


@click.command()
def calibrate() -> None:
    """Calibrate items and estimate persons from a long response file (being built)."""
    raise click.UsageError("naeq calibrate is being built")
