from __future__ import annotations

import os
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from tests.personas import PASSWORD, World

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls from such a thread unless
# told it is safe (it is: the loop belongs to Playwright, not to Django).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()




@pytest.fixture
def cycle(db: None) -> Any:
    from naeq.cycles.services import load_shipped_cycles

    cycles = load_shipped_cycles()
    return next(c for c in cycles if c.is_current) if any(c.is_current for c in cycles) else cycles[-1]


def login(client: Client, world: World, persona: str) -> Client:
    client.force_login(world.users[persona])
    return client


@pytest.fixture
def as_persona(client: Client, world: World):  # type: ignore[no-untyped-def]
    def _as(persona: str) -> Client:
        return login(client, world, persona)

    return _as


__all__ = ["PASSWORD", "login"]
