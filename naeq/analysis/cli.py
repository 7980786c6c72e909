"""``naeq analysis``: estimation runs on the platform's database (run, list, show), the balanced-county evaluation
and analysts' data exports (SPSS, Stata, CSV, Parquet with a codebook). See docs/analysis.md."""

from __future__ import annotations

import click


@click.group(name="analysis")
def analysis_group() -> None:
    """Analysis: design-based estimates from recorded runs, balanced-county evaluation, data exports."""


from naeq.analysis.cli_export import export_cmd  # noqa: E402  (naeq analysis export: docs/exports.md)

analysis_group.add_command(export_cmd)
