"""QTI 3.0: export → import gives equal items for every type; packages from elsewhere (no naeq extension) are
read by interaction; invalid items are rejected with their identifier and reason; DOCTYPE and entity
declarations are refused (no entity expansion); zip members may not leave the package.

Issue 4: "Import from ... (b) QTI 3.0 (choice, text entry, extended text, match), with export back to QTI;
invalid items are rejected with the item and the reason."
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from naeq.core.errors import InvalidInput
from naeq.delivery.items import instrument_import, instrument_import_qti, instrument_spec, package_read, package_write
from naeq.delivery.models import Instrument, InstrumentStatus, ItemType
from tests.delivery.test_items_validation import PNG, paper_spec, questionnaire_spec

pytestmark = pytest.mark.django_db

NS = 'xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0"'
MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" identifier="pkg">
<resources>{resources}</resources></manifest>"""


def _package(items: dict[str, str], extra: dict[str, bytes] | None = None, manifest: str | None = None) -> bytes:
    resources = "".join(f'<resource identifier="{k}" type="imsqti_item_xmlv3p0" href="items/{k}.xml"/>'
                        for k in items)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("imsmanifest.xml", manifest or MANIFEST.format(resources=resources))
        for k, xml in items.items():
            z.writestr(f"items/{k}.xml", xml)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return out.getvalue()


FOREIGN = {
    "CH1": f"""<qti-assessment-item {NS} identifier="CH1" title="c" adaptive="false" time-dependent="false">
  <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="identifier">
    <qti-correct-response><qti-value>ChoiceB</qti-value></qti-correct-response></qti-response-declaration>
  <qti-item-body><p>哪一个是质数？</p>
    <qti-choice-interaction response-identifier="RESPONSE" max-choices="1">
      <qti-simple-choice identifier="ChoiceA">4</qti-simple-choice>
      <qti-simple-choice identifier="ChoiceB">5</qti-simple-choice>
    </qti-choice-interaction></qti-item-body></qti-assessment-item>""",
    "CH2": f"""<qti-assessment-item {NS} identifier="CH2">
  <qti-response-declaration identifier="RESPONSE" cardinality="multiple" base-type="identifier">
    <qti-correct-response><qti-value>A</qti-value><qti-value>C</qti-value></qti-correct-response>
  </qti-response-declaration>
  <qti-item-body><p>选出偶数</p><qti-choice-interaction response-identifier="RESPONSE" max-choices="0">
      <qti-simple-choice identifier="A">2</qti-simple-choice><qti-simple-choice identifier="B">3</qti-simple-choice>
      <qti-simple-choice identifier="C">4</qti-simple-choice></qti-choice-interaction></qti-item-body>
</qti-assessment-item>""",
    "TE1": f"""<qti-assessment-item {NS} identifier="TE1">
  <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="string">
    <qti-correct-response><qti-value>长江</qti-value></qti-correct-response></qti-response-declaration>
  <qti-item-body><p>中国最长的河流是<qti-text-entry-interaction
    response-identifier="RESPONSE" expected-length="8"/>。</p>
  </qti-item-body></qti-assessment-item>""",
    "ET1": f"""<qti-assessment-item {NS} identifier="ET1">
  <qti-response-declaration identifier="RESPONSE" cardinality="single" base-type="string"/>
  <qti-outcome-declaration identifier="MAXSCORE" cardinality="single" base-type="float">
    <qti-default-value><qti-value>4</qti-value></qti-default-value></qti-outcome-declaration>
  <qti-item-body><p>请在答题纸上写出理由。</p><qti-extended-text-interaction response-identifier="RESPONSE"/>
  </qti-item-body></qti-assessment-item>""",
    "MA1": f"""<qti-assessment-item {NS} identifier="MA1">
  <qti-response-declaration identifier="RESPONSE" cardinality="multiple" base-type="directedPair">
    <qti-correct-response><qti-value>R1 Y</qti-value><qti-value>R2 N</qti-value></qti-correct-response>
  </qti-response-declaration>
  <qti-item-body><p>判断下列说法</p><qti-match-interaction response-identifier="RESPONSE" max-associations="2">
    <qti-simple-match-set>
      <qti-simple-associable-choice identifier="R1" match-max="1">2是偶数</qti-simple-associable-choice>
      <qti-simple-associable-choice identifier="R2" match-max="1">3是偶数</qti-simple-associable-choice>
    </qti-simple-match-set>
    <qti-simple-match-set>
      <qti-simple-associable-choice identifier="Y" match-max="2">对</qti-simple-associable-choice>
      <qti-simple-associable-choice identifier="N" match-max="2">错</qti-simple-associable-choice>
    </qti-simple-match-set>
  </qti-match-interaction></qti-item-body></qti-assessment-item>""",
}


