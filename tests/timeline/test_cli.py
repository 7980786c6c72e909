"""``naeq timeline``: every verb has --help; remind is idempotent per day; a broken configuration is reported with
its line and field and exit code 1 (through naeq's error rendering)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.core import mail
from django.test import override_settings

from naeq.timeline.cli import timeline
from naeq.timeline.config import CONFIG_DIR
from tests.personas import World


@pytest.mark.parametrize("verb", [[], ["milestones"], ["check-config"], ["remind"]])
def test_help(verb: list[str]) -> None:
    result = CliRunner().invoke(timeline, [*verb, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_milestones_lists_deadlines(sample: World, cycle: Any) -> None:
    result = CliRunner().invoke(timeline, ["milestones"])
    assert result.exit_code == 0, result.output
    assert "2024-05-21  county   instrument_receipt" in result.output


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_remind_dry_run_then_send_once(sample: World, cycle: Any, django_capture_on_commit_callbacks: Any) -> None:
    u = sample.users["county_liaison@A"]
    u.email = "liaison@example.org"
    u.save(update_fields=["email"])
    dry = CliRunner().invoke(timeline, ["remind", "--date", "2024-05-10", "--dry-run"])
    assert dry.exit_code == 0 and "would send: county_liaison_a <liaison@example.org>" in dry.output
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        first = CliRunner().invoke(timeline, ["remind", "--date", "2024-05-10"])
    assert "sent 1 e-mail(s), skipped 0" in first.output and len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        second = CliRunner().invoke(timeline, ["remind", "--date", "2024-05-10"])
    assert "sent 0 e-mail(s), skipped 1" in second.output and len(mail.outbox) == 1


def test_check_config(tmp_path: Path, db: None) -> None:
    ok = CliRunner().invoke(timeline, ["check-config", "--year", "2024"])
    assert ok.exit_code == 0 and "ok: 16 milestones" in ok.output
    (tmp_path / "default.yaml").write_text((CONFIG_DIR / "default.yaml").read_text(encoding="utf-8")
                                           .replace("level: province", "level: nation", 1), encoding="utf-8")
    from naeq.cli import NaeqGroup

    group = NaeqGroup(commands={"timeline": timeline})
    bad = CliRunner().invoke(group, ["timeline", "check-config", "--year", "2024", "--dir", str(tmp_path)])
    assert bad.exit_code == 1
    assert "level" in bad.output and "nation" in bad.output and "row" in bad.output
