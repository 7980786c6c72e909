from __future__ import annotations

from typing import Any

import pytest

from tests.personas import World, build_world


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Argon2 is deliberately slow; the suite creates hundreds of accounts. Production hashing is asserted in
    tests/test_accounts.py against the real settings."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db: None) -> World:
    return build_world()
