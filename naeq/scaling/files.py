"""Files of ``naeq calibrate``: long responses, the item table, background data and anchor parameters in (CSV or
Parquet), results out. Columns are documented in ``docs/scaling.md``.

Reading is columnar (pyarrow): identifiers are dictionary-encoded and scores parsed by Arrow compute kernels, so
8 million response rows never become Python objects one by one. Every problem is reported with the file, the row
(CSV: the line number, header = 1; Parquet: the 1-based data row), the column and a Chinese reason, all at once
(:class:`~naeq.core.errors.InvalidInput`); nothing is written when input is bad.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from numpy.typing import NDArray

from naeq.core.errors import ProblemCollector

#: The item response models of the IRT engine, as named in the item table's ``model`` column.
MODELS = ("rasch", "2pl", "3pl", "pcm", "gpcm")
DICHOTOMOUS = frozenset({"rasch", "2pl", "3pl"})
#: Default model by item kind: dichotomous items take --model, polytomous ones --poly-model.
MAX_LISTED = 200  # problems listed per column before the rest are counted
NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"


@dataclass(frozen=True)
class LongResponses:
    """Responses in the engine's long layout: row r says person ``person[r]`` scored ``score[r]`` on item
    ``item[r]`` (indices into ``persons`` / ``items``); absent pairs were not administered."""

    persons: NDArray[Any]  # labels (files: text; platform: test-taker ids)
    items: NDArray[np.str_]
    person: NDArray[np.int64]
    item: NDArray[np.int64]
    score: NDArray[np.int64]
    booklet: NDArray[np.int64] | None = None  # per person (0 = unknown) when the file has a booklet column
    group: NDArray[np.int64] | None = None  # per person, index into ``groups``
    groups: NDArray[np.str_] | None = None
    sha256: str = ""


@dataclass(frozen=True)
class ItemTable:
    items: NDArray[np.str_]
    max_score: NDArray[np.int64]
    model: NDArray[np.str_]  # one of MODELS per item ("" = the default for its kind)
    sha256: str = ""


@dataclass(frozen=True)
class Background:
    """Background variables aligned with the responses' persons: numeric columns as floats (NaN = missing),
    categorical columns as text ('' = missing)."""

    persons: NDArray[Any]
    variables: dict[str, NDArray[Any]]
    categorical: tuple[str, ...]
    sha256: str = ""

    def text(self, name: str) -> NDArray[np.str_]:
        v = self.variables[name]
        return v.astype(np.str_) if v.dtype.kind == "U" else np.where(np.isnan(v), "", v.astype(np.str_))

    def for_engine(self, exclude: tuple[str, ...] = ()) -> tuple[dict[str, NDArray[Any]], list[str]]:
        """(variables, categorical names) for ``background_matrix``: missing text becomes None."""
        out: dict[str, NDArray[Any]] = {}
        for name, v in self.variables.items():
            if name in exclude:
                continue
            if name in self.categorical:
                obj = v.astype(object)
                obj[v == ""] = None
                out[name] = obj
            else:
                out[name] = v
        return out, [n for n in self.categorical if n in out]


@dataclass(frozen=True)
class Anchors:
    """Fixed parameters of anchor items: rows in the layout of ``ItemParameters.to_rows`` (item, model,
    n_categories, a, c, b1..)."""

    rows: list[dict[str, Any]]
    sha256: str = ""


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_arrow(path: str | Path, c: ProblemCollector, *, dictionary: tuple[str, ...] = ()) -> tuple[Any, int]:
    """The file as an Arrow table (CSV: every column text) and the row number of its first data row."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        c.add(_("不支持的文件类型“%(suffix)s”，应为 .csv 或 .parquet。") % {"suffix": suffix or "?"})
        c.raise_if_any(_("文件无法读取。"))
    try:
        if suffix == ".csv":
            with p.open("rb") as fh:
                header = fh.readline().decode("utf-8-sig").strip()
            names = [h.strip().strip('"') for h in header.split(",")] if header else []
            table = pacsv.read_csv(p, convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False))
            first_row = 2
        else:
            # Identifier columns read straight into dictionaries: 8 million repeated ids decode several times
            # faster than as plain strings.
            present = set(pq.read_schema(p).names)
            table = pq.read_table(p, read_dictionary=[n for n in dictionary if n in present] or None)
            first_row = 1
    except FileNotFoundError:
        c.add(_("文件不存在。"))
        c.raise_if_any(_("文件无法读取。"))
        raise  # pragma: no cover
    except UnicodeDecodeError as exc:
        c.add(_("文件不是UTF-8编码（第%(pos)d字节无法解码），请另存为UTF-8（CSV UTF-8）后再导入。")
              % {"pos": exc.start + 1})
        c.raise_if_any(_("文件无法读取。"))
        raise  # pragma: no cover
    except (OSError, pa.ArrowException) as exc:
        if "invalid UTF8" in str(exc):  # pyarrow's wording for undecodable bytes below the header
            c.add(_("文件不是UTF-8编码（某数据行无法解码），请另存为UTF-8（CSV UTF-8）后再导入。"))
            c.raise_if_any(_("文件无法读取。"))
        c.add(_("无法读取文件：%(error)s") % {"error": exc})
        c.raise_if_any(_("文件无法读取。"))
        raise  # pragma: no cover
    table = table.rename_columns([n.strip().lstrip("\ufeff") for n in table.column_names])
    if table.num_rows == 0:
        c.add(_("文件没有数据行。"))
        c.raise_if_any(_("文件无法读取。"))
    return table, first_row


