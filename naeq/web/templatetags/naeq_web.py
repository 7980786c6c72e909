"""Template helpers for the page frame: who is signed in, where they stand, what the navigation offers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Role
from naeq.web.admin_access import national_admin_only

register = template.Library()

RESPONDENTS = {
    "student": gettext_lazy("学生"),
    "teacher": gettext_lazy("教师"),
    "principal": gettext_lazy("校长"),
    "county_manager": gettext_lazy("县级教育管理人员"),
}
MODES = {
    "paper": gettext_lazy("纸笔"),
    "online": gettext_lazy("网络"),
    "online_objective_paper_constructed": gettext_lazy("客观题网络作答、主观题纸上作答"),
    "county_choice": gettext_lazy("纸笔或网络（由区县决定）"),
    "field_test": gettext_lazy("现场测试"),
}


@dataclass(frozen=True)
class Frame:
    role_label: str
    place: str
    browses_registry: bool
    writes_registry: bool
    uses_admin: bool


@register.simple_tag(takes_context=True)
def naeq_frame(context: dict[str, Any]) -> Frame | None:
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return None
    j = jurisdiction_of(user)
    role_label = str(Role(j.role).label) if j.role else ""
    if user.is_superuser and not user.role:
        role_label = _("超级管理员")
    if j.is_national:
        place = _("全国")
    elif user.school_id:
        place = user.school.name
    elif user.region_id:
        place = user.region.name
    else:
        place = ""
    return Frame(role_label=role_label, place=place, browses_registry=j.is_staff_role,
                 writes_registry=j.can_write_registry,
                 uses_admin=national_admin_only(request))


@register.filter
def num(value: int | None) -> str:
    """An integer with thousands separators (12,345), the same in both languages."""
    return "" if value is None else f"{value:,}"


@register.simple_tag
def respondent_label(code: str) -> str:
    return str(RESPONDENTS.get(code, code))


@register.simple_tag
def mode_label(code: str) -> str:
    return str(MODES.get(code, code))


@register.filter
def split_modes(value: str) -> list[str]:
    return [m for m in (value or "").split("+") if m]


@register.simple_tag
def booklet_list(booklets: dict[str, int], cycle: Any = None) -> str:
    """A sampled student's booklets as "数学 2 · 心理健康 1", with the cycle's subject names where it has them."""
    names: dict[str, str] = {}
    if cycle is not None:
        names = {s.code: s.name for s in cycle.config.subjects}
    return " · ".join(f"{names.get(code, code)} {n}" for code, n in booklets.items())
