"""Django admin for accounts: read-only. Accounts are created through :func:`naeq.accounts.services.user_create`
(the ``naeq user create`` verb), which validates the anchor and writes the audit log."""

from __future__ import annotations

from django.contrib import admin

from naeq.accounts.models import User
from naeq.core.admin import NationalAdminOnly


@admin.register(User)
class UserAdmin(NationalAdminOnly, admin.ModelAdmin):
    list_display = ("username", "display_name", "role", "scope_path", "is_active", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("username", "display_name", "scope_path")
    show_full_result_count = False
    fields = ("username", "display_name", "role", "region", "school", "scope_path", "is_active", "is_superuser",
              "last_login", "date_joined")
    readonly_fields = fields
