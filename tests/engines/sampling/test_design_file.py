"""The sample design file: the default matches DOMAIN.md; mistakes are reported with line, field and reason."""

from __future__ import annotations

import pytest

from naeq.core.errors import InvalidInput
from naeq.engines.sampling import SampleDesign
from naeq.sampling.design import DEFAULT_DESIGN_PATH, default_design, parse_design


def test_default_design_is_the_domain_design() -> None:
    d = default_design()
    assert d == SampleDesign()
    # DOMAIN.md: about 340 counties; in principle 12 primary and 8 middle schools; 30 students per grade.
    assert d.counties.total == 340
    assert d.schools.count(4) == 12 and d.schools.count(8) == 8
    assert d.students.per_school == 30
    assert d.replicates.scheme == "jk2"


def _problems(text: str) -> list[str]:
    with pytest.raises(InvalidInput) as info:
        parse_design(text, file="design.yaml")
    return [str(p) for p in info.value.problems]


def test_every_problem_is_reported_with_line_and_field() -> None:
    text = DEFAULT_DESIGN_PATH.read_text(encoding="utf-8")
    text = text.replace("total: 340", "total: -1").replace("grade8: 8 ", "grade8: lots ")
    text = text.replace("scheme: jk2 ", "scheme: bootstrap ").replace("per_school: 30", "per_school: 0")
    problems = _problems(text)
    lines = text.splitlines()
    row = {key: next(i + 1 for i, line in enumerate(lines) if key in line)
           for key in ("total:", "grade8:", "scheme:", "per_school:")}
    assert f"design.yaml row {row['total:']}, counties.total: 应为整数。" in problems
    assert f"design.yaml row {row['grade8:']}, schools.per_county.grade8: 应为整数。" in problems
    assert any(p.startswith(f"design.yaml row {row['scheme:']}, replicates.scheme: “bootstrap”不是允许的取值")
               for p in problems)
    assert f"design.yaml row {row['per_school:']}, students.per_school: 应在 1 到 1000 之间。" in problems
    assert len(problems) == 4


def test_unknown_keys_and_conflicting_designations() -> None:
    text = """name: t
counties:
  total: 10
  agreement: ["110101"]
  application: ["110101", "12x"]
schools:
  per_county: {grade4: 12, grade8: 8}
  colour: blue
students: {per_school: 30}
"""
    problems = _problems(text)
    assert "design.yaml row 5, counties.application[1]: 区县代码“12x”应为 6 位数字。" in problems
    assert any("schools.colour" in p and "未知的配置项" in p for p in problems)


def test_conflicting_designation_alone() -> None:
    text = """name: t
counties: {total: 10, agreement: ["110101"], application: ["110101"]}
schools: {per_county: {grade4: 12, grade8: 8}}
students: {per_school: 30}
"""
    assert _problems(text) == ["design.yaml row 2, counties.application: 区县 110101 同时列为协议县和申请县。"]


def test_fay_with_folding_is_rejected_and_null_max_zones_is_accepted() -> None:
    base = """name: t
counties: {total: 10}
schools: {per_county: {grade4: 12, grade8: 8}}
students: {per_school: 30}
"""
    assert parse_design(base + "replicates: {scheme: jk2, max_zones: null}\n").replicates.max_zones is None
    assert parse_design(base + "replicates: {scheme: jk2, max_zones: 75}\n").replicates.max_zones == 75
    assert parse_design(base + "replicates: {scheme: fay, fay_rho: 0.3}\n").replicates.fay_rho == 0.3
    problems = _problems(base + "replicates: {scheme: fay, max_zones: 75}\n")
    assert problems == ["design.yaml row 5, replicates.max_zones: Fay-BRR 不支持折叠（max_zones），请删去此项。"]


def test_yaml_syntax_error_names_the_line() -> None:
    assert _problems("name: [unclosed\ncounties: 1\n")[0].startswith("design.yaml row ")
