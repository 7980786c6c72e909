"""Case decisions as seen by estimation: the test takers whose data of an instrument are excluded or flagged.

Registered with :mod:`naeq.core.exclusions` at start-up, so calibration (a lower app) drops excluded data without
importing this app; estimation and reports (higher apps) may call these functions directly.
"""

from __future__ import annotations

from naeq.quality.models import DataMark, MarkKind


def marked(cycle_id: int, instrument_code: str, mark: str) -> set[int]:
    if mark not in MarkKind.values:
        raise ValueError(f"unknown mark {mark!r}")
    return set(DataMark.objects.filter(cycle_id=cycle_id, instrument_code=instrument_code, mark=mark)
               .values_list("test_taker_id", flat=True))


def excluded(cycle_id: int, instrument_code: str) -> set[int]:
    return marked(cycle_id, instrument_code, MarkKind.EXCLUDED)


def flagged(cycle_id: int, instrument_code: str) -> set[int]:
    return marked(cycle_id, instrument_code, MarkKind.FLAGGED)
