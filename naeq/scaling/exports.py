"""Exports of a stored calibration run: the item table (CSV / Excel) and the person estimates (streamed CSV; test
takers by test ID only, no names), in the columns of ``naeq calibrate``'s files (docs/scaling.md)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from naeq.scaling import outputs, selectors
from naeq.scaling.files import write_json
from naeq.scaling.models import CalibrationItem, CalibrationRun


def item_table(items: Iterable[CalibrationItem]) -> tuple[list[str], list[list[str]]]:
    rows = list(items)
    kmax = max((r.n_categories for r in rows), default=2)
    dif_vars = sorted({v for r in rows for v in r.dif})
    fit_keys = sorted({k for r in rows for k in r.fit})
    head = outputs.item_header(kmax, [*fit_keys, *(f"dif_{v}_ets" for v in dif_vars)])
    body = []
    for r in rows:
        line = [r.item, r.model, str(r.n_categories), "1" if r.anchored else "0", str(r.n_responses),
                outputs.num(r.mean_score), outputs.num(r.a), outputs.num(r.a_se), outputs.num(r.c),
                outputs.num(r.c_se)]
        for v in range(kmax - 1):
            line += [outputs.num(r.b[v]), outputs.num(r.b_se[v])] if v < len(r.b) else ["", ""]
        line += [outputs.num(r.fit.get(k)) for k in fit_keys]
        line += [str(r.dif.get(v, {}).get("ets", "")) for v in dif_vars]
        body.append([*line, "1" if r.fit_flag else "0", "1" if r.dif_flag else "0"])
    return head, body


def _cell(v: str) -> Any:
    if v == "":
        return None
    for kind in (int, float):
        try:
            return kind(v)
        except ValueError:
            continue
    return v


def item_xlsx(head: list[str], body: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("题目参数"))
    ws.append(head)
    for line in body:
        ws.append([_cell(v) for v in line])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def person_lines(run: CalibrationRun, rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    m = int(run.options.get("n_pv", 0))
    yield outputs.csv_line(["test_id", "booklet", "n_items", "raw_score", "max_score", "eap", "eap_se", "wle",
                            "wle_se", *(f"pv{k}" for k in range(1, m + 1))])
    for code, booklet, n_items, raw, mx, eap, eap_se, wle, wle_se, pvs in rows:
        yield outputs.csv_line([code, "" if booklet is None else str(booklet), str(n_items), str(raw), str(mx),
                                outputs.num(eap), outputs.num(eap_se), outputs.num(wle), outputs.num(wle_se),
                                *(outputs.num(v) for v in pvs)])


def export_run(*, actor: Any, run_id: int, out_dir: Path) -> list[str]:
    run, items = selectors.run_items(actor=actor, run_id=run_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    head, body = item_table(items)
    (out_dir / "items.csv").write_text(outputs.csv_text(head, body), encoding="utf-8")
    _run, rows = selectors.run_persons_stream(actor=actor, run_id=run_id)
    with (out_dir / "persons.csv").open("w", encoding="utf-8") as fh:
        for line in person_lines(run, rows):
            fh.write(line)
    write_json(out_dir / "run.json", {
        "run": run.pk, "cycle": run.cycle.year, "instrument_code": run.instrument_code, "model_spec": run.model_spec,
        "options": run.options, "seed": run.seed, "inputs_hash": run.inputs_hash, "code_version": run.code_version,
        "status": run.status, "warnings": run.warnings, "timings": run.timings,
        "summary": {k: v for k, v in (run.summary or {}).items() if k not in ("information", "booklets")}})
    return ["items.csv", "persons.csv", "run.json"]
