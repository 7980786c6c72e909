"""Files for ``naeq sample``: the school frame and rosters in (CSV or Parquet), the drawn sample out.

Reading checks every row and reports each problem with the file, the row (CSV: the line number, header = 1;
Parquet: the 1-based data row), the column and a Chinese reason, all at once (:class:`InvalidInput`). Output
columns are documented in ``docs/sampling.md``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from numpy.typing import NDArray

from naeq.core.errors import ProblemCollector
from naeq.engines.sampling import ROLES, Sample, SchoolFrame
from naeq.engines.sampling.frames import LEVELS, URBAN_RURAL

FORMATS = ("csv", "parquet")
FRAME_COLUMNS = ("code", "county_code", "level", "urban_rural", "g4_enrollment", "g8_enrollment")
ROSTER_COLUMNS = ("school_code", "grade")
_INT_RE = re.compile(r"^[0-9]+$")
Table = dict[str, NDArray[Any]]


def read_table(path: str | Path, *, file: str | None = None) -> tuple[Table, int]:
    """All columns of a CSV or Parquet file as string arrays, and the row number of the first data row."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    p = Path(path)
    name = file or str(path)
    c = ProblemCollector(file=name)
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
            table = pq.read_table(p)
            first_row = 1
    except (OSError, UnicodeDecodeError, pa.ArrowException) as exc:
        c.add(_("无法读取文件：%(error)s") % {"error": exc})
        c.raise_if_any(_("文件无法读取。"))
        raise  # pragma: no cover
    out: Table = {}
    for col in table.column_names:
        arr = table.column(col).to_numpy(zero_copy_only=False)
        out[col.strip().lstrip("\ufeff")] = np.array(["" if v is None else str(v) for v in arr.tolist()],
                                                     dtype=np.str_) if arr.dtype.kind not in "U" else arr
    return out, first_row


def _int_column(c: ProblemCollector, t: Table, col: str, first_row: int) -> NDArray[np.int64]:
    raw = np.char.strip(t[col].astype(np.str_))
    ok = np.array([bool(_INT_RE.match(v)) for v in raw.tolist()], dtype=bool)
    for i in np.flatnonzero(~ok)[:200].tolist():
        c.add(_("应为非负整数，实为“%(value)s”。") % {"value": raw[i]}, row=first_row + i, field=col)
    return np.where(ok, raw, "0").astype(np.int64)


def read_school_frame(path: str | Path) -> SchoolFrame:
    """The school frame: columns ``code`` (or ``school_code``), ``county_code``, ``level``, ``urban_rural``,
    ``g4_enrollment``, ``g8_enrollment`` and optionally ``province_code`` (default: the county code's first two
    digits). Other columns are ignored, so a ``naeq synth --out`` schools file reads as is."""
    t, first = read_table(path)
    c = ProblemCollector(file=str(path))
    if "code" not in t and "school_code" in t:
        t["code"] = t["school_code"]
    missing = [col for col in FRAME_COLUMNS if col not in t]
    if missing:
        c.add(_("缺少列：%(cols)s（已有：%(have)s）。") % {"cols": "、".join(missing), "have": "、".join(t) or "无"})
        c.raise_if_any(_("学校抽样框文件有误。"))
    n = len(t["code"])
    if n == 0:
        c.add(_("文件中没有学校。"))
    code = np.char.strip(t["code"].astype(np.str_))
    county = np.char.strip(t["county_code"].astype(np.str_))
    for i in np.flatnonzero(np.char.str_len(code) == 0)[:200].tolist():
        c.add(_("学校标识码不能为空。"), row=first + i, field="code")
    # 学校标识码: 10 digits. The county prefix is not checked here: a school keeps its code when the divisions
    # change, and a frame from elsewhere may carry such schools (the registry upload checks it for new entries).
    bad_code = ~np.array([len(v) == 10 and v.isdigit() for v in code.tolist()], dtype=bool) & (
        np.char.str_len(code) > 0)
    for i in np.flatnonzero(bad_code)[:200].tolist():
        c.add(_("学校标识码应为 10 位数字，实为“%(value)s”。") % {"value": code[i]}, row=first + i, field="code")
    bad_county = ~np.array([len(v) == 6 and v.isdigit() for v in county.tolist()], dtype=bool)
    for i in np.flatnonzero(bad_county)[:200].tolist():
        c.add(_("区县代码应为 6 位数字，实为“%(value)s”。") % {"value": county[i]}, row=first + i, field="county_code")
    order = np.argsort(code, kind="stable")
    dup = np.zeros(n, dtype=bool)
    dup[order[1:]] = code[order[1:]] == code[order[:-1]]
    for i in np.flatnonzero(dup & (np.char.str_len(code) > 0))[:200].tolist():
        c.add(_("学校标识码“%(code)s”重复。") % {"code": code[i]}, row=first + i, field="code")
    level = np.char.strip(t["level"].astype(np.str_))
    for i in np.flatnonzero(~np.isin(level, LEVELS))[:200].tolist():
        c.add(_("学段“%(value)s”不是允许的取值，应为：%(allowed)s。")
              % {"value": level[i], "allowed": "、".join(LEVELS)}, row=first + i, field="level")
    ur = np.char.strip(t["urban_rural"].astype(np.str_))
    for i in np.flatnonzero(~np.isin(ur, URBAN_RURAL))[:200].tolist():
        c.add(_("城乡分类代码“%(value)s”不是允许的取值，应为：%(allowed)s。")
              % {"value": ur[i], "allowed": "、".join(URBAN_RURAL)}, row=first + i, field="urban_rural")
    g4 = _int_column(c, t, "g4_enrollment", first)
    g8 = _int_column(c, t, "g8_enrollment", first)
    province = None
    if "province_code" in t:
        province = np.char.strip(t["province_code"].astype(np.str_))
        bad = province != np.strings.slice(county, 0, 2)
        for i in np.flatnonzero(bad & ~bad_county)[:200].tolist():
            c.add(_("省级代码“%(value)s”与区县代码“%(county)s”不符。") % {"value": province[i], "county": county[i]},
                  row=first + i, field="province_code")
    c.raise_if_any(_("学校抽样框文件有误，未抽样。"))
    return SchoolFrame.from_columns(code=code, county=county, level=level, urban_rural=ur, g4=g4, g8=g8,
                                    province=province)


