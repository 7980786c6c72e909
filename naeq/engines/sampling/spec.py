"""The sample design as plain frozen values (the declarative file is parsed by ``naeq.sampling.design``)."""

from __future__ import annotations

from dataclasses import dataclass, field

GRADES: tuple[int, ...] = (4, 8)
REPLICATE_SCHEMES: tuple[str, ...] = ("jk2", "jk2_full", "fay")
COUNTY_SORT_KEYS: tuple[str, ...] = ("city", "size", "code")
SCHOOL_SORT_KEYS: tuple[str, ...] = ("urban_rural", "size", "code")
SCHOOL_CELL_KEYS: tuple[str, ...] = ("county", "grade", "urban_rural")
STUDENT_CELL_KEYS: tuple[str, ...] = ("school", "grade")


@dataclass(frozen=True)
class CountyDesign:
    """First stage: counties by systematic PPS within provinces (the explicit strata).

    ``total`` counties are allocated to provinces in proportion to their number of counties, with at least
    ``min_per_province`` (capped at the province's count), by largest remainders. ``agreement`` and
    ``application`` counties (协议/申请县) are added with probability 1 when not drawn, flagged as outside the
    national sample.
    """

    total: int = 340
    min_per_province: int = 2
    sort: tuple[str, ...] = ("city", "size")
    serpentine: bool = False
    agreement: tuple[str, ...] = ()
    application: tuple[str, ...] = ()


@dataclass(frozen=True)
class SchoolDesign:
    """Second stage: schools within a county, per grade, by systematic PPS on the measure of size.

    MOS = max(grade enrollment, ``min_cluster_size``) (the TIMSS small-school rule); schools with fewer than
    ``exclude_below`` students in the grade are excluded and reported. Sorted by ``sort`` within county and grade,
    serpentine in size within each urban/rural class when ``serpentine``. When a county has fewer eligible schools
    than its count in one grade, it takes them all and, with ``reallocate``, gives the shortfall to the other grade.
    """

    per_county: tuple[tuple[int, int], ...] = ((4, 12), (8, 8))
    sort: tuple[str, ...] = ("urban_rural", "size")
    serpentine: bool = True
    min_cluster_size: int = 30
    exclude_below: int = 1
    reallocate: bool = True
    replacements: int = 2

    def count(self, grade: int) -> int:
        return dict(self.per_county)[grade]


@dataclass(frozen=True)
class StudentDesign:
    per_school: int = 30


@dataclass(frozen=True)
class NonresponseDesign:
    school_cells: tuple[str, ...] = ("county", "grade")
    student_cells: tuple[str, ...] = ("school", "grade")


@dataclass(frozen=True)
class ReplicateDesign:
    """``jk2``: paired jackknife, one replicate per zone (variance factor 1); ``jk2_full``: both halves of every
    zone (factor 1/2); ``fay``: Fay's BRR with ``fay_rho`` from a Sylvester Hadamard matrix. ``max_zones`` folds
    zones beyond it onto the first ones (TIMSS uses 75); None keeps them all."""

    scheme: str = "jk2"
    fay_rho: float = 0.5
    max_zones: int | None = None


@dataclass(frozen=True)
class SampleDesign:
    name: str = "default"
    counties: CountyDesign = field(default_factory=CountyDesign)
    schools: SchoolDesign = field(default_factory=SchoolDesign)
    students: StudentDesign = field(default_factory=StudentDesign)
    nonresponse: NonresponseDesign = field(default_factory=NonresponseDesign)
    replicates: ReplicateDesign = field(default_factory=ReplicateDesign)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready copy (recorded with every run)."""
        from dataclasses import asdict

        d = asdict(self)
        d["schools"]["per_county"] = {f"grade{g}": n for g, n in self.schools.per_county}
        return d
