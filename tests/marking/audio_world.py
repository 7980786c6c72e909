"""The audio-marking test world, shared by the server tests and the browser test: the performance instrument of
tests/performance/world.py (an oral English task E01 and a singing task S01, both 4 points) plus a drawing task
D01 answered on paper, submitted formal attempts of test takers at school A1a-1, and each take's bytes (a short
sine WAV) in the recording store as the upload would have left them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from naeq.delivery.models import Attempt, AttemptStatus, Item, ItemType
from naeq.marking import services
from naeq.performance.models import Recording, RecordingStatus, RerecordPermit
from naeq.performance.storage import RECORDINGS
from tests.delivery.factories import make_session, make_taker
from tests.performance.world import make_perf_instrument, sine_wav

POINTS_4 = {0: "没有作答或与题目无关", 1: "只说出个别词语", 2: "能说出简单句子但错误较多",
            3: "表达基本流畅，有少量错误", 4: "表达流畅准确"}


@dataclass
class AudioWorld:
    world: Any
    cycle: Any
    instrument: Any
    admin: Any
    takers: list[Any]
    attempts: list[Attempt]
    recordings: dict[tuple[int, str], list[Recording]] = field(default_factory=dict)


def add_take(attempt: Attempt, item: str, *, take: int = 1, complete: bool = True, seconds: float = 1.0,
             freq: float = 440.0, permit_by: Any = None) -> Recording:
    """A take of ``item`` as the upload leaves it: complete (bytes in place, SHA-256 matching) or uploading."""
    data = sine_wav(seconds, freq=freq, rate=8000)
    if take > 1 and permit_by is not None:
        RerecordPermit.objects.create(attempt=attempt, item=item, take=take, reason="耳机松脱，监考老师同意重录",
                                      allowed_by=permit_by)
    rec = Recording.objects.create(attempt=attempt, item=item, take=take, size=len(data),
                                   received=len(data) if complete else 0, sha256=hashlib.sha256(data).hexdigest(),
                                   duration_ms=int(seconds * 1000), mime="audio/wav",
                                   status=RecordingStatus.COMPLETE if complete else RecordingStatus.UPLOADING,
                                   completed_at=timezone.now() if complete else None)
    if complete:
        RECORDINGS.path(attempt.pk, item, take).parent.mkdir(parents=True, exist_ok=True)
        RECORDINGS.path(attempt.pk, item, take).write_bytes(data)
    return rec


def build_audio_world(world: Any, cycle: Any, *, n: int = 6, takes: bool = True) -> AudioWorld:
    inst = make_perf_instrument(cycle)
    Item.objects.create(instrument=inst, code="D01", block="B2", seq=99, screen=3, type=ItemType.OPEN,
                        stem="请在答题纸上画出你心目中的校园。", max_score=4)
    school = world.schools["A1a-1"]
    session = make_session(cycle, school, instruments=["english"], title="学生英语测试")
    now = timezone.now()
    takers, attempts = [], []
    for i in range(n):
        taker = make_taker(cycle, school, f"S{i + 1:05d}")
        takers.append(taker)
        attempts.append(Attempt.objects.create(session=session, test_taker=taker, instrument=inst, booklet=1,
                                               status=AttemptStatus.SUBMITTED, submitted_at=now))
    aw = AudioWorld(world=world, cycle=cycle, instrument=inst, admin=world.users["national_admin@A"],
                    takers=takers, attempts=attempts)
    if takes:
        for k, a in enumerate(attempts):
            for item in ("E01", "S01"):
                aw.recordings[(a.pk, item)] = [add_take(a, item, freq=300.0 + 40 * k)]
    for item in ("E01", "S01", "D01"):
        services.rubric_save(actor=aw.admin, cycle=cycle, instrument_code="english", item_code=item,
                             points=POINTS_4)
    return aw


def add_audio_raters(aw: AudioWorld, names: tuple[str, ...] = ("rater_p", "rater_q"),
                     items: tuple[str, ...] = ("E01",)) -> list[Any]:
    return [services.rater_add(actor=aw.admin, cycle=aw.cycle, username=name, password="rater-pass-2026",
                               region=aw.world.regions["A"], display_name=f"评分员{name[-1].upper()}",
                               items=[("english", code) for code in items]) for name in names]
