"""The synthetic-world engine: determinism, plausible sizes, consistent codes, per-school rosters."""

from __future__ import annotations

import subprocess
import sys
from functools import cache

import numpy as np
import pytest

from naeq.engines.errors import EngineError
from naeq.engines.synth import CLASS_SIZE, World, generate_world, roster_for_school, school_roster


@cache
def world(scale: str, seed: int = 1) -> World:
    return generate_world(scale, seed)


def _equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_same_seed_same_world_different_seed_different() -> None:
    a, b, c = world("county"), generate_world("county", 1), generate_world("county", 2)
    assert a.rosters is not None and b.rosters is not None and c.rosters is not None
    assert _equal(a.regions, b.regions) and _equal(a.schools, b.schools)
    assert _equal(a.rosters.students, b.rosters.students) and _equal(a.rosters.teachers, b.rosters.teachers)
    assert not _equal(a.schools, c.schools)
    assert not np.array_equal(a.rosters.students["name"][:100], c.rosters.students["name"][:100])


@pytest.mark.parametrize(("scale", "lo", "hi"), [
    ("county", {"counties": 1, "schools": 80, "students": 3_000}, {"counties": 1, "schools": 150, "students": 40_000}),
    ("city", {"counties": 8, "schools": 300, "students": 30_000}, {"counties": 12, "schools": 1_500,
                                                                   "students": 250_000}),
    ("province", {"counties": 35, "schools": 1_800, "students": 200_000},
     {"counties": 50, "schools": 3_500, "students": 700_000}),
])
def test_counts_are_plausible(scale: str, lo: dict[str, int], hi: dict[str, int]) -> None:
    counts = world(scale).counts()
    for key in lo:
        assert lo[key] <= counts[key] <= hi[key], (scale, key, counts[key])
    assert counts["provinces"] == 1 and counts["cities"] == 1 if scale != "province" else counts["cities"] > 1
    assert counts["principals"] == counts["schools"]
    assert counts["teachers"] > counts["schools"]


def test_national_registry_without_rosters() -> None:
    w = world("national")
    counts = w.counts()
    assert w.rosters is None and counts["students"] == 0
    assert counts["provinces"] == 32
    assert 300 <= counts["cities"] <= 360
    assert 2_800 <= counts["counties"] <= 2_900
    assert 225_000 <= counts["schools"] <= 235_000
    prov = w.regions["code"][w.regions["level"] == "province"]
    assert "660000" in prov and "650000" in prov and "540000" in prov
    offset = dict(zip(w.regions["code"].tolist(), w.regions["local_time_offset_hours"].tolist(), strict=True))
    assert offset["650000"] == offset["540000"] == offset["660000"] == -2
    assert sum(1 for v in offset.values() if v) == 3


def test_codes_unique_and_nested() -> None:
    w = world("national")
    r, s = w.regions, w.schools
    assert len(np.unique(r["code"])) == len(r["code"])
    assert all(len(c) == 6 and c.isdigit() for c in r["code"].tolist())
    codes = s["code"]
    assert len(np.unique(codes)) == len(codes)
    assert np.all(np.strings.str_len(codes) == 10) and all(c.isdigit() for c in codes[::997].tolist())
    assert np.array_equal(np.strings.slice(codes, 1, 7), s["county_code"])
    level = dict(zip(r["code"].tolist(), r["level"].tolist(), strict=True))
    for code, parent, lv in zip(r["code"].tolist(), r["parent_code"].tolist(), r["level"].tolist(), strict=True):
        if lv == "province":
            assert parent == "" and code.endswith("0000")
        else:
            assert level[parent] == {"city": "province", "county": "city"}[lv]
            assert code.startswith(parent[: 2 if lv == "city" else 4])
    assert set(s["county_code"].tolist()) <= {c for c, lv in level.items() if lv == "county"}


