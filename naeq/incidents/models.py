"""Models of naeq.incidents (see the module docstrings of this app)."""
