"""What a screening run reads from the platform, in the engine's layout (:func:`naeq.engines.forensics.screen`).

:func:`naeq.quality.adapters.gather` fills a :class:`ScreenInputs` from the database (responses of one instrument
in a cycle and everything around them); :func:`naeq.quality.services` hashes it, runs the engine and stores the
results against the ids kept here. Row ``i`` of every person-level array is test taker ``test_takers[i]``; school
code ``s`` is ``School`` ``school_ids[s]``, county code ``c`` is ``Region`` ``county_ids[c]``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass
class ScreenInputs:
    # persons (N) × items (J)
    test_takers: IntArray                 # (N,) TestTaker ids, sorted ascending
    items: list[str]                      # (J,) item codes in the instrument's order
    options: IntArray                     # (N, J) option codes, −1 = not administered
    option_labels: list[list[str]]        # per item, code → the option as text ("" = omitted)
    keys: IntArray                        # (J,) the key's option code per item
    school: IntArray                      # (N,) school code 0..S−1
    county: IntArray                      # (N,) county code 0..C−1
    school_ids: IntArray                  # (S,) registry.School ids
    county_ids: IntArray                  # (C,) registry.Region ids (counties)
    county_paths: list[str]               # (C,) the counties' paths (jurisdiction of the stored rows)
    room: NDArray[np.str_] | None = None  # (N,) room label (the test session, and its room when recorded)
    # optional 2PL parameters and abilities from the cycle's latest finished calibration run of the instrument
    a: FloatArray | None = None
    b: FloatArray | None = None
    theta: FloatArray | None = None
    calibration_run: int | None = None
    # school background (S, p): e.g. SES, urban, previous-cycle mean
    school_covariates: FloatArray | None = None
    covariate_names: list[str] = field(default_factory=list)
    # per school: {name: (count (S,), total (S,))}, e.g. absent, exempt, replaced, roster_changed
    participation: dict[str, tuple[FloatArray, FloatArray]] = field(default_factory=dict)
    timings: tuple[IntArray, FloatArray] | None = None                              # (row, seconds)
    pe: tuple[IntArray, NDArray[np.str_], FloatArray, IntArray] | None = None       # (row, test, value, decimals)
    questionnaire: tuple[IntArray, NDArray[np.str_], IntArray] | None = None        # (row, block, value)
    changed: tuple[IntArray, IntArray] | None = None      # (row, answers written or altered after the close)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # what was read from where (for the run's summary)

    @property
    def n_persons(self) -> int:
        return len(self.test_takers)


def _feed(h: Any, name: str, value: Any) -> None:
    h.update(name.encode())
    if value is None:
        h.update(b"\x00none")
    elif isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        h.update(str(arr.dtype).encode() + str(arr.shape).encode())
        h.update(arr.tobytes())
    elif isinstance(value, (tuple, list)) and value and isinstance(value[0], np.ndarray):
        for k, v in enumerate(value):
            _feed(h, f"{name}[{k}]", v)
    elif isinstance(value, dict):
        for k in sorted(value):
            _feed(h, f"{name}.{k}", value[k])
    else:
        h.update(repr(value).encode())


def inputs_hash(inp: ScreenInputs) -> str:
    """SHA-256 over every array and label the engine reads (not the warnings): same data, same hash."""
    h = hashlib.sha256()
    for name in ("test_takers", "items", "options", "option_labels", "keys", "school", "county", "school_ids",
                 "county_ids", "room", "a", "b", "theta", "school_covariates", "covariate_names", "participation",
                 "timings", "pe", "questionnaire", "changed"):
        _feed(h, name, getattr(inp, name))
    return h.hexdigest()
