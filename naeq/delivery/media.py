"""Where the pictures and recordings of an instrument's items live.

Item media are as secret as the items: they are kept under ``settings.DATA_DIR / "instrument-media" /
<instrument id>``, never under MEDIA_ROOT or the static files, and reach a test taker only through the attempt's
media view, which checks the session window like the item content does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from naeq.core.errors import InvalidInput

#: Extension -> media kind. SVG is left out on purpose: it can carry script.
MEDIA_EXTENSIONS = {"png": "image", "jpg": "image", "jpeg": "image", "gif": "image",
                    "mp3": "audio", "ogg": "audio", "wav": "audio", "m4a": "audio"}
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
                 "mp3": "audio/mpeg", "ogg": "audio/ogg", "wav": "audio/wav", "m4a": "audio/mp4"}
MAX_MEDIA_BYTES = 20 * 1024 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


def media_problem(name: str) -> str | None:
    """Why ``name`` cannot be a media file name (a bare name with a known extension), or None."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        return _("文件名“%(name)s”不合法：只能使用字母、数字、下划线、连字符和点，不能包含路径。") % {"name": name}
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in MEDIA_EXTENSIONS:
        return _("文件“%(name)s”的类型不受支持：只接受 %(exts)s。") % {
            "name": name, "exts": "、".join(sorted(MEDIA_EXTENSIONS))}
    return None


def media_kind(name: str) -> str:
    return MEDIA_EXTENSIONS.get(name.rsplit(".", 1)[-1].lower(), "")


def media_content_type(name: str) -> str:
    return CONTENT_TYPES.get(name.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def media_root() -> Path:
    return Path(settings.DATA_DIR) / "instrument-media"


def media_path(instrument: Any, name: str) -> Path:
    """The file of media ``name`` of ``instrument``. Raises :class:`InvalidInput` for a name that is not a bare
    file name with a known extension (no traversal out of the instrument's folder)."""
    problem = media_problem(name)
    if problem:
        raise InvalidInput(problem, code="bad_media_name")
    folder = (media_root() / str(int(instrument.pk))).resolve()
    path = (folder / name).resolve()
    if path.parent != folder:  # belt and braces: the name pattern already excludes separators
        raise InvalidInput(_("文件名不合法。"), code="bad_media_name")
    return path


def media_store(instrument: Any, name: str, data: bytes) -> Path:
    """Write one media file of ``instrument`` (atomically: a temporary file renamed into place)."""
    path = media_path(instrument, name)
    if len(data) > MAX_MEDIA_BYTES:
        raise InvalidInput(_("文件“%(name)s”超过20 MB。") % {"name": name}, code="media_too_large")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def media_read(instrument: Any, name: str) -> bytes | None:
    """The bytes of a stored media file, or None when there is none."""
    path = media_path(instrument, name)
    return path.read_bytes() if path.is_file() else None
