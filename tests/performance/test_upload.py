"""The recording upload: chunked and resumable (the server says how much it holds), SHA-256 recomputed on
completion (a mismatch refused and the bytes dropped), tied to test taker, item and take; a second take only
with the proctor's permission."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.performance.models import Recording, RecordingStatus
from naeq.performance.services import allow_rerecord
from naeq.performance.storage import RECORDINGS, WEBM_MAGIC

MIME = "audio/webm;codecs=opus"


def webm(n: int, seed: int = 1) -> bytes:
    """Bytes that start like a WebM file (the EBML magic) followed by ``n`` pseudo-random bytes."""
    return WEBM_MAGIC + hashlib.shake_256(f"take-{seed}".encode()).digest(n)


def init(api: Any, data: bytes, item: str = "E01") -> Any:
    return api.post("recordings", {"item": item, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                                   "mime": MIME, "duration_ms": 8000})


def test_chunked_upload_cut_in_the_middle_and_resumed(perf: dict[str, Any]) -> None:
    api = perf["api1"]
    data = webm(300_000)
    started = init(api, data)
    assert started.status_code == 200
    rec = started.json()
    assert (rec["take"], rec["status"], rec["received"]) == (1, "uploading", 0)
    rid = rec["id"]
    assert api.chunk(rid, 0, data[:65536]).json()["received"] == 65536
    assert api.chunk(rid, 65536, data[65536:131072]).json()["received"] == 131072
    # The network is cut: the next chunk never arrives. The client (after a reload) declares the same take and
    # is told where to resume; a later offset is refused with what the server holds.
    again = init(api, data).json()
    assert (again["id"], again["received"]) == (rid, 131072)
    assert api.get(f"recordings/{rid}").json()["received"] == 131072
    gap = api.chunk(rid, 200_000, data[200_000:210_000])
    assert gap.status_code == 409 and gap.json()["error"] == "offset" and gap.json()["received"] == 131072
    # A repeated chunk (its acknowledgement was lost) overlapping the held bytes: the known part is skipped.
    assert api.chunk(rid, 100_000, data[100_000:196_608]).json()["received"] == 196_608
    early = api.post(f"recordings/{rid}/complete", {})
    assert early.status_code == 409 and early.json()["error"] == "incomplete"
    assert api.chunk(rid, 196_608, data[196_608:]).json()["received"] == len(data)
    done = api.post(f"recordings/{rid}/complete", {})
    assert done.status_code == 200 and done.json()["status"] == "complete"
    stored = RECORDINGS.read(perf["a1"].pk, "E01", 1)
    assert stored == data
    row = Recording.objects.get(pk=rid)
    assert (row.attempt_id, row.item, row.take, row.size, row.mime, row.duration_ms) == (
        perf["a1"].pk, "E01", 1, len(data), MIME, 8000)
    assert row.sha256 == hashlib.sha256(stored).hexdigest() and row.completed_at is not None
    # Completing again and declaring again are harmless repeats.
    assert api.post(f"recordings/{rid}/complete", {}).json()["status"] == "complete"
    assert init(api, data).json()["id"] == rid
    assert AuditEvent.objects.filter(action="performance.recording_complete", object_id=str(rid)).count() == 1


def test_a_write_that_reached_disk_but_not_the_database_is_rewritten(perf: dict[str, Any]) -> None:
    api = perf["api1"]
    data = webm(5000)
    rid = init(api, data).json()["id"]
    api.chunk(rid, 0, data[:2000])
    # Simulate a chunk appended to the file whose transaction then failed: the file is longer than `received`.
    part = RECORDINGS.path(perf["a1"].pk, "E01", 1, partial=True)
    with open(part, "ab") as fh:
        fh.write(b"garbage that the database never acknowledged")
    api.chunk(rid, 2000, data[2000:])
    assert api.post(f"recordings/{rid}/complete", {}).status_code == 200
    assert RECORDINGS.read(perf["a1"].pk, "E01", 1) == data


def test_checksum_mismatch_refused_and_retried(perf: dict[str, Any]) -> None:
    api = perf["api1"]
    data = webm(40_000)
    rid = init(api, data).json()["id"]
    corrupted = data[:20_000] + bytes([data[20_000] ^ 0xFF]) + data[20_001:]
    api.chunk(rid, 0, corrupted)
    refused = api.post(f"recordings/{rid}/complete", {})
    assert refused.status_code == 409
    assert refused.json()["error"] == "checksum" and refused.json()["received"] == 0
    assert "校验失败" in refused.json()["message"]
    row = Recording.objects.get(pk=rid)
    assert (row.status, row.received) == (RecordingStatus.UPLOADING, 0)
    assert RECORDINGS.read(perf["a1"].pk, "E01", 1) is None
    assert AuditEvent.objects.filter(action="performance.recording_mismatch", object_id=str(rid)).exists()
    # The client sends the right bytes again.
    api.chunk(rid, 0, data)
    assert api.post(f"recordings/{rid}/complete", {}).json()["status"] == "complete"


def test_not_webm_refused(perf: dict[str, Any]) -> None:
    api = perf["api1"]
    data = os.urandom(1000)
    rid = init(api, data).json()["id"]
    api.chunk(rid, 0, data)
    assert api.post(f"recordings/{rid}/complete", {}).json()["error"] == "checksum"


def test_wrong_taker_refused(perf: dict[str, Any]) -> None:
    api1, api2 = perf["api1"], perf["api2"]
    data = webm(1000)
    rid = init(api1, data).json()["id"]
    # The second taker, signed in with their own session and token, names the first one's recording.
    for resp in (api2.chunk(rid, 0, data), api2.get(f"recordings/{rid}"),
                 api2.post(f"recordings/{rid}/complete", {})):
        assert resp.status_code == 404 and resp.json() == {"error": "not_found"}
    # ... or the first one's attempt with their own token or the first one's token.
    other = api1.client.post(f"/t/api/perf/attempts/{perf['a1'].pk}/recordings/{rid}/chunk?offset=0", data=data,
                             content_type="application/octet-stream", **api2.headers)
    assert other.status_code == 404
    assert Recording.objects.get(pk=rid).received == 0
    # Items that are not recorded tasks, malformed declarations.
    assert init(api1, data, item="L01").status_code == 404
    bad = api1.post("recordings", {"item": "E01", "size": 10, "sha256": "x" * 64, "mime": MIME})
    assert bad.status_code == 400 and bad.json()["error"] == "bad_sha256"
    bad = api1.post("recordings", {"item": "E01", "size": 10, "sha256": "a" * 64, "mime": "audio/wav"})
    assert bad.json()["error"] == "bad_mime"


def test_second_take_only_with_the_proctors_permission(perf: dict[str, Any], world: Any) -> None:
    api = perf["api1"]
    first = webm(2000, seed=1)
    rid = init(api, first).json()["id"]
    api.chunk(rid, 0, first)
    api.post(f"recordings/{rid}/complete", {})
    second = webm(2000, seed=2)
    refused = init(api, second)
    assert refused.status_code == 409 and refused.json()["error"] == "rerecord_not_allowed"
    assert "监考老师" in refused.json()["message"]
    proctor = world.users["chief_proctor@A"]
    for outsider, error in ((world.users["chief_proctor@B"], NotFound), (world.users["inspector@A"], PermissionDenied)):
        with pytest.raises(error):
            allow_rerecord(actor=outsider, attempt=perf["a1"], item="E01", reason="噪声")
    with pytest.raises(InvalidInput):
        allow_rerecord(actor=proctor, attempt=perf["a1"], item="E01", reason=" ")
    allow_rerecord(actor=proctor, attempt=perf["a1"], item="E01", reason="录音时窗外施工噪声很大")
    take2 = init(api, second).json()
    assert take2["take"] == 2
    api.chunk(take2["id"], 0, second)
    assert api.post(f"recordings/{take2['id']}/complete", {}).json()["status"] == "complete"
    assert RECORDINGS.read(perf["a1"].pk, "E01", 1) == first
    assert RECORDINGS.read(perf["a1"].pk, "E01", 2) == second
    assert init(api, webm(2000, seed=3)).status_code == 409  # the permit was for one take


def test_a_newer_take_replaces_an_unfinished_one(perf: dict[str, Any]) -> None:
    api = perf["api1"]
    old, new = webm(3000, seed=1), webm(3000, seed=2)
    old_id = init(api, old).json()["id"]
    api.chunk(old_id, 0, old[:1000])
    fresh = init(api, new).json()
    assert fresh["take"] == 1 and fresh["id"] != old_id and fresh["received"] == 0
    assert not Recording.objects.filter(pk=old_id).exists()
