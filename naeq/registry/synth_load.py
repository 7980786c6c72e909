"""Adapter between the synthetic-world engine and the registry: arrays -> database rows, arrays -> files.

:func:`synth_world_load` writes a :class:`naeq.engines.synth.World` into the registry tables in bulk, inside one
transaction (PostgreSQL: ``COPY``; other databases: ``executemany`` in large batches). It refuses to write into a
database that already has regions unless ``replace=True``, which first deletes the current world (all regions,
schools and rosters) in the same transaction. :func:`world_write_files` writes the same tables as CSV or Parquet
(columns in ``docs/synth.md``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from naeq.engines.synth import Columns, World

#: ``progress(table, rows_done_now, rows_total)``
Progress = Callable[[str, int, int], None]
BATCH = 50_000
FILE_FORMATS = ("parquet", "csv")


# ----------------------------------------------------------------------------------------------------------------
# paths


def region_paths(regions: Columns) -> NDArray[np.str_]:
    """Materialised paths ("630000/630100/630121/") of the regions, parents listed before children or not."""
    codes = regions["code"].tolist()
    parent_of = dict(zip(codes, regions["parent_code"].tolist(), strict=True))
    memo: dict[str, str] = {}

    def path(code: str) -> str:
        if code not in memo:
            parent = parent_of.get(code, "")
            memo[code] = f"{path(parent) if parent else ''}{code}/"
        return memo[code]

    return np.array([path(c) for c in codes])


def school_paths(regions: Columns, schools: Columns, paths: NDArray[np.str_] | None = None) -> NDArray[np.str_]:
    """Each school's path: its county's path."""
    paths = region_paths(regions) if paths is None else paths
    return paths[_index_of(regions["code"], schools["county_code"])]


def _index_of(keys: NDArray[Any], values: NDArray[Any]) -> NDArray[np.intp]:
    """Positions of ``values`` in ``keys`` (every value must be present)."""
    order = np.argsort(keys, kind="stable")
    pos = np.searchsorted(keys, values, sorter=order)
    pos = np.minimum(pos, len(keys) - 1)
    idx = order[pos]
    if len(values) and not (keys[idx] == values).all():
        missing = values[keys[idx] != values][0]
        raise ValueError(f"unknown key {missing!r}")
    return idx


# ----------------------------------------------------------------------------------------------------------------
# database


def _models() -> tuple[Any, ...]:
    from naeq.registry.models import Principal, Region, School, Student, Teacher

    return Region, School, Student, Teacher, Principal


def registry_counts() -> dict[str, int]:
    """Rows currently in the registry tables."""
    Region, School, Student, Teacher, Principal = _models()
    return {"regions": Region.objects.count(), "schools": School.objects.count(),
            "students": Student.objects.count(), "teachers": Teacher.objects.count(),
            "principals": Principal.objects.count()}


def _external_references() -> list[str]:
    """Rows outside the registry tables that point at regions or schools (e.g. user accounts)."""
    models = _models()
    Region, School = models[0], models[1]
    found = []
    for model in (Region, School):
        for rel in model._meta.related_objects:
            if rel.related_model in models or rel.many_to_many:
                continue
            n = rel.related_model._base_manager.filter(**{f"{rel.field.name}__isnull": False}).count()
            if n:
                found.append(f"{n} {rel.related_model._meta.label} row(s) via {rel.field.name}")
    return found


def _delete_world(connection: Any) -> None:
    Region, School, Student, Teacher, Principal = _models()
    with connection.cursor() as cur:
        for model in (Student, Teacher, Principal, School, Region):
            cur.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608


def _insert(connection: Any, model: Any, columns: Sequence[str], data: Sequence[Iterable[Any]], n: int,
            progress: Progress | None, label: str) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    cols = [model._meta.get_field(c).column for c in columns]
    col_sql = ", ".join(connection.ops.quote_name(c) for c in cols)
    rows = zip(*data, strict=True)
    if connection.vendor == "postgresql":
        raw = connection.connection  # the psycopg 3 connection, inside Django's transaction
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({col_sql}) FROM STDIN") as copy:
            done = 0
            for row in rows:
                copy.write_row(row)
                done += 1
                if progress is not None and done % BATCH == 0:
                    progress(label, BATCH, n)
            if progress is not None and done % BATCH:
                progress(label, done % BATCH, n)
        return
    sql = f"INSERT INTO {table} ({col_sql}) VALUES ({', '.join(['%s'] * len(cols))})"  # noqa: S608
    with connection.cursor() as cur:
        while True:
            batch = [row for _, row in zip(range(BATCH), rows, strict=False)]
            if not batch:
                break
            cur.executemany(sql, batch)
            if progress is not None:
                progress(label, len(batch), n)


def _next_id(model: Any) -> int:
    from django.db.models import Max

    return int(model.objects.aggregate(m=Max("id"))["m"] or 0) + 1


def synth_world_check(*, replace: bool = False) -> dict[str, int] | None:
    """Whether a world may be loaded now: ``None`` when the registry is empty, the current counts when it is not
    and ``replace`` is true. Raises :class:`naeq.core.errors.InvalidInput` otherwise (see :func:`synth_world_load`).
    """
    from django.utils.translation import gettext as _

    from naeq.core.errors import InvalidInput

    Region = _models()[0]
    if not Region.objects.exists():
        return None
    before = registry_counts()
    if not replace:
        raise InvalidInput(
            _("数据库中已有行政区域（%(regions)d 个）和学校（%(schools)d 所）；"
              "如要替换为新的模拟数据，请使用 --replace。") % before, code="world_exists", details=before)
    refs = _external_references()
    if refs:
        raise InvalidInput(_("当前区域和学校仍被其他数据引用，不能替换：") + "; ".join(refs),
                           code="world_referenced", details={"references": refs})
    return before


def synth_world_load(*, world: World, replace: bool = False, actor: Any = None,
                     progress: Progress | None = None) -> dict[str, int]:
    """Write ``world`` into the registry in one transaction; returns the counts written.

    Raises :class:`naeq.core.errors.InvalidInput` (code ``world_exists``) when the database already has regions and
    ``replace`` is false, and (code ``world_referenced``) when replacing would orphan rows that point at the current
    world's regions or schools (user accounts, samples, ...). Either way nothing is changed.
    """
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from naeq.core.audit import audit_record

    Region, School, Student, Teacher, Principal = _models()
    with transaction.atomic():
        before = synth_world_check(replace=replace)
        if before is not None:
            _delete_world(connection)

        regions, schools = world.regions, world.schools
        n_r, n_s = len(regions["code"]), len(schools["code"])
        r_paths = region_paths(regions)
        r_ids = np.arange(n_r, dtype=np.int64) + _next_id(Region)
        parent_ids: list[int | None] = [None] * n_r
        has_parent = regions["parent_code"] != ""
        if has_parent.any():
            pidx = _index_of(regions["code"], regions["parent_code"][has_parent])
            for i, v in zip(np.flatnonzero(has_parent).tolist(), r_ids[pidx].tolist(), strict=True):
                parent_ids[i] = v
        # Parents before children, so that immediate foreign-key checks pass on any backend.
        order = np.argsort(np.char.str_len(r_paths), kind="stable")
        cols_r = ["id", "code", "name", "level", "parent", "path", "local_time_offset_hours", "mailing_address",
                  "postcode", "mailing_recipient", "mailing_phone"]
        data_r = [r_ids[order].tolist(), regions["code"][order].tolist(), regions["name"][order].tolist(),
                  regions["level"][order].tolist(), [parent_ids[i] for i in order.tolist()],
                  r_paths[order].tolist(), regions["local_time_offset_hours"][order].tolist(),
                  *(regions[c][order].tolist() for c in cols_r[7:])]
        _insert(connection, Region, cols_r, data_r, n_r, progress, "regions")

        s_ids = np.arange(n_s, dtype=np.int64) + _next_id(School)
        county_idx = _index_of(regions["code"], schools["county_code"])
        cols_s = ["id", "code", "name", "county", "path", "level", "urban_rural", "ownership", "g4_enrollment",
                  "g4_classes", "g8_enrollment", "g8_classes"]
        data_s = [s_ids.tolist(), schools["code"].tolist(), schools["name"].tolist(), r_ids[county_idx].tolist(),
                  r_paths[county_idx].tolist(), *(schools[c].tolist() for c in cols_s[5:])]
        _insert(connection, School, cols_s, data_s, n_s, progress, "schools")

        counts = {"regions": n_r, "schools": n_s, "students": 0, "teachers": 0, "principals": 0}
        if world.rosters is not None:
            st, te, pr = world.rosters.students, world.rosters.teachers, world.rosters.principals

            def school_ids(t: Columns) -> list[int]:
                return s_ids[_index_of(schools["code"], t["school_code"])].tolist()

            n = len(st["school_code"])
            cols = ["school", "grade", "class_no", "seq", "name", "sex", "birth_month"]
            _insert(connection, Student, cols, [school_ids(st), *(st[c].tolist() for c in cols[1:])], n, progress,
                    "students")
            n_t = len(te["school_code"])
            head = [h or None for h in te["head_teacher_class"].tolist()]
            _insert(connection, Teacher, ["school", "name", "sex", "grade", "subjects", "head_teacher_class"],
                    [school_ids(te), te["name"].tolist(), te["sex"].tolist(), te["grade"].tolist(),
                     te["subjects"].tolist(), head], n_t, progress, "teachers")
            n_p = len(pr["school_code"])
            _insert(connection, Principal, ["school", "name", "sex"],
                    [school_ids(pr), pr["name"].tolist(), pr["sex"].tolist()], n_p, progress, "principals")
            counts.update(students=n, teachers=n_t, principals=n_p)

        with connection.cursor() as cur:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Region, School]):
                cur.execute(sql)
        audit_record(actor=actor, action="registry.synth.load", object_type="synthetic_world",
                     object_id=f"{world.scale}:{world.seed}", before=before,
                     after={"scale": world.scale, "seed": world.seed, **counts})
    return counts


# ----------------------------------------------------------------------------------------------------------------
# files


def world_tables(world: World) -> dict[str, Columns]:
    """The tables written to files, in file order, with the columns documented in docs/synth.md."""
    paths = region_paths(world.regions)
    regions = dict(world.regions)
    regions["path"] = paths
    schools = dict(world.schools)
    schools["path"] = school_paths(world.regions, world.schools, paths)
    tables = {"regions": regions, "schools": schools}
    if world.rosters is not None:
        tables.update(students=world.rosters.students, teachers=world.rosters.teachers,
                      principals=world.rosters.principals)
    return tables


def world_write_files(world: World, out_dir: str | Path, *, fmt: str = "parquet",
                      progress: Progress | None = None) -> list[Path]:
    """Write the world's tables to ``out_dir`` as ``<table>.parquet`` or ``<table>.csv`` (UTF-8, header row), plus
    ``manifest.json`` (scale, seed, counts, files). Returns the paths written."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if fmt not in FILE_FORMATS:
        raise ValueError(f"format must be one of {FILE_FORMATS}, got {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    tables = world_tables(world)
    for name, cols in tables.items():
        arrays = {}
        for k, v in cols.items():
            if k == "head_teacher_class":
                arrays[k] = pa.array(v, mask=(v == 0))
            else:
                arrays[k] = pa.array(v)
        table = pa.table(arrays)
        path = out / f"{name}.{fmt}"
        if fmt == "parquet":
            pq.write_table(table, path, compression="zstd")
        else:
            pacsv.write_csv(table, path)
        written.append(path)
        if progress is not None:
            progress("files", 1, len(tables))
    manifest = out / "manifest.json"
    manifest.write_text(json.dumps({
        "generator": "naeq synth", "scale": world.scale, "seed": world.seed,
        "rosters": world.rosters is not None, "format": fmt, "counts": world.counts(),
        "files": [p.name for p in written],
    }, ensure_ascii=False, indent=2) + "\n")
    written.append(manifest)
    return written
