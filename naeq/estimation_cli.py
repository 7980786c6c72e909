"""``naeq estimate``: design-based estimates with replicate SEs and plausible values over files (columns:
docs/estimation.md). Engine: :mod:`naeq.engines.estimation`.

Imports only click at module level (``naeq --help`` stays fast). Bad input: every problem with file, row
(CSV: line number, header = 1; Parquet: 1-based data row), column and a Chinese reason, exit code 1, nothing
written.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from naeq.core.clitools import django_setup as _django_setup

STATS = ("mean", "proportion", "percentile", "levels", "regression", "between_school")
MAX_LISTED = 50


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Columns:
    """A CSV or Parquet file as Arrow columns, with precise per-cell problems collected in ``c``."""

    def __init__(self, path: str, c: Any) -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq
        from django.utils.translation import gettext as _

        self.path, self.c = path, c
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            c.add(_("不支持的文件类型“%(s)s”，应为 .csv 或 .parquet。") % {"s": suffix or "?"})
            c.raise_if_any(_("文件无法读取。"))
        if not p.is_file():
            c.add(_("文件不存在。"))
            c.raise_if_any(_("文件无法读取。"))
        try:
            if suffix == ".csv":
                with p.open("rb") as fh:
                    header = fh.readline().decode("utf-8-sig").strip()
                names = [h.strip().strip('"') for h in header.split(",")] if header else []
                self.table = pacsv.read_csv(p, convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in names}, strings_can_be_null=False))
                self.first = 2
            else:
                self.table = pq.read_table(p)
                self.first = 1
        except UnicodeDecodeError:
            c.add(_("文件不是UTF-8编码，请另存为UTF-8（CSV UTF-8）后再导入。"))
            c.raise_if_any(_("文件无法读取。"))
        except (OSError, pa.ArrowException) as exc:
            c.add(_("无法读取文件：%(e)s") % {"e": exc})
            c.raise_if_any(_("文件无法读取。"))
        self.table = self.table.rename_columns([n.strip().lstrip("\ufeff") for n in self.table.column_names])
        names = self.table.column_names
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            c.add(_("列名重复：%(c)s。") % {"c": "、".join(dup)}, row=1)
        if self.table.num_rows == 0:
            c.add(_("文件没有数据行。"))
        c.raise_if_any(_("文件无法读取。"))
        self.sha256 = _sha256(path)

    @property
    def names(self) -> list[str]:
        return list(self.table.column_names)

    def require(self, cols: list[str]) -> bool:
        from django.utils.translation import gettext as _

        missing = [x for x in cols if x not in self.names]
        if missing:
            self.c.add(_("缺少列：%(m)s（现有列：%(h)s）。") % {"m": "、".join(missing), "h": "、".join(self.names)},
                       row=1)
        return not missing

    def text(self, name: str, *, allow_empty: bool = False) -> Any:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
        from django.utils.translation import gettext as _

        col = self.table.column(name)
        if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
            col = pc.cast(col, pa.string())
        arr = np.asarray(pc.fill_null(pc.utf8_trim_whitespace(col), "").to_pylist(), dtype=object)
        if not allow_empty:
            for i in np.flatnonzero(arr == "")[:MAX_LISTED].tolist():
                self.c.add(_("值为空。"), row=self.first + i, field=name)
        return arr.astype(str)

    def number(self, name: str, *, low: float | None = None) -> Any:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
        from django.utils.translation import gettext as _

        col = self.table.column(name)
        if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
            vals = np.asarray(pc.fill_null(pc.cast(col, pa.float64()), np.nan).to_numpy(zero_copy_only=False),
                              dtype=np.float64)
            raw = None
        else:
            text = pc.fill_null(pc.utf8_trim_whitespace(col), "")
            good = np.asarray(pc.match_substring_regex(
                text, r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$").to_numpy(zero_copy_only=False),
                dtype=bool)
            vals = np.full(len(good), np.nan)
            if good.any():
                vals[good] = np.asarray(pc.cast(pc.filter(text, pa.array(good)), pa.float64())
                                        .to_numpy(zero_copy_only=False), dtype=np.float64)
            raw = text
        bad = ~np.isfinite(vals)
        if low is not None:
            bad |= np.isfinite(vals) & (vals < low)
        for i in np.flatnonzero(bad)[:MAX_LISTED].tolist():
            v = "" if raw is None else raw[i].as_py()
            if raw is not None and v == "":
                reason = _("值为空，应为数值。")
            elif np.isfinite(vals[i]):
                reason = _("“%(v)s”应不小于%(low)g。") % {"v": v if raw is not None else vals[i], "low": low}
            else:
                reason = _("“%(v)s”不是有限数值。") % {"v": v}
            self.c.add(reason, row=self.first + i, field=name, value=v)
        more = int(bad.sum()) - MAX_LISTED
        if more > 0:
            self.c.add(_("另有%(n)d行同类错误。") % {"n": more}, field=name)
        return vals


def _split(value: str) -> list[str]:
    return [x.strip() for x in value.split(",") if x.strip()]


def _floats(value: str, option: str, problems: list[Any]) -> list[float]:
    from django.utils.translation import gettext as _

    from naeq.core.errors import Problem

    try:
        return [float(x) for x in _split(value)]
    except ValueError:
        problems.append(Problem(reason=_("应为逗号分隔的数值，实为“%(v)s”。") % {"v": value}, field=option))
        return []


REASONS = {"min_n": "样本量不足", "min_schools": "学校数不足", "max_cv": "变异系数过大", "singular": "自变量共线",
           "no_se": "无法估计标准误（该组整体位于某复制权重删去的抽样单元内）"}


@click.command()
@click.option("--persons", "persons_path", type=click.Path(dir_okay=False), required=True,
              help="Person file (.csv/.parquet): person, the weight column, PV columns, group columns [, school].")
@click.option("--replicates", "replicates_path", type=click.Path(dir_okay=False), default=None,
              help="Replicate weights: person, rep1..repR (combined weights). Default: the --rep-prefix columns "
                   "of the person file.")
@click.option("--weight", "weight_col", default="weight", show_default=True, help="Final weight column.")
@click.option("--rep-prefix", default="rep", show_default=True,
              help="Replicate weight columns are <prefix>1..<prefix>R.")
@click.option("--pv", "pv_prefix", default="pv", show_default=True,
              help="Plausible values are the columns <prefix>1..<prefix>M.")
@click.option("--variable", default=None,
              help="Estimate this one column instead of the plausible values (e.g. a questionnaire index).")
@click.option("--school", "school_col", default="school", show_default=True,
              help="School column (minimum-schools rule, between-school statistics); ignored if absent.")
@click.option("--method", type=click.Choice(("JK2", "Fay", "JKn", "other")), default="JK2", show_default=True,
              help="Replicate method (R survey svrepdesign type).")
@click.option("--rho", type=float, default=None, help="Fay's ρ (only with --method Fay; default 0.5).")
@click.option("--scale", type=float, default=None, help="Variance scale for JKn/other (default 1).")
@click.option("--rscales", default="", help="Comma-separated per-replicate factors for JKn/other (default 1).")
@click.option("--mse/--no-mse", default=True, show_default=True,
              help="Centre replicates at the full-sample estimate (R survey mse=TRUE) or at their mean.")
@click.option("--by", "by_specs", multiple=True,
              help="A grouping: one column or comma-separated columns crossed (county,sex). Repeatable; the whole "
                   "sample is always estimated too.")
@click.option("--stat", "stats_", multiple=True, type=click.Choice(STATS), default=("mean",), show_default=True,
              help="Statistics (repeatable).")
@click.option("--cuts", default="",
              help="Three increasing cut scores (levels 待提高/中等/良好/优秀; for levels and proportion).")
@click.option("--category", default="",
              help="For proportion: comma-separated values of --variable (or, with --cuts, level codes I..IV) "
                   "whose share is estimated.")
@click.option("--quantiles", default="0.1,0.25,0.5,0.75,0.9", show_default=True, help="For percentile.")
@click.option("--x", "x_cols", default="", help="For regression: comma-separated predictor columns.")
@click.option("--definition", type=click.Choice(("variance_share", "eta_squared", "cv")), default="variance_share",
              show_default=True, help="For between_school: the 校际差异率 definition (docs/estimation.md).")
@click.option("--vs-total", is_flag=True, help="Test every group against the whole sample (part-whole).")
@click.option("--contrast", "contrast_col", default=None,
              help="Test the levels of this column (e.g. sex) against its first level, overall and within each "
                   "--by group.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True)
@click.option("--min-n", type=click.IntRange(min=0), default=62, show_default=True, help="Suppress below n students.")
@click.option("--min-schools", type=click.IntRange(min=0), default=5, show_default=True,
              help="Suppress below this many schools.")
@click.option("--max-cv", type=click.FloatRange(min=0), default=0.5, show_default=True, help="Suppress above this CV.")
@click.option("--show-suppressed", is_flag=True, help="Write values of suppressed estimates (flag kept).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), required=True,
              help="Estimates CSV; <stem>_differences.csv and <stem>.run.json are written beside it.")
def estimate(persons_path: str, replicates_path: str | None, weight_col: str, rep_prefix: str, pv_prefix: str,
             variable: str | None, school_col: str, method: str, rho: float | None, scale: float | None,
             rscales: str, mse: bool, by_specs: tuple[str, ...], stats_: tuple[str, ...], cuts: str, category: str,
             quantiles: str, x_cols: str, definition: str, vs_total: bool, contrast_col: str | None, alpha: float,
             min_n: int, min_schools: int, max_cv: float, show_suppressed: bool, out_path: str) -> None:
    """Weighted means, proportions, percentiles, level shares, regression coefficients and between-school
    shares with replicate SEs (JK2, Fay-BRR) combined over plausible values by Rubin's rules, by group, with
    difference tests and suppression of unstable estimates. Same numbers as R survey (svrepdesign + withPV).
    """
    _django_setup()
    import numpy as np
    from django.utils.translation import gettext as _

    from naeq.core.errors import InvalidInput, Problem, ProblemCollector
    from naeq.engines import estimation as est
    from naeq.engines.errors import EngineError

    started = time.perf_counter()
    opt_problems: list[Problem] = []
    cut_values = _floats(cuts, "--cuts", opt_problems)
    q_values = _floats(quantiles, "--quantiles", opt_problems)
    rs_values = _floats(rscales, "--rscales", opt_problems) if rscales else None
    if rho is not None and method != "Fay":
        opt_problems.append(Problem(reason=_("--rho 只用于 --method Fay。"), field="--rho"))
    if rho is not None and not 0 <= rho < 1:
        opt_problems.append(Problem(reason=_("ρ 应在 [0, 1) 之间。"), field="--rho"))
    if cut_values and (len(cut_values) != 3 or any(b <= a for a, b in itertools.pairwise(cut_values))):
        opt_problems.append(Problem(reason=_("应为三个递增的分数线。"), field="--cuts"))
    if "levels" in stats_ and not cut_values:
        opt_problems.append(Problem(reason=_("--stat levels 需要 --cuts。"), field="--cuts"))
    if "proportion" in stats_ and not category:
        opt_problems.append(Problem(reason=_("--stat proportion 需要 --category。"), field="--category"))
    if "proportion" in stats_ and variable is None and not cut_values:
        opt_problems.append(Problem(reason=_("对合理值估计比例需要 --cuts 与等级代码（如 --category II,III,IV）。"),
                                    field="--category"))
    if "regression" in stats_ and not _split(x_cols):
        opt_problems.append(Problem(reason=_("--stat regression 需要 --x。"), field="--x"))
    if any(not 0 < q < 1 for q in q_values):
        opt_problems.append(Problem(reason=_("分位数应在0与1之间。"), field="--quantiles"))
    if opt_problems:
        raise InvalidInput(_("选项有误，未做任何计算。"), code="bad_options", problems=opt_problems)

    c = ProblemCollector(file=os.path.basename(persons_path))
    persons = Columns(persons_path, c)
    names = persons.names
    by_cols = [_split(s) for s in by_specs]
    group_cols = sorted({x for cols in by_cols for x in cols} | ({contrast_col} if contrast_col else set()))
    pv_cols = ([variable] if variable is not None else
               [f"{pv_prefix}{m}" for m in range(1, 1000) if f"{pv_prefix}{m}" in names])
    if variable is None and not pv_cols:
        c.add(_("没有合理值列（%(p)s1、%(p)s2……）。") % {"p": pv_prefix}, row=1)
    x_list = _split(x_cols)
    need = ["person", weight_col, *pv_cols, *group_cols, *x_list]
    persons.require(need)
    c.raise_if_any(_("人员文件有误，未做任何计算。"))
    person = persons.text("person")
    uniq, first_idx, counts = np.unique(person, return_index=True, return_counts=True)
    for i in np.flatnonzero(counts[np.searchsorted(uniq, person)] > 1)[:MAX_LISTED].tolist():
        if first_idx[np.searchsorted(uniq, person[i])] != i:
            c.add(_("人员“%(p)s”重复出现。") % {"p": person[i]}, row=persons.first + i, field="person")
    w = persons.number(weight_col, low=0.0)
    pvs = np.column_stack([persons.number(col) for col in pv_cols])
    groups = {col: persons.text(col) for col in group_cols}
    xs = np.column_stack([persons.number(col) for col in x_list]) if x_list else None
    schools = persons.text(school_col) if school_col in names else None
    if replicates_path is None:
        rep_cols = [f"{rep_prefix}{r}" for r in range(1, 10_000) if f"{rep_prefix}{r}" in names]
        if len(rep_cols) < 2:
            c.add(_("没有复制权重列（%(p)s1……%(p)sR），也未给出 --replicates。") % {"p": rep_prefix}, row=1)
        reps = np.column_stack([persons.number(col, low=0.0) for col in rep_cols]) if rep_cols else None
        c.raise_if_any(_("人员文件有误，未做任何计算。"))
    else:
        c.raise_if_any(_("人员文件有误，未做任何计算。"))
        rc = ProblemCollector(file=os.path.basename(replicates_path))
        rfile = Columns(replicates_path, rc)
        rep_cols = [f"{rep_prefix}{r}" for r in range(1, 10_000) if f"{rep_prefix}{r}" in rfile.names]
        rfile.require(["person"])
        if len(rep_cols) < 2:
            rc.add(_("没有复制权重列（%(p)s1……%(p)sR）。") % {"p": rep_prefix}, row=1)
        rc.raise_if_any(_("复制权重文件有误，未做任何计算。"))
        rperson = rfile.text("person")
        where = {p: i for i, p in enumerate(rperson.tolist())}
        if len(where) < len(rperson):
            seen: set[str] = set()
            for i, p in enumerate(rperson.tolist()):
                if p in seen:
                    rc.add(_("人员“%(p)s”重复出现。") % {"p": p}, row=rfile.first + i, field="person")
                seen.add(p)
        known = set(person.tolist())
        for i, p in enumerate(rperson.tolist()):
            if p not in known and len(rc.problems) < MAX_LISTED:
                rc.add(_("人员“%(p)s”不在人员文件中。") % {"p": p}, row=rfile.first + i, field="person")
        idx = np.array([where.get(p, -1) for p in person.tolist()])
        for i in np.flatnonzero(idx < 0)[:MAX_LISTED].tolist():
            rc.add(_("人员文件第%(r)d行的人员“%(p)s”没有复制权重。") % {"r": persons.first + i, "p": person[i]},
                   field="person")
        rvals = np.column_stack([rfile.number(col, low=0.0) for col in rep_cols])
        rc.raise_if_any(_("复制权重文件有误，未做任何计算。"))
        reps = rvals[idx]
    assert reps is not None  # raise_if_any above guarantees it
    rules = est.SuppressionRules(min_n=min_n, min_schools=min_schools, max_cv=max_cv)
    try:
        design = est.Design(w, reps, method=method, rho=rho, scale=scale,
                            rscales=np.array(rs_values) if rs_values else None, mse=mse, schools=schools)
        results, diffs = _run(est, design, pvs, groups, by_cols, stats_, cut_values, category, q_values, xs,
                              x_list, definition, vs_total, contrast_col, alpha, rules, variable is not None)
    except EngineError as exc:
        raise InvalidInput(_("无法估计：%(e)s") % {"e": exc.message}, code=exc.code) from None
    except ValueError as exc:
        raise InvalidInput(_("无法估计：%(e)s") % {"e": exc}, code="bad_input") from None

    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    diff_path = out.with_name(out.stem + "_differences.csv")
    run_path = out.with_name(out.stem + ".run.json")
    group_header = group_cols
    with out.open("w", newline="", encoding="utf-8") as fh:
        wr = csv.writer(fh)
        wr.writerow(["grouping", *group_header, "statistic", "term", "value", "se", "df", "ci_low", "ci_high",
                     "n", "sum_weights", "n_schools", "suppressed", "reason"])
        from scipy import stats as sps

        for grouping, e in results:
            gcols = grouping.split(",") if grouping != "all" else []
            for k in range(len(e)):
                vals = dict(zip(gcols, e.group[k], strict=False)) if gcols else {}
                df = float(e.df[k])
                crit = sps.norm.ppf(1 - alpha / 2) if not np.isfinite(df) else sps.t.ppf(1 - alpha / 2, df)
                hide = bool(e.suppressed[k]) and not show_suppressed
                num = [repr(float(e.value[k])), repr(float(e.se[k])), repr(df) if np.isfinite(df) else "inf",
                       repr(float(e.value[k] - crit * e.se[k])), repr(float(e.value[k] + crit * e.se[k]))]
                wr.writerow([grouping, *[vals.get(g, "") for g in group_header], e.statistic, e.term[k],
                             *(["", "", "", "", ""] if hide else num), int(e.n[k]), repr(float(e.sum_weights[k])),
                             int(e.n_schools[k]) if e.n_schools[k] >= 0 else "", int(bool(e.suppressed[k])),
                             "；".join(_(REASONS[r]) for r in e.reason[k].split(",") if r)])
    with diff_path.open("w", newline="", encoding="utf-8") as fh:
        wr = csv.writer(fh)
        wr.writerow(["kind", "statistic", "a", "b", "difference", "se", "df", "t", "p", "significant", "suppressed"])
        for kind, statistic, d in diffs:
            for k in range(len(d.value)):
                hide = bool(d.suppressed[k]) and not show_suppressed
                num = [repr(float(d.value[k])), repr(float(d.se[k])),
                       repr(float(d.df[k])) if np.isfinite(d.df[k]) else "inf", repr(float(d.t[k])),
                       repr(float(d.p[k])), str(int(bool(d.significant[k])))]
                wr.writerow([kind, statistic, d.label_a[k], d.label_b[k], *([""] * 6 if hide else num),
                             int(bool(d.suppressed[k]))])
    from importlib.metadata import version

    n_out: dict[str, int] = {"persons": len(w), "replicates": design.n_replicates, "pvs": int(pvs.shape[1]),
              "estimates": sum(len(e) for _g, e in results), "differences": sum(len(d.value) for *_k, d in diffs)}
    record: dict[str, Any] = {
        "verb": "naeq estimate", "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": f"naeq {version('naeq')}",
        "inputs": {"persons": {"file": os.path.basename(persons_path), "sha256": persons.sha256},
                   **({"replicates": {"file": os.path.basename(replicates_path), "sha256": _sha256(replicates_path)}}
                      if replicates_path else {})},
        "options": {"weight": weight_col, "pv_columns": pv_cols, "replicate_columns": len(rep_cols),
                    "method": method, "rho": design.rho, "scale": design.scale, "mse": mse, "by": list(by_specs),
                    "stat": list(stats_), "cuts": cut_values, "category": category, "quantiles": q_values,
                    "x": x_list, "definition": definition, "vs_total": vs_total, "contrast": contrast_col,
                    "alpha": alpha, "suppression": {"min_n": min_n, "min_schools": min_schools, "max_cv": max_cv},
                    "show_suppressed": show_suppressed, "degf": design.degf},
        "counts": n_out,
        "outputs": {"estimates": out.name, "differences": diff_path.name,
                    "estimates_sha256": _sha256(str(out)), "differences_sha256": _sha256(str(diff_path))},
        "seconds": round(time.perf_counter() - started, 3),
    }
    run_path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    click.echo(f"estimate: {len(w):,} persons, {design.n_replicates} replicates, {pvs.shape[1]} PV(s); "
               f"{n_out['estimates']} estimates, {n_out['differences']} differences "
               f"→ {out}")


def _run(est: Any, design: Any, pvs: Any, groups: dict[str, Any], by_cols: list[list[str]], stats_: tuple[str, ...],
         cuts: list[float], category: str, quantiles: list[float], xs: Any, x_list: list[str], definition: str,
         vs_total: bool, contrast_col: str | None, alpha: float, rules: Any, single: bool
         ) -> tuple[list[tuple[str, Any]], list[tuple[str, str, Any]]]:
    """Every statistic for the whole sample and every grouping; the requested differences."""
    import numpy as np

    codes = ("I", "II", "III", "IV")
    groupings: list[tuple[str, Any]] = [("all", None)] + [
        (",".join(cols), {col: groups[col] for col in cols}) for cols in by_cols]
    if contrast_col:
        extra = [("all", [contrast_col])] + [(",".join(cols), [*cols, contrast_col]) for cols in by_cols
                                             if contrast_col not in cols]
        for _name, cols in extra:
            spec = ",".join(cols)
            if spec not in [g for g, _b in groupings]:
                groupings.append((spec, {col: groups[col] for col in cols}))
    results: list[tuple[str, Any]] = []
    diffs: list[tuple[str, str, Any]] = []
    for stat in stats_:
        per: dict[str, Any] = {}
        for name, by in groupings:
            if stat == "mean":
                e = est.mean(design, pvs, by=by, rules=rules)
            elif stat == "proportion":
                cats = _split(category)
                if single:
                    vals = pvs[:, 0]
                    try:
                        cat_values: list[Any] = [float(x) for x in cats]
                    except ValueError:
                        cat_values = cats
                    e = est.proportion(design, vals, cat_values, by=by, rules=rules)
                else:
                    lev = np.searchsorted(np.asarray(cuts), pvs, side="right")
                    unknown = [x for x in cats if x not in codes]
                    if unknown:
                        raise ValueError(f"unknown level codes {unknown}; use {codes}")
                    e = est.proportion(design, np.asarray(codes)[lev], cats, by=by, rules=rules)
            elif stat == "percentile":
                e = est.percentile(design, pvs, quantiles, by=by, rules=rules, alpha=alpha)
            elif stat == "levels":
                e = est.levels(design, pvs, cuts, by=by, rules=rules)
            elif stat == "regression":
                e = est.regression(design, pvs, xs, names=x_list, by=by, rules=rules)
            else:
                e = est.between_school_share(design, pvs, by=by, definition=definition, rules=rules)
            per[name] = e
            results.append((name, e))
        if stat == "percentile":
            continue  # Woodruff SEs have no replicates of the quantile: no replicate-based differences
        whole = per["all"]
        if vs_total:
            for name, e in per.items():
                if name != "all":
                    rows_b = [whole.index("all", e.term[k]) for k in range(len(e))]
                    diffs.append(("vs_total", stat, est.difference(design, e, np.arange(len(e)), whole, rows_b,
                                                                   alpha=alpha)))
        if contrast_col:
            for name, e in per.items():
                cols = name.split(",")
                if cols[-1] != contrast_col:
                    continue
                base: dict[tuple[Any, ...], int] = {}
                ra, rb = [], []
                first_level = min(str(g[-1]) for g in e.group)
                for k in range(len(e)):
                    if str(e.group[k][-1]) == first_level:
                        base[(*e.group[k][:-1], e.term[k])] = k
                for k in range(len(e)):
                    key = (*e.group[k][:-1], e.term[k])
                    if str(e.group[k][-1]) != first_level and key in base:
                        ra.append(k)
                        rb.append(base[key])
                if ra:
                    diffs.append(("contrast", stat, est.difference(design, e, ra, e, rb, alpha=alpha)))
    return results, diffs
