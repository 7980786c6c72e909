"""The readiness configuration: the shipped file is valid and cites the seeds; faults are reported precisely."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from naeq.core.errors import InvalidInput
from naeq.readiness.config import CONFIG_DIR, config_for, parse_data, parse_text

SEEDS = ("2024-nanchang-city-plan.txt", "collected-county-and-school-plans.txt", "2023-dongli-district-rules.txt")


def _default() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CONFIG_DIR / "default.yaml").read_text(encoding="utf-8"))
    return data


def test_shipped_configuration_is_valid_and_every_item_cites_a_seed() -> None:
    """2024-nanchang-city-plan.txt (7): the county and school self-check lists (《县级/样本校测试准备工作自查清单》)."""
    config = config_for(2024)
    assert set(config.checklists) == {"school", "county"}
    for checklist in config.checklists.values():
        for item in checklist.items:
            assert any(seed in item.seed for seed in SEEDS), item.id
    school = config.checklists["school"]
    assert {"secure_cabinet", "two_locks", "spare_computers", "stationery", "pe_equipment", "notice_board",
            "hotline_posted", "cabinet_photo"} <= {i.id for i in school.items}
    spare = school.item("spare_computers")
    assert spare is not None and spare.min_ratio_of_students == pytest.approx(0.10)
    assert {p.code for p in config.required_posts} == {"inspector", "chief_proctor", "proctor", "pe_proctor",
                                                       "custodian", "info_officer"}


@pytest.mark.parametrize(("mutate", "field", "fragment"), [
    (lambda d: d["checklists"]["school"]["items"][0].update(type="photo"), "checklists.school.items[1].type",
     "类型“photo”不受支持"),
    (lambda d: d["checklists"]["school"]["items"][0].pop("seed"), "checklists.school.items[1].seed", "没有注明依据"),
    (lambda d: d["checklists"]["school"]["items"][1].update(id="test_rooms"), "checklists.school.items[2].id",
     "重复"),
    (lambda d: d["checklists"]["school"]["items"][0].update(min=3), "checklists.school.items[1]",
     "只有数值（number）类型"),
    (lambda d: next(i for i in d["checklists"]["school"]["items"] if i["id"] == "spare_computers").update(
        min_ratio_of_students=10), None, "min_ratio_of_students 必须"),
    (lambda d: d["posts"][0].update(code="Bad Code"), "posts[1].code", "不合法"),
    (lambda d: d["checklists"].pop("county"), "checklists.county", "缺少county自查清单"),
    (lambda d: d.update(version=2), "version", "version 必须是 1"),
])
def test_faults_are_reported_with_their_place(mutate: Any, field: str | None, fragment: str) -> None:
    data = _default()
    mutate(data)
    with pytest.raises(InvalidInput) as exc:
        parse_data(data, file="bad.yaml")
    hits = [p for p in exc.value.problems if fragment in p.reason]
    assert hits, [str(p) for p in exc.value.problems]
    if field is not None:
        assert hits[0].field == field
    assert hits[0].file == "bad.yaml"


def test_yaml_syntax_error_gives_the_line() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_text("version: 1\ntopics: [a\n", file="x.yaml")
    assert exc.value.problems[0].row is not None
    assert "YAML" in exc.value.problems[0].reason


def test_year_file_replaces_only_the_keys_it_sets() -> None:
    base = _default()
    config = parse_text("posts:\n  - {code: inspector, name: 责任督学, required: true}\n", file="2030.yaml", base=base)
    assert [p.code for p in config.posts] == ["inspector"]
    assert len(config.checklists["school"].items) == len(base["checklists"]["school"]["items"])
