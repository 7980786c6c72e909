"""Django admin for the registry. Changes go through the services, so they are checked against the national
administrator's jurisdiction and audited with before/after values like any other write. Rosters (minors' personal
data) are not shown in the admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from naeq.core.admin import NationalAdminOnly
from naeq.registry.models import Region, RegionLevel, School
from naeq.registry.services import MAILING_FIELDS, SCHOOL_EDITABLE_FIELDS, county_mailing_update, school_update


@admin.register(Region)
class RegionAdmin(NationalAdminOnly, admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    list_select_related = ("parent",)
    show_full_result_count = False
    fields = ("code", "name", "level", "parent", "path", "local_time_offset_hours", *MAILING_FIELDS)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fixed = ("code", "name", "level", "parent", "path", "local_time_offset_hours")
        if obj is not None and obj.level == RegionLevel.COUNTY:
            return fixed
        return (*fixed, *MAILING_FIELDS)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.admin_site.has_permission(request) and (obj is None or obj.level == RegionLevel.COUNTY)

    def save_model(self, request: HttpRequest, obj: Region, form: ModelForm, change: bool) -> None:
        changes = {f: form.cleaned_data[f] for f in MAILING_FIELDS if f in form.changed_data}
        if changes:
            county_mailing_update(actor=request.user, code=obj.code, **changes)


@admin.register(School)
class SchoolAdmin(NationalAdminOnly, admin.ModelAdmin):
    list_display = ("code", "name", "county", "level", "urban_rural", "g4_enrollment", "g8_enrollment")
    list_filter = ("level", "urban_rural", "ownership")
    search_fields = ("=code", "name")
    list_select_related = ("county",)
    show_full_result_count = False
    fields = ("code", "county", "level", *SCHOOL_EDITABLE_FIELDS)
    readonly_fields = ("code", "county", "level")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.admin_site.has_permission(request)

    def save_model(self, request: HttpRequest, obj: School, form: ModelForm, change: bool) -> None:
        changes = {f: form.cleaned_data[f] for f in SCHOOL_EDITABLE_FIELDS if f in form.changed_data}
        if changes:
            school_update(actor=request.user, code=obj.code, **changes)
