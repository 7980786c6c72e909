"""``naeq marking collect-recordings`` and the severity block of ``naeq marking agreement`` (in-process through
click's runner, against the test database)."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from naeq.marking import services
from naeq.marking.cli import marking_group
from naeq.marking.models import Assignment, MarkResponse
from tests.marking.audio_world import add_audio_raters, build_audio_world


def test_collect_recordings_and_severity_on_the_command_line(world: Any, cycle: Any, settings: Any,
                                                             tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    aw = build_audio_world(world, cycle, n=4)
    runner = CliRunner()
    r = runner.invoke(marking_group, ["collect-recordings"])
    assert r.exit_code == 0, r.output
    assert "新增待评录音 8 份，已收集过 0 份，改用重录 0 份，已评不再更换 0 份，仍在上传 0 份" in r.output
    assert "已收集过 8 份" in runner.invoke(marking_group, ["collect-recordings"]).output
    services.settings_update(actor=aw.admin, cycle=cycle, double_share="1", check_rate="0")
    p, q = add_audio_raters(aw)
    services.assign(actor=aw.admin, cycle=cycle, instrument_code="english", item_code="E01", seed=1)
    for resp in MarkResponse.objects.filter(item_code="E01"):
        services.score_submit(actor=p, assignment_id=Assignment.objects.get(response=resp, rater=p).pk, score=1)
        services.score_submit(actor=q, assignment_id=Assignment.objects.get(response=resp, rater=q).pk, score=2)
    out = runner.invoke(marking_group, ["agreement"]).output
    # P is one point below Q on all four: SE 0, z infinite, flagged
    assert "评分员宽严\tn\t平均分差\t标准误\tz\t预警" in out
    assert "评分员P · english/E01\t4\t-1.000\t0.000\t-inf\tseverity" in out
    assert "评分员Q · english/E01\t4\t1.000\t0.000\tinf\tseverity" in out
