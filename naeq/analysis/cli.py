"""``naeq analysis``: estimation runs on the platform's database (run, list, show), the balanced-county evaluation
and analysts' data exports (SPSS, Stata, CSV, Parquet with a codebook). See docs/analysis.md."""

from __future__ import annotations

import click


@click.group(name="analysis")
def analysis_group() -> None:
    """Analysis: design-based estimates from recorded runs, balanced-county evaluation, data exports."""