def _require(c: ProblemCollector, table: Any, columns: tuple[str, ...]) -> None:
    missing = [col for col in columns if col not in table.column_names]
    if missing:
        c.add(_("缺少列：%(cols)s（现有列：%(have)s）。") % {"cols": "、".join(missing),
                                                         "have": "、".join(table.column_names)}, row=1)
        c.raise_if_any(_("文件缺少必需的列。"))


def _text(col: Any) -> Any:
    """A column as trimmed Arrow strings (integers of a Parquet file become their decimal text)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
        col = pc.cast(col, pa.string())
    return pc.fill_null(pc.utf8_trim_whitespace(col), "")


def _ids(c: ProblemCollector, table: Any, name: str, first: int) -> tuple[NDArray[np.int64], NDArray[np.str_]]:
    """Dictionary-encode an identifier column: per-row codes and the labels; empty identifiers are reported."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = table.column(name)
    if pa.types.is_dictionary(col.type):
        arr = col.unify_dictionaries().combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        trimmed = _text(arr.dictionary)
        indices = arr.indices
        if indices.null_count:  # a null id becomes the empty label (reported below)
            trimmed = pa.concat_arrays([trimmed, pa.array([""], trimmed.type)])
            indices = pc.fill_null(indices, len(trimmed) - 1)
        codes = indices.to_numpy(zero_copy_only=False).astype(np.int64)
        enc = pc.dictionary_encode(trimmed)
        labels = np.asarray(enc.dictionary.to_pylist(), dtype=np.str_)
        if len(labels) < len(trimmed):  # labels equal after trimming: merge them
            codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)[codes]
        used = np.bincount(codes, minlength=len(labels)) > 0
        if not used.all():  # drop dictionary entries no row uses (e.g. the added "")
            new = np.cumsum(used) - 1
            codes, labels = new[codes], labels[used]
        empty = (labels == "")[codes]
    else:
        text = _text(col)
        empty = np.asarray(pc.equal(text, "").to_numpy(zero_copy_only=False), dtype=bool)
        enc = pc.dictionary_encode(text).combine_chunks()
        codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        labels = np.asarray(enc.dictionary.to_pylist(), dtype=np.str_)
    for i in np.flatnonzero(empty)[:MAX_LISTED].tolist():
        c.add(_("标识为空。"), row=first + i, field=name)
    return codes, labels


