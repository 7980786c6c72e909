"""Reads of the registry, already scoped by the access funnel (:mod:`naeq.registry.access`).

Every function starts from ``regions_visible`` / ``schools_visible`` or one of the ``*_access`` functions, so no
read here can see past the actor's jurisdiction. Counts are single aggregate queries over the scoped querysets
(grouped by path prefix for per-child counts), never Python loops over rows, so they stay cheap at 230,000
schools.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Substr
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.core.errors import InvalidInput
from naeq.registry import review
from naeq.registry.access import (
    region_access,
    region_access_for_write,
    regions_visible,
    school_access,
    schools_visible,
    submissions_visible,
)
from naeq.registry.models import (
    Principal,
    Region,
    RegionLevel,
    School,
    Student,
    Submission,
    SubmissionKind,
    SubmissionStatus,
    Teacher,
)

#: Rows per page of school lists (pages and API).
SCHOOLS_PER_PAGE = 50
#: Length of one path segment: six division digits and a slash.
SEGMENT = 7


@dataclass(frozen=True)
class Counts:
    provinces: int = 0
    cities: int = 0
    counties: int = 0
    schools: int = 0
    g4_enrollment: int = 0
    g8_enrollment: int = 0


@dataclass(frozen=True)
class JurisdictionSummary:
    level: str  # nation / province / city / county / school, or "" for an actor who stands over nothing
    name: str  # "全国", the anchor region's name, or the school's name
    path: str
    counts: Counts
    school_level: str | None  # the school's level for school-anchored actors
    province_code: str | None  # the province division code ("310000"), None for the nation


def _region_counts(qs: QuerySet[Region]) -> dict[str, int]:
    return qs.aggregate(
        provinces=Count("id", filter=Q(level=RegionLevel.PROVINCE)),
        cities=Count("id", filter=Q(level=RegionLevel.CITY)),
        counties=Count("id", filter=Q(level=RegionLevel.COUNTY)),
    )


def _school_counts(qs: QuerySet[School]) -> dict[str, int]:
    return qs.aggregate(
        schools=Count("id"),
        g4_enrollment=Coalesce(Sum("g4_enrollment"), 0),
        g8_enrollment=Coalesce(Sum("g8_enrollment"), 0),
    )


def jurisdiction_summary(*, actor: Any) -> JurisdictionSummary:
    """Where the actor stands and how much lies under it: two aggregate queries plus the anchor's name."""
    j = jurisdiction_of(actor)
    if not j.is_staff_role:  # test takers see their tests, not the registry
        return JurisdictionSummary(level=j.level, name="", path="", counts=Counts(), school_level=None,
                                   province_code=None)
    regions = _region_counts(regions_visible(actor=actor))
    schools = _school_counts(schools_visible(actor=actor))
    counts = Counts(**regions, **schools)
    school_level = None
    if j.is_national:
        name = _("全国")
    elif j.school_id is not None:
        school = schools_visible(actor=actor).only("name", "level").first()
        name = school.name if school else ""
        school_level = school.level if school else None
    else:
        region = regions_visible(actor=actor).filter(path=j.path).only("name").first()
        name = region.name if region else ""
    province_code = j.path[:6] if j.path and not j.is_national else None
    return JurisdictionSummary(level=j.level, name=name, path=j.path, counts=counts, school_level=school_level,
                               province_code=province_code)


# ------------------------------------------------------------------------------------------------ regions


@dataclass(frozen=True)
class RegionRow:
    """A region with what lies under it inside the actor's jurisdiction."""

    region: Region
    cities: int
    counties: int
    schools: int
    g4_enrollment: int
    g8_enrollment: int


