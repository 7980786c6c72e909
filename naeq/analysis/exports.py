"""Analysts' data exports: one student file per subject of a cycle — SPSS ``.sav``, Stata ``.dta``, CSV or
Parquet — with its codebook, the weights, both sets of replicate weights and the plausible values on the reporting
scale, for the part of the country the actor stands over.

Why it is built this way:

* **Minors' data are minimised and pseudonymised by default** (DESIGN.md). A test taker appears as ``STUID``, a
  keyed hash (HMAC-SHA-256) of the test ID under a key derived from the server's ``SECRET_KEY`` and the cycle: the
  same student has the same ``STUID`` in every subject's export of the cycle (files merge on it), cannot be
  recomputed without the server's secret, and differs between cycles. Schools appear as ``SCHID``, a keyed hash of
  the school code. Names and ID numbers are never exported; the real test ID and school code only in an
  *identified* export, which only the national administrator may ask for and which is audited as such.
* **Jurisdiction**: national staff export any region, a province coordinator its province, a county liaison its
  county; everyone else, and any region outside the actor's own, gets the same :class:`NotFound` as a page that
  does not exist. Every export is audited: who, what, scope, format, pseudonymised or not, rows, files' SHA-256.
* **Data-quality decisions** (:mod:`naeq.core.exclusions`): excluded test takers are left out, flagged ones kept
  with ``QFLAG = 1``.
* **Columns, not rows**: the database is read in chunks of :data:`CHUNK` rows into numpy columns; the replicate
  weights come straight from the stored float32 matrices, matched on the sampled-student ids stored with them. A
  national file (200,000 students × 5 PVs × 2 × 80 replicates) is a few hundred MB of float columns, never a
  Python object per student and cell.

See docs/exports.md for the variables and for using the weights in R, SPSS and Stata.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from numpy.typing import NDArray

from naeq.accounts.jurisdiction import jurisdiction_of
from naeq.accounts.roles import Level, Role
from naeq.analysis.codebook import MAX_STATA_LABEL, ReplicateSet, Variable, safe_name, variance_text
from naeq.analysis.codebook import as_json as codebook_json
from naeq.analysis.codebook import csv_bytes as codebook_csv
from naeq.analysis.codebook import xlsx_bytes as codebook_xlsx
from naeq.core import exclusions
from naeq.core.audit import audit_record
from naeq.core.errors import InvalidInput, NotFound, PermissionDenied
from naeq.cycles.models import Cycle
from naeq.delivery.models import Instrument, InstrumentKind, TestTaker
from naeq.registry.models import Region, UrbanRural, urban_rural_class
from naeq.scaling.models import CalibrationPerson, CalibrationRun, RunStatus

FORMATS = ("sav", "dta", "csv", "parquet")
CHUNK = 20_000
#: Questionnaire answers coded as these are user-missing: out of range / several marks, and omitted.
INVALID, OMITTED = 97, 99
NATIONAL_EXPORTERS = frozenset({Role.NATIONAL_ADMIN, Role.NATIONAL_ANALYST})
#: Which roles export at all, and from which level of the hierarchy.
EXPORTERS: dict[str, str] = {Role.NATIONAL_ADMIN: Level.NATION, Role.NATIONAL_ANALYST: Level.NATION,
             Role.PROVINCE_COORDINATOR: Level.PROVINCE, Role.COUNTY_LIAISON: Level.COUNTY}

Progress = Callable[[str, float], None]
FloatArray = NDArray[np.float64]


# ------------------------------------------------------------------------------------------------ access


@dataclass(frozen=True)
class Scope:
    """The part of the country an export covers: ``path`` "" for the nation, else a region's path."""

    path: str
    region: Region | None

    @property
    def code(self) -> str:
        return self.region.code if self.region is not None else "national"

    @property
    def label(self) -> str:
        return self.region.name if self.region is not None else _("全国")


def _missing_page() -> NotFound:
    return NotFound(_("没有找到该页面。"))


def may_export(*, actor: Any) -> bool:
    j = jurisdiction_of(actor)
    return EXPORTERS.get(j.role) == j.level and j.school_id is None


def may_identify(*, actor: Any) -> bool:
    """Only the national administrator may export real test IDs and school codes."""
    j = jurisdiction_of(actor)
    return j.is_national and j.role == Role.NATIONAL_ADMIN