def _integers(c: ProblemCollector, table: Any, name: str, first: int, *, what: str) -> NDArray[np.int64]:
    """A column of non-negative integers (text, integer or integral float); each bad cell reported."""
    import pyarrow as pa
    import pyarrow.compute as pc

    col = table.column(name)
    if pa.types.is_integer(col.type):
        arr = np.asarray(pc.fill_null(col, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
        bad = arr < 0
        out = arr
    elif pa.types.is_floating(col.type):
        f = np.asarray(pc.fill_null(col, np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)
        bad = ~np.isfinite(f) | (f < 0) | (np.floor(f) != f)
        out = np.where(bad, 0, f).astype(np.int64)
    else:
        text = _text(col)
        good = np.asarray(pc.match_substring_regex(text, r"^[0-9]{1,9}(\.0*)?$").to_numpy(zero_copy_only=False),
                          dtype=bool)
        bad = ~good
        cleaned = pc.if_else(pa.array(good), pc.replace_substring_regex(text, r"\.0*$", ""), "0")
        out = np.asarray(pc.cast(cleaned, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    if bad.any():
        raw = _text(col)
        for i in np.flatnonzero(bad)[:MAX_LISTED].tolist():
            value = raw[i].as_py()
            reason = (_("%(what)s为空：未施测的题目不写行，已施测而未作答的按0分写入。") % {"what": what}
                      if value == "" else _("%(what)s应为非负整数，实为“%(value)s”。") % {"what": what, "value": value})
            c.add(reason, row=first + i, field=name, value=value)
        more = int(bad.sum()) - MAX_LISTED
        if more > 0:
            c.add(_("另有%(n)d行同类错误。") % {"n": more}, field=name)
    return out


def read_item_table(path: str | Path, *, default_model: str = "2pl", poly_model: str = "gpcm") -> ItemTable:
    """The item table: ``item``, ``max_score`` and optionally ``model`` (one of :data:`MODELS`; empty = the
    default for the item's kind: ``default_model`` for max score 1, ``poly_model`` above)."""
    name = str(path)
    c = ProblemCollector(file=name)
    table, first = _read_arrow(path, c)
    _require(c, table, ("item", "max_score"))
    codes, labels = _ids(c, table, "item", first)
    items = labels[codes]
    max_score = _integers(c, table, "max_score", first, what=_("满分"))
    for i in np.flatnonzero(max_score == 0)[:MAX_LISTED].tolist():
        if not any(p.row == first + i and p.field == "max_score" for p in c.problems):
            c.add(_("满分应至少为1。"), row=first + i, field="max_score", value=0)
    counts = np.bincount(codes, minlength=len(labels))
    for i in np.flatnonzero(counts[codes] > 1)[:MAX_LISTED].tolist():
        c.add(_("题目“%(item)s”重复出现。") % {"item": items[i]}, row=first + i, field="item")
    if "model" in table.column_names:
        raw = np.asarray(_text(table.column("model")).to_pylist(), dtype=np.str_)
        model = np.char.lower(raw)
    else:
        model = np.full(len(items), "", dtype="<U5")
    model = np.where(model == "", np.where(max_score > 1, poly_model, default_model), model).astype("<U5")
    for i in range(len(items)):  # the item table has at most a few hundred rows
        m = str(model[i])
        if m not in MODELS:
            c.add(_("模型“%(m)s”未知，可填：%(known)s。") % {"m": raw[i], "known": "、".join(MODELS)},
                  row=first + i, field="model", value=str(raw[i]))
        elif m in DICHOTOMOUS and max_score[i] > 1:
            c.add(_("模型%(m)s只用于满分为1的二值题，该题满分为%(k)d；多级计分题用 pcm 或 gpcm。")
                  % {"m": m, "k": int(max_score[i])}, row=first + i, field="model", value=m)
    c.raise_if_any(_("题目表有误，未做任何计算。"))
    return ItemTable(items=items.astype(np.str_), max_score=max_score, model=model, sha256=file_sha256(path))


def read_long_responses(path: str | Path, item_table: ItemTable, *, group_column: str | None = None,
                        booklet_column: str | None = "booklet") -> LongResponses:
    """Long responses: ``person``, ``item``, ``score`` (an integer 0..the item's max score); a pair that was not
    administered has no row. Optional per-person columns: the ``group_column`` (e.g. grade or year, for a
    multiple-group calibration) and ``booklet``; each must not vary within a person."""
    name = str(path)
    c = ProblemCollector(file=name)
    table, first = _read_arrow(path, c, dictionary=("person", "item"))
    required = ("person", "item", "score", *((group_column,) if group_column else ()))
    _require(c, table, required)
    p_codes, persons = _ids(c, table, "person", first)
    srt = np.argsort(persons, kind="stable")  # persons sorted: the result does not depend on row order
    rank = np.empty_like(srt)
    rank[srt] = np.arange(len(srt))
    p_codes, persons = rank[p_codes], persons[srt]
    i_codes, item_labels = _ids(c, table, "item", first)
    score = _integers(c, table, "score", first, what=_("得分"))
    # Items: map the file's labels onto the item table's order.
    order = {str(v): k for k, v in enumerate(item_table.items.tolist())}
    lab_to_table = np.array([order.get(str(v), -1) for v in item_labels.tolist()], dtype=np.int64)
    item = lab_to_table[i_codes]
    for i in np.flatnonzero(item < 0)[:MAX_LISTED].tolist():
        c.add(_("题目“%(item)s”不在题目表中。") % {"item": item_labels[i_codes[i]]}, row=first + i, field="item",
              value=str(item_labels[i_codes[i]]))
    known = item >= 0
    too_high = known & (score > item_table.max_score[np.where(known, item, 0)])
    for i in np.flatnonzero(too_high)[:MAX_LISTED].tolist():
        c.add(_("得分%(s)d超过该题满分%(k)d。") % {"s": int(score[i]), "k": int(item_table.max_score[item[i]])},
              row=first + i, field="score", value=int(score[i]))
    # One sort by (person, item) serves both the duplicate check and the canonical row order (stable: adaptive,
    # and fast on files that are already grouped by person).
    key = p_codes * (len(item_table.items) + 1) + item + 1
    canon = np.argsort(key, kind="stable")
    key_sorted = key[canon]
    dup_sorted = np.flatnonzero((key_sorted[1:] == key_sorted[:-1]) & known[canon[1:]]) + 1
    if dup_sorted.size:
        dup_keys = np.unique(key_sorted[dup_sorted])
        rows = np.flatnonzero(np.isin(key, dup_keys))
        _k, first_of = np.unique(key[rows], return_index=True)
        for i in np.setdiff1d(rows, rows[first_of])[:MAX_LISTED].tolist():  # every repeat after the first row
            c.add(_("考生“%(p)s”的题目“%(item)s”重复出现（每名考生每题只能一行）。")
                  % {"p": persons[p_codes[i]], "item": item_labels[i_codes[i]]}, row=first + i, field="item")
    booklet = group = groups = None
    if booklet_column and booklet_column in table.column_names:
        b = _integers(c, table, booklet_column, first, what=_("题本号"))
        booklet = _per_person(c, p_codes, len(persons), b, booklet_column, first, persons)
    if group_column:
        g_codes, groups = _ids(c, table, group_column, first)
        group = _per_person(c, p_codes, len(persons), g_codes, group_column, first, persons)
    c.raise_if_any(_("作答数据有误，未做任何计算。"))
    # Canonical row order (person, item): the same responses in any row order give bit-identical results.
    p_codes, item, score = p_codes[canon], item[canon], score[canon]
    return LongResponses(persons=persons, items=item_table.items, person=p_codes, item=item, score=score,
                         booklet=booklet, group=group, groups=groups, sha256=file_sha256(path))


def _per_person(c: ProblemCollector, person: NDArray[np.int64], n: int, value: NDArray[np.int64], column: str,
                first: int, persons: NDArray[np.str_]) -> NDArray[np.int64]:
    """A per-person attribute given on every row: the person's value, each row that contradicts it reported."""
    out = np.full(n, -1, dtype=np.int64)
    out[person[::-1]] = value[::-1]  # the first row of each person wins
    for i in np.flatnonzero(out[person] != value)[:MAX_LISTED].tolist():
        c.add(_("考生“%(p)s”的%(col)s前后不一致。") % {"p": persons[person[i]], "col": column},
              row=first + i, field=column, value=int(value[i]))
    return out


def read_background(path: str | Path, persons: NDArray[Any], *, categorical: tuple[str, ...] = (),
                    required: tuple[str, ...] = ()) -> Background:
    """Background variables for plausible values: ``person`` and variable columns. Columns named in
    ``categorical`` are labels (dummy-coded by the engine); every other column must be numeric. An empty cell is
    a missing value (the engine adds a missing indicator, as NAEP's conditioning does). Every person of the
    responses needs a row; persons without responses are ignored."""
    import pyarrow.compute as pc

    name = str(path)
    c = ProblemCollector(file=name)
    table, first = _read_arrow(path, c)
    _require(c, table, ("person", *categorical, *required))
    codes, labels = _ids(c, table, "person", first)
    ids = labels[codes]
    counts = np.bincount(codes, minlength=len(labels))
    for i in np.flatnonzero(counts[codes] > 1)[:MAX_LISTED].tolist():
        c.add(_("考生“%(p)s”重复出现。") % {"p": ids[i]}, row=first + i, field="person")
    pos = {str(v): k for k, v in enumerate(ids.tolist())}
    rows = np.array([pos.get(str(p), -1) for p in np.asarray(persons).tolist()], dtype=np.int64)
    absent = np.flatnonzero(rows < 0)
    if absent.size:
        shown = "、".join(str(p) for p in np.asarray(persons)[absent[:10]].tolist())
        c.add(_("作答数据中的%(n)d名考生没有背景数据（如：%(shown)s）。") % {"n": absent.size, "shown": shown},
              field="person")
    take = np.where(rows >= 0, rows, 0)
    variables: dict[str, NDArray[Any]] = {}
    for col in [n for n in table.column_names if n != "person"]:
        text = _text(table.column(col))
        if col in categorical:
            variables[col] = np.asarray(text.to_pylist(), dtype=np.str_)[take]
            continue
        empty = np.asarray(pc.equal(text, "").to_numpy(zero_copy_only=False), dtype=bool)
        numeric = np.asarray(pc.match_substring_regex(text, NUMBER).to_numpy(zero_copy_only=False), dtype=bool)
        bad = ~empty & ~numeric
        for i in np.flatnonzero(bad)[:MAX_LISTED].tolist():
            c.add(_("应为数值（缺失留空；分类变量用 --categorical 声明），实为“%(v)s”。") % {"v": text[i].as_py()},
                  row=first + i, field=col, value=text[i].as_py())
        if bad.any():
            continue
        num = np.full(len(ids), np.nan)
        num[~empty] = np.asarray(pc.cast(text.filter(~empty), "float64").to_numpy(zero_copy_only=False))
        if np.isnan(num).all():
            c.add(_("该列全部缺失。"), row=1, field=col)
        variables[col] = num[take]
    c.raise_if_any(_("背景数据有误，未做任何计算。"))
    return Background(persons=persons, variables=variables, categorical=tuple(categorical), sha256=file_sha256(path))


def read_anchors(path: str | Path, item_table: ItemTable) -> Anchors:
    """Fixed item parameters for linking: ``item``, ``a`` (empty = 1), ``c`` (3PL; empty = 0) and ``b1`` ..
    ``bK`` (the item's K step difficulties; a dichotomous item has ``b1`` only) -- the columns ``items.csv``
    writes, so a base year's output is the next year's anchor file. The model and number of categories come from
    the item table."""
    name = str(path)
    c = ProblemCollector(file=name)
    table, first = _read_arrow(path, c)
    _require(c, table, ("item", "b1"))
    index = {str(v): k for k, v in enumerate(item_table.items.tolist())}
    k_max = int(item_table.max_score.max())
    text = {col: _text(table.column(col)).to_pylist() for col in table.column_names}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, it in enumerate(text["item"]):  # anchor files hold tens of items
        row = first + i
        if it == "":
            c.add(_("标识为空。"), row=row, field="item")
            continue
        if it in seen:
            c.add(_("题目“%(item)s”重复出现。") % {"item": it}, row=row, field="item")
        seen.add(it)
        k = index.get(it)
        if k is None:
            c.add(_("锚题“%(item)s”不在题目表中。") % {"item": it}, row=row, field="item", value=it)
            continue
        kmax = int(item_table.max_score[k])
        out: dict[str, Any] = {"item": it, "model": str(item_table.model[k]), "n_categories": kmax + 1}
        for col, need in (("a", False), ("c", False), *((f"b{s}", True) for s in range(1, kmax + 1))):
            raw = text.get(col, [""] * (i + 1))[i]
            if raw == "":
                if need:
                    c.add(_("满分为%(k)d的锚题需要 b1 至 b%(k)d。") % {"k": kmax}, row=row, field=col)
                continue
            try:
                value = float(raw)
            except ValueError:
                value = float("nan")
            if not np.isfinite(value):
                c.add(_("应为数值，实为“%(v)s”。") % {"v": raw}, row=row, field=col, value=raw)
                continue
            if col == "a" and value <= 0:
                c.add(_("区分度 a 应大于0。"), row=row, field=col, value=value)
            if col == "c" and not 0 <= value < 1:
                c.add(_("猜测参数 c 应在0与1之间。"), row=row, field=col, value=value)
            out[col] = value
        for s in range(kmax + 1, k_max + 1):
            if text.get(f"b{s}", [""] * (i + 1))[i] != "":
                c.add(_("该题满分为%(k)d，不应有 b%(s)d。") % {"k": kmax, "s": s}, row=row, field=f"b{s}")
        rows.append(out)
    c.raise_if_any(_("锚题参数文件有误，未做任何计算。"))
    return Anchors(rows=rows, sha256=file_sha256(path))


def write_csv(path: Path, header: list[str], columns: list[Any]) -> None:
    """Write equal-length columns as CSV (UTF-8, floats with 6 significant digits kept as repr)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    arrays = [pa.array(np.asarray(col)) for col in columns]
    pacsv.write_csv(pa.table(arrays, names=header), path)


def write_rows(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str) + "\n",
                    encoding="utf-8")
