"""A world for issue 7's browser walk: demo-like responses with injected anomalies, screened by the platform, and
calibrated, so a flagged school that copied can be walked from flag to decision and its effect on the estimates
shown.

* The personas' regions and schools plus eight counties of five schools each in province A's city (as
  ``tests/quality/test_demo.py`` builds them): the quality demo (:func:`naeq.quality.demo.demo_responses`) takes
  the first 40 schools in county code order and injects a proctor's copying into three schools of one county,
  neighbour copying into a fourth, item preknowledge into two schools of another county and late answers into a
  third (its truth is returned, never stored);
* one screening run of the demo paper by the national analyst through the platform's own gather;
* one done calibration run of the same paper (the "before" of a case's effect);
* at the top-ranked flagged proctor school: the day's session record (测试情况记录表) and incident report
  (应急事件情况报告表) — the evidence a case collects;
* a case in province B assigned to its province coordinator (province A's coordinator must not see it).

Nothing here decides or writes a case of province A: the walk does that in the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from naeq.custody.models import SessionRecord
from naeq.delivery.models import TestSession
from naeq.incidents.models import IncidentReport
from naeq.quality import cases, demo
from naeq.quality import services as quality_services
from naeq.quality.models import Case, ScreenedUnit, ScreeningRun, UnitLevel
from naeq.registry.models import Region, RegionLevel, School
from naeq.scaling import services as scaling_services
from naeq.scaling.models import CalibrationRun, RunStatus
from tests.personas import World

SEED = 7


@dataclass
class QualityWorld:
    world: World
    cycle: Any
    truth: dict[str, Any]
    run: ScreeningRun                 # the done screening run of the demo paper
    calibration: CalibrationRun       # the done calibration run before any decision
    unit: ScreenedUnit                # the top-ranked flagged school that copied (a proctor's room)
    other_case: Case                  # province B's case, assigned to province B's coordinator

    @property
    def school(self) -> School:
        assert self.unit.school is not None
        return self.unit.school


def _counties(world: World) -> None:
    city = world.regions["A1"]
    for c in range(8):
        code = f"3101{c + 3:02d}"
        county = Region.objects.create(code=code, name=f"演示{c + 3}县", level=RegionLevel.COUNTY, parent=city,
                                       path=Region.path_for(code, city.path))
        for i in range(5):
            School.objects.create(code=f"1{code}{i + 1:03d}", name=f"{county.name}第{i + 1}学校", county=county,
                                  path=county.path, level="junior", urban_rural="121", g8_enrollment=60,
                                  g8_classes=2)


def _evidence(cycle: Any, school: School, head: Any) -> None:
    """The session record and the incident report of the school's demo session."""
    session = TestSession.objects.get(cycle=cycle, school=school, title=demo.TITLE)
    assert session.actual_start is not None and session.actual_end is not None
    SessionRecord.objects.create(session=session, path=school.path, room="第1测试室",
                                 actual_start=session.actual_start, actual_end=session.actual_end, expected=25,
                                 present=25, deviations=["主监测员在测试期间多次离开讲台，在学生座位间停留"],
                                 recorded_by=head)
    IncidentReport.objects.create(cycle=cycle, school=school, county=school.county, path=school.path,
                                  test_date=session.actual_start.date(), no_incident=True,
                                  handling="本场测试未发生应急事件。", signed_by="校长（模拟）", filed_by=head)


def build_quality_world(world: World, cycle: Any) -> QualityWorld:
    """The world above; the screening and calibration jobs run in-process after their commits (the embedded job
    mechanism), so both runs are done when this returns."""
    _counties(world)
    analyst = world.users["national_analyst@A"]
    truth = demo.demo_responses(cycle, seed=SEED)
    run = quality_services.screening_start(actor=analyst, cycle=cycle, instrument_code=demo.INSTRUMENT, seed=SEED)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    calibration = scaling_services.calibration_start(actor=analyst, cycle=cycle, instrument_code=demo.INSTRUMENT,
                                                     seed=SEED)
    calibration.refresh_from_db()
    assert calibration.status == RunStatus.DONE, calibration.error
    proctors = truth["schools"]["proctor"]
    unit = (ScreenedUnit.objects.filter(run=run, level=UnitLevel.SCHOOL, flag=True, school__code__in=proctors)
            .select_related("school", "county").order_by("rank", "pk").first())
    assert unit is not None, "the screen flagged none of the proctors' rooms"
    assert unit.school is not None
    _evidence(cycle, unit.school, world.users["school_head@A"])
    admin = world.users["national_admin@A"]
    other = cases.case_open_manual(actor=admin, cycle=cycle, instrument_code=demo.INSTRUMENT,
                                   school=world.schools["B1a-1"], title="乙省举报：考场纪律（模拟）",
                                   reason="群众来信反映考场纪律松散（模拟）。")
    cases.case_assign(actor=admin, case_id=other.pk, investigator=world.users["province_coordinator@B"])
    return QualityWorld(world=world, cycle=cycle, truth=truth, run=run, calibration=calibration, unit=unit,
                        other_case=other)
