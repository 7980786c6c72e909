"""The demo bank goes through the real workbook import and is idempotent."""

from __future__ import annotations

from typing import Any

import pytest

from naeq.core.models import AuditEvent
from naeq.delivery.demo_bank import CHART, bar_chart_png, demo_bank_load
from naeq.delivery.items import instrument_spec, online_instruments, package_read, package_write
from naeq.delivery.media import media_read
from naeq.delivery.models import Instrument, InstrumentStatus, Item, ItemType

pytestmark = pytest.mark.django_db


def test_demo_bank_publishes_every_online_instrument_once(cycle: Any, settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    first = demo_bank_load(actor=None, year=cycle.year)
    online = {i.code for i in online_instruments(cycle)}
    assert set(first["created"]) == online
    assert first["unknown"] == [] and first["skipped"] == []
    # "pe_field_test" is a field test (现场测试): not online, so not in the bank.
    assert "pe_field_test" not in online
    published = Instrument.objects.filter(cycle=cycle, status=InstrumentStatus.PUBLISHED)
    assert {i.code for i in published} == online
    assert all(i.source.startswith("demo-") and i.sha256 for i in published)
    events = AuditEvent.objects.filter(action="delivery.instrument_import").count()

    second = demo_bank_load(actor=None, year=cycle.year)
    assert second["created"] == [] and set(second["skipped"]) == online
    assert Instrument.objects.filter(cycle=cycle).count() == len(online)
    assert AuditEvent.objects.filter(action="delivery.instrument_import").count() == events


def test_demo_maths_has_booklets_units_open_item_and_a_png(cycle: Any, settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    demo_bank_load(actor=None, year=cycle.year)
    math = Instrument.objects.get(cycle=cycle, code="math", status=InstrumentStatus.PUBLISHED)
    assert math.kind == "test"
    assert 2 <= math.booklets.count() <= 4
    types = set(math.items.values_list("type", flat=True))
    assert {ItemType.SINGLE, ItemType.MULTIPLE, ItemType.NUMERIC, ItemType.OPEN} <= types
    unit = math.stimuli.get(code="S1")
    assert unit.items.count() >= 2
    png = media_read(math, CHART)
    assert png == bar_chart_png() and png is not None and png.startswith(b"\x89PNG")
    q1 = Instrument.objects.get(cycle=cycle, code="questionnaire_1")
    assert q1.kind == "questionnaire"
    assert Item.objects.filter(instrument=q1, show_if__isnull=False).exists()
    assert Item.objects.filter(instrument=q1, skip__isnull=False).exists()
    questionnaire_items = Item.objects.filter(instrument__cycle=cycle, instrument__kind="questionnaire")
    assert questionnaire_items.exists() and not questionnaire_items.filter(key__isnull=False).exists()
    mh = Instrument.objects.get(cycle=cycle, code="mental_health")
    assert mh.items.filter(type=ItemType.MATRIX).exists()


def test_every_demo_instrument_survives_a_qti_round_trip(cycle: Any, settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    demo_bank_load(actor=None, year=cycle.year)
    for inst in Instrument.objects.filter(cycle=cycle):
        spec = instrument_spec(inst)
        back, problems = package_read(package_write(spec), file_name="x.zip")
        assert problems == []
        assert [it.model_fields() for it in back.items] == [it.model_fields() for it in spec.items], inst.code
        assert [(s.code, s.title, s.body, s.media) for s in back.stimuli] == \
            [(s.code, s.title, s.body, s.media) for s in spec.stimuli]
        assert [(b.number, b.blocks) for b in back.booklets] == [(b.number, b.blocks) for b in spec.booklets]
        assert back.media == spec.media
