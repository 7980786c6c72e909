"""``naeq scaling``: Calibration runs: IRT scaling, plausible values, linking and proficiency levels on the platform."""

from __future__ import annotations

import click


@click.group(name="scaling")
def scaling_group() -> None:
    """Calibration runs: IRT scaling, plausible values, linking and proficiency levels on the platform."""
