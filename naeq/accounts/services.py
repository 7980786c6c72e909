"""Writes to accounts: create users with a role anchored at the right level of the hierarchy."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from naeq.accounts.models import User
from naeq.accounts.roles import ROLE_LEVEL, Level
from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, Problem
from naeq.core.validation import full_clean_or_raise


def _anchor_path(role: str, region: Any, school: Any) -> str:
    level = ROLE_LEVEL.get(role)
    if level is None:
        raise InvalidInput(_("未知角色。"), problems=[Problem(field="role", reason=_("未知角色"), value=role)])
    if level == Level.NATION:
        if region is not None or school is not None:
            raise InvalidInput(_("国家级账户不能绑定区域或学校。"),
                               problems=[Problem(field="region", reason=_("国家级账户不能绑定区域或学校"))])
        return ""
    if level == Level.SCHOOL:
        if school is None:
            raise InvalidInput(_("该角色必须绑定学校。"),
                               problems=[Problem(field="school", reason=_("该角色必须绑定学校"))])
        return str(school.path)
    if region is None or region.level != level:
        raise InvalidInput(
            _("该角色必须绑定%(level)s区域。") % {"level": Level(level).label},
            problems=[Problem(field="region", reason=_("区域层级与角色不符"),
                              value=getattr(region, "code", None))],
        )
    return str(region.path)


@transaction.atomic
def user_create(*, actor: Any, username: str, password: str | None, role: str, region: Any = None,
                school: Any = None, display_name: str = "") -> User:
    """Create an account. ``actor`` is the person creating it (``None`` for the system, e.g. the demo)."""
    path = _anchor_path(role, region, school)
    user = User(username=username, role=role, region=region if school is None else None, school=school,
                scope_path=path, display_name=display_name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    full_clean_or_raise(user, exclude=["password"])
    user.save()
    audit_record(actor=actor, action="accounts.user.create", object_type="user", object_id=user.pk,
                 after={"username": username, "role": role, "scope_path": path,
                        "school": getattr(school, "code", None), "region": getattr(region, "code", None)})
    return user
