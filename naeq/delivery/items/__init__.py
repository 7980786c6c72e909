"""The item bank: reading instruments from workbooks and QTI 3.0 packages, the rules they must satisfy, and the
services that import, publish and export them (see docs/items.md)."""

from naeq.delivery.items.excel import workbook_read, workbook_write
from naeq.delivery.items.qti import package_read, package_write
from naeq.delivery.items.services import (
    instrument_export_qti,
    instrument_get,
    instrument_import,
    instrument_import_qti,
    instrument_list,
    instrument_publish,
    instrument_spec,
    may_see_bank,
    may_write_bank,
    media_load,
    online_instruments,
)
from naeq.delivery.items.spec import BookletSpec, InstrumentSpec, ItemSpec, StimulusSpec
from naeq.delivery.items.validate import instrument_problems

__all__ = [
    "BookletSpec", "InstrumentSpec", "ItemSpec", "StimulusSpec", "instrument_export_qti", "instrument_get",
    "instrument_import", "instrument_import_qti", "instrument_list", "instrument_problems", "instrument_publish",
    "instrument_spec", "may_see_bank", "may_write_bank", "media_load", "online_instruments", "package_read",
    "package_write", "workbook_read", "workbook_write",
]
