"""Models of naeq.custody (see the module docstrings of this app)."""
