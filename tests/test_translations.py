"""English must be available for every UI string (the source strings are Chinese), and the compiled catalogue
must be the one the .po file says.

Uses GNU gettext (Debian's ``gettext``, installed by ``./run``) and Django's ``makemessages`` on a copy of the
package, so a string marked for translation anywhere in the code or templates but missing from the English
catalogue fails here, with its text.
"""

from __future__ import annotations

import gettext
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import naeq

PACKAGE = Path(naeq.__file__).resolve().parent
PO = PACKAGE / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install Debian's gettext (./run does)")
    return path


def _catalog(mo: Path) -> dict[str, str]:
    with mo.open("rb") as fh:
        catalog = dict(gettext.GNUTranslations(fh)._catalog)  # type: ignore[attr-defined]
    catalog.pop("", None)  # the header
    return {str(k): str(v) for k, v in catalog.items()}


def _msgids(po: Path) -> set[str]:
    out = subprocess.run([_tool("msgcat"), "--no-wrap", "--no-location", "--sort-output", str(po)],
                         capture_output=True, text=True, check=True).stdout
    ids: set[str] = set()
    for block in out.split("\n\n"):
        lines = [ln for ln in block.splitlines() if not ln.startswith("#")]
        ids.update(ln[len('msgid "'):-1] for ln in lines if ln.startswith('msgid "') and ln != 'msgid ""')
    return ids


def test_every_entry_is_translated_and_none_is_fuzzy() -> None:
    untranslated = subprocess.run([_tool("msgattrib"), "--untranslated", "--no-obsolete", str(PO)],
                                  capture_output=True, text=True, check=True).stdout
    assert "msgid" not in untranslated.replace('msgid ""\nmsgstr ""', "", 1), untranslated[:2000]
    fuzzy = subprocess.run([_tool("msgattrib"), "--only-fuzzy", "--no-obsolete", str(PO)],
                           capture_output=True, text=True, check=True).stdout
    assert "msgid" not in fuzzy, fuzzy[:2000]


def test_compiled_catalogue_matches_the_po_file(tmp_path: Path) -> None:
    fresh = tmp_path / "django.mo"
    subprocess.run([_tool("msgfmt"), "--check", "-o", str(fresh), str(PO)], check=True)
    assert _catalog(MO) == _catalog(fresh), "django.mo is stale: run msgfmt -o django.mo django.po"


def test_every_marked_string_is_in_the_catalogue(tmp_path: Path) -> None:
    """Run makemessages on a copy of the package and compare its msgids with the committed catalogue."""
    _tool("xgettext")
    copy = tmp_path / "naeq"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "static"))
    shutil.rmtree(copy / "locale")
    (copy / "locale").mkdir()
    # PYTHONPATH puts the copy first, so its settings point LOCALE_PATHS at the copy: the real catalogue is
    # never written to.
    code = "import sys; from django.core.management import execute_from_command_line as run; run(sys.argv)"
    done = subprocess.run([sys.executable, "-c", code, "makemessages", "-l", "en", "--no-location", "--no-obsolete"],
                   cwd=tmp_path, check=False, capture_output=True, text=True, env={
                       "PATH": str(Path(_tool("xgettext")).parent) + ":/usr/bin:/bin",
                       "DJANGO_SETTINGS_MODULE": "naeq.settings", "NAEQ_DATA_DIR": str(tmp_path / "var"),
                       "PYTHONPATH": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    generated = _msgids(copy / "locale" / "en" / "LC_MESSAGES" / "django.po")
    missing = sorted(generated - _msgids(PO))
    assert not missing, f"{len(missing)} strings are not in the English catalogue, e.g. {missing[:20]}"
