"""Reports (issue 8): county, provincial and national reports per cycle, HTML and PDF, generated in batch from
recorded estimation runs. See docs/reports.md."""
