"""Accounts: role anchoring, jurisdiction, production password hashing, login settings."""

from __future__ import annotations

import pytest
from django.conf import settings as real_settings

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.models import User
from naeq.accounts.roles import ROLE_LEVEL, SCORING_ROLES, STAFF_ROLES, TEST_TAKER_ROLES, Role
from naeq.accounts.services import user_create
from naeq.core.errors import InvalidInput
from naeq.core.models import AuditEvent
from tests.personas import World


def test_production_hashing_is_argon2() -> None:
    # The suite swaps in a fast hasher (conftest); this reads the settings module itself.
    from naeq import settings as module

    assert module.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert real_settings.AUTH_USER_MODEL == "accounts.User"


def test_argon2_hash_round_trip() -> None:
    from django.contrib.auth.hashers import Argon2PasswordHasher

    hasher = Argon2PasswordHasher()
    encoded = hasher.encode("correct horse battery", hasher.salt())
    assert encoded.startswith("argon2$")
    assert hasher.verify("correct horse battery", encoded)
    assert not hasher.verify("wrong", encoded)


def test_chinese_is_default_and_english_available() -> None:
    assert real_settings.LANGUAGE_CODE == "zh-hans"
    assert {code for code, _ in real_settings.LANGUAGES} == {"zh-hans", "en"}


def test_every_role_has_a_level_and_a_kind() -> None:
    assert set(ROLE_LEVEL) == set(Role.values)
    assert set(Role.values) == STAFF_ROLES | TEST_TAKER_ROLES | SCORING_ROLES
    assert not STAFF_ROLES & TEST_TAKER_ROLES
    assert not (STAFF_ROLES | TEST_TAKER_ROLES) & SCORING_ROLES


@pytest.mark.parametrize(
    ("role", "anchor", "reason_field"),
    [
        (Role.PROVINCE_COORDINATOR, "A1", "region"),  # a city is not a province
        (Role.CITY_VIEWER, "A1a", "region"),
        (Role.COUNTY_LIAISON, None, "region"),
        (Role.SCHOOL_HEAD, None, "school"),
        (Role.NATIONAL_ADMIN, "A", "region"),
    ],
)
def test_role_must_be_anchored_at_its_level(world: World, role: str, anchor: str | None,
                                            reason_field: str) -> None:
    before = (User.objects.count(), AuditEvent.objects.count())
    with pytest.raises(InvalidInput) as exc:
        user_create(actor=None, username="x_bad", password="a-long-password-1", role=role,
                    region=world.regions[anchor] if anchor else None)
    assert exc.value.problems[0].field == reason_field
    assert (User.objects.count(), AuditEvent.objects.count()) == before


def test_jurisdiction_paths(world: World) -> None:
    assert jurisdiction_of(world.users["national_analyst@A"]).path == ""
    assert jurisdiction_of(world.users["province_coordinator@A"]).path == "310000/"
    assert jurisdiction_of(world.users["city_viewer@B"]).path == "440000/440100/"
    j = jurisdiction_of(world.users["school_head@A"])
    assert j.school_id == world.schools["A1a-1"].pk
    assert not j.covers_path(world.regions["A1a"].path)  # a school head stands over its school only
    assert not jurisdiction_of(world.users["city_viewer@A"]).can_write_registry
    assert jurisdiction_of(world.users["county_info_officer@A"]).can_write_registry


def test_inactive_user_stands_over_nothing(world: World) -> None:
    u = world.users["province_coordinator@A"]
    u.is_active = False
    assert not jurisdiction_of(u).is_staff_role


def test_account_creation_is_audited(world: World) -> None:
    ev = AuditEvent.objects.filter(action="accounts.user.create", object_id=str(world.users["city_viewer@A"].pk))
    assert ev.get().after["scope_path"] == "310000/310100/"
