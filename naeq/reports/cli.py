"""``naeq report``: county, provincial and national reports (HTML and PDF) from recorded estimation runs.
See docs/reports.md."""

from __future__ import annotations

import click


@click.group(name="report")
def report_group() -> None:
    """Reports: generate county, provincial and national reports (HTML, PDF) in batch; list and export them."""
