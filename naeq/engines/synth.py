"""A deterministic synthetic world: regions, a school registry and grade-4/8 rosters.

Pure numpy. Everything is generated from one integer seed, through named streams of
:class:`numpy.random.SeedSequence`:

* the *registry* (regions and schools) comes from ``SeedSequence([seed, REGISTRY_STREAM])``; the county, city and
  province scales are slices of the national registry of the same seed, so a school has the same code, name and
  enrollment at every scale;
* a school's *roster* (students, teachers, principal) comes from ``SeedSequence([seed, ROSTER_STREAM, code])``
  alone, so :func:`school_roster` regenerates any one school's roster, identically, without the rest of the world.

Tables are plain dicts of equal-length numpy arrays (``Columns``); column meanings are documented in
``docs/synth.md``. Names are built from tables of common surnames and given-name characters; they are generated,
not taken from any person.

Example
-------
>>> world = generate_world("county", seed=1)
>>> world.counts()["counties"]
1
>>> one = school_roster(1, world.schools, 0)
>>> bool((one.students["name"] == world.rosters.students["name"][: len(one.students["name"])]).all())
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from naeq.engines.errors import EngineError

Columns = dict[str, NDArray[Any]]
Scale = Literal["county", "city", "province", "national"]

SCALES: tuple[str, ...] = ("county", "city", "province", "national")
#: The cycle year that ages are relative to (tests in spring of this year).
CYCLE_YEAR = 2024
#: Planned class size: classes = ceil(enrollment / CLASS_SIZE).
CLASS_SIZE = 45
N_SCHOOLS_NATIONAL = 230_000
MAX_SCHOOLS_PER_COUNTY = 999  # the school code has a 3-digit sequence within its county
MIN_SCHOOLS_PER_COUNTY = 5
REGISTRY_STREAM = 0x5E6
ROSTER_STREAM = 0x2057

# Province-level units: code, name, number of cities, number of counties, school density (schools per county
# relative to the national mean), municipality. Codes and names are the public division codes; the counts are close
# to the real ones and sum to 333 cities and 2,850 counties. Densities are our own choice (design).
_PROVINCES: tuple[tuple[str, str, int, int, float, bool], ...] = (
    ("11", "北京市", 1, 16, 0.8, True), ("12", "天津市", 1, 16, 0.8, True), ("13", "河北省", 11, 167, 1.1, False),
    ("14", "山西省", 11, 117, 0.9, False), ("15", "内蒙古自治区", 11, 103, 0.7, False),
    ("21", "辽宁省", 14, 100, 0.8, False), ("22", "吉林省", 8, 60, 0.8, False), ("23", "黑龙江省", 12, 121, 0.7, False),
    ("31", "上海市", 1, 16, 0.8, True), ("32", "江苏省", 13, 95, 1.0, False), ("33", "浙江省", 11, 90, 0.9, False),
    ("34", "安徽省", 16, 104, 1.1, False), ("35", "福建省", 9, 84, 1.0, False), ("36", "江西省", 11, 100, 1.2, False),
    ("37", "山东省", 16, 136, 1.1, False), ("41", "河南省", 17, 157, 1.4, False), ("42", "湖北省", 13, 103, 1.0, False),
    ("43", "湖南省", 14, 122, 1.2, False), ("44", "广东省", 21, 122, 1.4, False),
    ("45", "广西壮族自治区", 14, 111, 1.3, False), ("46", "海南省", 4, 25, 0.9, False),
    ("50", "重庆市", 1, 38, 1.0, True),
    ("51", "四川省", 21, 183, 1.0, False), ("52", "贵州省", 8, 88, 1.2, False), ("53", "云南省", 16, 129, 1.1, False),
    ("54", "西藏自治区", 6, 74, 0.3, False), ("61", "陕西省", 10, 107, 0.9, False),
    ("62", "甘肃省", 12, 86, 1.0, False),
    ("63", "青海省", 7, 44, 0.8, False), ("64", "宁夏回族自治区", 5, 22, 0.8, False),
    ("65", "新疆维吾尔自治区", 12, 94, 0.8, False), ("66", "新疆生产建设兵团", 6, 20, 0.4, False),
)
#: Province-level units that run the test schedule on local time (design: Beijing time - 2 h).
LOCAL_TIME_PROVINCES = {"54": -2, "65": -2, "66": -2}
#: The province of the "province" scale (about 40 counties, about 2,500 schools).
PROVINCE_SCALE_CODE = "63"

# Characters for place names (not persons).
_PLACE_CHARS = np.array(list(
    "青山河阳安平宁江湖林泉石桥松源丰永兴福康华东西南北新长龙凤金玉白云清明德和顺昌盛乐嘉瑞祥泰宝鹤鸣溪川岭峰"
    "台城州原坪庄营屯集湾洲岗塘浦沙柳桃梅兰竹红广远定化靖武文临汇通合富利高双"))
# Common surnames with rough relative frequencies (per mille of the population, rounded).
_SURNAMES = np.array(list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾"
    "夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"))
_SURNAME_WEIGHTS = np.concatenate([
    [74, 72, 70, 54, 46], [31, 23, 20, 20, 19], np.full(10, 13.0), np.full(20, 7.0), np.full(30, 3.5),
    np.full(len(_SURNAMES) - 75, 2.0)])
_SURNAME_CDF = np.cumsum(_SURNAME_WEIGHTS) / _SURNAME_WEIGHTS.sum()
_GIVEN_M = np.array(list("伟强磊军勇杰涛斌超明浩宇轩博文俊豪鹏飞辰睿泽凯航宁晨阳然子一天志建国成"))
_GIVEN_F = np.array(list("芳娜敏静丽艳娟霞婷雪琳欣怡萱涵梓彤雨佳悦诗琪晶慧颖瑶馨妍嘉可思若一子晨宁然"))
_PRIVATE_WORDS = np.array(["育才", "博雅", "启明", "英才", "明德", "培英", "致远", "弘文"])

#: Subject codes (from the cycle configuration) taught in the tested grades.
SUBJECTS = ("chinese", "math", "english", "science", "moral", "arts", "pe", "mental_health", "labor")
# Teacher bundles: (subjects, classes per teacher). Small grades (<= 2 classes) share teachers across subjects.
_BUNDLES_SMALL = (("chinese,moral", 1), ("math,science", 1), ("english", 2), ("arts,pe,labor,mental_health", 2))
_BUNDLES_REGULAR = (("chinese", 2), ("math", 2), ("english", 2), ("science", 3), ("moral", 4), ("arts", 4),
                    ("pe", 4), ("mental_health", 6), ("labor", 6))

URBAN_RURAL_CODES = np.array(["111", "112", "121", "122", "123", "210", "220"])
LEVELS = np.array(["primary", "junior", "nine_year", "twelve_year", "complete_middle"])
_KINDS = ("district", "county", "county_city")
# P(urban_rural code | county kind), columns in URBAN_RURAL_CODES order.
_UR_BY_KIND = np.array([
    [0.55, 0.25, 0.10, 0.04, 0.00, 0.03, 0.03],   # district (区)
    [0.02, 0.03, 0.20, 0.08, 0.01, 0.20, 0.46],   # county (县)
    [0.25, 0.15, 0.15, 0.07, 0.01, 0.12, 0.25],   # county-level city (县级市)
])
# P(level | urban_rural code), columns in LEVELS order.
_LEVEL_BY_UR = np.array([
    [0.58, 0.22, 0.10, 0.04, 0.06],
    [0.60, 0.20, 0.12, 0.03, 0.05],
    [0.55, 0.25, 0.12, 0.03, 0.05],
    [0.62, 0.20, 0.15, 0.00, 0.03],
    [0.60, 0.15, 0.25, 0.00, 0.00],
    [0.62, 0.18, 0.18, 0.00, 0.02],
    [0.86, 0.04, 0.10, 0.00, 0.00],
])
# Median per-grade enrollment by urban_rural code, and multipliers (g4, g8) by level. Sizes are lognormal.
_MEDIAN_BY_UR = np.array([220.0, 160.0, 130.0, 80.0, 40.0, 35.0, 16.0])
_LEVEL_SIZE = np.array([[1.0, 0.0], [0.0, 2.2], [0.8, 1.0], [1.0, 1.5], [0.0, 2.5]])
_SIZE_SIGMA = 0.6
_P_PRIVATE_BY_UR = np.array([0.22, 0.18, 0.14, 0.10, 0.06, 0.05, 0.04])
_MAX_ENROLLMENT = 1800


@dataclass(frozen=True)
class Rosters:
    """Students, teachers and principals of a set of schools (``Columns`` each; see ``docs/synth.md``)."""

    students: Columns
    teachers: Columns
    principals: Columns


@dataclass(frozen=True)
class World:
    """A generated world. ``rosters`` is ``None`` when rosters were not generated (registry only)."""

    scale: str
    seed: int
    regions: Columns
    schools: Columns
    rosters: Rosters | None

    def counts(self) -> dict[str, int]:
        level = self.regions["level"]
        out = {
            "provinces": int((level == "province").sum()),
            "cities": int((level == "city").sum()),
            "counties": int((level == "county").sum()),
            "schools": len(self.schools["code"]),
            "students": 0, "teachers": 0, "principals": 0,
        }
        if self.rosters is not None:
            out["students"] = len(self.rosters.students["school_code"])
            out["teachers"] = len(self.rosters.teachers["school_code"])
            out["principals"] = len(self.rosters.principals["school_code"])
        return out


# ----------------------------------------------------------------------------------------------------------------
# small vectorised helpers


def _cat(*parts: Any) -> NDArray[np.str_]:
    """Elementwise string concatenation of arrays and scalars."""
    out = np.asarray(parts[0], dtype=np.str_)
    for p in parts[1:]:
        out = np.strings.add(out, np.asarray(p, dtype=np.str_))
    return out


def _zfill(values: NDArray[Any], width: int) -> NDArray[np.str_]:
    return np.strings.zfill(np.asarray(values).astype(np.str_), width)


def _categorical(u: NDArray[np.float64], probs: NDArray[np.float64]) -> NDArray[np.intp]:
    """Row-wise inverse-CDF draw: ``u`` (n,), ``probs`` (n, k) rows summing to 1 -> category index (n,)."""
    cdf = np.cumsum(probs, axis=1)
    cdf[:, -1] = 1.0
    return np.minimum((u[:, None] >= cdf).sum(axis=1), probs.shape[1] - 1)


def _group_rank(groups: NDArray[Any]) -> NDArray[np.int64]:
    """0-based rank of each element within its group, in order of appearance."""
    n = len(groups)
    order = np.argsort(groups, kind="stable")
    g = groups[order]
    starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1] if n else np.zeros(0, np.int64)
    run_start = np.zeros(n, np.int64)
    if n:
        run_start[starts] = starts
        run_start = np.maximum.accumulate(run_start)
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n) - run_start
    return rank


def _cn_number(k: int) -> str:
    digits = "零一二三四五六七八九"
    if k < 10:
        return digits[k]
    tens, ones = divmod(k, 10)
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


_CN_NUMBERS = np.array([_cn_number(k) for k in range(100)])


def _stems(u1: NDArray[np.float64], u2: NDArray[np.float64]) -> NDArray[np.str_]:
    n = len(_PLACE_CHARS)
    return _cat(_PLACE_CHARS[(u1 * n).astype(np.intp)], _PLACE_CHARS[(u2 * n).astype(np.intp)])


def _person_names(u: NDArray[np.float64], female: NDArray[np.bool_], p_two_chars: float = 0.8) -> NDArray[np.str_]:
    """Generated names from 4 uniform columns ``u`` (n, 4): surname, length, first and second given character."""
    surname = _SURNAMES[np.searchsorted(_SURNAME_CDF, u[:, 0], side="right").clip(0, len(_SURNAMES) - 1)]
    c1 = np.where(female, _GIVEN_F[(u[:, 2] * len(_GIVEN_F)).astype(np.intp)],
                  _GIVEN_M[(u[:, 2] * len(_GIVEN_M)).astype(np.intp)])
    c2 = np.where(female, _GIVEN_F[(u[:, 3] * len(_GIVEN_F)).astype(np.intp)],
                  _GIVEN_M[(u[:, 3] * len(_GIVEN_M)).astype(np.intp)])
    c2 = np.where(u[:, 1] < p_two_chars, c2, "")
    return _cat(surname, c1, c2)


def _check_scale(scale: str) -> None:
    if scale not in SCALES:
        raise EngineError(f"unknown scale {scale!r}: use one of {', '.join(SCALES)}", code="bad_scale")


# ----------------------------------------------------------------------------------------------------------------
# regions and schools


def _national_regions(rng: np.random.Generator) -> tuple[Columns, NDArray[np.intp]]:
    """All regions, plus for each county its index in the province table."""
    prov_codes, prov_names, city_rows, county_rows = [], [], [], []
    n_place = len(_PLACE_CHARS) ** 2
    n_cities_total = sum(p[2] for p in _PROVINCES)
    n_counties_total = sum(p[3] for p in _PROVINCES)
    stem_ids = rng.choice(n_place, size=n_cities_total + n_counties_total, replace=False)
    stems = _cat(_PLACE_CHARS[stem_ids // len(_PLACE_CHARS)], _PLACE_CHARS[stem_ids % len(_PLACE_CHARS)])
    next_stem = 0
    for pi, (p2, pname, n_cities, n_counties, _density, municipality) in enumerate(_PROVINCES):
        prov_codes.append(p2 + "0000")
        prov_names.append(pname)
        weights = rng.gamma(3.0, size=n_cities)
        per_city = 1 + rng.multinomial(n_counties - n_cities, weights / weights.sum())
        for ci in range(n_cities):
            city_code = f"{p2}{ci + 1:02d}00"
            if municipality:
                city_name = "市辖区"
            elif p2 == "66":
                city_name = f"第{_cn_number(ci + 1)}师"
            else:
                city_name = stems[next_stem] + "市"
            next_stem += 1
            city_rows.append((city_code, city_name, p2 + "0000"))
            k = int(per_city[ci])
            if municipality or p2 == "66":
                kinds = ["district" if p2 != "66" else "county_city"] * k
                seqs = list(range(1, k + 1))
            else:
                n_dist = max(1, round(k * 0.25))
                has_city = k > 3 and rng.random() < 0.5
                n_cty = k - n_dist - int(has_city)
                kinds = ["district"] * n_dist + ["county"] * n_cty + ["county_city"] * int(has_city)
                seqs = list(range(2, 2 + n_dist)) + list(range(21, 21 + n_cty)) + [81] * int(has_city)
            if max(seqs) > 99 or (not municipality and n_dist > 19):
                raise EngineError(f"city {city_code} has too many counties ({k}) for 2-digit codes")
            suffix = {"district": "区", "county": "县", "county_city": "市"}
            for kind, seq in zip(kinds, seqs, strict=True):
                county_rows.append((f"{p2}{ci + 1:02d}{seq:02d}", stems[next_stem] + suffix[kind],
                                    city_code, kind, pi))
                next_stem += 1
    n_p, n_c, n_k = len(prov_codes), len(city_rows), len(county_rows)
    code = np.array(prov_codes + [r[0] for r in city_rows] + [r[0] for r in county_rows])
    name = np.array(prov_names + [r[1] for r in city_rows] + [r[1] for r in county_rows])
    level = np.array(["province"] * n_p + ["city"] * n_c + ["county"] * n_k)
    parent = np.array([""] * n_p + [r[2] for r in city_rows] + [r[2] for r in county_rows])
    county_kind = np.array([""] * (n_p + n_c) + [r[3] for r in county_rows])
    offset = np.zeros(len(code), np.int16)
    for p2, hours in LOCAL_TIME_PROVINCES.items():
        offset[code == p2 + "0000"] = hours
    county_province = np.array([r[4] for r in county_rows], dtype=np.intp)

    # Mailing details of counties: the county education bureau (generated address), a postcode, a recipient, a phone.
    is_county = level == "county"
    u = rng.random((n_k, 8))
    full_name = _full_names(code, name, parent)
    road = _stems(u[:, 0], u[:, 1])
    address = np.full(len(code), "", dtype="<U80")
    address[is_county] = _cat(full_name[is_county], "教育局 ", road, "路", (1 + u[:, 2] * 300).astype(int).astype(str),
                              "号")
    # Postcodes: a 2-digit prefix per province (plausible, not the real map) and 4 digits for the county.
    prefix = (10 + county_province * 2 + (u[:, 3] < 0.5)).astype(np.int64)
    postcode = np.full(len(code), "", dtype="<U6")
    postcode[is_county] = _cat(_zfill(prefix, 2), _zfill((u[:, 4] * 10000).astype(np.int64), 4))
    recipient = np.full(len(code), "", dtype="<U8")
    recipient[is_county] = _person_names(rng.random((n_k, 4)), u[:, 5] < 0.45)
    # Area code: one per city, "0" + 3 digits; number: 7 digits, first not 0 or 1.
    city_of_county = parent[is_county]
    city_codes, city_idx = np.unique(city_of_county, return_inverse=True)
    area = (310 + rng.permutation(680)[: len(city_codes)])[city_idx]
    phone = np.full(len(code), "", dtype="<U13")
    phone[is_county] = _cat("0", area.astype(str), "-", (2 + u[:, 6] * 7).astype(int).astype(str),
                            _zfill((u[:, 7] * 1_000_000).astype(np.int64), 6))
    regions: Columns = {
        "code": code, "name": name, "level": level, "parent_code": parent, "kind": county_kind,
        "local_time_offset_hours": offset, "mailing_address": address, "postcode": postcode,
        "mailing_recipient": recipient, "mailing_phone": phone,
    }
    return regions, county_province


def _full_names(code: NDArray[np.str_], name: NDArray[np.str_], parent: NDArray[np.str_]) -> NDArray[np.str_]:
    """Province + city + county name for counties ("青海省某某市某某县"); the plain name for others."""
    by_code = dict(zip(code.tolist(), name.tolist(), strict=True))
    parent_of = dict(zip(code.tolist(), parent.tolist(), strict=True))
    out = []
    for c, n in zip(code.tolist(), name.tolist(), strict=True):
        chain = [n]
        p = parent_of[c]
        while p:
            chain.append(by_code[p])
            p = parent_of[p]
        out.append("".join(reversed(chain)))
    return np.array(out)


def _schools(rng: np.random.Generator, regions: Columns, county_province: NDArray[np.intp]) -> Columns:
    is_county = regions["level"] == "county"
    county_code = regions["code"][is_county]
    county_name = regions["name"][is_county]
    county_kind = regions["kind"][is_county]
    kind_idx = np.zeros(len(county_kind), np.intp)
    for j, k in enumerate(_KINDS):
        kind_idx[county_kind == k] = j
    n_k = len(county_code)
    density = np.array([p[4] for p in _PROVINCES])[county_province]
    kind_factor = np.array([0.7, 1.15, 1.0])[kind_idx]
    w = rng.gamma(3.0, size=n_k) * density * kind_factor
    n_per = MIN_SCHOOLS_PER_COUNTY + rng.multinomial(N_SCHOOLS_NATIONAL - MIN_SCHOOLS_PER_COUNTY * n_k, w / w.sum())
    if n_per.max() > MAX_SCHOOLS_PER_COUNTY:
        raise EngineError("a county drew more than 999 schools; the 3-digit school sequence would overflow")
    ci = np.repeat(np.arange(n_k), n_per)
    n = len(ci)
    u = rng.random((n, 12))
    z = rng.standard_normal((n, 2))

    ur = _categorical(u[:, 0], _UR_BY_KIND[kind_idx[ci]])
    level = _categorical(u[:, 1], _LEVEL_BY_UR[ur])
    private = u[:, 2] < _P_PRIVATE_BY_UR[ur]
    median = _MEDIAN_BY_UR[ur]
    size = median[:, None] * _LEVEL_SIZE[level] * np.exp(_SIZE_SIGMA * z)
    enrol = np.where(_LEVEL_SIZE[level] > 0, np.clip(np.rint(size), 1, _MAX_ENROLLMENT), 0).astype(np.int32)
    classes = (-(-enrol // CLASS_SIZE)).astype(np.int16)

    # Codes: "1" + county code + 3-digit sequence within the county (学校标识码, 10 digits).
    seq = np.arange(n) - np.repeat(np.cumsum(n_per) - n_per, n_per) + 1
    code = _cat("1", county_code[ci], _zfill(seq, 3))

    # Names.
    cname = county_name[ci]
    cstem = np.strings.slice(cname, 0, 2)
    town = _cat(_stems(u[:, 3], u[:, 4]), np.where(ur <= 4, "镇", "乡"))
    village = _stems(u[:, 5], u[:, 6])
    urban = ur <= 1
    numbered_group = np.where(urban & ~private & (level == 0), 0, np.where(urban & ~private & np.isin(level, (1, 4)),
                                                                            1, 2))
    ordinal = _group_rank(ci * 3 + numbered_group) + 1
    ordinal_cn = _CN_NUMBERS[np.minimum(ordinal, 99)]
    lvl = LEVELS[level]
    names = np.full(n, "", dtype="<U40")
    # urban public: numbered within the county
    m = numbered_group == 0
    names[m] = _cat(cname[m], "第", ordinal_cn[m], "小学")
    m = numbered_group == 1
    names[m] = _cat(cname[m], "第", ordinal_cn[m], "中学")
    # town and rural public schools
    rural_primary = (~urban) & (~private) & (lvl == "primary")
    m = rural_primary & np.isin(ur, (2, 5))
    names[m] = _cat(town[m], "中心小学")
    m = rural_primary & np.isin(ur, (3, 4))
    names[m] = _cat(town[m], village[m], "小学")
    m = rural_primary & (ur == 6)
    names[m] = _cat(town[m], village[m], "村小学")
    m = (~urban) & (~private) & np.isin(lvl, ("junior", "complete_middle"))
    names[m] = _cat(town[m], np.where(lvl[m] == "junior", "初级中学", "中学"))
    m = (~private) & (lvl == "nine_year")
    names[m] = _cat(np.where(urban[m], _cat(cname[m], village[m]), town[m]), "九年一贯制学校")
    m = (~private) & (lvl == "twelve_year")
    names[m] = _cat(cname[m], village[m], "实验学校")
    m = private
    word = _PRIVATE_WORDS[(u[:, 7] * len(_PRIVATE_WORDS)).astype(np.intp)]
    suffix = np.where(lvl == "primary", "小学", np.where(np.isin(lvl, ("junior", "complete_middle")), "中学", "学校"))
    names[m] = _cat(cstem[m], word[m], suffix[m])

    return {
        "code": code, "name": names.astype(np.str_), "county_code": county_code[ci], "level": lvl,
        "urban_rural": URBAN_RURAL_CODES[ur], "ownership": np.where(private, "private", "public"),
        "g4_enrollment": enrol[:, 0], "g4_classes": classes[:, 0],
        "g8_enrollment": enrol[:, 1], "g8_classes": classes[:, 1],
    }


def _subset(regions: Columns, schools: Columns, keep_region: NDArray[np.bool_]) -> tuple[Columns, Columns]:
    keep_school = np.isin(schools["county_code"], regions["code"][keep_region])
    return ({k: v[keep_region] for k, v in regions.items()}, {k: v[keep_school] for k, v in schools.items()})


def _ancestors_and_self(regions: Columns, code: str) -> NDArray[np.bool_]:
    """Mask of the region ``code``, its ancestors and its descendants."""
    codes = regions["code"]
    prefix = code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code
    # division codes nest by prefix: province "63", city "6301", county "630121"
    desc = np.strings.startswith(codes, prefix)
    anc = np.isin(codes, [code[:2] + "0000", code[:4] + "00"])
    return desc | anc


def _pick_scale(regions: Columns, schools: Columns, scale: str) -> NDArray[np.bool_]:
    """Which regions a non-national scale keeps (documented in docs/synth.md)."""
    codes, level, parent = regions["code"], regions["level"], regions["parent_code"]
    if scale == "province":
        return _ancestors_and_self(regions, PROVINCE_SCALE_CODE + "0000")
    if scale == "city":
        city_codes = codes[level == "city"]
        n_counties = np.array([(parent == c).sum() for c in city_codes.tolist()])
        eligible = np.flatnonzero((n_counties >= 8) & (n_counties <= 12))
        pick = eligible[0] if len(eligible) else int(np.argmin(np.abs(n_counties - 10)))
        return _ancestors_and_self(regions, str(city_codes[pick]))
    # county: the first rural county (县) of the province scale with 80-150 schools, else the nearest to 115
    county_mask = level == "county"
    cc = codes[county_mask]
    _, counts = np.unique(schools["county_code"], return_counts=True)  # school table is sorted by county code
    in_province = np.strings.startswith(cc, PROVINCE_SCALE_CODE)
    rural = regions["kind"][county_mask] == "county"
    ok = np.flatnonzero(in_province & rural & (counts >= 80) & (counts <= 150))
    if not len(ok):
        ok = np.flatnonzero(rural & (counts >= 80) & (counts <= 150))
    pick = ok[0] if len(ok) else int(np.argmin(np.abs(counts - 115)))
    return _ancestors_and_self(regions, str(cc[pick]))


def generate_registry(scale: str, seed: int) -> tuple[Columns, Columns]:
    """Regions and schools of a world: ``(regions, schools)``.

    The national registry is always generated (about a second); smaller scales keep a slice of it, so every scale
    of one seed agrees on the schools they share.
    """
    _check_scale(scale)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), REGISTRY_STREAM])))
    regions, county_province = _national_regions(rng)
    schools = _schools(rng, regions, county_province)
    if scale == "national":
        return regions, schools
    return _subset(regions, schools, _pick_scale(regions, schools, scale))


# ----------------------------------------------------------------------------------------------------------------
# rosters


_STUDENT_U = 7   # sex, surname, name length, char 1, char 2, birth month, birth-year shift
_PERSON_U = 5    # sex, surname, name length, char 1, char 2


def _teacher_layout(g4c: NDArray[Any], g8c: NDArray[Any]) -> tuple[NDArray[np.int64], ...]:
    """Teachers per school: for every teacher row its school index, grade, bundle index, index within the bundle,
    regime (0 small, 1 regular) and the number of classes of its grade."""
    n = len(g4c)
    school = np.repeat(np.arange(n), 2)
    grade = np.tile(np.array([4, 8]), n)
    classes = np.column_stack([g4c, g8c]).reshape(-1).astype(np.int64)
    keep = classes > 0
    school, grade, classes = school[keep], grade[keep], classes[keep]
    regime = (classes > 2).astype(np.int64)
    nb = len(_BUNDLES_REGULAR)
    k = np.zeros((2, nb), np.int64)  # classes per teacher; 0 = bundle not used in that regime
    k[0, : len(_BUNDLES_SMALL)] = [b[1] for b in _BUNDLES_SMALL]
    k[1, :] = [b[1] for b in _BUNDLES_REGULAR]
    kr = k[regime]
    per_bundle = np.where(kr > 0, -(-classes[:, None] // np.maximum(kr, 1)), 0)  # (units, nb)
    unit = np.repeat(np.arange(len(classes)), nb)
    bundle = np.tile(np.arange(nb), len(classes))
    counts = per_bundle.reshape(-1)
    t_unit = np.repeat(unit, counts)
    t_bundle = np.repeat(bundle, counts)
    t_index = np.arange(len(t_unit)) - np.repeat(np.cumsum(counts) - counts, counts)
    return school[t_unit], grade[t_unit], t_bundle, t_index, regime[t_unit], classes[t_unit], per_bundle[t_unit, 0]


def _rosters(seed: int, codes: NDArray[np.str_], g4e: NDArray[Any], g4c: NDArray[Any], g8e: NDArray[Any],
             g8c: NDArray[Any], progress: Callable[[int], None] | None = None) -> Rosters:
    n_s = len(codes)
    g4e, g8e = np.asarray(g4e, np.int64), np.asarray(g8e, np.int64)
    g4c, g8c = np.asarray(g4c, np.int64), np.asarray(g8c, np.int64)
    if ((g4e > 0) & (g4c <= 0)).any() or ((g8e > 0) & (g8c <= 0)).any():
        raise EngineError("a school with students in a grade needs at least one class in that grade")
    t_school, t_grade, t_bundle, t_index, t_regime, t_classes, t_first_bundle = _teacher_layout(g4c, g8c)
    n_stu = g4e + g8e
    n_tea = np.bincount(t_school, minlength=n_s)
    n_draw = n_stu * _STUDENT_U + n_tea * _PERSON_U + _PERSON_U
    us = np.empty(int(n_stu.sum()) * _STUDENT_U)
    ut = np.empty(int(n_tea.sum()) * _PERSON_U)
    up = np.empty((n_s, _PERSON_U))
    s_off = np.r_[0, np.cumsum(n_stu * _STUDENT_U)]
    t_off = np.r_[0, np.cumsum(n_tea * _PERSON_U)]
    step = max(1, n_s // 100)
    # The one loop over schools: each school's uniforms come from its own stream, so a school can be regenerated
    # alone. Everything else below is vectorised over all schools.
    for i, code in enumerate(codes.tolist()):
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), ROSTER_STREAM, int(code)])))
        u = rng.random(int(n_draw[i]))
        a, b = s_off[i + 1] - s_off[i], t_off[i + 1] - t_off[i]
        us[s_off[i]: s_off[i + 1]] = u[:a]
        ut[t_off[i]: t_off[i + 1]] = u[a: a + b]
        up[i] = u[a + b:]
        if progress is not None and (i + 1) % step == 0:
            progress(step)
    if progress is not None and n_s % step:
        progress(n_s % step)
    us2 = us.reshape(-1, _STUDENT_U)
    ut2 = ut.reshape(-1, _PERSON_U)

    # Students: grade 4 then grade 8 within each school, spread evenly over the classes.
    s_school = np.repeat(np.arange(n_s), n_stu)
    first = np.repeat(np.cumsum(n_stu) - n_stu, n_stu)
    pos = np.arange(len(s_school)) - first
    e4 = g4e[s_school]
    is8 = pos >= e4
    grade = np.where(is8, 8, 4)
    i = np.where(is8, pos - e4, pos)
    e = np.where(is8, g8e[s_school], e4)
    c = np.where(is8, g8c[s_school], g4c[s_school])
    class0 = (i * c) // np.maximum(e, 1)
    seq = i - (-(-(class0 * e) // np.maximum(c, 1))) + 1
    female = us2[:, 0] >= 0.53
    # Birth: the grade's nominal cohort is born September (Y - 11) to August (Y - 10) for grade 4 and four years
    # earlier for grade 8 (Y = CYCLE_YEAR); 8% are a year older, 2% a year younger.
    base = np.where(is8, (CYCLE_YEAR - 15) * 12 + 8, (CYCLE_YEAR - 11) * 12 + 8)  # months since year 0, Sept
    shift = np.where(us2[:, 6] < 0.08, -12, np.where(us2[:, 6] > 0.98, 12, 0))
    month = base + (us2[:, 5] * 12).astype(np.int64) + shift
    birth = _cat((month // 12).astype(str), "-", _zfill(month % 12 + 1, 2)).astype("<U7")
    students: Columns = {
        "school_code": codes[s_school], "grade": grade.astype(np.int16), "class_no": (class0 + 1).astype(np.int16),
        "seq": seq.astype(np.int16), "name": _person_names(us2[:, 1:5], female),
        "sex": np.where(female, "F", "M"), "birth_month": birth,
    }

    # Teachers.
    t_female = ut2[:, 0] < np.where(t_grade == 4, 0.72, 0.58)
    subjects_small = np.array([b[0] for b in _BUNDLES_SMALL] + [""] * (len(_BUNDLES_REGULAR) - len(_BUNDLES_SMALL)))
    subjects_regular = np.array([b[0] for b in _BUNDLES_REGULAR])
    subjects = np.where(t_regime == 1, subjects_regular[t_bundle], subjects_small[t_bundle])
    # Head teachers: one per class, the Chinese (bundle 0) teachers first, then the math (bundle 1) teachers.
    head_idx = np.where(t_bundle == 0, t_index, np.where(t_bundle == 1, t_first_bundle + t_index, 10**6))
    head_class = np.where(head_idx < t_classes, head_idx + 1, 0)
    teachers: Columns = {
        "school_code": codes[t_school], "grade": t_grade.astype(np.int16),
        "name": _person_names(ut2[:, 1:5], t_female), "sex": np.where(t_female, "F", "M"),
        "subjects": subjects, "head_teacher_class": head_class.astype(np.int16),
    }
    p_female = up[:, 0] < 0.35
    principals: Columns = {
        "school_code": codes.copy(), "name": _person_names(up[:, 1:5], p_female),
        "sex": np.where(p_female, "F", "M"),
    }
    return Rosters(students=students, teachers=teachers, principals=principals)


def generate_rosters(seed: int, schools: Mapping[str, NDArray[Any]], *,
                     progress: Callable[[int], None] | None = None) -> Rosters:
    """Rosters of every school in ``schools`` (columns ``code``, ``g4_enrollment``, ``g4_classes``,
    ``g8_enrollment``, ``g8_classes``). ``progress(k)`` is called as schools are done (k schools at a time)."""
    return _rosters(seed, np.asarray(schools["code"]), schools["g4_enrollment"], schools["g4_classes"],
                    schools["g8_enrollment"], schools["g8_classes"], progress)


def school_roster(seed: int, schools: Mapping[str, NDArray[Any]], index: int) -> Rosters:
    """The roster of one school (row ``index`` of ``schools``), identical to its rows in :func:`generate_rosters`."""
    return generate_rosters(seed, {k: np.asarray(v)[index: index + 1] for k, v in schools.items()})


def roster_for_school(seed: int, code: str, *, g4_enrollment: int, g4_classes: int, g8_enrollment: int,
                      g8_classes: int) -> Rosters:
    """The roster of the school ``code`` from its registry figures, e.g. read back from the database."""
    return _rosters(seed, np.array([code]), np.array([g4_enrollment]), np.array([g4_classes]),
                    np.array([g8_enrollment]), np.array([g8_classes]))


def rosters_default(scale: str) -> bool:
    """``--rosters auto``: all rosters below national scale, none at national scale (see docs/synth.md)."""
    return scale != "national"


def generate_world(scale: str, seed: int = 1, *, rosters: bool | None = None,
                   progress: Callable[[int], None] | None = None) -> World:
    """Generate a world.

    Parameters
    ----------
    scale : {"county", "city", "province", "national"}
    seed : int
        Any non-negative integer; the same seed gives the same world, bit for bit.
    rosters : bool, optional
        Generate students, teachers and principals; default :func:`rosters_default` (not at national scale).
    progress : callable, optional
        Called with a number of schools whose rosters are done.
    """
    _check_scale(scale)
    if int(seed) < 0:
        raise EngineError(f"the seed must be a non-negative integer, got {seed}", code="bad_seed")
    regions, schools = generate_registry(scale, seed)
    if rosters is None:
        rosters = rosters_default(scale)
    r = generate_rosters(seed, schools, progress=progress) if rosters else None
    return World(scale=scale, seed=int(seed), regions=regions, schools=schools, rosters=r)
