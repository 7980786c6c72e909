from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.personas import World, build_world


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """Argon2 is deliberately slow; the suite creates hundreds of accounts. Production hashing is asserted in
    tests/test_accounts.py against the real settings."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _audit_triggers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Keep the audit log's append-only triggers in place for every database test.

    Transactional tests (live server, CLI in a subprocess) end with Django emptying every table, which the
    triggers rightly refuse; so for those tests only the triggers are lifted after the test body, before that
    flush, and every database test re-installs them first."""
    names = set(request.fixturenames)
    if not names & {"db", "transactional_db", "live_server", "django_db_setup"} and not request.node.get_closest_marker(
        "django_db"
    ):
        yield
        return
    from django.db import connection

    from naeq.core.triggers import install_audit_triggers, remove_audit_triggers
    from naeq.custody.triggers import install_custody_triggers, remove_custody_triggers

    request.getfixturevalue("django_db_setup")
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in names or "live_server" in names or bool(
        marker and marker.kwargs.get("transaction")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
    else:
        request.getfixturevalue("db")
    install_audit_triggers(connection)
    install_custody_triggers(connection)  # the custody ledger is append-only too
    yield
    if transactional:
        remove_audit_triggers(connection)
        remove_custody_triggers(connection)


@pytest.fixture
def world(db: None) -> World:
    return build_world()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium (Debian's) per browser test module, shared by every app's browser tests.

    Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls from such a thread unless
    told it is safe (it is: the loop belongs to Playwright, not to Django)."""
    import os

    from tests.web.browser import ARGS, CHROMIUM

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
