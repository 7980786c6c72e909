"""Django admin: the audit log, read-only; and the permission mixin every naeq ModelAdmin uses.

Who may use the admin at all is decided once, by the admin site's ``has_permission`` (set in
:mod:`naeq.web.apps`: national administrators and superusers). The mixin makes every naeq ModelAdmin ask the site
instead of Django's per-model permissions, and refuses adding and deleting: records change only through the
services, which check jurisdiction and write the audit log.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from naeq.core.models import AuditEvent


class NationalAdminOnly:
    """Mixin for ModelAdmins: viewing follows the site's permission; no adding, no deleting."""

    admin_site: admin.AdminSite

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(NationalAdminOnly, admin.ModelAdmin):
    list_display = ("at", "actor_label", "action", "object_type", "object_id")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "actor_label", "action")
    date_hierarchy = "at"
    show_full_result_count = False
    fields = ("at", "actor_label", "action", "object_type", "object_id", "before", "after", "prev_hash", "hash")
    readonly_fields = fields
