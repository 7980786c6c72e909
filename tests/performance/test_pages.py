"""The proctor's page of a session's headset checks and complete recordings: for those who may read the
session; others get the same 404 as a missing session."""

from __future__ import annotations

from typing import Any

from django.test import Client


def test_session_status_page(perf: dict[str, Any], world: Any) -> None:
    api1 = perf["api1"]
    api1.post("headset", {"heard": False})
    url = f"/sessions/{perf['session'].pk}/performance/"
    proctor = Client()
    proctor.force_login(world.users["chief_proctor@A"])
    page = proctor.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "耳机与录音" in html and 'data-taker="S0801"' in html and 'data-heard="no"' in html
    assert 'data-heard="none"' in html  # S0802 has not done the check yet
    outsider = Client()
    outsider.force_login(world.users["chief_proctor@B"])
    assert outsider.get(url).status_code == 404
    assert outsider.get("/sessions/999999/performance/").status_code == 404
    assert Client().get(url).status_code == 302  # to the sign-in page
