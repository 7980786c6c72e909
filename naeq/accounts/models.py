"""Accounts: every user has one role and one place in the hierarchy."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from naeq.accounts.roles import Role


class User(AbstractUser):
    """A person who signs in. ``region`` anchors province/city/county roles; ``school`` anchors school roles.

    The anchor and the role's level (:data:`naeq.accounts.roles.ROLE_LEVEL`) are validated by
    :func:`naeq.accounts.services.user_create`; the database holds the coarse invariant below.
    """

    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    display_name = models.CharField(_("姓名"), max_length=60, blank=True)
    # String references: accounts sits below registry in the layers and never imports it.
    region = models.ForeignKey("registry.Region", verbose_name=_("所属区域"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="users")
    school = models.ForeignKey("registry.School", verbose_name=_("所属学校"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="users")
    # Denormalised materialised path of the anchor ("110000/110100/110101/" or a school's county path), so that the
    # jurisdiction test is one string comparison and user lists filter with one indexed prefix query.
    scope_path = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="user_anchor_matches_role",
                condition=(
                    Q(role__in=["national_admin", "national_analyst"], region__isnull=True, school__isnull=True)
                    | Q(role__in=["province_coordinator", "city_viewer", "county_liaison",
                                  "county_info_officer", "county_manager", "rater"],
                        region__isnull=False, school__isnull=True)
                    | Q(role__in=["school_head", "school_info_officer", "inspector", "chief_proctor",
                                  "student", "teacher", "principal"],
                        school__isnull=False)
                    | Q(role="", is_superuser=True)
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username
