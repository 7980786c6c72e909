"""The authorisation matrix of the scoring hub (/scoring/, issue 6): every staff role reaches it (each section then
offers only what the role may do, tested in the sections' own matrices); raters reach it for their marking; test
takers and anonymous visitors do not."""

from __future__ import annotations

from django.test import Client

import tests.web.test_matrix as m
from naeq.accounts.roles import STAFF_ROLES, Role
from tests.personas import World


def test_scoring_hub_matrix(client: Client, world: World) -> None:
    expect = {r.value: m.OK if (r in STAFF_ROLES or r == Role.RATER) else m.MISSING for r in Role}
    assert expect[Role.STUDENT.value] == m.MISSING and expect[Role.CITY_VIEWER.value] == m.OK
    m.check_page(client, world, name="scoring_home", expect=expect, url=lambda _o: "/scoring/")


def test_scoring_hub_needs_sign_in(client: Client, db: None) -> None:
    response = client.get("/scoring/")
    assert response.status_code == m.REDIRECT and "/login/" in response["Location"]