def _rows(actor: Any, regions: list[Region], base_path: str) -> list[RegionRow]:
    """Counts under each region of ``regions`` (all children of one base path): one grouped query for
    descendant regions and one for schools, grouped by the path prefix that names the child."""
    if not regions:
        return []
    width = len(base_path) + SEGMENT
    sub_regions = (regions_visible(actor=actor).filter(path__startswith=base_path)
                   .exclude(level=RegionLevel.PROVINCE)
                   .annotate(prefix=Substr("path", 1, width)).values("prefix")
                   .annotate(cities=Count("id", filter=Q(level=RegionLevel.CITY)),
                             counties=Count("id", filter=Q(level=RegionLevel.COUNTY))))
    sub_schools = (schools_visible(actor=actor).filter(path__startswith=base_path)
                   .annotate(prefix=Substr("path", 1, width)).values("prefix")
                   .annotate(n=Count("id"), g4=Coalesce(Sum("g4_enrollment"), 0),
                             g8=Coalesce(Sum("g8_enrollment"), 0)))
    by_region: dict[str, dict[str, Any]] = {r["prefix"]: dict(r) for r in sub_regions}
    by_school: dict[str, dict[str, Any]] = {s["prefix"]: dict(s) for s in sub_schools}
    rows = []
    for region in regions:
        r = by_region.get(region.path, {})
        s = by_school.get(region.path, {})
        # A region's own row is counted in its prefix group: a city counts itself among the cities.
        own_city = 1 if region.level == RegionLevel.CITY else 0
        own_county = 1 if region.level == RegionLevel.COUNTY else 0
        rows.append(RegionRow(region=region, cities=r.get("cities", 0) - own_city,
                              counties=r.get("counties", 0) - own_county, schools=s.get("n", 0),
                              g4_enrollment=s.get("g4", 0), g8_enrollment=s.get("g8", 0)))
    return rows


def region_roots(*, actor: Any) -> list[RegionRow]:
    """The top of the actor's jurisdiction: every province for the nation, else the anchor region itself.
    Empty for school-anchored and test-taker accounts, who browse no regions."""
    j = jurisdiction_of(actor)
    visible = regions_visible(actor=actor)
    if j.is_national:
        roots = list(visible.filter(level=RegionLevel.PROVINCE).order_by("code"))
        return _rows(actor, roots, "")
    roots = list(visible.filter(path=j.path))
    return _rows(actor, roots, j.path[:-SEGMENT])


def region_children(*, actor: Any, region: Region) -> list[RegionRow]:
    """The child regions of ``region`` (already obtained through :func:`region_access`), with counts."""
    children = list(regions_visible(actor=actor).filter(parent=region).order_by("code"))
    return _rows(actor, children, region.path)


@dataclass(frozen=True)
class RegionDetail:
    region: Region
    ancestors: list[Region]  # from the province down to the parent, only those the actor may see
    children: list[RegionRow]  # empty for counties
    counts: RegionRow


def region_detail(*, actor: Any, code: str) -> RegionDetail:
    """A region the actor may see, with its visible ancestors, its children and its totals."""
    region = region_access(actor=actor, code=code)
    parts = region.path.rstrip("/").split("/")[:-1]
    ancestor_paths = ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
    ancestors = list(regions_visible(actor=actor).filter(path__in=ancestor_paths).order_by("path"))
    children = [] if region.level == RegionLevel.COUNTY else region_children(actor=actor, region=region)
    totals = _rows(actor, [region], region.path[:-SEGMENT])[0]
    return RegionDetail(region=region, ancestors=ancestors, children=children, counts=totals)


def county_for_mailing_edit(*, actor: Any, code: str) -> Region:
    """The county whose mailing details the actor may change (404 if unseen, 403 if read-only)."""
    region = region_access_for_write(actor=actor, code=code)
    if region.level != RegionLevel.COUNTY:
        raise InvalidInput(_("只有县级区域有邮寄信息。"))
    return region


# ------------------------------------------------------------------------------------------------ schools


@dataclass(frozen=True)
class SchoolPage:
    """One page of a school list. No COUNT over the whole set: the page reads one row more than it shows to
    know whether a next page exists, so a national list costs one indexed query however large it is."""

    items: list[School]
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)


def parse_page(value: str | None) -> int:
    """A page number from a query string: anything that is not a positive integer means page 1."""
    try:
        number = int(value or "1")
    except ValueError:
        return 1
    return number if 1 <= number <= 1_000_000 else 1


