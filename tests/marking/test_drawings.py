"""Drawing tasks answered on paper (issue 9 item 5): the scanned sheets come in through the existing paper import,
attached to the test taker by test ID, with a precise refusal of an unknown test ID, and are scored by raters
like any other response."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from typing import Any

import pytest
from django.test import Client

from naeq.core.errors import InvalidInput
from naeq.marking import selectors, services
from naeq.marking.models import Assignment, MarkResponse, ResponseStatus, Source
from tests.marking.audio_world import AudioWorld, add_audio_raters, build_audio_world


def png(width: int = 4, height: int = 3) -> bytes:
    """A real (grey) PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _zip(names: list[str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for n in names:
            zf.writestr(f"scans/{n}", png())
    return out.getvalue()


@pytest.fixture
def aw(world: Any, cycle: Any, settings: Any, tmp_path: Any) -> AudioWorld:
    settings.DATA_DIR = tmp_path
    return build_audio_world(world, cycle, n=4, takes=False)


def test_an_unknown_test_id_is_refused_with_its_row_and_nothing_is_stored(aw: AudioWorld) -> None:
    ids = [t.code for t in aw.takers]
    manifest = ("test_id,instrument,item,image\n" + f"{ids[0]},english,D01,{ids[0]}.png\n"
                + "X9999,english,D01,X9999.png\n").encode()
    with pytest.raises(InvalidInput) as exc:
        services.paper_import(actor=aw.admin, cycle=aw.cycle, manifest=manifest, manifest_name="drawings.csv",
                              archive=_zip([f"{ids[0]}.png", "X9999.png"]), archive_name="drawings.zip")
    (p,) = exc.value.problems
    assert (p.file, p.row, p.field, p.value) == ("drawings.csv", 3, "test_id", "X9999")
    assert "未知的测试编号“X9999”" in p.reason
    assert not MarkResponse.objects.filter(item_code="D01").exists()


def test_drawings_named_by_test_id_are_attached_and_scored_by_a_rater_pair(aw: AudioWorld) -> None:
    ids = [t.code for t in aw.takers]
    manifest = ("test_id,instrument,item,image\n" + "".join(f"{t},english,D01,{t}.png\n" for t in ids)).encode()
    n = services.paper_import(actor=aw.admin, cycle=aw.cycle, manifest=manifest, manifest_name="drawings.csv",
                              archive=_zip([f"{t}.png" for t in ids]), archive_name="drawings.zip")
    assert n == 4
    rs = {r.test_taker_id: r for r in MarkResponse.objects.filter(item_code="D01")}
    assert set(rs) == {t.pk for t in aw.takers}
    assert all(r.source == Source.PAPER and r.image == f"{r.code}.png" and r.max_score == 4 for r in rs.values())
    services.settings_update(actor=aw.admin, cycle=aw.cycle, double_share="1", check_rate="0")
    p, q = add_audio_raters(aw, items=("D01",))
    services.assign(actor=aw.admin, cycle=aw.cycle, instrument_code="english", item_code="D01", seed=4)
    c = Client()
    c.force_login(p)
    page = c.get("/marking/queue/").content.decode()
    assert "/image" in page and "<audio" not in page and not any(t in page for t in ids)
    for k, taker in enumerate(aw.takers):
        r = rs[taker.pk]
        for rater, s in ((p, 3), (q, 3 if k % 2 == 0 else 4)):
            a = Assignment.objects.get(response=r, rater=rater)
            services.score_submit(actor=rater, assignment_id=a.pk, score=s)
    (row,) = selectors.agreement_by_item(actor=aw.admin, cycle=aw.cycle)
    assert (row.stats.n, row.stats.exact, row.stats.adjacent) == (4, 0.5, 1.0)
    finals = sorted(MarkResponse.objects.filter(item_code="D01").values_list("status", "final_score"))
    assert finals == [(ResponseStatus.FINAL, 3)] * 2 + [(ResponseStatus.FINAL, 4)] * 2
    got = {s["test_id"]: s["score"] for s in selectors.scores_for_scaling(cycle=aw.cycle, instrument_code="english")}
    assert got == {t: (3 if k % 2 == 0 else 4) for k, t in enumerate(ids)}
