"""Models of naeq.timeline (see the module docstrings of this app)."""
