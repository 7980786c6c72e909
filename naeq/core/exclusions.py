"""Which test takers' data a decision has excluded or flagged — asked by lower apps (calibration), answered by a
higher one (the quality app's case decisions), without a lower app importing a higher one.

A provider is registered at start-up (``naeq.quality``'s AppConfig.ready); with none registered nothing is
excluded. ``excluded(cycle_id, instrument_code)`` returns the test-taker ids whose data of that instrument drop
out; ``flagged(...)`` those kept but marked.
"""

from __future__ import annotations

from collections.abc import Callable

Provider = Callable[[int, str, str], set[int]]
_providers: list[Provider] = []


def register(provider: Provider) -> None:
    """Register ``provider(cycle_id, instrument_code, mark) -> set of test-taker ids`` (mark: excluded/flagged)."""
    if provider not in _providers:
        _providers.append(provider)


def _ask(cycle_id: int, instrument_code: str, mark: str) -> set[int]:
    out: set[int] = set()
    for p in _providers:
        out |= p(cycle_id, instrument_code, mark)
    return out


def excluded(cycle_id: int, instrument_code: str) -> set[int]:
    return _ask(cycle_id, instrument_code, "excluded")


def flagged(cycle_id: int, instrument_code: str) -> set[int]:
    return _ask(cycle_id, instrument_code, "flagged")
