"""The access funnel for regions and schools, persona by persona."""

from __future__ import annotations

import pytest

from naeq.core.errors import NotFound, PermissionDenied
from naeq.registry.access import region_access, school_access, schools_visible
from naeq.registry.services import county_mailing_update
from tests.personas import World


@pytest.mark.parametrize(
    ("persona", "visible"),
    [
        ("national_admin@A", {"A1a-1", "A1a-2", "A1b-1", "A1b-2", "B1a-1", "B1a-2", "B1b-1", "B1b-2"}),
        ("province_coordinator@A", {"A1a-1", "A1a-2", "A1b-1", "A1b-2"}),
        ("city_viewer@A", {"A1a-1", "A1a-2", "A1b-1", "A1b-2"}),
        ("county_liaison@A", {"A1a-1", "A1a-2"}),
        ("county_liaison@B", {"B1a-1", "B1a-2"}),
        ("school_head@A", {"A1a-1"}),
        ("inspector@B", {"B1a-1"}),
        ("student@A", set()),
        ("county_manager@A", set()),
    ],
)
def test_schools_visible_is_the_subtree(world: World, persona: str, visible: set[str]) -> None:
    codes = set(schools_visible(actor=world.users[persona]).values_list("code", flat=True))
    assert codes == {world.schools[k].code for k in visible}


def test_missing_and_forbidden_answer_alike(world: World) -> None:
    actor = world.users["county_liaison@A"]
    with pytest.raises(NotFound) as forbidden:
        school_access(actor=actor, code=world.schools["B1a-1"].code)
    with pytest.raises(NotFound) as missing:
        school_access(actor=actor, code="9999999999")
    assert str(forbidden.value) == str(missing.value)
    assert school_access(actor=actor, code=world.schools["A1a-2"].code).code == world.schools["A1a-2"].code


def test_city_viewer_reads_but_cannot_write(world: World) -> None:
    viewer = world.users["city_viewer@A"]
    county = world.regions["A1a"]
    assert region_access(actor=viewer, code=county.code) == county
    with pytest.raises(PermissionDenied):
        county_mailing_update(actor=viewer, code=county.code, postcode="200000")
    county.refresh_from_db()
    assert county.postcode == ""
