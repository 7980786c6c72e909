"""Where report attachments live: ``settings.DATA_DIR / "timeline-attachments" / <report id> / <random name>``.

Like the instrument media (:mod:`naeq.delivery.media`) they never sit under MEDIA_ROOT or the static files and are
served only through a view that checks the reader's jurisdiction. The stored name is random; the uploaded name is
kept for display and download only. The content must match the extension (magic bytes), so a renamed executable
is refused.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from naeq.core.errors import InvalidInput

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 10
#: Extension -> (content type, accepted leading bytes). Office files are ZIP containers.
TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
}
_BAD_NAME = re.compile(r"[\\/\x00-\x1f]")


def root() -> Path:
    return Path(settings.DATA_DIR) / "timeline-attachments"


def check(name: str, data: bytes) -> tuple[str, str]:
    """(clean display name, content type) of an upload, or :class:`InvalidInput` with the precise reason."""
    name = (name or "").strip()
    if not name or len(name) > 120 or _BAD_NAME.search(name) or name.startswith("."):
        raise InvalidInput(_("文件名“%(name)s”不合法：不能为空、不能超过120个字符、不能包含路径。")
                           % {"name": name[:120]}, code="bad_attachment")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in TYPES:
        raise InvalidInput(_("文件“%(name)s”的类型不受支持：只接受 %(exts)s。")
                           % {"name": name, "exts": "、".join(sorted(TYPES))}, code="bad_attachment")
    if not data:
        raise InvalidInput(_("文件“%(name)s”是空文件。") % {"name": name}, code="bad_attachment")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise InvalidInput(_("文件“%(name)s”超过10 MB。") % {"name": name}, code="bad_attachment")
    content_type, magics = TYPES[ext]
    if not any(data.startswith(m) for m in magics):
        raise InvalidInput(_("文件“%(name)s”的内容与扩展名 .%(ext)s 不符。") % {"name": name, "ext": ext},
                           code="bad_attachment")
    return name, content_type


def store(report_id: int, name: str, data: bytes) -> tuple[str, str]:
    """Write ``data`` (atomically) and return (stored name, sha256)."""
    ext = name.rsplit(".", 1)[-1].lower()
    stored = f"{secrets.token_hex(16)}.{ext}"
    folder = root() / str(int(report_id))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / stored
    tmp = folder / f".{stored}.tmp"
    tmp.write_bytes(data)
    tmp.replace(path)
    return stored, hashlib.sha256(data).hexdigest()


def read(report_id: int, stored_name: str) -> bytes | None:
    if not re.fullmatch(r"[0-9a-f]{32}\.[a-z]{3,4}", stored_name):
        return None
    path = root() / str(int(report_id)) / stored_name
    return path.read_bytes() if path.is_file() else None


def remove(report_id: int, stored_name: str) -> None:
    if re.fullmatch(r"[0-9a-f]{32}\.[a-z]{3,4}", stored_name):
        (root() / str(int(report_id)) / stored_name).unlink(missing_ok=True)
