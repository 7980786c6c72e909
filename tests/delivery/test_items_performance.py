"""The settings of listening and recorded tasks in the item bank's files (issue 9): the workbook's 播放次数 / 录音 /
录音时长 columns on 题目, 播放次数 on 共享材料 and ``文件名（n次）`` in 图片/音频; QTI ``qti-media-interaction
max-plays`` and ``data-naeq-record*``. Bad values name the sheet, row, column and reason and import nothing; a
workbook goes through the import into the take API, whose play limit and recorded items follow it.

Issue 9, item 1: "audio stimuli played by the test client with the play limits the item sets (e.g. at most
twice)"; item 2: "singing and speaking tasks recorded in the browser (... a fixed recording length)".
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from django.test import Client

from naeq.core.errors import InvalidInput, Problem
from naeq.core.models import AuditEvent
from naeq.delivery.attempts import attempt_start
from naeq.delivery.items import (
    InstrumentSpec,
    ItemSpec,
    StimulusSpec,
    instrument_import,
    instrument_import_qti,
    instrument_spec,
    package_read,
    package_write,
    workbook_read,
    workbook_write,
)
from naeq.delivery.models import Instrument, ItemType
from tests.delivery.factories import make_session, make_taker
from tests.delivery.test_items_validation import _xlsx
from tests.performance.conftest import Api, sign_in
from tests.performance.world import sine_wav
from tests.personas import World

pytestmark = pytest.mark.django_db

D = {"dimension": "英语听力与口语", "indicator_1": "听力理解"}
OPTS = [{"value": "A", "label": "唱歌"}, {"value": "B", "label": "跑步"}]
WAV = sine_wav(0.05)
MEDIA = {"dialogue.wav": WAV, "beat.wav": WAV, "a.wav": WAV, "b.wav": WAV}


def listening_spec() -> InstrumentSpec:
    """Rows 2..6 of 题目 in this order; U1 is row 2 of 共享材料."""
    items = [
        ItemSpec("L01", ItemType.SINGLE, "录音里的人在做什么？", block="B1", screen=1, options=OPTS, key="A",
                 max_score=1, stimulus="U1", **D),
        ItemSpec("L02", ItemType.SINGLE, "这首曲子是什么节拍？", block="B1", screen=2, options=OPTS, key="B",
                 max_score=1, media=[{"kind": "audio", "file": "beat.wav", "alt": ""}],
                 constraints={"play_limit": 1}, **D),
        ItemSpec("L03", ItemType.SINGLE, "两段录音哪一段更快？", block="B1", screen=3, options=OPTS, key="A",
                 max_score=1, constraints={"play_limit": 1},
                 media=[{"kind": "audio", "file": "a.wav", "alt": "", "play_limit": 2},
                        {"kind": "audio", "file": "b.wav", "alt": ""}], **D),
        ItemSpec("E01", ItemType.OPEN, "Please introduce your school.", block="B2", screen=1, max_score=4,
                 constraints={"record": "speaking", "record_seconds": 6}, **D),
        ItemSpec("S01", ItemType.OPEN, "请演唱《茉莉花》的第一段。", block="B2", screen=2, max_score=4,
                 constraints={"record": "singing"}, **D),
    ]
    dialogue = {"kind": "audio", "file": "dialogue.wav", "alt": "", "play_limit": 2}
    return InstrumentSpec(code="app_english", kind="test", items=items,
                          stimuli=[StimulusSpec("U1", "听力材料", "", media=[dialogue])])


def _problems(cycle: Any, data: bytes) -> list[Problem]:
    before = (Instrument.objects.count(), AuditEvent.objects.filter(action="delivery.instrument_import").count())
    with pytest.raises(InvalidInput) as exc:
        instrument_import(actor=None, year=cycle.year, data=data, file_name="listening.xlsx", media=MEDIA)
    assert "没有导入任何内容" in exc.value.message
    after = (Instrument.objects.count(), AuditEvent.objects.filter(action="delivery.instrument_import").count())
    assert after == before  # nothing imported, nothing audited
    return exc.value.problems


def _one(problems: list[Problem], sheet: str, row: int, column: str, text: str) -> Problem:
    hits = [p for p in problems if (p.file, p.row, p.field) == (sheet, row, column) and text in p.reason]
    assert len(hits) == 1, [(p.file, p.row, p.field, p.reason) for p in problems]
    return hits[0]


def test_the_template_has_the_columns_with_their_notes() -> None:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(workbook_write()))
    head = [c.value for c in wb["题目"][1]]
    assert head[-3:] == ["播放次数", "录音", "录音时长"]
    notes = {c.value: c.comment.text for c in wb["题目"][1] if c.comment}
    assert "不小于1的整数" in notes["播放次数"] and "口语" in notes["录音"] and "5～600" in notes["录音时长"]
    assert [c.value for c in wb["共享材料"][1]] == ["编号", "标题", "内容", "图片/音频", "播放次数"]
    explained = [row[0] for row in wb["填写说明"].iter_rows(values_only=True)]
    assert {"播放次数", "录音", "录音时长"} <= set(explained)
    lists = [dv.formula1 for dv in wb["题目"].data_validations.dataValidation]
    assert '"口语,演唱"' in lists


def test_written_workbook_carries_the_settings_and_reads_back_equal() -> None:
    from openpyxl import load_workbook

    data = workbook_write(listening_spec())
    wb = load_workbook(io.BytesIO(data))
    rows = {r[0]: dict(zip([c.value for c in wb["题目"][1]], r, strict=True))
            for r in wb["题目"].iter_rows(min_row=2, values_only=True)}
    assert (rows["L02"]["播放次数"], rows["L02"]["录音"]) == (1, None)
    assert rows["L03"]["图片/音频"] == "a.wav（2次）\nb.wav"
    assert (rows["E01"]["录音"], rows["E01"]["录音时长"]) == ("口语", 6)
    assert (rows["S01"]["录音"], rows["S01"]["录音时长"]) == ("演唱", None)
    assert rows["E01"]["作答限制"] in (None, "")  # not repeated in 作答限制
    assert list(wb["共享材料"].iter_rows(min_row=2, values_only=True)) == [("U1", "听力材料", None, "dialogue.wav", 2)]
    spec, problems = workbook_read(data)
    assert problems == []
    want = listening_spec()
    for got, it in zip(spec.items, want.items, strict=True):
        assert (got.code, got.constraints, got.media) == (it.code, it.constraints, it.media)
    assert spec.stimuli[0].media == want.stimuli[0].media


def test_a_workbook_becomes_play_limits_and_recorded_items_of_the_take_api(
        cycle: Any, world: World, settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    # Written by hand: English header names, Chinese values, a file's own limit, no 播放次数 on 共享材料.
    data = _xlsx(listening_spec(), [
        ("题目", 1, "播放次数", "play_limit"), ("题目", 1, "录音", "record"), ("题目", 1, "录音时长", "record_seconds"),
        ("题目", 6, "record", "speaking"), ("共享材料", 2, "图片/音频", "dialogue.wav（2次）"),
        ("共享材料", 2, "播放次数", None)])
    inst = instrument_import(actor=None, year=cycle.year, data=data, file_name="listening.xlsx", media=MEDIA,
                             publish=True)
    items = {it.code: it for it in inst.items.all()}
    assert items["L02"].constraints == {"play_limit": 1}
    assert items["L03"].media[0]["play_limit"] == 2 and "play_limit" not in items["L03"].media[1]
    assert items["E01"].constraints == {"record": "speaking", "record_seconds": 6}
    assert items["S01"].constraints == {"record": "speaking"}
    assert inst.stimuli.get(code="U1").media[0]["play_limit"] == 2

    school = world.schools["A1a-1"]
    session = make_session(cycle, school, instruments=["app_english"], title="学生英语测试")
    attempt = attempt_start(taker=make_taker(cycle, school, "S0901"), session=session, instrument_code="app_english")
    assert attempt.instrument_id == inst.pk
    client = Client()
    sign_in(client, attempt)
    api = Api(client, attempt)

    def plays(kind: str, owner: str, media: str, n: int) -> None:
        for k in range(1, n + 1):
            r = api.post("play", {"owner_kind": kind, "owner": owner, "media": media})
            assert r.status_code == 200 and r.json()["plays"] == k and r.json()["limit"] == n, r.content
        refused = api.post("play", {"owner_kind": kind, "owner": owner, "media": media})
        assert refused.status_code == 409 and refused.json()["error"] == "play_limit"
        assert f"最多只能播放 {n} 次" in refused.json()["message"]

    plays("stimulus", "U1", "dialogue.wav", 2)   # 共享材料: the file's own （2次）
    plays("item", "L02", "beat.wav", 1)          # 题目 播放次数
    plays("item", "L03", "a.wav", 2)             # its own limit wins over the item's
    plays("item", "L03", "b.wav", 1)             # the item's
    take = {"size": 100, "sha256": "0" * 64, "mime": "audio/webm;codecs=opus", "duration_ms": 6000}
    assert api.post("recordings", {"item": "E01", **take}).status_code == 200   # 录音 = a recorded item
    assert api.post("recordings", {"item": "L02", **take}).status_code == 404   # not one


def test_an_old_workbook_without_the_columns_still_imports(cycle: Any, settings: Any, tmp_path: Any) -> None:
    from openpyxl import load_workbook

    settings.DATA_DIR = tmp_path
    spec = listening_spec()
    for it in spec.items:
        it.constraints = {}
        it.media = [{k: v for k, v in m.items() if k != "play_limit"} for m in it.media]
    spec.stimuli[0].media[0].pop("play_limit")
    wb = load_workbook(io.BytesIO(workbook_write(spec)))
    wb["题目"].delete_cols(20, 3)
    wb["共享材料"].delete_cols(5)
    out = io.BytesIO()
    wb.save(out)
    inst = instrument_import(actor=None, year=cycle.year, data=out.getvalue(), media=MEDIA)
    assert all(it.constraints == {} for it in inst.items.all())


@pytest.mark.parametrize(("cells", "sheet", "row", "column", "reason"), [
    ([("题目", 3, "播放次数", 0)], "题目", 3, "播放次数", "L02：播放次数“0”必须是不小于1的整数"),
    ([("题目", 3, "播放次数", "两次")], "题目", 3, "播放次数", "L02：播放次数“两次”必须是不小于1的整数"),
    ([("题目", 3, "播放次数", 1.5)], "题目", 3, "播放次数", "必须是不小于1的整数"),
    ([("题目", 5, "播放次数", 2)], "题目", 5, "播放次数", "E01：填写了播放次数，但本题和它的共享材料都没有音频"),
    ([("题目", 5, "录音", "唱歌吧")], "题目", 5, "录音", "E01：录音“唱歌吧”看不懂"),
    ([("题目", 3, "录音", "口语")], "题目", 3, "录音", "L02：只有开放题可以录音作答"),
    ([("题目", 5, "录音时长", 4)], "题目", 5, "录音时长", "E01：录音时长必须是5～600的整数"),
    ([("题目", 5, "录音时长", 601)], "题目", 5, "录音时长", "录音时长必须是5～600的整数"),
    ([("题目", 5, "录音时长", "一分钟")], "题目", 5, "录音时长", "E01：录音时长“一分钟”必须是整数"),
    ([("题目", 5, "录音", None)], "题目", 5, "录音时长", "E01：录音时长只用于录音题"),
    ([("题目", 4, "图片/音频", "a.wav（零次）\nb.wav")], "题目", 4, "图片/音频", "L03：“a.wav（零次）”的播放次数"),
    ([("共享材料", 2, "播放次数", -1)], "共享材料", 2, "播放次数", "U1：播放次数“-1”必须是不小于1的整数"),
    ([("共享材料", 2, "播放次数", "x")], "共享材料", 2, "播放次数", "U1：播放次数“x”必须是不小于1的整数"),
])
def test_a_bad_value_names_sheet_row_column_and_reason(cycle: Any, settings: Any, tmp_path: Any,
                                                       cells: list[Any], sheet: str, row: int, column: str,
                                                       reason: str) -> None:
    settings.DATA_DIR = tmp_path
    _one(_problems(cycle, _xlsx(listening_spec(), cells)), sheet, row, column, reason)


def test_record_needs_an_open_item_with_a_score_and_limits_need_audio(cycle: Any, settings: Any,
                                                                      tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    spec = listening_spec()
    spec.items[3].max_score = 0  # E01
    spec.items[0].media = [{"kind": "image", "file": "pic.png", "alt": "", "play_limit": 2}]
    spec.stimuli.append(StimulusSpec("U2", "图", "正文"))
    data = _xlsx(spec, [("共享材料", 3, "播放次数", 2)])
    with pytest.raises(InvalidInput) as exc:
        instrument_import(actor=None, year=cycle.year, data=data, media=MEDIA | {"pic.png": b"\x89PNG\r\n\x1a\n"})
    problems = exc.value.problems
    _one(problems, "题目", 5, "录音", "E01：录音题由评分员评分，满分必须大于0")
    _one(problems, "题目", 2, "图片/音频", "L01：只有音频可以限制播放次数（“pic.png”不是音频）")
    _one(problems, "共享材料", 3, "播放次数", "U2：填写了播放次数，但这段材料没有音频")
    assert not Instrument.objects.exists()


def test_qti_carries_the_settings_as_max_plays_and_naeq_attributes(cycle: Any, settings: Any,
                                                                   tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    spec = listening_spec()
    spec.media = dict(MEDIA)
    data = package_write(spec)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        l03, e01, u1 = (z.read(n).decode() for n in ("items/L03.xml", "items/E01.xml", "stimuli/U1.xml"))
    assert '<qti-media-interaction response-identifier="PLAYS_1" autostart="false" max-plays="2">' in l03
    assert 'max-plays="1" data-naeq-inherited="true"' in l03 and 'identifier="PLAYS_2"' in l03
    assert 'data-naeq-record="speaking"' in e01 and 'data-naeq-record-seconds="6"' in e01
    assert 'data-naeq-play-limit="2"' in u1
    back, problems = package_read(data, file_name="p.zip")
    assert problems == []
    for got, it in zip(back.items, spec.items, strict=True):
        assert (got.code, got.constraints, got.media) == (it.code, it.constraints, it.media)
    assert back.stimuli[0].media == spec.stimuli[0].media
    inst = instrument_import_qti(actor=None, year=cycle.year, code="app_english", data=data)
    again = instrument_spec(inst, with_media=False)
    assert [i.constraints for i in again.items] == [i.constraints for i in spec.items]


FOREIGN_LISTENING = """<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" identifier="X1">
  <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="identifier">
    <qti-correct-response><qti-value>A</qti-value></qti-correct-response></qti-response-declaration>
  <qti-response-declaration identifier="PLAYS" cardinality="single" base-type="integer"/>
  <qti-outcome-declaration identifier="MAXSCORE" cardinality="single" base-type="float">
    <qti-default-value><qti-value>1</qti-value></qti-default-value></qti-outcome-declaration>
  <qti-item-body data-naeq-dimension="英语" {extra}>
    <qti-media-interaction response-identifier="PLAYS" max-plays="{plays}"><audio src="../media/beat.wav"/>
    </qti-media-interaction><p>Listen.</p>
    <qti-choice-interaction response-identifier="RESPONSE" max-choices="1">
      <qti-simple-choice identifier="A">yes</qti-simple-choice><qti-simple-choice identifier="B">no</qti-simple-choice>
    </qti-choice-interaction></qti-item-body></qti-assessment-item>"""


def _foreign(plays: str, extra: str = "") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("imsmanifest.xml", '<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" identifier="p">'
                   '<resources><resource identifier="X1" type="imsqti_item_xmlv3p0" href="items/X1.xml"/>'
                   "</resources></manifest>")
        z.writestr("items/X1.xml", FOREIGN_LISTENING.format(plays=plays, extra=extra))
        z.writestr("media/beat.wav", WAV)
    return out.getvalue()


def test_a_foreign_media_interaction_gives_the_files_limit_and_bad_settings_are_refused(cycle: Any) -> None:
    spec, problems = package_read(_foreign("2"), file_name="p.zip")
    assert problems == []
    item = spec.items[0]
    assert item.type == ItemType.SINGLE and item.key == "A"  # the media interaction is not the answer
    assert item.media == [{"kind": "audio", "file": "beat.wav", "alt": "", "play_limit": 2}]
    unlimited, _ = package_read(_foreign("0"), file_name="p.zip")  # QTI: 0 is unlimited
    assert "play_limit" not in unlimited.items[0].media[0]
    data = _foreign("2", 'data-naeq-record="speaking" data-naeq-record-seconds="abc" data-naeq-play-limit="0"')
    with pytest.raises(InvalidInput) as exc:
        instrument_import_qti(actor=None, year=cycle.year, code="app_english", data=data, file_name="p.zip")
    reasons = {(p.file, p.field, p.reason) for p in exc.value.problems}
    assert ("items/X1.xml", "录音", "X1：只有开放题可以录音作答（本题的题型不是开放题）。") in reasons
    assert ("items/X1.xml", "播放次数", "X1：播放次数必须是不小于1的整数。") in reasons
    assert not Instrument.objects.exists()
