"""Where recorded responses live: ``settings.DATA_DIR / "recordings" / <attempt id> / <item>-<take>.webm``.

Recordings are as confidential as answers: never under MEDIA_ROOT or the static files. A take being uploaded
is a partial file (``.part``) that only ever grows by the chunk the server expects next; before each append the
file is cut back to the length the database says was received, so a chunk written to disk whose transaction then
failed is simply written again. On completion the partial file is checked (length, SHA-256, the WebM/EBML magic)
and renamed into place atomically. File names are built from the attempt id, the item code (already restricted to
``[A-Za-z0-9_-]`` by the item bank) and the take number — never from anything the browser sends.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

#: The first four bytes of every WebM (Matroska/EBML) file.
WEBM_MAGIC = b"\x1a\x45\xdf\xa3"
_ITEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,39}$")


@dataclass(frozen=True)
class RecordingStore:
    folder: str = "recordings"

    def root(self) -> Path:
        return Path(settings.DATA_DIR) / self.folder

    def path(self, attempt_id: int, item: str, take: int, *, partial: bool = False) -> Path:
        if not _ITEM.fullmatch(item):
            raise ValueError(f"bad item code {item!r}")
        name = f"{item}-{int(take)}.webm" + (".part" if partial else "")
        return self.root() / str(int(attempt_id)) / name

    def append(self, attempt_id: int, item: str, take: int, received: int, data: bytes) -> int:
        """Write ``data`` at offset ``received`` of the partial file (cut back to ``received`` first), flushed
        to disk; returns the new length."""
        path = self.path(attempt_id, item, take, partial=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as fh:
            fh.truncate(received)
        with open(path, "r+b") as fh:
            fh.seek(received)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return received + len(data)

    def digest(self, attempt_id: int, item: str, take: int, length: int) -> tuple[str, bytes]:
        """SHA-256 (hex) and the first bytes of the partial file's first ``length`` bytes."""
        path = self.path(attempt_id, item, take, partial=True)
        h = hashlib.sha256()
        head = b""
        left = length
        with open(path, "rb") as fh:
            while left > 0:
                block = fh.read(min(left, 1 << 20))
                if not block:
                    break
                if not head:
                    head = block[:16]
                h.update(block)
                left -= len(block)
        return h.hexdigest(), head

    def discard(self, attempt_id: int, item: str, take: int) -> None:
        self.path(attempt_id, item, take, partial=True).unlink(missing_ok=True)

    def finish(self, attempt_id: int, item: str, take: int, length: int) -> Path:
        part = self.path(attempt_id, item, take, partial=True)
        with open(part, "r+b") as fh:
            fh.truncate(length)
            os.fsync(fh.fileno())
        final = self.path(attempt_id, item, take)
        part.replace(final)
        return final

    def read(self, attempt_id: int, item: str, take: int) -> bytes | None:
        path = self.path(attempt_id, item, take)
        return path.read_bytes() if path.is_file() else None


RECORDINGS = RecordingStore()
