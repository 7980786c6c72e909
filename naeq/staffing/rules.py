"""The staffing rules engine: every way a county's staff list breaks the role catalogue, listed with its rule.

:func:`violations` checks one county of one cycle — its county team and each of its sample schools — and returns
one :class:`Violation` per fault, each naming the unit, the post, the person (when one is at fault), a stable rule
code, a Chinese message and the seed sentence the rule comes from. Nothing here blocks a save: violations are
listed so the county sees them all (the services refuse only what the database forbids, a second person on a
single post).

Rule codes:

``too_few`` / ``too_many``
    fewer than ``min`` or more than ``max`` people on a post at a unit.
``same_school``
    a post with rule ``other_school`` (主监测员: "由非本校的教务（教导）主任担任") held by someone working at
    that school.
``tested_subject``
    a post with rule ``not_tested_subject`` held by a teacher of a subject the county's participation type tests
    (cycle configuration ``participation.<type>.subjects``).
``conflict``
    one person on two posts the catalogue's ``conflicts`` table forbids combining, on overlapping days.
``two_schools``
    one person on posts at two different schools on overlapping days.

Two assignments overlap when either has no day (the whole test period) or both have the same day and their slots
overlap (全天 overlaps 上午 and 下午).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from naeq.cycles.models import Cycle
from naeq.registry.models import Region
from naeq.staffing.config import Catalogue, catalogue_for
from naeq.staffing.models import StaffAssignment
from naeq.staffing.units import participation_of, sample_schools

RULE_NAMES = {
    "too_few": N_("人数不足"),
    "too_many": N_("人数超出"),
    "same_school": N_("主监测员须非本校"),
    "tested_subject": N_("不得由测试学科教师担任"),
    "conflict": N_("同一时段兼任冲突岗位"),
    "two_schools": N_("同日在两所学校任职"),
    "per_room": N_("每个测试教室1人"),
    "unknown_post": N_("岗位不在岗位目录中"),
}
TWO_SCHOOLS_SOURCE = ("2024-nanchang-city-plan.txt：现场测试工作人员须佩戴工作胸牌。"
                      "各类胸牌由县级实施工作领导小组统一制作并配发（每人一个岗位、一所学校；同日不能在两校履职）")


@dataclass(frozen=True)
class Violation:
    unit: str  # the county or the school's name
    school_id: int | None
    post: str  # post name ("" when the fault is not about one post)
    person: str  # the person's name ("" when nobody in particular)
    rule_code: str
    message_zh: str
    seed_source: str

    @property
    def rule_name(self) -> str:
        return _(RULE_NAMES.get(self.rule_code, self.rule_code))


def overlaps(a: StaffAssignment, b: StaffAssignment) -> bool:
    if a.day is None or b.day is None:
        return True
    if a.day != b.day:
        return False
    return not a.slot or not b.slot or a.slot == b.slot


def _unit(a: StaffAssignment, county: Region) -> str:
    return a.school.name if a.school is not None else county.name


def _counts(catalogue: Catalogue, level: str, unit: str, school_id: int | None,
            rows: list[StaffAssignment]) -> list[Violation]:
    out = []
    for post in catalogue.posts_at(level):
        n = len({a.person_id for a in rows if a.post == post.code})
        if n < post.min:
            out.append(Violation(unit=unit, school_id=school_id, post=post.name, person="", rule_code="too_few",
                                 message_zh=_("“%(post)s”应至少%(min)s人，现有%(n)s人。") % {
                                     "post": post.name, "min": post.min, "n": n},
                                 seed_source=post.source))
        elif post.max is not None and n > post.max:
            out.append(Violation(unit=unit, school_id=school_id, post=post.name, person="", rule_code="too_many",
                                 message_zh=_("“%(post)s”至多%(max)s人，现有%(n)s人。") % {
                                     "post": post.name, "max": post.max, "n": n},
                                 seed_source=post.source))
    return out


def _per_room(catalogue: Catalogue, rows: list[StaffAssignment], school: Any,
              rooms: Mapping[tuple[int, dt.date], int]) -> list[Violation]:
    out = []
    for post in catalogue.posts_at("school"):
        if "one_per_room" not in post.rules:
            continue
        for (sid, day), n_rooms in sorted(rooms.items(), key=lambda kv: kv[0][1]):
            if sid != school.pk:
                continue
            n = len({a.person_id for a in rows if a.post == post.code and a.day in (None, day)})
            if n < n_rooms:
                out.append(Violation(
                    unit=school.name, school_id=school.pk, post=post.name, person="", rule_code="per_room",
                    message_zh=_("“%(post)s”每个测试教室1人：%(day)s有%(rooms)s个测试教室（测试情况记录表），"
                                 "只安排了%(n)s人。") % {"post": post.name, "day": day.isoformat(),
                                                        "rooms": n_rooms, "n": n},
                    seed_source=post.source))
    return out


def violations(cycle: Cycle, county: Region, *,
               rooms: Mapping[tuple[int, dt.date], int] | None = None) -> list[Violation]:
    """Every rule the county's staff list breaks in ``cycle``, county team first, then school by school.

    ``rooms`` — the number of test rooms per (school id, test day), from the schools' 测试情况记录表 (the custody
    app, a sibling this module may not import: the caller passes them); without it the one-per-room rule is not
    checked."""
    catalogue = catalogue_for(cycle.year)
    rows = list(StaffAssignment.objects.filter(cycle=cycle, county=county)
                .select_related("person", "school").order_by("school__code", "post", "id"))
    tested = set(cycle.config.participation(participation_of(cycle, county)).subjects)
    subject_names = {s.code: s.name for s in cycle.config.subjects}
    out: list[Violation] = []
    for a in rows:
        if catalogue.post(a.post) is None:
            out.append(Violation(unit=_unit(a, county), school_id=a.school_id, post=a.post, person=a.person.name,
                                 rule_code="unknown_post",
                                 message_zh=_("岗位“%(post)s”不在本周期的岗位目录（%(file)s）中。") % {
                                     "post": a.post, "file": catalogue.file},
                                 seed_source=catalogue.file))
    out += _counts(catalogue, "county", county.name, None, [a for a in rows if a.school_id is None])
    for school in sample_schools(cycle, county):
        mine = [a for a in rows if a.school_id == school.pk]
        out += _counts(catalogue, "school", school.name, school.pk, mine)
        if rooms:
            out += _per_room(catalogue, mine, school, rooms)
    for a in rows:
        post = catalogue.post(a.post)
        if post is None or a.school is None:
            continue
        if "other_school" in post.rules and a.person.home_school_id == a.school_id:
            out.append(Violation(unit=a.school.name, school_id=a.school_id, post=post.name, person=a.person.name,
                                 rule_code="same_school",
                                 message_zh=_("%(name)s是本校人员，不能担任本校的“%(post)s”。") % {
                                     "name": a.person.name, "post": post.name},
                                 seed_source=post.source))
        if "not_tested_subject" in post.rules:
            bad = [s for s in a.person.subjects if s in tested]
            if bad:
                out.append(Violation(
                    unit=a.school.name, school_id=a.school_id, post=post.name, person=a.person.name,
                    rule_code="tested_subject",
                    message_zh=_("%(name)s任教测试学科（%(subjects)s），不能担任“%(post)s”。") % {
                        "name": a.person.name, "subjects": "、".join(subject_names.get(s, s) for s in bad),
                        "post": post.name},
                    seed_source=post.source))
    by_person: dict[int, list[StaffAssignment]] = {}
    for a in rows:
        by_person.setdefault(a.person_id, []).append(a)
    for mine in by_person.values():
        for a, b in combinations(mine, 2):
            if not overlaps(a, b):
                continue
            conflict = catalogue.conflict(a.post, b.post)
            if conflict is not None and a.school_id == b.school_id:
                pa, pb = catalogue.post(a.post), catalogue.post(b.post)
                out.append(Violation(
                    unit=_unit(a, county), school_id=a.school_id, post=f"{pa.name if pa else a.post}、"
                    f"{pb.name if pb else b.post}", person=a.person.name, rule_code="conflict",
                    message_zh=_("%(name)s在同一时段兼任“%(a)s”和“%(b)s”：%(reason)s。") % {
                        "name": a.person.name, "a": pa.name if pa else a.post, "b": pb.name if pb else b.post,
                        "reason": conflict.reason},
                    seed_source=conflict.source))
            if a.school_id is not None and b.school_id is not None and a.school_id != b.school_id:
                assert a.school is not None and b.school is not None
                out.append(Violation(
                    unit=f"{a.school.name}、{b.school.name}", school_id=b.school_id, post="", person=a.person.name,
                    rule_code="two_schools",
                    message_zh=_("%(name)s在同一天被安排在%(a)s和%(b)s两所学校。") % {
                        "name": a.person.name, "a": a.school.name, "b": b.school.name},
                    seed_source=TWO_SCHOOLS_SOURCE))
    return out
