"""Models of naeq.staffing (see the module docstrings of this app)."""
