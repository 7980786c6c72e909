"""The diff of an uploaded registry against the county's current one, and its atomic, audited apply."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, NotFound, PermissionDenied, ProblemCollector
from naeq.registry import review
from naeq.registry.access import region_access_for_write
from naeq.registry.imports.columns import FIELD_HEADER, HEADERS, _ur_option
from naeq.registry.imports.reading import SchoolRecord, parse_registry_file
from naeq.registry.models import Ownership, Region, RegionLevel, School, SchoolLevel, SubmissionKind
from naeq.registry.services import submission_require_editable

# ------------------------------------------------------------------------------------------------ diff, apply


@dataclass(frozen=True)
class FieldChange:
    field: str  # the column header
    old: str
    new: str


@dataclass(frozen=True)
class SchoolChange:
    code: str
    name: str
    changes: tuple[FieldChange, ...]


@dataclass
class RegistryImportResult:
    county_code: str
    county_name: str
    file_name: str
    rows: int
    added: list[SchoolRecord] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)  # (code, name)
    changed: list[SchoolChange] = field(default_factory=list)
    unchanged: int = 0
    applied: bool = False

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def _display(f: str, value: Any) -> str:
    if f == "level":
        return str(SchoolLevel(value).label)
    if f == "urban_rural":
        return _ur_option(value)
    if f == "ownership":
        return str(Ownership(value).label)
    return str(value)


def _state(values: dict[str, Any]) -> dict[str, Any]:
    return {f: values[f] for f in HEADERS.values() if f != "code"}


def _county_for_import(*, actor: Any, county_code: str) -> Region:
    """The county whose registry the actor may upload: its own county officers, or the system (CLI)."""
    if actor is None:
        county = Region.objects.filter(code=county_code, level=RegionLevel.COUNTY).first()
        if county is None:
            raise NotFound(_("没有找到该区域。"))
        return county
    county = region_access_for_write(actor=actor, code=county_code)
    if county.level != RegionLevel.COUNTY:
        raise InvalidInput(_("属地学校信息按县（区）上传，请指定县级区域。"))
    if not review.acts_at(jurisdiction_of(actor).role, review.chain_for(SubmissionKind.REGISTRY).submitter):
        raise PermissionDenied(_("属地学校信息由县级联络员或信息员上传。"))
    return county


def _references(codes: list[str], current: dict[str, School]) -> dict[str, list[str]]:
    """What refers to each school about to be removed, by every reverse relation of School (so samples and other
    apps' records are found too): code -> ["账户（3条）", ...]."""
    ids = {current[c].pk: c for c in codes}
    found: dict[str, list[str]] = {}
    for rel in School._meta.related_objects:
        model, name = rel.related_model, rel.field.name
        rows = (model._default_manager.filter(**{f"{name}__in": list(ids)}).values(name)
                .annotate(n=Count("pk")).values_list(name, "n"))
        for school_id, n in rows:
            what = _("账户") if model._meta.label_lower == "accounts.user" else str(model._meta.verbose_name)
            found.setdefault(ids[school_id], []).append(_("%(what)s（%(n)d条）") % {"what": what, "n": n})
    return found


@transaction.atomic
def registry_import(*, actor: Any, year: int, county_code: str, file_name: str, data: bytes,
                    dry_run: bool = False) -> RegistryImportResult:
    """Replace a county's registry with an uploaded file (``dry_run``: check and compute the diff only).

    Raises InvalidInput with every problem of the file (nothing changes), NotFound outside the actor's
    jurisdiction, PermissionDenied for accounts that do not upload registries."""
    county = _county_for_import(actor=actor, county_code=county_code)
    records = parse_registry_file(file_name=file_name, data=data, county_code=county.code)
    submission_require_editable(kind=SubmissionKind.REGISTRY, year=year, county=county)
    problems = ProblemCollector(file=file_name)
    elsewhere = dict(School.objects.filter(code__in=[r.code for r in records]).exclude(county=county)
                     .values_list("code", "county__name"))
    for r in records:
        if r.code in elsewhere:
            problems.add(_("学校标识码“%(v)s”已登记在%(county)s，不能重复登记。")
                         % {"v": r.code, "county": elsewhere[r.code]}, row=r.row, field="学校标识码", value=r.code)
    locked = School.objects.select_for_update(of=("self",)).filter(county=county).order_by("code")
    current = {s.code: s for s in locked}
    by_code = {r.code: r for r in records}
    result = RegistryImportResult(county_code=county.code, county_name=county.name, file_name=file_name,
                                  rows=len(records))
    result.added = [r for r in records if r.code not in current]
    removed = [c for c in current if c not in by_code]
    result.removed = [(c, current[c].name) for c in removed]
    for code, school in current.items():
        new = by_code.get(code)
        if new is None:
            continue
        diffs = tuple(FieldChange(FIELD_HEADER[f], _display(f, getattr(school, f)), _display(f, getattr(new, f)))
                      for f in HEADERS.values() if f != "code" and getattr(school, f) != getattr(new, f))
        if diffs:
            result.changed.append(SchoolChange(code=code, name=new.name, changes=diffs))
        else:
            result.unchanged += 1
    for code, refs in _references(removed, current).items():
        problems.add(_("文件中没有学校“%(name)s”（%(code)s），但它已被%(refs)s引用，不能删除；如该校仍在办学请保留"
                       "该行，如已撤销请联系省级协调员。") % {"name": current[code].name, "code": code,
                                                            "refs": "、".join(refs)},
                     field="学校标识码", value=code)
    problems.raise_if_any(_("文件有%(n)d处错误，未导入任何数据。") % {"n": len(problems.problems)})
    if dry_run or not result.has_changes:
        return result
    before = {c: _state({f: getattr(current[c], f) for f in HEADERS.values()})
              for c in [*removed, *(ch.code for ch in result.changed)]}
    School.objects.filter(pk__in=[current[c].pk for c in removed]).delete()
    School.objects.bulk_create([School(county=county, path=county.path, **r.values()) for r in result.added])
    to_update = []
    for ch in result.changed:
        school = current[ch.code]
        for f, v in _state(by_code[ch.code].values()).items():
            setattr(school, f, v)
        to_update.append(school)
    School.objects.bulk_update(to_update, [f for f in HEADERS.values() if f != "code"])
    after = {c: _state(by_code[c].values()) for c in [*(r.code for r in result.added),
                                                       *(ch.code for ch in result.changed)]}
    audit_record(actor=actor, action="registry.import", object_type="region", object_id=county.code,
                 before={"year": year, "file": file_name, "schools": before},
                 after={"year": year, "file": file_name, "added": len(result.added), "removed": len(removed),
                        "changed": len(result.changed), "unchanged": result.unchanged, "schools": after})
    result.applied = True
    return result
