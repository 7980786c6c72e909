"""The result files of a calibration (``naeq calibrate`` and the run exports); columns in ``docs/scaling.md``.

Numbers are written with Python's shortest round-trip repr, so a file read back gives the same floats bit for
bit; a missing value (an SE of a fixed parameter, a WLE of a person without responses) is an empty cell.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

import naeq
from naeq.scaling.files import write_json
from naeq.scaling.pipeline import Output

ENGINE = "naeq.engines.irt"


def code_version() -> str:
    return f"naeq {naeq.__version__} / {ENGINE}"


def num(x: Any) -> str:
    if x is None:
        return ""
    f = float(x)
    return repr(f) if np.isfinite(f) else ""


def item_header(kmax: int, fit_keys: list[str]) -> list[str]:
    head = ["item", "model", "n_categories", "anchored", "n_responses", "mean_score", "a", "a_se", "c", "c_se"]
    for v in range(1, kmax):
        head += [f"b{v}", f"b{v}_se"]
    return head + fit_keys + ["fit_flag", "dif_flag"]


def item_rows(out: Output) -> tuple[list[str], list[list[str]]]:
    p = out.params
    kmax = p.max_categories
    fit_keys = sorted({k for row in out.fit for k in row if k != "item"})
    rows = []
    for j, item in enumerate(p.items):
        row = [item, str(p.model[j]), str(int(p.n_categories[j])), "1" if out.anchored[j] else "0",
               str(int(out.n_responses[j])), num(out.mean_score[j]), num(p.a[j]), num(p.a_se[j]), num(p.c[j]),
               num(p.c_se[j])]
        for v in range(kmax - 1):
            row += [num(p.b[j, v]), num(p.b_se[j, v])]
        fit = out.fit[j] if j < len(out.fit) else {}
        row += [num(fit.get(k)) if not isinstance(fit.get(k), str) else str(fit[k]) for k in fit_keys]
        rows.append([*row, "1" if out.fit_flag[j] else "0", "1" if out.dif_flag[j] else "0"])
    return item_header(kmax, fit_keys), rows


PERSON_HEADER = ["person", "booklet", "n_items", "raw_score", "max_score", "eap", "eap_se", "wle", "wle_se",
                 "eap_scale", "eap_scale_se", "wle_scale", "wle_scale_se"]


def person_rows(out: Output) -> Iterator[list[str]]:
    A, B = out.scale.A, out.scale.B
    for i, person in enumerate(out.persons.tolist()):
        yield [str(person), str(int(out.booklet[i])), str(int(out.n_items[i])), str(int(out.raw[i])),
               str(int(out.max_raw[i])), num(out.eap[i]), num(out.eap_se[i]), num(out.wle[i]), num(out.wle_se[i]),
               num(A * out.eap[i] + B), num(A * out.eap_se[i]), num(A * out.wle[i] + B), num(A * out.wle_se[i])]


def pv_header(m: int) -> list[str]:
    return ["person", *(f"pv{k}" for k in range(1, m + 1)), *(f"pv{k}_scale" for k in range(1, m + 1))]


def pv_rows(out: Output) -> Iterator[list[str]]:
    assert out.pvs is not None
    scaled = out.scale.A * out.pvs + out.scale.B
    for i, person in enumerate(out.persons.tolist()):
        yield [str(person), *(num(v) for v in out.pvs[i]), *(num(v) for v in scaled[i])]


def dif_rows(out: Output) -> tuple[list[str], list[list[str]]]:
    keys = sorted({k for rows in out.dif.values() for row in rows for k in row if k not in ("item", "variable")})
    rows = []
    for variable, items in out.dif.items():
        for row in items:
            rows.append([variable, str(row["item"]), *(num(row.get(k)) if not isinstance(row.get(k), str)
                                                       else str(row[k]) for k in keys)])
    return ["variable", "item", *keys], rows


def _write(path: Path, header: list[str], rows: Iterable[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def csv_text(header: list[str], rows: Iterable[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def csv_line(row: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(row)
    return buf.getvalue()


def write_results(out_dir: Path, out: Output, run: dict[str, Any], *, write_timing: float) -> list[str]:
    """Write every result file and run.json; returns the names written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = []
    header, rows = item_rows(out)
    _write(out_dir / "items.csv", header, rows)
    names.append("items.csv")
    _write(out_dir / "persons.csv", PERSON_HEADER, person_rows(out))
    names.append("persons.csv")
    fit_keys = sorted({k for row in out.fit for k in row if k != "item"})
    _write(out_dir / "fit.csv", ["item", *fit_keys, "fit_flag"],
           ([str(out.params.items[j]), *(num(out.fit[j].get(k)) if not isinstance(out.fit[j].get(k), str)
                                         else out.fit[j][k] for k in fit_keys), "1" if out.fit_flag[j] else "0"]
            for j in range(len(out.fit))))
    names.append("fit.csv")
    if out.pvs is not None:
        _write(out_dir / "pvs.csv", pv_header(out.pvs.shape[1]), pv_rows(out))
        names.append("pvs.csv")
    if out.dif:
        header, rows = dif_rows(out)
        _write(out_dir / "dif.csv", header, rows)
        names.append("dif.csv")
    timings = dict(out.timings)
    timings["write"] = round(time.perf_counter() - write_timing, 3)
    record = {**run, "warnings": out.warnings, "timings": timings, "summary": {
        k: v for k, v in out.summary.items() if k not in ("information", "booklets")}}
    write_json(out_dir / "run.json", record)
    names.append("run.json")
    return names