def test_levels_grades_and_classes() -> None:
    s = world("national").schools
    both = np.isin(s["level"], ["nine_year", "twelve_year"])
    assert both.any() and (s["g4_enrollment"][both] > 0).all() and (s["g8_enrollment"][both] > 0).all()
    assert (s["g8_enrollment"][s["level"] == "primary"] == 0).all()
    assert (s["g4_enrollment"][np.isin(s["level"], ["junior", "complete_middle"])] == 0).all()
    for g in ("g4", "g8"):
        e, c = s[f"{g}_enrollment"].astype(int), s[f"{g}_classes"].astype(int)
        assert np.array_equal(c, -(-e // CLASS_SIZE))
    assert set(np.unique(s["urban_rural"]).tolist()) == {"111", "112", "121", "122", "123", "210", "220"}
    private = (s["ownership"] == "private").mean()
    assert 0.06 < private < 0.14


def test_size_skew() -> None:
    s = world("national").schools
    rural_primary = (s["level"] == "primary") & np.isin(s["urban_rural"], ["210", "220"])
    urban = np.isin(s["urban_rural"], ["111", "112"])
    assert np.median(s["g4_enrollment"][rural_primary]) < 30
    assert s["g4_enrollment"][urban].max() > 300
    assert (s["g4_enrollment"][urban] >= 400).sum() > 100  # "a few" of 230,000, but not a handful


def test_smaller_scales_are_slices_of_the_national_registry() -> None:
    nat, prov = world("national").schools, world("province").schools
    idx = np.searchsorted(nat["code"], prov["code"])
    for k in prov:
        assert np.array_equal(nat[k][idx], prov[k]), k


def test_county_mailing_details() -> None:
    r = world("city").regions
    county = r["level"] == "county"
    assert all(len(p) == 6 and p.isdigit() for p in r["postcode"][county].tolist())
    assert all(p[0] == "0" and p[4] == "-" and len(p) == 12 for p in r["mailing_phone"][county].tolist())
    assert (np.strings.str_len(r["mailing_recipient"][county]) >= 2).all()
    assert (r["mailing_address"][~county] == "").all() and (r["mailing_address"][county] != "").all()


def test_rosters_match_the_registry() -> None:
    w = world("city")
    assert w.rosters is not None
    s, st, te, pr = w.schools, w.rosters.students, w.rosters.teachers, w.rosters.principals
    for grade in (4, 8):
        m = st["grade"] == grade
        codes, n = np.unique(st["school_code"][m], return_counts=True)
        expected = s[f"g{grade}_enrollment"]
        assert np.array_equal(n, expected[expected > 0])
        assert np.array_equal(codes, s["code"][expected > 0])
    # seats unique, classes within range
    seat = np.char.add(np.char.add(st["school_code"], st["grade"].astype(str)),
                       np.char.add(np.char.zfill(st["class_no"].astype(str), 3),
                                   np.char.zfill(st["seq"].astype(str), 4)))
    assert len(np.unique(seat)) == len(seat)
    classes = dict(zip(s["code"].tolist(), zip(s["g4_classes"].tolist(), s["g8_classes"].tolist(), strict=True),
                       strict=True))
    max_class = np.array([classes[c][0 if g == 4 else 1] for c, g in zip(st["school_code"].tolist(),
                                                                          st["grade"].tolist(), strict=True)])
    assert (st["class_no"] >= 1).all() and (st["class_no"] <= max_class).all()
    # one head teacher per class of each tested grade
    head = te["head_teacher_class"] > 0
    keys = np.char.add(np.char.add(te["school_code"][head], te["grade"][head].astype(str)),
                       te["head_teacher_class"][head].astype(str))
    assert len(np.unique(keys)) == len(keys) == int(s["g4_classes"].sum() + s["g8_classes"].sum())
    subjects = {x for v in np.unique(te["subjects"]).tolist() for x in v.split(",")}
    assert subjects == {"chinese", "math", "english", "science", "moral", "arts", "pe", "mental_health", "labor"}
    assert np.array_equal(pr["school_code"], s["code"])
    # ages: grade 4 born 2012-2015, grade 8 born 2008-2011 (nominal cohorts 2013-14 and 2009-10, ± a year)
    year = np.strings.slice(st["birth_month"], 0, 4).astype(int)
    assert ((year[st["grade"] == 4] >= 2012) & (year[st["grade"] == 4] <= 2015)).all()
    assert ((year[st["grade"] == 8] >= 2008) & (year[st["grade"] == 8] <= 2011)).all()
    assert 0.5 < (st["sex"] == "M").mean() < 0.56
    assert np.isin(st["sex"], ["M", "F"]).all() and (np.strings.str_len(st["name"]) >= 2).all()


def test_one_school_regenerated_alone_equals_the_full_run() -> None:
    w = world("city")
    assert w.rosters is not None
    s = w.schools
    for i in (0, len(s["code"]) // 2, len(s["code"]) - 1):
        code = str(s["code"][i])
        alone = school_roster(w.seed, s, i)
        from_code = roster_for_school(w.seed, code, g4_enrollment=int(s["g4_enrollment"][i]),
                                      g4_classes=int(s["g4_classes"][i]), g8_enrollment=int(s["g8_enrollment"][i]),
                                      g8_classes=int(s["g8_classes"][i]))
        for table in ("students", "teachers", "principals"):
            full = getattr(w.rosters, table)
            mine = full["school_code"] == code
            part = {k: v[mine] for k, v in full.items()}
            assert _equal(part, getattr(alone, table)), (code, table)
            assert _equal(part, getattr(from_code, table)), (code, table)


def test_bad_scale_and_seed() -> None:
    with pytest.raises(EngineError, match="unknown scale"):
        generate_world("planet", 1)
    with pytest.raises(EngineError, match="non-negative"):
        generate_world("county", -1)


def test_engine_does_not_import_django() -> None:
    code = ("import sys, naeq.engines.synth; bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')"
            " or (m.startswith('naeq.') and not m.startswith('naeq.engines'))]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
