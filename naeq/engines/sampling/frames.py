"""Sampling frames: the school frame (one row per school) and the county frame derived from it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from naeq.engines.errors import EngineError

LEVELS: tuple[str, ...] = ("primary", "junior", "nine_year", "twelve_year", "complete_middle")
#: Urban/rural codes (统计用城乡分类代码) in the order used for implicit stratification.
URBAN_RURAL: tuple[str, ...] = ("111", "112", "121", "122", "123", "210", "220")


@dataclass(frozen=True)
class SchoolFrame:
    """One row per school. ``code``, ``county``, ``province``, ``level``, ``urban_rural`` are string arrays;
    ``g4`` and ``g8`` are the grade-4 and grade-8 enrollments (int64, >= 0). A school offers a grade when its
    enrollment in it is positive (nine-year and twelve-year schools offer both)."""

    code: NDArray[np.str_]
    county: NDArray[np.str_]
    province: NDArray[np.str_]
    level: NDArray[np.str_]
    urban_rural: NDArray[np.str_]
    g4: NDArray[np.int64]
    g8: NDArray[np.int64]

    def __post_init__(self) -> None:
        n = len(self.code)
        for name in ("county", "province", "level", "urban_rural", "g4", "g8"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"SchoolFrame.{name} has {len(getattr(self, name))} rows, expected {n}")
        for name in ("g4", "g8"):
            arr = getattr(self, name)
            if arr.dtype.kind not in "iu":
                raise ValueError(f"SchoolFrame.{name} must be integer enrollments")
            if n and arr.min() < 0:
                raise EngineError(f"{name} enrollment must be >= 0", code="negative_enrollment")
        if len(np.unique(self.code)) != n:
            raise EngineError("school codes must be unique", code="duplicate_school")

    @classmethod
    def from_columns(cls, *, code: Any, county: Any, level: Any, urban_rural: Any, g4: Any, g8: Any,
                     province: Any = None) -> SchoolFrame:
        """Build a frame from array-likes; ``province`` defaults to the first two digits of the county code."""
        county_arr = np.asarray(county, dtype=np.str_)
        prov = (np.asarray(province, dtype=np.str_) if province is not None
                else np.strings.slice(county_arr, 0, 2))
        return cls(code=np.asarray(code, dtype=np.str_), county=county_arr, province=np.asarray(prov, dtype=np.str_),
                   level=np.asarray(level, dtype=np.str_), urban_rural=np.asarray(urban_rural, dtype=np.str_),
                   g4=np.asarray(g4, dtype=np.int64), g8=np.asarray(g8, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.code)

    def enrollment(self, grade: int) -> NDArray[np.int64]:
        if grade == 4:
            return self.g4
        if grade == 8:
            return self.g8
        raise ValueError(f"grade must be 4 or 8, got {grade}")

    def take(self, idx: NDArray[Any]) -> SchoolFrame:
        return SchoolFrame(**{k: getattr(self, k)[idx] for k in
                              ("code", "county", "province", "level", "urban_rural", "g4", "g8")})


@dataclass(frozen=True)
class CountyFrame:
    """One row per county, sorted by code: ``code``, ``province``, ``city`` (first four digits), ``size``
    (grade-4 + grade-8 enrollment) and ``n_schools``."""

    code: NDArray[np.str_]
    province: NDArray[np.str_]
    city: NDArray[np.str_]
    size: NDArray[np.float64]
    n_schools: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.code)


def county_frame(schools: SchoolFrame) -> CountyFrame:
    """Aggregate the school frame to counties (sorted by county code)."""
    codes, first, inv = np.unique(schools.county, return_index=True, return_inverse=True)
    weights = (schools.g4 + schools.g8).astype(np.float64)
    size = np.bincount(inv, weights=weights, minlength=len(codes)).astype(np.float64)
    return CountyFrame(code=codes, province=schools.province[first], city=np.strings.slice(codes, 0, 4),
                       size=size, n_schools=np.bincount(inv, minlength=len(codes)).astype(np.int64))


def frame_hash(schools: SchoolFrame) -> str:
    """SHA-256 of the frame's content, independent of row order: ``"sha256:<hex>"``.

    Rows are sorted by school code; every column is hashed with its name and dtype, so any change to a code, a
    county, a level, an urban/rural code or an enrollment changes the hash.
    """
    order = np.argsort(schools.code, kind="stable")
    h = hashlib.sha256(b"naeq.school_frame.v1")
    for name in ("code", "county", "province", "level", "urban_rural"):
        col = getattr(schools, name)[order]
        h.update(name.encode())
        h.update("\x1f".join(col.tolist()).encode("utf-8"))
    for name in ("g4", "g8"):
        h.update(name.encode())
        h.update(np.ascontiguousarray(getattr(schools, name)[order], dtype="<i8").tobytes())
    return "sha256:" + h.hexdigest()
