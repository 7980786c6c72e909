"""What part of the hierarchy an actor stands over, computed once from the account.

This is a value object, not a decision: the decisions live in each app's ``access.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from naeq.accounts.roles import REGISTRY_WRITER_ROLES, ROLE_LEVEL, STAFF_ROLES, Level, Role


@dataclass(frozen=True)
class Jurisdiction:
    role: str
    level: str
    path: str  # "" for the nation; a region path; for school roles the school's county path
    school_id: int | None  # set for school-anchored roles: they stand over this one school only
    is_staff_role: bool
    can_write_registry: bool

    @property
    def is_national(self) -> bool:
        return self.level == Level.NATION

    def covers_path(self, path: str) -> bool:
        """Whether a region or school with this materialised path lies inside a region-level jurisdiction."""
        return self.school_id is None and path.startswith(self.path)


NOWHERE = Jurisdiction(role="", level="", path="\x00", school_id=None, is_staff_role=False,
                       can_write_registry=False)


def jurisdiction_of(user: Any) -> Jurisdiction:
    """The jurisdiction of a signed-in user; anonymous or inactive users stand over nothing."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOWHERE
    role = user.role
    if not role:
        # A Django superuser created outside naeq's services: national admin rights, nothing more.
        role = Role.NATIONAL_ADMIN if user.is_superuser else ""
    if role not in ROLE_LEVEL:
        return NOWHERE
    level = ROLE_LEVEL[role]
    if level == Level.NATION:
        path = ""
    elif not user.scope_path:
        return NOWHERE
    else:
        path = user.scope_path
    return Jurisdiction(
        role=role,
        level=level,
        path=path,
        school_id=user.school_id if level == Level.SCHOOL else None,
        is_staff_role=role in STAFF_ROLES,
        can_write_registry=role in REGISTRY_WRITER_ROLES,
    )
