"""Where uploaded self-check evidence (photos, PDFs), per self-check, lives:
the shared secret store of :mod:`naeq.core.filestore` under ``DATA_DIR / "readiness-evidence" / <id>``;
read only through the app's access-checked evidence view."""

from __future__ import annotations

from pathlib import Path

from naeq.core.filestore import FileStore, clean_original_name

STORE = FileStore(folder="readiness-evidence", extensions=("png", "jpg", "jpeg", "pdf"), max_bytes=10 * 1024 * 1024)
EVIDENCE_TYPES = STORE.types
MAX_EVIDENCE_BYTES = STORE.max_bytes
check_upload = STORE.check_upload
evidence_path = STORE.path
evidence_store = STORE.store
evidence_read = STORE.read
evidence_unlink = STORE.unlink

__all__ = ["EVIDENCE_TYPES", "MAX_EVIDENCE_BYTES", "STORE", "check_upload", "clean_original_name", "evidence_path",
           "evidence_read", "evidence_root", "evidence_store", "evidence_unlink"]


def evidence_root() -> Path:
    return STORE.root()
