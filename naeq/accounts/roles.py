"""Roles and the level of the hierarchy each is anchored at.

The seeds name the roles: national centre staff; provincial coordinators; city accounts (from 2023: view and
supervise, not submit); the county's liaison (联络员) and information officers (信息员); the school's head and
information officer; the inspector (责任督学) and chief proctor (主监测员) sent by the county to one sample school;
and the people who answer tests and questionnaires (students, teachers, principals, county managers).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    NATION = "nation", _("全国")
    PROVINCE = "province", _("省级")
    CITY = "city", _("地市级")
    COUNTY = "county", _("县级")
    SCHOOL = "school", _("学校")


class Role(models.TextChoices):
    NATIONAL_ADMIN = "national_admin", _("国家监测中心管理员")
    NATIONAL_ANALYST = "national_analyst", _("国家监测中心分析员")
    PROVINCE_COORDINATOR = "province_coordinator", _("省级协调员")
    CITY_VIEWER = "city_viewer", _("地市级查看员")
    COUNTY_LIAISON = "county_liaison", _("县级联络员")
    COUNTY_INFO_OFFICER = "county_info_officer", _("县级信息员")
    SCHOOL_HEAD = "school_head", _("校长（学校负责人）")
    SCHOOL_INFO_OFFICER = "school_info_officer", _("学校信息员")
    INSPECTOR = "inspector", _("责任督学")
    CHIEF_PROCTOR = "chief_proctor", _("主监测员")
    STUDENT = "student", _("学生")
    TEACHER = "teacher", _("教师")
    PRINCIPAL = "principal", _("校长（问卷）")
    COUNTY_MANAGER = "county_manager", _("县级教育管理人员")
    RATER = "rater", _("评分员")


#: The level an account of each role is anchored at: its region (or school) must be of this level.
ROLE_LEVEL: dict[str, str] = {
    Role.NATIONAL_ADMIN: Level.NATION,
    Role.NATIONAL_ANALYST: Level.NATION,
    Role.PROVINCE_COORDINATOR: Level.PROVINCE,
    Role.CITY_VIEWER: Level.CITY,
    Role.COUNTY_LIAISON: Level.COUNTY,
    Role.COUNTY_INFO_OFFICER: Level.COUNTY,
    Role.SCHOOL_HEAD: Level.SCHOOL,
    Role.SCHOOL_INFO_OFFICER: Level.SCHOOL,
    Role.INSPECTOR: Level.SCHOOL,
    Role.CHIEF_PROCTOR: Level.SCHOOL,
    Role.STUDENT: Level.SCHOOL,
    Role.TEACHER: Level.SCHOOL,
    Role.PRINCIPAL: Level.SCHOOL,
    Role.COUNTY_MANAGER: Level.COUNTY,
    # Raters score constructed responses at a provincial marking centre; they see only the anonymised responses
    # assigned to them (naeq.marking), nothing of the hierarchy.
    Role.RATER: Level.PROVINCE,
}

#: Staff roles that browse the hierarchy. Test-taker accounts see only their own tests and questionnaires.
STAFF_ROLES = frozenset({
    Role.NATIONAL_ADMIN, Role.NATIONAL_ANALYST, Role.PROVINCE_COORDINATOR, Role.CITY_VIEWER,
    Role.COUNTY_LIAISON, Role.COUNTY_INFO_OFFICER, Role.SCHOOL_HEAD, Role.SCHOOL_INFO_OFFICER,
    Role.INSPECTOR, Role.CHIEF_PROCTOR,
})

TEST_TAKER_ROLES = frozenset({Role.STUDENT, Role.TEACHER, Role.PRINCIPAL, Role.COUNTY_MANAGER})

#: Raters browse nothing of the hierarchy and take no test: they see only the anonymised responses assigned to them.
SCORING_ROLES = frozenset({Role.RATER})

#: Roles that may change registry records inside their jurisdiction. City accounts are read-only (2023 briefing:
#: 市级账号 can view and supervise but not submit); inspectors and chief proctors check, they do not edit the
#: registry; the national analyst reads everything and writes analysis runs only.
REGISTRY_WRITER_ROLES = frozenset({
    Role.NATIONAL_ADMIN, Role.PROVINCE_COORDINATOR, Role.COUNTY_LIAISON, Role.COUNTY_INFO_OFFICER,
    Role.SCHOOL_HEAD, Role.SCHOOL_INFO_OFFICER,
})