def school_search(*, actor: Any, q: str = "", page: int = 1, county: Region | None = None,
                  per_page: int = SCHOOLS_PER_PAGE) -> SchoolPage:
    """Schools the actor may see whose code starts with ``q`` (when ``q`` is all digits) or whose name contains
    ``q``; optionally only those of one county (obtained through the access funnel). Ordered by code."""
    qs = schools_visible(actor=actor)
    if county is not None:
        qs = qs.filter(path=county.path)
    q = q.strip()
    if q.isdigit():
        qs = qs.filter(code__startswith=q)
    elif q:
        qs = qs.filter(name__icontains=q)
    offset = (page - 1) * per_page
    rows = list(qs.select_related("county").order_by("code")[offset: offset + per_page + 1])
    return SchoolPage(items=rows[:per_page], number=page, per_page=per_page, has_next=len(rows) > per_page)


@dataclass(frozen=True)
class RosterCounts:
    """How many people are on the school's rosters (counts only: names are minors' personal data)."""

    g4_students: int
    g8_students: int
    teachers: int
    head_teachers: int
    has_principal: bool


@dataclass(frozen=True)
class SchoolDetail:
    school: School
    county: Region
    city: Region | None
    province: Region | None
    rosters: RosterCounts


def school_detail(*, actor: Any, code: str) -> SchoolDetail:
    school = school_access(actor=actor, code=code)
    students = Student.objects.filter(school=school).aggregate(
        g4=Count("id", filter=Q(grade=4)), g8=Count("id", filter=Q(grade=8)))
    teachers = Teacher.objects.filter(school=school).aggregate(
        n=Count("id"), heads=Count("id", filter=Q(head_teacher_class__isnull=False)))
    rosters = RosterCounts(g4_students=students["g4"], g8_students=students["g8"], teachers=teachers["n"],
                           head_teachers=teachers["heads"],
                           has_principal=Principal.objects.filter(school=school).exists())
    county = school.county
    city = county.parent
    province = city.parent if city is not None else None
    return SchoolDetail(school=school, county=county, city=city, province=province, rosters=rosters)


# ------------------------------------------------------------------------------------------------ review chain


def submission_list(*, actor: Any, kind: str, year: int, status: str | None = None,
                    pending_level: str | None = None) -> QuerySet[Submission]:
    """Submissions of a kind and year inside the actor's jurisdiction, optionally of one status (and, for a
    review queue, waiting at one level)."""
    qs = submissions_visible(actor=actor).filter(kind=kind, year=year)
    if status:
        qs = qs.filter(status=status)
    if pending_level is not None:
        qs = qs.filter(pending_level=pending_level)
    return qs.select_related("county__parent", "school", "updated_by").order_by("county__code", "school__code")


def review_queue(*, actor: Any, kind: str, year: int) -> QuerySet[Submission]:
    """What waits for the actor's own decision: submitted, pending at the actor's level, inside its
    jurisdiction. Empty for accounts that do not act in review chains."""
    j = jurisdiction_of(actor)
    if not review.acts_at(j.role, j.level) or j.level not in review.chain_for(kind).reviewers:
        return Submission.objects.none()
    return submission_list(actor=actor, kind=kind, year=year, status=SubmissionStatus.SUBMITTED,
                           pending_level=j.level)


def submission_for(*, actor: Any, kind: str, year: int, county_code: str | None = None,
                   school_code: str | None = None) -> Submission | None:
    """The submission for a county (or school) the actor may see, or None if none was started (no write)."""
    if kind in review.SCHOOL_KINDS:
        school = school_access(actor=actor, code=school_code or "")
        return submissions_visible(actor=actor).filter(kind=kind, year=year, school=school).first()
    county = region_access(actor=actor, code=county_code or "")
    return submissions_visible(actor=actor).filter(kind=kind, year=year, county=county,
                                                   school__isnull=True).first()


@dataclass(frozen=True)
class ProgressRow:
    """How far the units (counties for the registry, schools otherwise) under one region have come.

    For the registry a county that never started counts as a draft, so ``total`` is the number of counties."""

    region: Region
    counts: dict[str, int]  # status -> number
    total: int

    @property
    def done(self) -> int:
        return self.counts.get(SubmissionStatus.APPROVED, 0) + self.counts.get(SubmissionStatus.LOCKED, 0)

    @property
    def locked(self) -> int:
        return self.counts.get(SubmissionStatus.LOCKED, 0)

    @property
    def status(self) -> str | None:
        """For a county row of the registry: its one status."""
        nonzero = [s for s, n in self.counts.items() if n]
        return nonzero[0] if self.total == 1 and len(nonzero) == 1 else None


