"""The PE configuration: DOMAIN.md's table of items and plausibility bounds, transcribed into configs/items.yaml, and
the validation of both configuration files (every fault named by file and key).

DOMAIN.md, "PE items and plausibility bounds (design bounds from the entry system)":

| item | unit | grade 4 | grade 8 |
| height | cm, 0.1 | 90–170 | 100–200 |
| weight | kg, 0.1 | 15–100 | 23–130 |
| grip (2 trials) | kg, 0.1 | 0–40 | boys 10–70, girls 5–50 |
| vision L/R | 5-point log chart | 4.0–5.3 | 4.0–5.3 |
| vital capacity (2 trials) | ml | 700–3,500 | boys 1,000–7,000, girls 1,000–4,500 |
| 50 m run | s, 0.1 | 6.5–16.0 | 6.0–14.0 |
| standing long jump (≤3 trials) | cm | boys 80–230, girls 75–220 | boys 90–270, girls 85–250 |
| 15 m shuttle | laps | boys 0–44, girls 0–35 | boys 0–70, girls 0–42 |
"""

from __future__ import annotations

from pathlib import Path

import pytest

from naeq.core.errors import InvalidInput
from naeq.pe.config import CONFIG_DIR, FIELDS, check_all, items_config, parse_items, parse_standard

DOMAIN_TABLE = {
    "height": {(4, "M"): (90, 170), (4, "F"): (90, 170), (8, "M"): (100, 200), (8, "F"): (100, 200)},
    "weight": {(4, "M"): (15, 100), (4, "F"): (15, 100), (8, "M"): (23, 130), (8, "F"): (23, 130)},
    "grip": {(4, "M"): (0, 40), (4, "F"): (0, 40), (8, "M"): (10, 70), (8, "F"): (5, 50)},
    "vision": {(g, s): (4.0, 5.3) for g in (4, 8) for s in "MF"},
    "vc": {(4, "M"): (700, 3500), (4, "F"): (700, 3500), (8, "M"): (1000, 7000), (8, "F"): (1000, 4500)},
    "run50": {(4, "M"): (6.5, 16.0), (4, "F"): (6.5, 16.0), (8, "M"): (6.0, 14.0), (8, "F"): (6.0, 14.0)},
    "jump": {(4, "M"): (80, 230), (4, "F"): (75, 220), (8, "M"): (90, 270), (8, "F"): (85, 250)},
    "shuttle": {(4, "M"): (0, 44), (4, "F"): (0, 35), (8, "M"): (0, 70), (8, "F"): (0, 42)},
}


def test_shipped_files_are_sound() -> None:
    assert check_all() == []


def test_bounds_are_domain_md_table() -> None:
    cfg = items_config()
    assert {i.code for i in cfg.items} == set(DOMAIN_TABLE)
    for item in cfg.items:
        assert item.bounds == DOMAIN_TABLE[item.code], item.code


def test_trials_and_precision_follow_the_table() -> None:
    cfg = items_config()
    trials = {i.code: (len(i.fields), i.min_trials) for i in cfg.items}
    assert trials == {"height": (1, 1), "weight": (1, 1), "grip": (2, 2), "vision": (2, 2), "vc": (2, 2),
                      "run50": (1, 1), "jump": (3, 1), "shuttle": (1, 1)}
    decimals = {i.code: i.decimals for i in cfg.items}
    assert decimals == {"height": 1, "weight": 1, "grip": 1, "vision": 1, "vc": 0, "run50": 1, "jump": 0,
                        "shuttle": 0}
    assert tuple(f.code for i in cfg.items for f in i.fields) == FIELDS


def test_broken_items_file_names_every_fault(tmp_path: Path) -> None:
    text = (CONFIG_DIR / "items.yaml").read_text(encoding="utf-8")
    text = text.replace("4: {M: [90, 170], F: [90, 170]}", "4: {M: [170, 90]}", 1).replace("best: max", "best: top", 1)
    p = tmp_path / "items.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        parse_items(p)
    where = {(x.file, x.field) for x in exc.value.problems}
    assert ("items.yaml", "items[0].bounds.4.M") in where  # lower ≥ upper
    assert ("items.yaml", "items[0].bounds.4.F") in where  # missing
    assert ("items.yaml", "items[2].best") in where
    assert check_all(items_path=p)


def test_broken_standard_file_names_every_fault(tmp_path: Path) -> None:
    text = (CONFIG_DIR / "standard.yaml").read_text(encoding="utf-8")
    # A published table with one threshold out of order, and one table without its source.
    text = text.replace("M: [2600, 2500, 2400,", "M: [2600, 2500, 2700,", 1)
    source = '      source: "《国家学生体质健康标准（2014年修订）》初中二年级立定跳远单项评分表（厘米）"\n'
    text = text.replace(source, "", 1)
    p = tmp_path / "standard.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as exc:
        parse_standard(p)
    fields = {x.field for x in exc.value.problems}
    assert "items.vc.4.M" in fields
    assert "items.jump.8" in fields
