"""The registry's invariants live in the database (CheckConstraint), not only in Python."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from naeq.core.errors import InvalidInput
from naeq.registry.models import Region, School, SchoolLevel, urban_rural_class
from naeq.registry.services import school_update
from tests.personas import World


def _bad_school(world: World, **overrides: object) -> School:
    county = world.regions["A1a"]
    fields: dict[str, object] = {
        "code": "1310101099", "name": "测试学校", "county": county, "path": county.path,
        "level": SchoolLevel.PRIMARY, "urban_rural": "220", "g4_enrollment": 10, "g4_classes": 1,
    }
    fields.update(overrides)
    return School(**fields)


@pytest.mark.parametrize(
    "overrides",
    [
        {"code": "131010109"},  # 9 digits: 学校标识码 has 10
        {"code": "13101010AB"},
        {"g4_classes": 0},  # students but no class
        {"level": SchoolLevel.PRIMARY, "g8_enrollment": 30, "g8_classes": 1},  # a primary school has no grade 8
        {"level": SchoolLevel.JUNIOR},  # a junior school has no grade 4 (g4_enrollment=10 in the base row)
    ],
)
def test_school_constraints_hold_in_the_database(world: World, overrides: dict[str, object]) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        _bad_school(world, **overrides).save()


def test_region_constraints_hold_in_the_database(world: World) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Region.objects.create(code="31010", name="短码县", level="county", parent=world.regions["A1"],
                              path="310000/310100/31010/")
    with pytest.raises(IntegrityError), transaction.atomic():
        Region.objects.create(code="320000", name="有上级的省", level="province", parent=world.regions["A"],
                              path="310000/320000/")


def test_nine_year_school_has_both_grades(world: World) -> None:
    assert world.schools["A1a-1"].grades == (4, 8)


@pytest.mark.parametrize(("code", "cls"), [("111", "urban"), ("112", "urban"), ("121", "town"), ("123", "town"),
                                           ("210", "rural"), ("220", "rural")])
def test_urban_rural_classes(code: str, cls: str) -> None:
    assert urban_rural_class(code) == cls


def test_school_update_validates_and_changes_nothing_on_error(world: World) -> None:
    school = world.schools["A1a-1"]
    with pytest.raises(InvalidInput) as exc:
        school_update(actor=world.users["school_info_officer@A"], code=school.code, g4_classes=0)
    assert any(p.reason for p in exc.value.problems)
    school.refresh_from_db()
    assert school.g4_classes == 1
    updated = school_update(actor=world.users["school_info_officer@A"], code=school.code, g4_enrollment=50)
    assert updated.g4_enrollment == 50
