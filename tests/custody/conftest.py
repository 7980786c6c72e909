from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test thread (see tests/web/conftest.py).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CST = dt.timezone(dt.timedelta(hours=8))
DAY = dt.date(2024, 5, 22)


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm), tzinfo=CST)


@pytest.fixture
def cycle(db: None) -> Any:
    """The current shipped cycle (2024), loaded from the configuration files."""
    from naeq.cycles.services import load_shipped_cycles

    cycles = load_shipped_cycles()
    return next(c for c in cycles if c.is_current)


@pytest.fixture(autouse=True)
def _custody_triggers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Keep the custody ledger's append-only triggers for every database test here; a transactional test (the
    browser test) ends with Django emptying every table, which the triggers rightly refuse on SQLite, so for those
    only the triggers are lifted after the test body (the same arrangement as the audit log's in tests/conftest.py).
    """
    names = set(request.fixturenames)
    if not names & {"db", "transactional_db", "live_server"}:
        yield
        return
    from django.db import connection

    from naeq.custody.triggers import install_custody_triggers, remove_custody_triggers

    transactional = "transactional_db" in names or "live_server" in names
    request.getfixturevalue("transactional_db" if transactional else "db")
    install_custody_triggers(connection)
    yield
    if transactional:
        remove_custody_triggers(connection)


