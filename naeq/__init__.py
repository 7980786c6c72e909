"""naeq: an education quality monitoring cycle, end to end."""

__version__ = "0.1.0"
