"""Publishing, export secrecy, versions, the media store and the ``naeq items`` command line.

Issue 4, "Secrecy": "Only national staff can export items." Item media are secret too: they live under the data
directory, never under MEDIA_ROOT or the static files, and a name can never leave the instrument's folder.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from naeq.accounts.roles import Role
from naeq.cli import main
from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.core.models import AuditEvent
from naeq.delivery.items import (
    instrument_export_qti,
    instrument_import,
    instrument_list,
    instrument_publish,
    workbook_write,
)
from naeq.delivery.media import media_path, media_read, media_store
from naeq.delivery.models import Instrument, InstrumentStatus
from tests.delivery.test_items_validation import PNG, paper_spec
from tests.personas import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(cycle: Any, settings: Any, tmp_path: Path) -> Instrument:
    settings.DATA_DIR = tmp_path
    return instrument_import(actor=None, year=cycle.year, data=workbook_write(paper_spec()), file_name="m.xlsx",
                             media={"pic.png": PNG})


def test_publish_retires_the_previous_version(cycle: Any, draft: Instrument, world: World) -> None:
    admin = world.users["national_admin@A"]
    instrument_publish(actor=admin, instrument_id=draft.pk)
    v2 = instrument_import(actor=admin, year=cycle.year, data=workbook_write(paper_spec()), media={"pic.png": PNG})
    assert v2.version == 2 and v2.status == InstrumentStatus.DRAFT and v2.created_by == admin
    instrument_publish(actor=admin, instrument_id=v2.pk)
    draft.refresh_from_db()
    v2.refresh_from_db()
    assert draft.status == InstrumentStatus.RETIRED and v2.status == InstrumentStatus.PUBLISHED
    assert v2.published_at is not None
    event = AuditEvent.objects.filter(action="delivery.instrument_publish").latest("id")
    assert event.after["retired"] == [1] and event.actor_label == admin.username
    with pytest.raises(InvalidInput) as exc:  # a retired or published version is not published again
        instrument_publish(actor=admin, instrument_id=draft.pk)
    assert exc.value.code == "not_draft"
    assert Instrument.objects.filter(code="math", status=InstrumentStatus.PUBLISHED).count() == 1


def test_only_national_staff_export(draft: Instrument, world: World) -> None:
    for role in Role:
        actor = world.users[f"{role.value}@A"]
        if role in (Role.NATIONAL_ADMIN, Role.NATIONAL_ANALYST):
            data = instrument_export_qti(actor=actor, instrument_id=draft.pk)
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                assert "items/T01.xml" in z.namelist()
            event = AuditEvent.objects.filter(action="delivery.instrument_export").latest("id")
            assert event.actor_label == actor.username and event.object_id == str(draft.pk)
            assert event.after["version"] == 1 and event.after["format"] == "qti3"
        else:
            before = AuditEvent.objects.count()
            with pytest.raises(PermissionDenied):
                instrument_export_qti(actor=actor, instrument_id=draft.pk)
            assert AuditEvent.objects.count() == before, role


def test_only_the_national_admin_imports_and_publishes(cycle: Any, draft: Instrument, world: World) -> None:
    data = workbook_write(paper_spec())
    with pytest.raises(PermissionDenied):
        instrument_import(actor=world.users["national_analyst@A"], year=cycle.year, data=data)
    with pytest.raises(PermissionDenied):
        instrument_publish(actor=world.users["national_analyst@A"], instrument_id=draft.pk)
    for persona in ("province_coordinator@A", "county_liaison@B", "school_head@A", "student@A"):
        with pytest.raises(NotFound):
            instrument_import(actor=world.users[persona], year=cycle.year, data=data)
        with pytest.raises(NotFound):
            instrument_publish(actor=world.users[persona], instrument_id=draft.pk)
        with pytest.raises(NotFound):
            instrument_list(actor=world.users[persona], year=cycle.year)
    assert Instrument.objects.count() == 1
    assert list(instrument_list(actor=world.users["national_analyst@B"], year=cycle.year)) == [draft]


def test_import_is_audited_with_the_file_hash(draft: Instrument) -> None:
    event = AuditEvent.objects.get(action="delivery.instrument_import")
    assert event.object_id == str(draft.pk) and event.after["sha256"] == draft.sha256 and len(draft.sha256) == 64
    assert event.after["items"] == 11 and event.after["media"] == ["pic.png"]


def test_media_are_stored_outside_public_folders(draft: Instrument, settings: Any, tmp_path: Path) -> None:
    path = media_path(draft, "pic.png")
    assert path == (tmp_path / "instrument-media" / str(draft.pk) / "pic.png").resolve()
    assert path.read_bytes() == PNG and media_read(draft, "pic.png") == PNG
    assert not str(path).startswith(str(Path(settings.MEDIA_ROOT).resolve()))
    assert not str(path).startswith(str(Path(settings.STATIC_ROOT).resolve()))


@pytest.mark.parametrize("name", ["../pic.png", "../../secret_key", "a/b.png", "/etc/passwd", "..", ".png",
                                  "x.png/..", "pic.exe", "pic.svg", "pic", "pi c.png", "..\\x.png"])
def test_media_names_cannot_traverse_or_smuggle(draft: Instrument, name: str) -> None:
    with pytest.raises(InvalidInput):
        media_path(draft, name)
    with pytest.raises(InvalidInput):
        media_store(draft, name, b"x")


# ------------------------------------------------------------------------------------------------ CLI


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_round_trip(cycle: Any, settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    template = tmp_path / "template.xlsx"
    assert _run("items", "template", str(template)).exit_code == 0 and template.stat().st_size > 0
    workbook, media = tmp_path / "math.xlsx", tmp_path / "media"
    workbook.write_bytes(workbook_write(paper_spec()))
    media.mkdir()
    (media / "pic.png").write_bytes(PNG)
    result = _run("items", "import", "--year", str(cycle.year), "--media", str(media), "--publish", str(workbook))
    assert result.exit_code == 0, result.output
    assert "imported math v1 [published]" in result.output and "11 items" in result.output
    package = tmp_path / "math.zip"
    result = _run("items", "export-qti", "--year", str(cycle.year), "--code", "math", str(package))
    assert result.exit_code == 0 and zipfile.is_zipfile(package)
    result = _run("items", "import-qti", "--year", str(cycle.year), "--code", "math", str(package))
    assert result.exit_code == 0 and "imported math v2 [draft]" in result.output
    result = _run("items", "publish", "--year", str(cycle.year), "--code", "math")
    assert result.exit_code == 0 and "published math v2" in result.output
    listing = _run("items", "list", "--year", str(cycle.year)).output
    assert "retired" in listing and "published" in listing
    assert list(Instrument.objects.order_by("version").values_list("status", flat=True)) == ["retired", "published"]


def test_cli_broken_workbook_lists_problems_and_imports_nothing(cycle: Any, settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    spec = paper_spec()
    spec.items[0].key = "Z"
    workbook = tmp_path / "broken.xlsx"
    workbook.write_bytes(workbook_write(spec))
    result = CliRunner().invoke(main, ["items", "import", "--year", str(cycle.year), str(workbook)])
    assert result.exit_code == 1
    assert "题目 row 2, 答案: T01：答案“Z”不是选项编号之一" in result.output
    assert "没有找到文件“pic.png”" in result.output  # no --media given
    assert Instrument.objects.count() == 0


def test_cli_help_and_usage_errors() -> None:
    for verb in ("template", "import", "export-qti", "import-qti", "list", "publish"):
        result = CliRunner().invoke(main, ["items", verb, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, verb
    result = CliRunner().invoke(main, ["items", "import", "nope.xlsx"])
    assert result.exit_code == 2
