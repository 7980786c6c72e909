"""Writes to the registry. Every write goes through the access funnel and is audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput
from naeq.core.validation import full_clean_or_raise
from naeq.registry.access import region_access_for_write, school_access_for_write
from naeq.registry.models import Region, RegionLevel, School

MAILING_FIELDS = ("mailing_address", "postcode", "mailing_recipient", "mailing_phone")
SCHOOL_EDITABLE_FIELDS = ("name", "urban_rural", "ownership", "g4_enrollment", "g4_classes", "g8_enrollment",
                          "g8_classes")


@transaction.atomic
def county_mailing_update(*, actor: Any, code: str, **changes: str) -> Region:
    """Update a county's mailing details (where instruments are posted and returned from)."""
    region = region_access_for_write(actor=actor, code=code)
    if region.level != RegionLevel.COUNTY:
        raise InvalidInput(_("只有县级区域有邮寄信息。"))
    unknown = set(changes) - set(MAILING_FIELDS)
    if unknown:
        raise TypeError(f"not mailing fields: {sorted(unknown)}")
    before = {f: getattr(region, f) for f in MAILING_FIELDS}
    for f, v in changes.items():
        setattr(region, f, v.strip())
    full_clean_or_raise(region)
    region.save(update_fields=list(changes))
    audit_record(actor=actor, action="registry.county.mailing_update", object_type="region", object_id=code,
                 before=before, after={f: getattr(region, f) for f in MAILING_FIELDS})
    return region


@transaction.atomic
def school_update(*, actor: Any, code: str, **changes: Any) -> School:
    """Update a school's registry record (name, classification, enrollment and classes)."""
    school = school_access_for_write(actor=actor, code=code)
    unknown = set(changes) - set(SCHOOL_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable school fields: {sorted(unknown)}")
    before = {f: getattr(school, f) for f in SCHOOL_EDITABLE_FIELDS}
    for f, v in changes.items():
        setattr(school, f, v)
    full_clean_or_raise(school)
    school.save(update_fields=list(changes))
    audit_record(actor=actor, action="registry.school.update", object_type="school", object_id=code,
                 before=before, after={f: getattr(school, f) for f in SCHOOL_EDITABLE_FIELDS})
    return school
