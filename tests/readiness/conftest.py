"""Readiness test set-up: the persona world (tests/personas.py), the shipped 2024 cycle and a drawn sample in which
every county of the world is a sample county and every school a participating sample school."""

from __future__ import annotations

import io
from typing import Any

import pytest

from tests.personas import World


def make_sample(cycle: Any, world: World) -> None:
    from naeq.sampling.models import SampledCounty, SampledSchool, SampleRun

    def run(stage: str) -> SampleRun:
        return SampleRun.objects.create(cycle=cycle, stage=stage, design_text="test", design_hash="0" * 64,
                                        frame_hash="sha256:" + "0" * 64, seed=1, code_version="test", status="done")

    county_run, school_run = run("county"), run("school")
    for key in ("A1a", "A1b", "B1a", "B1b"):
        county = world.regions[key]
        SampledCounty.objects.create(run=county_run, county=county, path=county.path, participation="sample", pi=1,
                                     weight=1)
        for i in (1, 2):
            school = world.schools[f"{key}-{i}"]
            SampledSchool.objects.create(run=school_run, school=school, county=county, path=county.path, grade=8,
                                         role="sampled", pi=1, base_weight=1, enrollment=school.g8_enrollment,
                                         participation="participating")


@pytest.fixture
def cycle(db: None) -> Any:
    from naeq.cycles.services import load_shipped_cycles

    return next(c for c in load_shipped_cycles() if c.is_current)


@pytest.fixture
def sample(world: World, cycle: Any, settings: Any, tmp_path: Any) -> World:
    settings.DATA_DIR = tmp_path
    make_sample(cycle, world)
    return world


def workbook(rows: list[list[Any]], *, header: list[str] | None = None, sheet: str = "签到表") -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    ws.append(header or ["姓名", "岗位", "学校标识码", "是否参加", "备注"])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cfc0f01f0005fe02fea35c8e640000000049454e44ae426082")


def full_answers(cycle: Any, kind: str = "school") -> dict[str, dict[str, str]]:
    """Every non-evidence item answered "yes" / a generous number / a text."""
    from naeq.readiness.config import config_for

    out = {}
    for item in config_for(cycle.year).checklists[kind].items:
        value = {"yesno": "yes", "number": "500", "text": "021-12345678"}.get(item.type)
        if value is not None:
            out[item.id] = {"value": value, "remedy": "", "remedy_date": ""}
    return out
