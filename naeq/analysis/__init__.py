"""Analysis (issue 8): design-based estimates from a recorded calibration run (plausible values) and a sample run
(final and replicate weights), with quality decisions applied; balanced-county evaluation; analysts' data exports.
See docs/analysis.md."""
