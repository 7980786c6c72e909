from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from naeq.delivery.attempts import attempt_start
from naeq.delivery.models import Attempt
from naeq.delivery.tokens import attempt_token
from tests.delivery.factories import make_session, make_taker
from tests.performance.world import make_perf_instrument


def sign_in(client: Client, attempt: Attempt) -> None:
    session = client.session
    session["naeq_taker"] = {"taker_id": attempt.test_taker_id, "session_id": attempt.session_id}
    session.save()


class Api:
    """A signed-in test taker's client of the performance APIs."""

    def __init__(self, client: Client, attempt: Attempt) -> None:
        self.client, self.attempt = client, attempt
        self.base = f"/t/api/perf/attempts/{attempt.pk}/"
        self.headers: dict[str, Any] = {"HTTP_X_ATTEMPT_TOKEN": attempt_token(attempt.pk)}

    def post(self, path: str, body: Any) -> Any:
        import json

        return self.client.post(self.base + path, data=json.dumps(body), content_type="application/json",
                                **self.headers)

    def get(self, path: str) -> Any:
        return self.client.get(self.base + path, **self.headers)

    def chunk(self, rid: int, offset: int, data: bytes) -> Any:
        return self.client.post(f"{self.base}recordings/{rid}/chunk?offset={offset}", data=data,
                                content_type="application/octet-stream", **self.headers)


@pytest.fixture
def cycle(db: None) -> Any:
    """The current shipped cycle, loaded from the configuration files."""
    from naeq.cycles.services import load_shipped_cycles

    cycles = load_shipped_cycles()
    return next(c for c in cycles if c.is_current) if any(c.is_current for c in cycles) else cycles[-1]


@pytest.fixture
def perf(cycle: Any, world: Any, settings: Any, tmp_path: Any) -> dict[str, Any]:
    settings.DATA_DIR = tmp_path
    school = world.schools["A1a-1"]
    make_perf_instrument(cycle)
    session = make_session(cycle, school, instruments=["english"], title="学生英语测试")
    a1 = attempt_start(taker=make_taker(cycle, school, "S0801"), session=session, instrument_code="english")
    a2 = attempt_start(taker=make_taker(cycle, school, "S0802"), session=session, instrument_code="english")
    c1, c2 = Client(), Client()
    sign_in(c1, a1)
    sign_in(c2, a2)
    return {"session": session, "a1": a1, "a2": a2, "api1": Api(c1, a1), "api2": Api(c2, a2), "school": school}
