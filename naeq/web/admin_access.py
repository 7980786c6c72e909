"""Who may use the Django admin: national administrators and superusers, nobody else."""

from __future__ import annotations

from django.http import HttpRequest

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Role


def national_admin_only(request: HttpRequest) -> bool:
    user = request.user
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    return jurisdiction_of(user).role == Role.NATIONAL_ADMIN
