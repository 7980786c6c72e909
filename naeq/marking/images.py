"""Where the scanned writing-box images of paper responses live: the secret store.

Responses are as confidential as the items they answer: images are kept under ``settings.DATA_DIR /
"marking-images" / <cycle id>``, never under MEDIA_ROOT or the static files, named by the anonymous response ID
(the original scan name is not kept), and reach a rater only through :func:`naeq.marking.access
.response_image_access`.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

#: Magic numbers of the image formats a browser shows. TIFF (common from scanners) is refused: browsers do not
#: display it, so the scanning software must export PNG or JPEG.
SIGNATURES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg"}
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg"}
MAX_IMAGE_BYTES = 10 * 1024 * 1024
_STORED = re.compile(r"^R[A-Z0-9]{10}\.(png|jpg)$")


def image_kind(data: bytes) -> str | None:
    """``png`` or ``jpg`` from the file's first bytes, or None when it is neither."""
    for magic, kind in SIGNATURES.items():
        if data.startswith(magic):
            return kind
    return None


def image_root() -> Path:
    return Path(settings.DATA_DIR) / "marking-images"


def image_path(cycle_id: int, name: str) -> Path:
    if not _STORED.fullmatch(name):
        raise ValueError(f"not a stored image name: {name!r}")
    return image_root() / str(int(cycle_id)) / name


def image_store(cycle_id: int, name: str, data: bytes) -> Path:
    """Write one image atomically (a temporary file renamed into place)."""
    path = image_path(cycle_id, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def image_read(cycle_id: int, name: str) -> bytes | None:
    path = image_path(cycle_id, name)
    return path.read_bytes() if path.is_file() else None


def image_content_type(name: str) -> str:
    return CONTENT_TYPES.get(name.rsplit(".", 1)[-1], "application/octet-stream")
