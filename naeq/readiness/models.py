"""Models of naeq.readiness (see the module docstrings of this app)."""
