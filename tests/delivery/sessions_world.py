"""A small sampled world for the session tests, written as rows (no draw): fast and explicit.

On top of the persona world (tests/personas.py): every county is a sample county; school A1a-1 is sampled in
grades 4 and 8, A1a-2 in grade 4, B1a-1 in grade 8 (all participating), A1b-1 in grade 8 but refused. Each
participating school has two sampled students per sampled grade (test IDs ``<school code><grade><nn>0``-like,
14 characters), two teachers per sampled grade (a head teacher of maths and a PE teacher) and a principal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from naeq.registry.models import Principal, Region, School, Student, Teacher
from naeq.sampling.models import (
    CountyParticipation,
    RunStatus,
    SampledCounty,
    SampledSchool,
    SampledStudent,
    SampleRun,
    SchoolParticipation,
    SchoolRole,
    Stage,
)
from tests.personas import World

SAMPLED = {"A1a-1": (4, 8), "A1a-2": (4,), "B1a-1": (8,)}
REFUSED = {"A1b-1": (8,)}


@dataclass
class Sampled:
    world: World
    cycle: Any
    test_ids: dict[str, list[str]]  # school key -> student test IDs


def _run(cycle: Any, stage: str, school: School | None = None) -> SampleRun:
    return SampleRun.objects.create(cycle=cycle, stage=stage, school=school, design_text="test", design_hash="0" * 64,
                                    frame_hash="sha256:" + "0" * 64, seed=1, code_version="test",
                                    status=RunStatus.DONE)


def make_test_id(school: School, grade: int, seq: int) -> str:
    return f"{school.code}{grade % 10}{seq:02d}1"[:14]


def build_sample(world: World, cycle: Any, *, participation: dict[str, str] | None = None) -> Sampled:
    county_run = _run(cycle, Stage.COUNTY)
    for key, region in world.regions.items():
        if region.level == "county":
            SampledCounty.objects.create(run=county_run, county=region, path=region.path,
                                         participation=(participation or {}).get(key, CountyParticipation.SAMPLE),
                                         pi=0.5, weight=2)
    school_run = _run(cycle, Stage.SCHOOL)
    test_ids: dict[str, list[str]] = {}
    for key, grades in {**SAMPLED, **REFUSED}.items():
        school = world.schools[key]
        refused = key in REFUSED
        rows = {g: SampledSchool.objects.create(
            run=school_run, school=school, county=school.county, path=school.path, grade=g,
            role=SchoolRole.SAMPLED, pi=0.5, base_weight=2, enrollment=45,
            participation=SchoolParticipation.REFUSED if refused else SchoolParticipation.PARTICIPATING)
            for g in grades}
        if refused:
            continue
        Principal.objects.create(school=school, name="校长甲", sex="M")
        student_run = _run(cycle, Stage.STUDENT, school)
        ids = test_ids.setdefault(key, [])
        for g, row in rows.items():
            Teacher.objects.create(school=school, name=f"教师{g}甲", sex="F", grade=g, subjects="math",
                                   head_teacher_class=1)
            Teacher.objects.create(school=school, name=f"教师{g}乙", sex="M", grade=g, subjects="pe")
            for seq in (1, 2):
                st = Student.objects.create(school=school, grade=g, class_no=1, seq=seq, name=f"学生{g}{seq}",
                                            sex="MF"[seq % 2], birth_month="2014-05")
                tid = make_test_id(school, g, seq)
                SampledStudent.objects.create(cycle=cycle, run=student_run, sampled_school=row, student=st,
                                              path=school.path, grade=g, seq=seq, pi=0.5, base_weight=4,
                                              booklets={"math": seq, "mental_health": 3 - seq}, test_id=tid)
                ids.append(tid)
    return Sampled(world=world, cycle=cycle, test_ids=test_ids)


def xinjiang_county(cycle: Any, *, offset_hours: int = -2) -> tuple[Region, School]:
    """Province 65 (local time) with one county and one sampled primary school, added to the active runs."""
    prov = Region.objects.create(code="650000", name="新疆维吾尔自治区", level="province", parent=None,
                                 path="650000/", local_time_offset_hours=offset_hours)
    city = Region.objects.create(code="650100", name="乌鲁木齐市", level="city", parent=prov, path="650000/650100/")
    county = Region.objects.create(code="650102", name="天山区", level="county", parent=city,
                                   path="650000/650100/650102/")
    school = School.objects.create(code="1650102001", name="天山区第1小学", county=county, path=county.path,
                                   level="primary", urban_rural="111", g4_enrollment=40, g4_classes=1)
    county_run = SampleRun.objects.get(cycle=cycle, stage=Stage.COUNTY)
    SampledCounty.objects.create(run=county_run, county=county, path=county.path,
                                 participation=CountyParticipation.SAMPLE, pi=0.5, weight=2)
    school_run = SampleRun.objects.get(cycle=cycle, stage=Stage.SCHOOL)
    SampledSchool.objects.create(run=school_run, school=school, county=county, path=county.path, grade=4,
                                 role=SchoolRole.SAMPLED, pi=0.5, base_weight=2, enrollment=40,
                                 participation=SchoolParticipation.PARTICIPATING)
    return county, school


def generate(world: World, cycle: Any) -> Sampled:
    """The sample above with its test takers and formal sessions generated (as the national admin)."""
    from naeq.delivery import takers
    from naeq.delivery.sessions import sessions_generate

    sampled = build_sample(world, cycle)
    admin = world.users["national_admin@A"]
    takers.test_takers_generate(actor=admin, year=cycle.year)
    sessions_generate(actor=admin, year=cycle.year)
    return sampled


def during(session: Any, minutes: int = 10) -> Any:
    """A moment ``minutes`` after the session's scheduled start."""
    import datetime as dt

    return session.starts_at + dt.timedelta(minutes=minutes)
