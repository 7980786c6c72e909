"""Database rows ↔ engine arrays, and engine errors → application errors.

The school frame is read with one ``values_list`` query into numpy arrays (no model objects: 230,000 schools
load in about a second). Everything here is vectorised; the engines in :mod:`naeq.engines.sampling` and
:mod:`naeq.engines.booklets` do the sampling mathematics.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from numpy.typing import NDArray

import naeq
from naeq.core.errors import InvalidInput
from naeq.engines.errors import EngineError
from naeq.engines.sampling.frames import SchoolFrame, frame_hash
from naeq.engines.sampling.spec import SampleDesign
from naeq.registry.models import School

ENGINE_NAME = "naeq.engines.sampling"


@dataclass(frozen=True)
class DbFrame:
    """The school frame and the database ids aligned with its rows."""

    frame: SchoolFrame
    school_id: NDArray[np.int64]
    county_id: NDArray[np.int64]
    path: NDArray[np.str_]

    @property
    def hash(self) -> str:
        return frame_hash(self.frame)


def school_frame(*, path_prefix: str = "") -> DbFrame:
    """The whole registry (or the subtree under ``path_prefix``) as a :class:`SchoolFrame`: one query."""
    qs = School.objects.order_by("code")
    if path_prefix:
        qs = qs.filter(path__startswith=path_prefix)
    rows = list(qs.values_list("id", "county_id", "county__code", "code", "path", "level", "urban_rural",
                               "g4_enrollment", "g8_enrollment"))
    if not rows:
        empty_s = np.zeros(0, dtype=np.str_)
        empty_i = np.zeros(0, dtype=np.int64)
        frame = SchoolFrame(code=empty_s, county=empty_s, province=empty_s, level=empty_s, urban_rural=empty_s,
                            g4=empty_i, g8=empty_i)
        return DbFrame(frame, empty_i, empty_i, empty_s)
    ids, county_ids, county_codes, codes, paths, levels, ur, g4, g8 = zip(*rows, strict=True)
    path_arr = np.asarray(paths, dtype=np.str_)
    county_code = np.asarray(county_codes, dtype=np.str_)
    province = np.strings.slice(path_arr, 0, 2)  # the path starts with the province's division code
    frame = SchoolFrame(code=np.asarray(codes, dtype=np.str_), county=county_code, province=province,
                        level=np.asarray(levels, dtype=np.str_), urban_rural=np.asarray(ur, dtype=np.str_),
                        g4=np.asarray(g4, dtype=np.int64), g8=np.asarray(g8, dtype=np.int64))
    return DbFrame(frame, np.asarray(ids, dtype=np.int64), np.asarray(county_ids, dtype=np.int64), path_arr)


def design_text(design: SampleDesign) -> str:
    """The design as canonical JSON: what is stored with a run and hashed."""
    return json.dumps(design.as_dict(), ensure_ascii=False, sort_keys=True, indent=1)


def design_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def code_version() -> str:
    return f"naeq {naeq.__version__} / {ENGINE_NAME}"


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """The generator of one draw: the run's seed, spawned by stable integer keys (e.g. a school code)."""
    return np.random.default_rng([seed, *keys])


@contextmanager
def engine_errors(file: str | None = None) -> Iterator[None]:
    """Engine errors become :class:`InvalidInput` with the engine's message and code."""
    try:
        yield
    except EngineError as exc:
        raise InvalidInput(_("抽样计算无法完成：%(reason)s") % {"reason": str(exc)},
                           code=getattr(exc, "code", None) or "engine_error") from exc


def npy_bytes(array: NDArray[Any]) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def npy_load(data: bytes | memoryview) -> NDArray[Any]:
    return np.load(io.BytesIO(bytes(data)), allow_pickle=False)
