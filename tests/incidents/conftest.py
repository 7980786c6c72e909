from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def cycle(db: None) -> Any:
    """The current shipped cycle (2024), loaded from the configuration files."""
    from naeq.cycles.services import load_shipped_cycles

    cycles = load_shipped_cycles()
    return next(c for c in cycles if c.is_current)


