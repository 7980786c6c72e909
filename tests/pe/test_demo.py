"""The demo hook: rooms in every status, an out-of-bounds value flagged in a draft, a whole-room missing item,
exempt students; idempotent."""

from __future__ import annotations

from naeq.pe import services
from naeq.pe.demo import demo_pe
from naeq.pe.models import ExamRoom, PeRecord
from tests.pe.conftest import build_pe_sample
from tests.personas import World


def test_demo_mix_and_idempotence(world: World, cycle: object) -> None:
    build_pe_sample(world, cycle, per_grade=24)
    counts = demo_pe(cycle, seed=7)
    county = world.regions["A1a"]  # the first county with sampled students
    rooms = ExamRoom.objects.filter(path=county.path)
    # One school in the demo county (A1a-1, 24 students per grade -> 2 rooms of 20 per grade): the first room
    # submitted, the last in draft, the two between confirmed.
    assert counts == {"draft": 1, "submitted": 1, "confirmed": 2}
    assert [r.status for r in rooms.order_by("number")] == ["submitted", "confirmed", "confirmed", "draft"]
    assert rooms.exclude(missing_items={}).get().missing_items == {"shuttle": "计时器故障，本场15米折返跑未测"}
    draft = rooms.get(status="draft")
    blocking = [f for f in services.room_findings(draft, for_submit=True) if f.blocking]
    assert any("身高" in f.reason and "超出" in f.reason for f in blocking)
    # Every submitted room is submittable as generated (no blocking fault).
    for room in rooms.exclude(status="draft"):
        assert not [f for f in services.room_findings(room, for_submit=True) if f.blocking], room
    assert PeRecord.objects.filter(room__path=county.path, attendance="exempt").exclude(exempt_reason="").exists()
    assert PeRecord.objects.filter(room__path=county.path, attendance="absent").exists()
    n = ExamRoom.objects.count()
    assert demo_pe(cycle, seed=7) == {}
    assert ExamRoom.objects.count() == n
