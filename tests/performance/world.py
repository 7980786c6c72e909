"""The performance-task test world shared by the server tests and the browser test: a listening and speaking
instrument and short WAV files made here (a sine with the wave module)."""

from __future__ import annotations

import io
import math
import struct
import wave
from typing import Any

from naeq.delivery.models import ItemType
from tests.delivery.factories import make_instrument

#: A listening and speaking test: a stimulus with a twice-only recording shared by two items, an item with its
#: own audio played once, an oral English task of 8 seconds and a singing task.
PERF_ITEMS: list[dict[str, Any]] = [
    {"code": "L01", "block": "B1", "screen": 1, "type": ItemType.SINGLE, "stem": "录音里的人在做什么？",
     "options": [{"value": "A", "label": "唱歌"}, {"value": "B", "label": "跑步"}], "key": "A", "max_score": 1,
     "constraints": {"play_limit": 2}},
    {"code": "L02", "block": "B1", "screen": 1, "type": ItemType.SINGLE, "stem": "这首曲子是什么节拍？",
     "options": [{"value": "A", "label": "2/4"}, {"value": "B", "label": "3/4"}], "key": "B", "max_score": 1,
     "media": [{"kind": "audio", "file": "beat.wav", "play_limit": 1}]},
    {"code": "E01", "block": "B2", "screen": 1, "type": ItemType.OPEN, "stem": "Please introduce your school.",
     "max_score": 4, "constraints": {"record": "speaking", "record_seconds": 6}},
    {"code": "S01", "block": "B2", "screen": 2, "type": ItemType.OPEN, "stem": "请演唱《茉莉花》的第一段。",
     "max_score": 4, "constraints": {"record": "singing", "record_seconds": 5}},
]


def make_perf_instrument(cycle: Any, code: str = "english") -> Any:
    from naeq.delivery.models import Item, Stimulus

    inst = make_instrument(cycle, code, items=PERF_ITEMS)
    stim = Stimulus.objects.create(instrument=inst, code="U1", title="听力材料",
                                   media=[{"kind": "audio", "file": "dialogue.wav"}])
    Item.objects.filter(instrument=inst, code="L01").update(stimulus=stim)
    return inst


def sine_wav(seconds: float, freq: float = 440.0, rate: int = 48000, amplitude: float = 0.5) -> bytes:
    """A mono 16-bit PCM WAV of a sine tone."""
    n = int(seconds * rate)
    frames = b"".join(struct.pack("<h", int(amplitude * 32767 * math.sin(2 * math.pi * freq * i / rate)))
                      for i in range(n))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return out.getvalue()