def test_round_trip_every_item_type(cycle: Any, settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    spec = paper_spec()
    spec.media = {"pic.png": PNG}
    assert {it.type for it in spec.items} == set(ItemType.values)  # every naeq type is in the round trip
    from naeq.delivery.items import workbook_write

    first = instrument_import(actor=None, year=cycle.year, data=workbook_write(spec), media={"pic.png": PNG})
    package = package_write(instrument_spec(first))
    second = instrument_import_qti(actor=None, year=cycle.year, code="math", data=package)
    assert second.version == first.version + 1 and second.status == InstrumentStatus.DRAFT
    a, b = instrument_spec(first), instrument_spec(second)
    assert [it.model_fields() for it in b.items] == [it.model_fields() for it in a.items]
    assert [(it.stimulus) for it in b.items] == [it.stimulus for it in a.items]
    assert [(bk.number, bk.blocks) for bk in b.booklets] == [(bk.number, bk.blocks) for bk in a.booklets]
    assert b.media == a.media == {"pic.png": PNG}
    q = questionnaire_spec()
    back, problems = package_read(package_write(q), file_name="q.zip")
    assert problems == [] and [it.model_fields() for it in back.items] == [it.model_fields() for it in q.items]


def test_exported_items_are_plain_qti(cycle: Any) -> None:
    spec = paper_spec()
    spec.media = {"pic.png": PNG}
    with zipfile.ZipFile(io.BytesIO(package_write(spec))) as z:
        names = set(z.namelist())
        t01 = z.read("items/T01.xml").decode()
        t05 = z.read("items/T05.xml").decode()
        t08 = z.read("items/T08.xml").decode()
        manifest = z.read("imsmanifest.xml").decode()
    assert {"imsmanifest.xml", "naeq.json", "media/pic.png", "stimuli/U1.xml", "items/T11.xml"} <= names
    assert "qti-choice-interaction" in t01 and "<qti-value>C_A</qti-value>" in t01
    assert "qti-match-interaction" in t05 and "<qti-value>R_1 C_A</qti-value>" in t05
    assert "qti-extended-text-interaction" in t08 and "qti-correct-response" not in t08
    assert 'href="items/T01.xml"' in manifest and 'type="imsqti_item_xmlv3p0"' in manifest


def test_package_from_elsewhere_is_read_by_interaction(cycle: Any, settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    spec, problems = package_read(_package(FOREIGN), file_name="other.zip")
    assert problems == []
    got = {it.code: it for it in spec.items}
    assert got["CH1"].type == ItemType.SINGLE and got["CH1"].key == "ChoiceB"
    assert got["CH2"].type == ItemType.MULTIPLE and got["CH2"].key == ["A", "C"]
    assert got["TE1"].type == ItemType.TEXT and got["TE1"].key == ["长江"]
    assert got["TE1"].constraints == {"max_length": 8}
    assert got["ET1"].type == ItemType.OPEN and got["ET1"].key is None and got["ET1"].max_score == 4
    assert got["MA1"].type == ItemType.MATRIX and got["MA1"].rows == ["2是偶数", "3是偶数"]
    assert got["MA1"].key == {"1": "Y", "2": "N"}
    assert [it.screen for it in spec.items] == [1, 2, 3, 4, 5]  # one item a screen
    # Without the indicator hierarchy these are refused, with the identifier and the reason:
    with pytest.raises(InvalidInput) as exc:
        instrument_import_qti(actor=None, year=cycle.year, code="math", data=_package(FOREIGN))
    assert any(p.file == "items/CH1.xml" and p.field == "维度" and p.reason.startswith("CH1：")
               for p in exc.value.problems)
    assert Instrument.objects.count() == 0


@pytest.mark.parametrize(("xml", "reason"), [
    (FOREIGN["CH1"].replace("<qti-value>ChoiceB</qti-value>", "<qti-value>ChoiceZ</qti-value>"),
     "CH1：正确答案 ChoiceZ 不是选项之一"),
    (FOREIGN["CH1"].replace("qti-choice-interaction", "qti-hotspot-interaction"),
     "CH1：不支持的交互类型 qti-hotspot-interaction"),
    (FOREIGN["CH1"].replace("<qti-item-body>", "<qti-item-body><p>").replace("</qti-item-body>", ""),
     "不是格式正确的 XML"),
    (FOREIGN["ET1"].replace('base-type="string"/>', 'base-type="string"><qti-correct-response><qti-value>x'
                            '</qti-value></qti-correct-response></qti-response-declaration>'),
     "ET1：开放题（纸笔作答）不能有正确答案"),
    (f'<qti-assessment-item {NS} identifier="CH1"><qti-item-body><p>无作答区</p></qti-item-body>'
     '</qti-assessment-item>', "CH1：没有任何交互"),
])
def test_invalid_items_are_rejected_with_identifier_and_reason(cycle: Any, xml: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        instrument_import_qti(actor=None, year=cycle.year, code="math", data=_package({"CH1": xml}))
    assert any(p.file == "items/CH1.xml" and reason in p.reason for p in exc.value.problems), \
        [str(p) for p in exc.value.problems]
    assert Instrument.objects.count() == 0


LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<qti-assessment-item identifier="CH1"><qti-item-body><p>&lol2;</p></qti-item-body></qti-assessment-item>"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<qti-assessment-item identifier="CH1"><qti-item-body><p>&xxe;</p></qti-item-body></qti-assessment-item>"""


@pytest.mark.parametrize("xml", [LAUGHS, EXTERNAL, "<!doctype html><qti-assessment-item/>"])
def test_doctype_and_entities_are_refused(cycle: Any, xml: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        instrument_import_qti(actor=None, year=cycle.year, code="math", data=_package({"CH1": xml}))
    assert any("含有 DOCTYPE 或实体声明" in p.reason for p in exc.value.problems)


def test_doctype_in_the_manifest_is_refused(cycle: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        instrument_import_qti(actor=None, year=cycle.year, code="math",
                              data=_package(FOREIGN, manifest=EXTERNAL.replace("qti-assessment-item", "manifest")))
    assert "DOCTYPE" in exc.value.message


@pytest.mark.parametrize("name", ["../evil.xml", "/abs.xml", "items/../../evil.xml"])
def test_zip_members_may_not_leave_the_package(cycle: Any, name: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        instrument_import_qti(actor=None, year=cycle.year, code="math",
                              data=_package(FOREIGN, extra={name: b"x"}))
    assert "路径" in exc.value.message and exc.value.code == "bad_package"


def test_not_a_package(cycle: Any) -> None:
    with pytest.raises(InvalidInput) as exc:
        instrument_import_qti(actor=None, year=cycle.year, code="math", data=b"plain", file_name="p.zip")
    assert "p.zip 不是有效的 zip 文件" in exc.value.message
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("readme.txt", "x")
    with pytest.raises(InvalidInput) as exc:
        instrument_import_qti(actor=None, year=cycle.year, code="math", data=empty.getvalue(), file_name="p.zip")
    assert "没有 imsmanifest.xml" in exc.value.message


def test_package_code_must_match(cycle: Any) -> None:
    spec = paper_spec()
    spec.media = {"pic.png": PNG}
    with pytest.raises(InvalidInput) as exc:
        instrument_import_qti(actor=None, year=cycle.year, code="mental_health", data=package_write(spec))
    assert any("与指定的“mental_health”不一致" in p.reason for p in exc.value.problems)