def export_scope(*, actor: Any, region: str | Region | None = None) -> Scope:
    """The scope an actor may export: its own jurisdiction, or a region inside it (``region``: a division code).
    Outside roles and regions outside the jurisdiction: :class:`NotFound`, the same as for a region that does not
    exist."""
    if not may_export(actor=actor):
        raise _missing_page()
    j = jurisdiction_of(actor)
    if region is None or region == "":
        if j.path == "":
            return Scope(path="", region=None)
        own = Region.objects.filter(path=j.path).first()
        if own is None:
            raise _missing_page()
        return Scope(path=own.path, region=own)
    reg = region if isinstance(region, Region) else Region.objects.filter(code=str(region).strip()).first()
    if reg is None or not j.covers_path(reg.path):
        raise NotFound(_("没有找到该地区，或该地区不在您的管辖范围内。"))
    return Scope(path=reg.path, region=reg)


def regions_for(*, actor: Any) -> QuerySet[Region]:
    """Provinces, cities and counties the actor may export (for the form's list)."""
    if not may_export(actor=actor):
        return Region.objects.none()
    j = jurisdiction_of(actor)
    return Region.objects.filter(path__startswith=j.path).order_by("path")


def subjects_for(*, actor: Any) -> list[tuple[int, str, str]]:
    """(cycle year, instrument code, instrument name) of the subjects with a finished calibration run."""
    if not may_export(actor=actor):
        return []
    done = set(CalibrationRun.objects.filter(status=RunStatus.DONE).values_list("cycle__year", "instrument_code"))
    names = {(y, c): n for y, c, n in Instrument.objects.filter(kind=InstrumentKind.TEST)
             .order_by("version").values_list("cycle__year", "code", "name")}
    return sorted(((y, c, names.get((y, c), c)) for y, c in done), key=lambda t: (-t[0], t[1]))


def calibration_run_for(cycle: Cycle, instrument_code: str, run: CalibrationRun | int | None = None
                        ) -> CalibrationRun:
    """The given finished run of the subject, or its latest finished one."""
    qs = CalibrationRun.objects.filter(cycle=cycle, instrument_code=instrument_code, status=RunStatus.DONE)
    if run is not None:
        got = qs.filter(pk=run.pk if isinstance(run, CalibrationRun) else int(run)).first()
        if got is None:
            raise InvalidInput(_("校准记录不属于该周期和学科，或尚未完成。"), code="bad_calibration_run")
        return got
    got = qs.order_by("-finished_at", "-pk").first()
    if got is None:
        raise InvalidInput(_("%(year)s年度“%(code)s”尚无已完成的校准记录，无法导出。") % {
            "year": cycle.year, "code": instrument_code}, code="no_calibration_run")
    return got


# ------------------------------------------------------------------------------------------------ the table


@dataclass
class StudentTable:
    """The student file as columns (one numpy array per variable, aligned), its codebook and notes."""

    columns: dict[str, NDArray[Any]] = field(default_factory=dict)
    variables: list[Variable] = field(default_factory=list)
    replicate_sets: list[ReplicateSet] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    n: int = 0

    def add(self, var: Variable, values: NDArray[Any]) -> None:
        if len(values) != self.n:
            raise ValueError(f"{var.name}: {len(values)} values for {self.n} rows")
        self.columns[var.name] = values
        self.variables.append(var)


def _chunks(rows: Iterable[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    buf: list[tuple[Any, ...]] = []
    for row in rows:
        buf.append(row)
        if len(buf) >= CHUNK:
            yield buf
            buf = []
    if buf:
        yield buf


def _key(cycle: Cycle) -> bytes:
    """The per-cycle pseudonymisation key: HMAC of the cycle under the server's SECRET_KEY (never exported)."""
    return hmac.new(settings.SECRET_KEY.encode("utf-8"), f"naeq.analysis.exports:{cycle.year}".encode(),
                    hashlib.sha256).digest()


def pseudonym(key: bytes, kind: str, value: str, *, length: int) -> str:
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:length].upper()


def _persons(run: CalibrationRun, path: str, progress: Progress | None
             ) -> tuple[NDArray[np.int64], NDArray[np.int64], FloatArray, FloatArray, FloatArray]:
    """(test-taker ids sorted, booklet (0 unknown), EAP, SE, PVs (n, M)) of the run's persons in the scope."""
    m = int(run.options.get("n_pv", 0) or 0)
    total = max(int((run.summary or {}).get("n_persons") or 1), 1)
    rows = (CalibrationPerson.objects.filter(run=run, test_taker__path__startswith=path).order_by("test_taker_id")
            .values_list("test_taker_id", "booklet", "eap", "eap_se", "pvs").iterator(chunk_size=CHUNK))
    ids, booklet, eap, se, pvs = [], [], [], [], []
    seen = 0
    for part in _chunks(rows):
        k = len(part)
        ids.append(np.fromiter((r[0] for r in part), dtype=np.int64, count=k))
        booklet.append(np.fromiter((r[1] or 0 for r in part), dtype=np.int64, count=k))
        eap.append(np.fromiter((r[2] for r in part), dtype=np.float64, count=k))
        se.append(np.fromiter((r[3] for r in part), dtype=np.float64, count=k))
        lists = [r[4] or [] for r in part]
        if all(len(v) == m for v in lists):  # the usual case: one array call per chunk
            block = np.array(lists, dtype=np.float64).reshape(k, m)
        else:
            block = np.full((k, m), np.nan)
            for i, v in enumerate(lists):
                block[i, : min(m, len(v))] = v[:m]
        pvs.append(block)
        seen += k
        if progress:
            progress("persons", min(0.4, 0.4 * seen / total))
    if not ids:
        return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros((0, m)))
    return np.concatenate(ids), np.concatenate(booklet), np.concatenate(eap), np.concatenate(se), np.vstack(pvs)