def read_rosters(path: str | Path) -> Table:
    """Student rosters: ``school_code``, ``grade`` (4 or 8) and any other columns (kept in file order within
    each school and grade, or in ``class_no``, ``seq`` order when both columns exist). Adds ``roster_row``."""
    t, first = read_table(path)
    c = ProblemCollector(file=str(path))
    missing = [col for col in ROSTER_COLUMNS if col not in t]
    if missing:
        c.add(_("缺少列：%(cols)s。") % {"cols": "、".join(missing)})
        c.raise_if_any(_("名单文件有误。"))
    grade = np.char.strip(t["grade"].astype(np.str_))
    for i in np.flatnonzero(~np.isin(grade, ("4", "8")))[:200].tolist():
        c.add(_("年级应为 4 或 8，实为“%(value)s”。") % {"value": grade[i]}, row=first + i, field="grade")
    keys: list[NDArray[Any]] = []
    if "class_no" in t and "seq" in t:
        keys = [_int_column(c, t, "seq", first), _int_column(c, t, "class_no", first)]
    c.raise_if_any(_("名单文件有误，未抽样。"))
    n = len(grade)
    t["school_code"] = np.char.strip(t["school_code"].astype(np.str_))
    t["grade"] = grade.astype(np.int64)
    t["roster_row"] = np.arange(n, dtype=np.int64) + first
    order = np.lexsort((np.arange(n), *keys, t["grade"], t["school_code"]))
    return {k: v[order] for k, v in t.items()}


def attach_rosters(sample: Sample, rosters: Table, *, file: str) -> Table:
    """The sampled students' roster rows (position k = the k-th roster row of the school and grade). Every
    sampled school and grade must have a roster whose length equals the frame enrollment."""
    st = sample.students
    ss = sample.schools
    key_r = np.char.add(np.char.add(rosters["school_code"], ":"), rosters["grade"].astype(str))
    uniq, start, count = np.unique(key_r, return_index=True, return_counts=True)
    samp = np.flatnonzero(ss.sampled)
    key_s = np.char.add(np.char.add(ss.code[samp], ":"), ss.grade[samp].astype(str))
    at = np.minimum(np.searchsorted(uniq, key_s), max(len(uniq) - 1, 0))
    found = (uniq[at] == key_s) if len(uniq) else np.zeros(len(samp), dtype=bool)
    n_roster = np.where(found, count[at] if len(uniq) else 0, 0)
    c = ProblemCollector(file=file)
    for j in np.flatnonzero(n_roster != ss.enrollment[samp])[:200].tolist():
        c.add(_("样本校 %(code)s %(grade)s 年级：名单 %(roster)s 人，与抽样框在校生数 %(frame)s 人不符。")
              % {"code": ss.code[samp][j], "grade": ss.grade[samp][j], "roster": int(n_roster[j]),
                 "frame": int(ss.enrollment[samp][j])})
    c.raise_if_any(_("名单与抽样框不一致，未输出学生名单。"))
    row_of_school = np.full(len(ss), -1, dtype=np.int64)
    row_of_school[samp] = start[at]
    idx = row_of_school[st["school_row"]] + st["position"]
    return {k: v[idx] for k, v in rosters.items() if k not in ("school_code", "grade")}


