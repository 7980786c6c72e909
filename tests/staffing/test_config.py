"""The role catalogue: the shipped file matches the seeds; every fault of a file is reported with file, key, reason."""

from __future__ import annotations

from typing import Any

import pytest

from naeq.core.errors import InvalidInput
from naeq.staffing.config import CONFIG_DIR, catalogue_for, catalogue_path, parse_catalogue


def _counts(code: str) -> tuple[int, int | None]:
    post = catalogue_for(None).post(code)
    assert post is not None, code
    return post.min, post.max


def test_shipped_catalogue_follows_the_role_tables() -> None:
    """2024-nanchang-city-plan.txt: "组长 1 人", "副组长 1-2 人", "联络员 1 人", "信息员 1-2 人" (county team);
    "责任督学 每样本校 1 人", "主监测员 每样本校 1 人"; "体育监测员 2人 … 2名由样本县或申报县安排，2名由样本校自行安排",
    "保密员 2人", "信息员 1-2人", "司时员 1人", "医护人员 1人", "安保人员 2人"."""
    expected = {"county_leader": (1, 1), "county_deputy": (1, 2), "county_liaison": (1, 1),
                "county_info_officer": (1, 2), "inspector": (1, 1), "chief_proctor": (1, 1),
                "pe_proctor_county": (2, 2), "pe_proctor_school": (2, 2), "custodian": (2, 2),
                "school_info_officer": (1, 2), "timekeeper": (1, 1), "medical": (1, 1), "security": (2, 2),
                "proctor": (1, None)}
    assert {p.code for p in catalogue_for(None).posts} == set(expected)
    for code, counts in expected.items():
        assert _counts(code) == counts, code


def test_every_post_and_conflict_cites_a_seed() -> None:
    cat = catalogue_for(2024)
    for item in (*cat.posts, *cat.conflicts):
        assert item.source.startswith(("2024-nanchang-city-plan.txt", "collected-county-and-school-plans.txt")), item


def test_chief_proctor_rules_and_who_sends_whom() -> None:
    """"县级实施工作领导小组按照要求为各样本校选派责任督学、主监测员"; "由非本校的教务（教导）主任担任"."""
    cat = catalogue_for(2024)
    chief = cat.post("chief_proctor")
    assert chief is not None and set(chief.rules) == {"other_school", "not_tested_subject"}
    assert {p.code for p in cat.posts if p.sent_by == "county" and p.level == "school"} == {
        "inspector", "chief_proctor", "pe_proctor_county"}
    assert cat.conflict("proctor", "custodian") is not None
    assert cat.conflict("inspector", "chief_proctor") is not None
    assert cat.conflict("medical", "security") is None


def test_year_file_wins_over_default(tmp_path: object) -> None:
    assert catalogue_path(1999) == CONFIG_DIR / "default.yaml"
    assert catalogue_path(None) == CONFIG_DIR / "default.yaml"


def _problems(text: str) -> list[tuple[str | None, str]]:
    with pytest.raises(InvalidInput) as exc:
        parse_catalogue(text, file="2030.yaml")
    assert all(p.file == "2030.yaml" for p in exc.value.problems)
    return [(p.field, p.reason) for p in exc.value.problems]


GOOD_POST = "{code: a, name: 甲, level: school, sent_by: school, min: 1, max: 1, source: s}"


def test_every_fault_is_reported_with_its_key() -> None:
    text = f"""
posts:
  - {GOOD_POST}
  - {{code: a, name: 乙, level: town, sent_by: school, min: 2, max: 1, source: s, rules: [magic], colour: red}}
  - {{code: c, name: 丙, level: county, sent_by: school, min: -1, max: null, source: ""}}
conflicts:
  - {{posts: [a, zz], reason: r, source: s}}
  - {{posts: [a], reason: r, source: s}}
extra: 1
"""
    found = _problems(text)
    fields = {f for f, _r in found}
    assert ("posts[1].code", "岗位代码“a”重复。") in found
    assert ("posts[1].level", "应为 county 或 school。") in found
    assert ("posts[1].max", "max（1）不能小于min（2）。") in found
    assert any(f == "posts[1].rules[0]" and "未知的规则“magic”" in r for f, r in found)
    assert ("posts[1].colour", "未知的键。") in found
    assert ("posts[2].sent_by", "县级岗位只能由县级安排（sent_by: county）。") in found
    assert "posts[2].min" in fields and "posts[2].source" in fields
    assert ("conflicts[0].posts[1]", "岗位“zz”未在 posts 中定义。") in found
    assert ("conflicts[1].posts", "应为两个不同的岗位代码。") in found
    assert ("extra", "未知的键。") in found


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_catalogue("posts:\n  - {code: a\n", file="bad.yaml")
    problem = exc.value.problems[0]
    assert problem.file == "bad.yaml" and problem.row is not None and "YAML" in problem.reason


def test_a_minimal_valid_file_parses() -> None:
    cat = parse_catalogue(f"posts:\n  - {GOOD_POST}\n", file="ok.yaml")
    assert [p.code for p in cat.posts] == ["a"] and cat.posts[0].single and cat.conflicts == ()


def test_yaml_names_have_english_chosen_by_the_active_language(sw: Any, client: Any) -> None:
    """Posts, milestones, checklist items and sections, incident categories: every entry of the shipped YAML has
    an English name (``name_en`` / ``label_en`` / ``section_en`` / ``title_en``); the name *is* the Chinese one
    (comparisons, joins, audit) and renders in English when the active language is English."""
    from django.utils import translation

    from naeq.incidents.config import default_config
    from naeq.readiness.config import config_for
    from naeq.staffing.config import catalogue_for
    from naeq.timeline.config import milestones_for

    checklists = config_for(sw.cycle.year).checklists.values()
    names = [*(p.name for p in catalogue_for(sw.cycle.year).posts), *(m.name for m in milestones_for(sw.cycle)),
             *(c.title for c in checklists), *(i.label for c in checklists for i in c.items),
             *(i.section for c in checklists for i in c.items), *(c.name for c in default_config().categories),
             *(v.name for v in default_config().violations)]
    assert names and all(getattr(n, "en", "") for n in names), [n for n in names if not getattr(n, "en", "")]
    chief = catalogue_for(sw.cycle.year).post("chief_proctor")
    assert chief is not None and chief.name == "主监测员" and "、".join([chief.name]) == "主监测员"
    with translation.override("en"):
        assert f"{chief.name}" == "%s" % chief.name == str(chief.name) == "Chief proctor"  # noqa: UP031
    with translation.override("zh-hans"):
        assert str(chief.name) == "主监测员"
    client.force_login(sw.user("county_liaison@A"))
    client.cookies["django_language"] = "en"
    page = client.get(f"/staffing/schools/{sw.world.schools['A1a-1'].code}/", HTTP_ACCEPT_LANGUAGE="en").content
    assert "Chief proctor" in page.decode()
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/staffing/schools/{sw.world.schools['A1a-1'].code}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "主监测员" in page.content.decode() and "Chief proctor" not in page.content.decode()