def _takers(cycle: Cycle, path: str, ids: NDArray[np.int64]) -> dict[str, NDArray[Any]]:
    """Per person (aligned with ``ids``): test ID, county path and code, school code, urban/rural code, grade,
    sex, sampled-student id (−1 none), final and national weights."""
    n = len(ids)
    out: dict[str, NDArray[Any]] = {
        "code": np.full(n, "", dtype=object), "path": np.full(n, "", dtype=object),
        "county": np.full(n, "", dtype=object), "school": np.full(n, "", dtype=object),
        "ur": np.full(n, "", dtype=object), "grade": np.full(n, np.nan), "sex": np.full(n, "", dtype=object),
        "sampled": np.full(n, -1, dtype=np.int64), "w_final": np.full(n, np.nan), "w_nat": np.full(n, np.nan)}
    if not n:
        return out
    rows = (TestTaker.objects.filter(cycle=cycle, path__startswith=path).order_by()
            .values_list("pk", "code", "path", "county__code", "school__code", "school__urban_rural", "grade",
                         "sampled_student__student__sex", "sampled_student_id", "sampled_student__final_weight",
                         "sampled_student__national_weight").iterator(chunk_size=CHUNK))
    for part in _chunks(rows):
        got = np.fromiter((r[0] for r in part), dtype=np.int64, count=len(part))
        pos = np.searchsorted(ids, got)
        hit = (pos < n) & (ids[np.minimum(pos, n - 1)] == got)
        sel = np.flatnonzero(hit).tolist()
        p = pos[hit]
        for name, col in (("code", 1), ("path", 2), ("county", 3), ("school", 4), ("ur", 5), ("sex", 7)):
            out[name][p] = [part[k][col] or "" for k in sel]
        out["grade"][p] = [np.nan if part[k][6] is None else part[k][6] for k in sel]
        out["sampled"][p] = [-1 if part[k][8] is None else part[k][8] for k in sel]
        out["w_final"][p] = [np.nan if part[k][9] is None else part[k][9] for k in sel]
        out["w_nat"][p] = [np.nan if part[k][10] is None else part[k][10] for k in sel]
    return out


def _replicates(cycle: Cycle, sampled: NDArray[np.int64]
                ) -> list[tuple[str, NDArray[np.float32], Any]]:
    """Per scope (county, national): the rows of the weights run's replicate matrix for ``sampled`` (NaN where a
    person has no sampled student) and its variance scheme; [] when the cycle has no weights run."""
    from naeq.sampling.models import ReplicateScope, ReplicateWeights, Stage
    from naeq.sampling.selectors import active_run
    from naeq.sampling.services import replicate_matrix

    run = active_run(cycle, Stage.WEIGHTS)
    if run is None:
        return []
    out = []
    for scope in (ReplicateScope.COUNTY, ReplicateScope.NATIONAL):
        if not ReplicateWeights.objects.filter(run=run, scope=scope).exists():
            continue
        ids, matrix, scheme = replicate_matrix(run, scope)
        order = np.argsort(ids)
        pos = np.searchsorted(ids[order], sampled)
        pos_c = np.minimum(pos, len(ids) - 1)
        hit = (sampled >= 0) & (pos < len(ids)) & (ids[order][pos_c] == sampled)
        rows = np.full((len(sampled), matrix.shape[1]), np.nan, dtype=np.float32)
        rows[hit] = matrix[order[pos_c[hit]]]
        out.append((str(scope), rows, scheme))
    return out


