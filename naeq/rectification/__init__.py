"""Rectification (整改, issue 8): problem letters to provincial governments and the plans, progress updates and
reviews that follow them until the next cycle measures the indicator again. See docs/rectification.md."""