COUNTY_PATH_LEN = 3 * SEGMENT


def submission_progress(*, actor: Any, kind: str, year: int, region_code: str | None = None) -> list[ProgressRow]:
    """Rows per region with counts by status: the provinces for the nation, else the counties under the
    actor's anchor (or under ``region_code``, a region the actor may see). Two grouped queries."""
    j = jurisdiction_of(actor)
    review.chain_for(kind)
    base = region_access(actor=actor, code=region_code).path if region_code else j.path
    if not j.is_staff_role or j.school_id is not None:
        return []
    visible = regions_visible(actor=actor)
    if base == "":
        regions = list(visible.filter(level=RegionLevel.PROVINCE).order_by("code"))
        width = SEGMENT
    else:
        regions = list(visible.filter(level=RegionLevel.COUNTY, path__startswith=base).order_by("code"))
        width = COUNTY_PATH_LEN
    if not regions:
        return []
    grouped = (submissions_visible(actor=actor).filter(kind=kind, year=year, county__path__startswith=base)
               .annotate(prefix=Substr("county__path", 1, width)).values("prefix", "status").annotate(n=Count("id")))
    by_prefix: dict[str, dict[str, int]] = {}
    for g in grouped:
        by_prefix.setdefault(g["prefix"], {})[g["status"]] = g["n"]
    county_counts: dict[str, int] = {}
    if kind == SubmissionKind.REGISTRY:
        county_counts = dict(visible.filter(level=RegionLevel.COUNTY, path__startswith=base)
                             .annotate(prefix=Substr("path", 1, width)).values("prefix")
                             .annotate(n=Count("id")).values_list("prefix", "n"))
    rows = []
    for region in regions:
        counts = {s.value: by_prefix.get(region.path, {}).get(s.value, 0) for s in SubmissionStatus}
        if kind == SubmissionKind.REGISTRY:
            started = sum(counts.values())
            counts[SubmissionStatus.DRAFT] += max(county_counts.get(region.path, 0) - started, 0)
        rows.append(ProgressRow(region=region, counts=counts, total=sum(counts.values())))
    return rows


@dataclass(frozen=True)
class CountyRegistry:
    """One county's registry as its page shows it: the submission and what the actor may do with it."""

    county: Region
    year: int
    submission: Submission | None
    schools: list[School]
    counts: dict[str, int]  # schools, g4_enrollment, g8_enrollment
    may_upload: bool  # the county's own officers
    editable: bool  # draft, returned or not started
    may_review: bool = False  # submitted and waiting for the actor's level

    @property
    def status(self) -> str:
        return self.submission.status if self.submission else SubmissionStatus.DRAFT


def county_registry(*, actor: Any, county_code: str, year: int) -> CountyRegistry:
    """A county the actor may see, with its REGISTRY submission of the year and its schools (at most a few
    hundred per county)."""
    county = region_access(actor=actor, code=county_code)
    if county.level != RegionLevel.COUNTY:
        raise InvalidInput(_("属地学校信息按县（区）上传，请选择县级区域。"))
    j = jurisdiction_of(actor)
    submission = submissions_visible(actor=actor).filter(kind=SubmissionKind.REGISTRY, year=year, county=county,
                                                         school__isnull=True).select_related("updated_by").first()
    schools = schools_visible(actor=actor).filter(county=county)
    chain = review.chain_for(SubmissionKind.REGISTRY)
    return CountyRegistry(
        county=county, year=year, submission=submission, schools=list(schools.order_by("code")),
        counts=_school_counts(schools),
        may_upload=j.can_write_registry and chain.may_submit(j.role),
        editable=submission is None or submission.status in review.EDITABLE,
        may_review=(submission is not None and submission.status == SubmissionStatus.SUBMITTED
                    and j.can_write_registry and review.acts_at(j.role, submission.pending_level)),
    )


def county_registry_schools(*, actor: Any, county_code: str) -> tuple[Region, list[School]]:
    """A county the actor may see and its schools, for the export."""
    county = region_access(actor=actor, code=county_code)
    if county.level != RegionLevel.COUNTY:
        raise InvalidInput(_("属地学校信息按县（区）上传，请选择县级区域。"))
    return county, list(schools_visible(actor=actor).filter(county=county).order_by("code"))