def _region_labels(codes: Iterable[str]) -> dict[int, str]:
    want = sorted({c for c in codes if c})
    return {int(c): n for c, n in Region.objects.filter(code__in=want).values_list("code", "name")}


def _codes(values: NDArray[Any]) -> FloatArray:
    return np.array([float(v) if v else np.nan for v in values.tolist()], dtype=np.float64)


def _group_labels() -> dict[str, dict[str, str]]:
    """Default value labels of the compared groups (a ``groups`` spec may give its own)."""
    return {"migrant": {"1": _("随迁子女"), "0": _("非随迁子女")},
            "disadvantaged": {"1": _("家庭经济困难学生"), "0": _("其他学生")}}


def _run_specs(cycle: Cycle, instrument_code: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``factors`` and ``groups`` options of the subject's latest finished estimation run ({} when none)."""
    from naeq.analysis.selectors import latest_done_run

    est = latest_done_run(cycle, instrument_code)
    opts = (est.options or {}) if est is not None else {}
    return dict(opts.get("factors") or {}), dict(opts.get("groups") or {})


def _background(table: StudentTable, cycle: Cycle, instrument_code: str, ids: NDArray[np.int64],
                grade: FloatArray, *, factors: dict[str, Any] | None, groups: dict[str, Any] | None) -> None:
    """The background variables, read as the estimation reads them (:mod:`naeq.analysis.background`): every
    single-choice and Likert item of every student questionnaire of the cycle's formal student sessions, joined by
    test taker whatever session it was answered in, as ``BQ_<item>`` (option numbers, 97/99 user-missing); then the
    run's recoded factors and the ``migrant`` / ``disadvantaged`` groups under their own names (group codes with
    the spec's labels, no group system-missing). ``factors`` / ``groups`` None: those of the subject's latest
    finished estimation run."""
    from naeq.analysis import background

    if factors is None or groups is None:
        run_factors, run_groups = _run_specs(cycle, instrument_code)
        factors = run_factors if factors is None else factors
        groups = run_groups if groups is None else groups
    by_code = background.student_questionnaire_items(cycle, ids)
    if not by_code:
        table.notes.append(_("本周期没有学生问卷的单选题或李克特题作答，未导出背景变量。"))
    q_code = dict(Instrument.objects.filter(pk__in={it.instrument_id for it, _v in by_code.values()})
                  .values_list("pk", "code"))
    taken = {v.name.upper() for v in table.variables}
    for code in sorted(by_code, key=lambda c: (q_code.get(by_code[c][0].instrument_id, ""), by_code[c][0].seq, c)):
        item, values = by_code[code]
        opts = {j + 1: str(o.get("label") if isinstance(o, dict) else o) for j, o in enumerate(item.options or [])}
        opts.update({INVALID: _("无效作答"), OMITTED: _("未作答")})
        table.add(Variable(safe_name(item.code, prefix="BQ_", taken=taken), " ".join(item.stem.split())[:200],
                           "numeric", _("学生问卷%(q)s第%(seq)d题（%(code)s）") % {
                               "q": q_code.get(item.instrument_id, ""), "seq": item.seq, "code": item.code},
                           value_labels=opts, missing=(INVALID, OMITTED)), values)
    # a plain item spec among the factors is its BQ_ column already; recoded ones and the groups are derived
    derived = [(name, spec, _("背景因素")) for name, spec in sorted(factors.items()) if not isinstance(spec, str)]
    titles = {"migrant": _("随迁子女"), "disadvantaged": _("家庭经济困难学生")}
    group_items = [(name, spec) for name, spec in sorted(groups.items())]
    derived += [(name, spec, titles.get(name, name)) for name, spec in group_items]
    for name, spec, what in derived:
        code = background.item_of(spec)
        if code not in by_code:
            table.notes.append(_("背景变量“%(name)s”对应的问卷题目%(code)s不在本周期的学生问卷中，未导出。") % {
                "name": name, "code": code})
            continue
        item, answers = by_code[code]
        var = background.variable(spec, item, answers, grade)
        defaults = _group_labels().get(name, {}) if (name, spec) in group_items else {}
        if defaults:  # a group spec without labels: the groups' names, not the bare codes
            var.labels = {k: (defaults.get(k, k) if var.labels.get(k, k) == k else var.labels[k]) for k in var.order}
        numeric = all(k.isdigit() for k in var.order)
        label = _("%(what)s（%(name)s，由问卷题目%(code)s重新编码）") % {"what": what, "name": name, "code": code}
        source = _("分析的背景变量设定（groups/factors）：%(spec)s") % {
            "spec": json.dumps(spec, ensure_ascii=False, sort_keys=True)}
        vname = safe_name(name, taken=taken)
        if numeric:
            col = np.array([float(v) if v else np.nan for v in var.values.tolist()], dtype=np.float64)
            table.add(Variable(vname, label, "numeric", source,
                               value_labels={int(k): var.labels.get(k, k) for k in var.order}), col)
        else:
            table.add(Variable(vname, label + " " + "; ".join(f"{k}={var.labels.get(k, k)}" for k in var.order),
                               "string", source), var.values.astype(object))


def assemble(cycle: Cycle, instrument_code: str, run: CalibrationRun, scope: Scope, *, pseudonymise: bool,
             progress: Progress | None = None, factors: dict[str, Any] | None = None,
             groups: dict[str, Any] | None = None) -> StudentTable:
    """The student file of ``run`` in ``scope`` as columns with its codebook (``factors`` / ``groups``: see
    :func:`_background`)."""
    ids, booklet, eap, eap_se, pvs = _persons(run, scope.path, progress)
    dropped = np.array(sorted(exclusions.excluded(cycle.pk, instrument_code)), dtype=np.int64)
    table = StudentTable()
    if len(dropped):
        keep = ~np.isin(ids, dropped)
        if (~keep).any():
            table.notes.append(_("%(n)d名测试对象的数据经数据质量调查决定剔除，未导出。") % {"n": int((~keep).sum())})
        ids, booklet, eap, eap_se, pvs = ids[keep], booklet[keep], eap[keep], eap_se[keep], pvs[keep]
    if not len(ids):
        raise InvalidInput(_("所选范围内没有该学科的可导出数据。"), code="nothing_to_export")
    table.n = n = len(ids)
    t = _takers(cycle, scope.path, ids)
    if progress:
        progress("takers", 0.5)
    key = _key(cycle)
    subject = instrument_code
    src_taker = _("测试对象（delivery.TestTaker）")
    stuid = np.array([pseudonym(key, "taker", c, length=16) for c in t["code"].tolist()], dtype=object)
    if len(set(stuid.tolist())) != n:  # 64 bits: a collision among 200,000 ids has odds of about 1e-9
        raise InvalidInput(_("假名编号出现重复，请联系国家监测中心。"), code="pseudonym_collision")
    table.add(Variable("STUID", _("学生假名编号（按周期密钥生成，不可还原）"), "string",
                       _("测试编号的HMAC-SHA-256（密钥由服务器SECRET_KEY与周期导出）")), stuid)
    if not pseudonymise:
        table.add(Variable("TEST_ID", _("测试编号（实名导出）"), "string", src_taker), t["code"])
    prov = np.array([p[:6] for p in t["path"].tolist()], dtype=object)
    city = np.array([p[7:13] for p in t["path"].tolist()], dtype=object)
    labels = _region_labels([*prov.tolist(), *city.tolist(), *t["county"].tolist()])
    for name, label, codes in (("PROVINCE", _("省级行政区划代码"), prov), ("CITY", _("地市级行政区划代码"), city),
                               ("COUNTY", _("县级行政区划代码"), t["county"])):
        col = _codes(codes)
        present = {int(v) for v in np.unique(col[np.isfinite(col)]).tolist()}
        table.add(Variable(name, label, "numeric", _("行政区域（registry.Region）"),
                           value_labels={c: labels[c] for c in sorted(present) if c in labels}), col)
    schid = np.array([pseudonym(key, "school", s, length=10) if s else "" for s in t["school"].tolist()],
                     dtype=object)
    table.add(Variable("SCHID", _("学校假名编号（按周期密钥生成，不可还原）"), "string",
                       _("学校标识码的HMAC-SHA-256")), schid)
    if not pseudonymise:
        table.add(Variable("SCHOOL_CODE", _("学校标识码（实名导出）"), "string", _("学校（registry.School）")),
                  t["school"])
    table.add(Variable("GRADE", _("年级"), "numeric", src_taker, value_labels={4: _("四年级"), 8: _("八年级")}),
              t["grade"])
    sex = np.array([{"M": 1.0, "F": 2.0}.get(s, np.nan) for s in t["sex"].tolist()])
    table.add(Variable("SEX", _("性别"), "numeric", _("学生名册（registry.Student.sex）"),
                       value_labels={1: _("男"), 2: _("女")}), sex)
    klass = {"urban": 1.0, "town": 2.0, "rural": 3.0}
    urban = np.array([klass[urban_rural_class(u)] if u else np.nan for u in t["ur"].tolist()])
    table.add(Variable("URBAN", _("城乡（学校所在地）"), "numeric",
                       _("学校城乡分类代码前两位：11城区、12镇区、其余乡村"),
                       value_labels={1: _("城区"), 2: _("镇区"), 3: _("乡村")}), urban)
    table.add(Variable("UR_CODE", _("统计用城乡分类代码"), "numeric", _("学校（registry.School.urban_rural）"),
                       value_labels={int(c): str(lbl) for c, lbl in UrbanRural.choices}), _codes(t["ur"]))
    table.add(Variable("BOOKLET", _("题本号"), "numeric", _("校准记录的考生题本（0为未知）")),
              booklet.astype(np.float64))
    # plausible values, levels and EAP on the reporting scale
    sc = (run.summary or {}).get("scale") or {}
    a, b = float(sc.get("A", 1.0)), float(sc.get("B", 0.0))
    if not sc:
        table.notes.append(_("校准记录没有报告量尺，似真值与EAP为θ量尺。"))
    lv = (run.summary or {}).get("levels") or None
    src_pv = _("校准记录#%(run)d（%(subject)s），报告量尺 %(a).6g·θ + %(b).6g") % {
        "run": run.pk, "subject": subject, "a": a, "b": b}
    m = pvs.shape[1]
    rep = a * pvs + b
    for k in range(m):
        table.add(Variable(f"PV{k + 1}", _("似真值%(k)d（报告量尺）") % {"k": k + 1}, "numeric", src_pv, decimals=2),
                  rep[:, k])
    if lv and lv.get("cuts"):
        cuts = np.asarray(lv["cuts"], dtype=np.float64)
        names = list(lv.get("labels") or lv.get("codes") or [])
        level_labels = {j + 1: str(names[j]) if j < len(names) else str(j + 1) for j in range(len(cuts) + 1)}
        for k in range(m):
            x = rep[:, k]
            level = np.where(np.isfinite(x), np.searchsorted(cuts, x, side="right") + 1.0, np.nan)
            table.add(Variable(f"PVLEV{k + 1}", _("似真值%(k)d的表现水平") % {"k": k + 1}, "numeric",
                               _("PV%(k)d与分界分数%(cuts)s（等于分界分数归入较高水平）") % {
                                   "k": k + 1, "cuts": "、".join(f"{c:g}" for c in cuts)},
                               value_labels=level_labels), level)
    else:
        table.notes.append(_("校准记录没有表现水平分界分数，未导出表现水平变量。"))
    table.add(Variable("EAP", _("能力EAP估计（报告量尺）"), "numeric", src_pv, decimals=2), a * eap + b)
    table.add(Variable("EAP_SE", _("EAP标准误（报告量尺）"), "numeric", src_pv, decimals=2), abs(a) * eap_se)
    if progress:
        progress("weights", 0.6)
    # weights and replicate weights
    table.add(Variable("W_FINAL", _("最终权重（县级估计）"), "numeric",
                       _("权重计算（sampling.SampledStudent.final_weight）"), decimals=4), t["w_final"])
    table.add(Variable("W_NAT", _("全国估计权重（省级、全国估计；协议县、申请县为0）"), "numeric",
                       _("权重计算（sampling.SampledStudent.national_weight）"), decimals=4), t["w_nat"])
    sets = _replicates(cycle, t["sampled"])
    if not sets:
        table.notes.append(_("本周期尚未计算权重，未导出重复权重。"))
    for scope_name, rows, scheme in sets:
        prefix, weight = ("REPWT", "W_FINAL") if scope_name == "county" else ("NREPWT", "W_NAT")
        what = _("县级估计") if scope_name == "county" else _("省级、全国估计")
        for r in range(rows.shape[1]):
            table.add(Variable(f"{prefix}{r + 1}", _("重复权重%(r)d（%(what)s）") % {"r": r + 1, "what": what},
                               "numeric", _("权重计算的重复权重（%(scope)s，%(scheme)s）") % {
                                   "scope": scope_name, "scheme": scheme.kind}, decimals=4), rows[:, r])
        table.replicate_sets.append(ReplicateSet(scope=scope_name, weight=weight, prefix=prefix, scheme=scheme.kind,
                                                 scale=float(scheme.scale),
                                                 rscales=[float(x) for x in np.asarray(scheme.rscales).tolist()]))
    flagged = np.array(sorted(exclusions.flagged(cycle.pk, instrument_code)), dtype=np.int64)
    table.add(Variable("QFLAG", _("数据质量标记"), "numeric", _("数据质量调查决定（保留并标记）"),
                       value_labels={0: _("未标记"), 1: _("经数据质量调查标记")}),
              np.isin(ids, flagged).astype(np.float64))
    if progress:
        progress("questionnaire", 0.7)
    _background(table, cycle, instrument_code, ids, t["grade"], factors=factors, groups=groups)
    table.notes.extend(variance_text(table.replicate_sets))
    return table


# ------------------------------------------------------------------------------------------------ writers


def _dataframe(table: StudentTable) -> Any:
    import pandas as pd

    return pd.DataFrame({name: (col.astype(str) if col.dtype == object else col)
                         for name, col in table.columns.items()}, copy=False)


def _labels(table: StudentTable, *, limit: int | None = None
            ) -> tuple[dict[str, str | None], dict[str, dict[Any, str]]]:
    col_labels: dict[str, str | None] = {v.name: (v.label[:limit] if limit else v.label) for v in table.variables}
    value_labels = {v.name: {float(k): t for k, t in v.value_labels.items()}
                    for v in table.variables if v.value_labels and v.kind == "numeric"}
    return col_labels, value_labels


def _document_lines(notes: list[str], width: int = 80) -> list[str]:
    """SPSS documents are lines of at most 80 bytes: wrap each note on UTF-8 character boundaries."""
    out = []
    for note in notes:
        line = ""
        for ch in note:
            if len((line + ch).encode("utf-8")) > width:
                out.append(line)
                line = ""
            line += ch
        if line:
            out.append(line)
    return out


def write_sav(table: StudentTable, path: Path, *, title: str) -> None:
    import pyreadstat

    col_labels, value_labels = _labels(table)
    missing: dict[str, list[Any]] = {v.name: [float(m) for m in v.missing] for v in table.variables if v.missing}
    fmt = {v.name: f"F12.{v.decimals}" for v in table.variables if v.kind == "numeric"}
    measure = {v.name: ("nominal" if v.value_labels or v.kind == "string" else "scale") for v in table.variables}
    pyreadstat.write_sav(_dataframe(table), str(path), file_label=title[:64], column_labels=col_labels,
                         variable_value_labels=value_labels, missing_ranges=missing, variable_format=fmt,
                         variable_measure=measure, note=_document_lines(table.notes) or None)


def write_dta(table: StudentTable, path: Path, *, title: str) -> None:
    import pyreadstat

    col_labels, value_labels = _labels(table, limit=MAX_STATA_LABEL)
    value_labels = {k: {int(c): t for c, t in v.items()} for k, v in value_labels.items()}
    pyreadstat.write_dta(_dataframe(table), str(path), file_label=title[:80], column_labels=col_labels,
                         variable_value_labels=value_labels, version=15)


def _arrow(table: StudentTable) -> Any:
    import pyarrow as pa

    fields, arrays = [], []
    for v in table.variables:
        col = table.columns[v.name]
        if v.kind == "string":
            arr = pa.array(col.tolist(), type=pa.string())
        elif col.dtype == np.float32:
            arr = pa.array(col, type=pa.float32(), from_pandas=True)
        else:
            arr = pa.array(np.asarray(col, dtype=np.float64), type=pa.float64(), from_pandas=True)
        meta = {"label": v.label, "source": v.source}
        if v.value_labels:
            meta["value_labels"] = json.dumps({str(k): t for k, t in v.value_labels.items()}, ensure_ascii=False)
        if v.missing:
            meta["missing"] = json.dumps(list(v.missing))
        fields.append(pa.field(v.name, arr.type, metadata={k: s.encode() for k, s in meta.items()}))
        arrays.append(arr)
    schema = pa.schema(fields, metadata={
        "naeq.codebook": codebook_json(table.variables, table.replicate_sets, table.notes).encode()})
    return pa.Table.from_arrays(arrays, schema=schema)


def write_parquet(table: StudentTable, path: Path, *, title: str) -> None:
    import pyarrow.parquet as pq

    pq.write_table(_arrow(table), str(path), compression="zstd", row_group_size=50_000)


def write_csv(table: StudentTable, path: Path, *, title: str) -> None:
    """UTF-8, header of variable names, system-missing as an empty field; 17 significant digits for floats."""
    import pyarrow.csv as pacsv

    pacsv.write_csv(_arrow(table).replace_schema_metadata(None), str(path))


WRITERS: dict[str, Callable[..., None]] = {"sav": write_sav, "dta": write_dta, "csv": write_csv,
                                           "parquet": write_parquet}


# ------------------------------------------------------------------------------------------------ build


@dataclass
class ExportResult:
    directory: Path
    files: list[str]
    rows: int
    sha256: dict[str, str]
    scope: Scope
    pseudonymised: bool
    audit_id: int

    @property
    def data_file(self) -> str:
        return self.files[0]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build(actor: Any, cycle: Cycle, instrument_code: str, *, out_dir: Path, calibration_run: Any = None,
          fmt: str = "sav", pseudonymise: bool = True, region: str | Region | None = None,
          progress: Progress | None = None, factors: dict[str, Any] | None = None,
          groups: dict[str, Any] | None = None) -> ExportResult:
    """Write the student file (``fmt``), ``codebook.xlsx`` and ``codebook.csv`` of one subject of ``cycle`` into
    ``out_dir`` for the actor's scope (or ``region`` inside it) and audit the export."""
    scope = export_scope(actor=actor, region=region)
    if fmt not in FORMATS:
        raise InvalidInput(_("不支持的导出格式“%(f)s”（可选：sav、dta、csv、parquet）。") % {"f": fmt},
                           code="bad_format")
    if not pseudonymise and not may_identify(actor=actor):
        raise PermissionDenied(_("只有国家监测中心管理员可以导出含测试编号和学校标识码的实名数据。"))
    run = calibration_run_for(cycle, instrument_code, calibration_run)
    for option, given in (("factors", factors), ("groups", groups)):
        if given is not None:
            from naeq.analysis.background import clean_specs

            problems = clean_specs(given, option=option)
            if problems:
                raise InvalidInput(_("背景变量设定有误。"), code="bad_background_spec", problems=problems)
    table = assemble(cycle, instrument_code, run, scope, pseudonymise=pseudonymise, progress=progress,
                     factors=factors, groups=groups)
    if progress:
        progress("write", 0.8)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"naeq_{cycle.year}_{safe_name(instrument_code)}_{scope.code}"
    data = f"{stem}.{fmt}"
    title = _("%(year)s年度%(subject)s学生数据（%(scope)s）") % {"year": cycle.year, "subject": instrument_code,
                                                          "scope": scope.label}
    WRITERS[fmt](table, out_dir / data, title=title)
    (out_dir / "codebook.xlsx").write_bytes(codebook_xlsx(table.variables, table.replicate_sets, table.notes))
    (out_dir / "codebook.csv").write_bytes(codebook_csv(table.variables, table.replicate_sets))
    files = [data, "codebook.xlsx", "codebook.csv"]
    sha = {f: _sha256(out_dir / f) for f in files}
    event = audit_record(actor=actor, action="analysis.export", object_type="CalibrationRun", object_id=run.pk, after={
        "cycle": cycle.year, "instrument_code": instrument_code, "calibration_run": run.pk, "format": fmt,
        "scope": scope.path, "region": scope.code, "pseudonymised": pseudonymise, "identified": not pseudonymise,
        "rows": table.n, "columns": len(table.variables), "files": sha})
    if progress:
        progress("done", 1.0)
    return ExportResult(directory=out_dir, files=files, rows=table.n, sha256=sha, scope=scope,
                        pseudonymised=pseudonymise, audit_id=event.pk)


def build_zip(actor: Any, cycle: Cycle, instrument_code: str, **kwargs: Any) -> tuple[str, IO[bytes], ExportResult]:
    """The export as one zip (data file + codebook) in an anonymous temporary file, positioned at its start (the
    caller streams it and closes it, which deletes it): (file name, file, result). Nothing is held in memory."""
    with tempfile.TemporaryDirectory(prefix="naeq-export-") as tmp:
        result = build(actor, cycle, instrument_code, out_dir=Path(tmp), **kwargs)
        fh = tempfile.TemporaryFile(prefix="naeq-export-", suffix=".zip")  # noqa: SIM115  (the response closes it)
        try:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name in result.files:
                    zf.write(Path(tmp) / name, arcname=name)
        except BaseException:
            fh.close()
            raise
        fh.seek(0)
        name = f"{Path(result.data_file).stem}_{Path(result.data_file).suffix[1:]}.zip"
        return name, fh, result


__all__ = ["EXPORTERS", "FORMATS", "ExportResult", "Scope", "StudentTable", "assemble", "build", "build_zip",
           "calibration_run_for", "export_scope", "may_export", "may_identify", "regions_for", "subjects_for"]