def _write(table: dict[str, NDArray[Any]], path: Path, fmt: str) -> Path:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    t = pa.table({k: pa.array(v) for k, v in table.items()})
    out = path.with_suffix(f".{fmt}")
    if fmt == "parquet":
        pq.write_table(t, out, compression="zstd")
    else:
        pacsv.write_csv(t, out)
    return out


def sample_tables(sample: Sample, rosters: Table | None = None,
                  student_extra: Table | None = None) -> dict[str, dict[str, NDArray[Any]]]:
    """The output tables of a draw (columns documented in docs/sampling.md); ``student_extra`` adds columns to
    the students table (e.g. booklet and test ID)."""
    cs, ss, st = sample.counties, sample.schools, sample.students
    counties = {"county_code": cs.code, "province_code": cs.province, "pi": cs.pi, "weight": 1.0 / cs.pi,
                "certainty": cs.certainty, "national": cs.national, "designated": cs.designated,
                "sort_pos": cs.sort_pos}
    code_or_empty = np.concatenate([ss.code, np.array([""])])
    schools = {
        "row": np.arange(len(ss)), "school_code": ss.code, "county_code": ss.county, "grade": ss.grade,
        "role": np.asarray(ROLES)[ss.role], "replaces": code_or_empty[ss.replaces],
        "replacement1": code_or_empty[ss.replacement1], "replacement2": code_or_empty[ss.replacement2],
        "enrollment": ss.enrollment, "mos": ss.mos, "urban_rural": ss.urban_rural, "sort_pos": ss.sort_pos,
        "pi": ss.pi, "certainty": ss.certainty,
        "base_weight": np.where(ss.role == 0, 1.0 / ss.pi, 1.0 / ss.pi[np.maximum(ss.replaces, 0)]),
    }
    students = {k: st[k] for k in ("school_code", "county", "province", "grade", "position", "pi_county",
                                   "pi_school", "pi_student", "national", "base_weight", "base_weight_county",
                                   "weight_county", "weight")}
    students["student_row"] = np.arange(len(st["grade"]))
    students["national_psu"] = sample.replicates_national.psu_of_row
    students["county_psu"] = sample.replicates_county.psu_of_row
    if rosters is not None:
        for k, v in rosters.items():
            students[f"roster_{k}" if not k.startswith("roster_") else k] = v
    students.update(student_extra or {})
    groups = dict(ss.groups)
    tables = {"counties": counties, "schools": schools, "students": students, "groups": groups}
    for name, rs in (("national", sample.replicates_national), ("county", sample.replicates_county)):
        f = {"psu": np.arange(rs.factors.shape[0]), "label": rs.scheme.psu,
             "zone": rs.scheme.zone, "member": rs.scheme.member}
        f.update({f"r{j + 1}": rs.factors[:, j] for j in range(rs.factors.shape[1])})
        tables[f"replicate_factors_{name}"] = f
    return tables


def write_sample(sample: Sample, out_dir: str | Path, *, fmt: str = "csv", rosters: Table | None = None,
                 run: dict[str, Any] | None = None, student_extra: Table | None = None) -> list[Path]:
    """Write the output tables and ``manifest.json`` (the run record) to ``out_dir``; returns the paths."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [_write(t, out / name, fmt) for name, t in sample_tables(sample, rosters, student_extra).items()]
    record = {**sample.record(), **(run or {}), "format": fmt, "files": [p.name for p in written],
              "replicates": {name: {"scheme": rs.scheme.kind, "scale": rs.scheme.scale,
                                    "rscales": rs.scheme.rscales.tolist()}
                             for name, rs in (("national", sample.replicates_national),
                                              ("county", sample.replicates_county))}}
    manifest = out / "manifest.json"
    manifest.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    written.append(manifest)
    return written
