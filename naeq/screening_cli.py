"""``naeq screen``: stage 1 indicators and stage 2 response forensics over files (columns: docs/forensics.md).

Imports only click at module level (``naeq --help`` stays fast); the verb needs no database.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

EXIT_BAD_INPUT = 1


class BadInput(Exception):
    """A precise input problem: file, line (1 = header), column and reason, in Chinese."""

    def __init__(self, file: str, line: int | None, column: str | None, reason: str) -> None:
        where = os.path.basename(file)
        if line is not None:
            where += f" 第{line}行"
        if column:
            where += f" 列“{column}”"
        super().__init__(f"{where}：{reason}")


def _parquet_rows(path: str) -> list[list[str]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise BadInput(path, None, None, f"无法读取 Parquet 文件（{type(exc).__name__}）") from None
    cols = [["" if v is None else str(v) for v in table.column(i).to_pylist()] for i in range(table.num_columns)]
    return [list(table.column_names), *[list(r) for r in zip(*cols, strict=True)]]


class Table:
    """A CSV (or Parquet) file read as columns of text, with its line numbers and hash."""

    def __init__(self, path: str, required: tuple[str, ...], optional: tuple[str, ...] = (), *,
                 allow_no_rows: bool = False) -> None:
        self.path = path
        if not os.path.isfile(path):
            raise BadInput(path, None, None, "文件不存在")
        raw = Path(path).read_bytes()
        self.sha256 = hashlib.sha256(raw).hexdigest()
        reader: Any
        if path.lower().endswith(".parquet"):
            # Parquet: rows are numbered as if the file were a CSV with a header line (row 2 = first record).
            reader = iter(_parquet_rows(path))
        else:
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise BadInput(path, None, None, f"不是UTF-8编码的文本（字节 {exc.start}）") from exc
            reader = csv.reader(text.splitlines())
        header = next(reader, None)
        if not header:
            raise BadInput(path, 1, None, "文件为空，缺少表头")
        header = [h.strip() for h in header]
        for col in required:
            if col not in header:
                raise BadInput(path, 1, col, f"缺少必需的列（需要：{', '.join(required)}）")
        dup = {h for h in header if header.count(h) > 1}
        if dup:
            raise BadInput(path, 1, sorted(dup)[0], "列名重复")
        self.header = header
        self.columns: dict[str, list[str]] = {h: [] for h in header}
        self.lines: list[int] = []
        n = 0
        for i, row in enumerate(reader, start=2):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise BadInput(path, i, None, f"有 {len(row)} 个字段，表头有 {len(header)} 个")
            for h, v in zip(header, row, strict=True):
                self.columns[h].append(v.strip())
            n += 1
            self.lines.append(i)
        if n == 0 and not allow_no_rows:
            raise BadInput(path, None, None, "没有数据行")
        self.optional = tuple(c for c in optional if c in header)

    def text(self, col: str, *, allow_empty: bool = False) -> list[str]:
        vals = self.columns[col]
        if not allow_empty:
            for i, v in enumerate(vals):
                if v == "":
                    raise BadInput(self.path, self.lines[i], col, "值为空")
        return vals

    def number(self, col: str, *, positive: bool = False, integer: bool = False, low: float | None = None) -> list[
            float]:
        out = []
        for i, v in enumerate(self.text(col)):
            try:
                f = float(v)
            except ValueError:
                raise BadInput(self.path, self.lines[i], col, f"“{v}”不是数字") from None
            if not math.isfinite(f):
                raise BadInput(self.path, self.lines[i], col, f"“{v}”不是有限数值")
            if positive and f <= 0:
                raise BadInput(self.path, self.lines[i], col, f"“{v}”应大于0")
            if low is not None and f < low:
                raise BadInput(self.path, self.lines[i], col, f"“{v}”应不小于{low:g}")
            if integer and f != int(f):
                raise BadInput(self.path, self.lines[i], col, f"“{v}”应为整数")
            out.append(f)
        return out

    def unique(self, col: str) -> None:
        seen: dict[str, int] = {}
        for i, v in enumerate(self.text(col)):
            if v in seen:
                raise BadInput(self.path, self.lines[i], col, f"“{v}”重复（第{seen[v]}行已出现）")
            seen[v] = self.lines[i]

    def known(self, col: str, index: dict[str, int], what: str) -> list[int]:
        out = []
        for i, v in enumerate(self.text(col)):
            if v not in index:
                noun, _, note = what.partition("（")
                raise BadInput(self.path, self.lines[i], col, f"未知的{noun}“{v}”" + (f"（{note}" if note else ""))
            out.append(index[v])
        return out


class ProgressBar:
    """A tqdm percent bar on stderr (no-op when disabled)."""

    def __init__(self, enabled: bool) -> None:
        self.bar: Any = None
        self.done = 0
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=100, desc="screen", unit="%", dynamic_ncols=True,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix} [{elapsed}]")

    def __call__(self, stage: str, fraction: float) -> None:
        if self.bar is None:
            return
        self.bar.set_postfix_str(stage)
        target = round(100 * fraction)
        if target > self.done:
            self.bar.update(target - self.done)
            self.done = target

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.6g}"
    return str(v)


def _write(path: Path, header: list[str], rows: Any) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow([_fmt(v) for v in r])


def read_inputs(responses: str, keys: str, grouping: str, *, items: str | None, background: str | None,
                participation: str | None, timings: str | None, pe: str | None,
                questionnaire: str | None, changes: str | None = None) -> dict[str, Any]:
    """Read and check every file; returns the engine's arrays and the code lists. Raises :class:`BadInput`."""
    import numpy as np

    grp = Table(grouping, ("person", "school", "county"), ("room",))
    grp.unique("person")
    persons = grp.text("person")
    pindex = {p: i for i, p in enumerate(persons)}
    school_codes = sorted(set(grp.text("school")))
    sindex = {s: i for i, s in enumerate(school_codes)}
    county_codes = sorted(set(grp.text("county")))
    cindex = {c: i for i, c in enumerate(county_codes)}
    school = np.array(grp.known("school", sindex, "学校"))
    county = np.array(grp.known("county", cindex, "区县"))
    first_county: dict[int, tuple[int, int]] = {}
    for i, (s, c) in enumerate(zip(school, county, strict=True)):
        if s in first_county and first_county[s][0] != c:
            raise BadInput(grouping, grp.lines[i], "county",
                           f"学校“{school_codes[s]}”已在第{first_county[s][1]}行属于区县"
                           f"“{county_codes[first_county[s][0]]}”")
        first_county.setdefault(int(s), (int(c), grp.lines[i]))
    room = None
    if "room" in grp.header:
        room = np.unique(np.array([f"{school[i]}|{r}" for i, r in enumerate(grp.text("room", allow_empty=True))]),
                         return_inverse=True)[1]
    kt = Table(keys, ("item", "key"))
    kt.unique("item")
    item_codes = kt.text("item")
    iindex = {it: j for j, it in enumerate(item_codes)}
    rt = Table(responses, ("person", "item", "option"))
    rp = rt.known("person", pindex, "考生（grouping 中没有）")
    ri = rt.known("item", iindex, "题目（keys 中没有）")
    ro = rt.text("option", allow_empty=True)
    option_codes: list[dict[str, int]] = [{} for _ in item_codes]
    for j, k in enumerate(kt.text("key")):
        option_codes[j][k] = 0
    x = np.full((len(persons), len(item_codes)), -1, dtype=np.int64)
    seen: dict[tuple[int, int], int] = {}
    for n, (p, j, o) in enumerate(zip(rp, ri, ro, strict=True)):
        if (p, j) in seen:
            raise BadInput(responses, rt.lines[n], "item",
                           f"考生“{persons[p]}”的题目“{item_codes[j]}”重复（第{seen[(p, j)]}行已出现）")
        seen[(p, j)] = rt.lines[n]
        x[p, j] = option_codes[j].setdefault(o, len(option_codes[j]))
    key = np.zeros(len(item_codes), dtype=np.int64)
    for j in range(len(item_codes)):
        if not (x[:, j] >= 0).any():
            raise BadInput(keys, kt.lines[j], "item", f"题目“{item_codes[j]}”在 responses 中没有作答记录")
    answered = (x >= 0).sum(axis=1)
    if (answered == 0).any():
        i = int(np.flatnonzero(answered == 0)[0])
        raise BadInput(grouping, grp.lines[i], "person", f"考生“{persons[i]}”在 responses 中没有作答记录")
    out: dict[str, Any] = {"options": x, "key": key, "school": school, "county": county, "room": room,
                           "persons": persons, "schools": school_codes, "counties": county_codes,
                           "items": item_codes, "option_labels": option_codes,
                           "sha256": {"responses": rt.sha256, "keys": kt.sha256, "grouping": grp.sha256}}
    if items:
        it = Table(items, ("item", "a"), ("b", "b1"))
        bcol = "b" if "b" in it.header else ("b1" if "b1" in it.header else None)
        if bcol is None:
            raise BadInput(items, 1, "b", "缺少难度列 b（或 naeq calibrate 的 b1）")
        idx = it.known("item", iindex, "题目（keys 中没有）")
        it.unique("item")
        a_vals, b_vals = it.number("a", positive=True), it.number(bcol)
        if len(set(idx)) != len(item_codes):
            missing = [c for j, c in enumerate(item_codes) if j not in set(idx)]
            raise BadInput(items, None, "item", f"缺少题目“{missing[0]}”的参数")
        a = np.zeros(len(item_codes))
        b = np.zeros(len(item_codes))
        a[idx], b[idx] = a_vals, b_vals
        out["a"], out["b"] = a, b
        out["sha256"]["items"] = it.sha256
    if background:
        bt = Table(background, ("school",))
        bt.unique("school")
        cols = [c for c in bt.header if c != "school"]
        if not cols:
            raise BadInput(background, 1, None, "至少需要一列背景变量（如 ses、urban、previous_mean）")
        idx = bt.known("school", sindex, "学校（grouping 中没有）")
        cov = np.full((len(school_codes), len(cols)), np.nan)
        for ci, col in enumerate(cols):
            cov[np.array(idx), ci] = bt.number(col)
        if np.isnan(cov).any():
            s = int(np.flatnonzero(np.isnan(cov).any(axis=1))[0])
            raise BadInput(background, None, "school", f"缺少学校“{school_codes[s]}”的背景数据")
        out["school_covariates"] = cov
        out["sha256"]["background"] = bt.sha256
    if participation:
        pt = Table(participation, ("school", "sampled"), ("absent", "exempt", "replaced", "roster_changed"))
        pt.unique("school")
        idx = pt.known("school", sindex, "学校（grouping 中没有）")
        sampled = pt.number("sampled", integer=True, low=0)
        part: dict[str, tuple[Any, Any]] = {}
        for c in pt.optional:
            vals = pt.number(c, integer=True, low=0)
            for i, (v, s) in enumerate(zip(vals, sampled, strict=True)):
                if v > s:
                    raise BadInput(participation, pt.lines[i], c, f"{v:g} 大于抽样人数 {s:g}")
            cnt, tot = np.zeros(len(school_codes)), np.zeros(len(school_codes))
            cnt[idx], tot[idx] = vals, sampled
            part[c] = (cnt, tot)
        if not part:
            raise BadInput(participation, 1, None, "至少需要 absent、exempt、replaced、roster_changed 中的一列")
        out["participation"] = part
        out["sha256"]["participation"] = pt.sha256
    if timings:
        tt = Table(timings, ("person", "item", "seconds"))
        rows = tt.known("person", pindex, "考生（grouping 中没有）")
        tt.known("item", iindex, "题目（keys 中没有）")
        out["timings"] = (np.array(rows), np.array(tt.number("seconds", positive=True)))
        out["sha256"]["timings"] = tt.sha256
    if pe:
        et = Table(pe, ("person", "test", "value"))
        rows = et.known("person", pindex, "考生（grouping 中没有）")
        raw_values = et.text("value")
        vals = et.number("value")
        dec = [len(v.split(".")[1]) if "." in v else 0 for v in raw_values]
        tests = et.text("test")
        per_test: dict[str, int] = {}
        for t_, d in zip(tests, dec, strict=True):
            per_test[t_] = max(per_test.get(t_, 0), d)
        out["pe"] = (np.array(rows), np.array(tests), np.array(vals), np.array([per_test[t_] for t_ in tests]))
        out["sha256"]["pe"] = et.sha256
    if questionnaire:
        qt = Table(questionnaire, ("person", "block", "item", "value"))
        rows = qt.known("person", pindex, "考生（grouping 中没有）")
        out["questionnaire"] = (np.array(rows), np.array(qt.text("block")), np.array(qt.number("value")))
        out["sha256"]["questionnaire"] = qt.sha256
    if changes:
        ct = Table(changes, ("person", "changed"), allow_no_rows=True)  # a header alone: nobody changed anything
        ct.unique("person")
        rows = ct.known("person", pindex, "考生（grouping 中没有）")
        out["changed"] = (np.array(rows, dtype=np.int64), np.array(ct.number("changed", integer=True, low=0)))
        out["sha256"]["changes"] = ct.sha256
    return out


def _unit_rows(codes: list[str], table: Any, extra: list[tuple[str, list[Any]]],
               fdr: float) -> tuple[list[str], list[list[Any]]]:
    names = list(table.p)
    header = ["unit"] + [h for h, _ in extra]
    for nm in names:
        header += [f"{nm}_stat", f"{nm}_expected", f"{nm}_p", f"{nm}_q"]
    header += ["combined_p", "combined_q", "flag", "drivers"]
    rows = []
    for u, code in enumerate(codes):
        row: list[Any] = [code] + [vals[u] for _, vals in extra]
        drivers = []
        for nm in names:
            q = float(table.q[nm][u])
            row += [float(table.statistic[nm][u]), float(table.expected[nm][u]), float(table.p[nm][u]), q]
            if math.isfinite(q) and q <= fdr:
                drivers.append(nm)
        row += [float(table.combined_p[u]), float(table.combined_q[u]), int(bool(table.flag[u])), ";".join(drivers)]
        rows.append(row)
    return header, rows


@click.command()
@click.option("--responses", "responses_path", type=click.Path(dir_okay=False), required=True,
              help="Long responses .csv or .parquet: person, item, option (the chosen option as text; "
                   "empty = omitted); no row = not administered.")
@click.option("--keys", "keys_path", type=click.Path(dir_okay=False), required=True, help="Keys CSV: item, key.")
@click.option("--grouping", "grouping_path", type=click.Path(dir_okay=False), required=True,
              help="Grouping CSV: person, school, county [, room].")
@click.option("--items", "items_path", type=click.Path(dir_okay=False), default=None,
              help="Optional 2PL item parameters: item, a, b (or naeq calibrate's items.csv with b1).")
@click.option("--background", "background_path", type=click.Path(dir_okay=False), default=None,
              help="Optional school background CSV: school, then numeric columns (ses, urban, previous_mean, ...).")
@click.option("--participation", "participation_path", type=click.Path(dir_okay=False), default=None,
              help="Optional CSV: school, sampled [, absent] [, exempt] [, replaced] [, roster_changed] (counts; "
                   "roster_changed = students added to or removed from the roster in the days before the test).")
@click.option("--timings", "timings_path", type=click.Path(dir_okay=False), default=None,
              help="Optional online response times CSV: person, item, seconds.")
@click.option("--pe", "pe_path", type=click.Path(dir_okay=False), default=None,
              help="Optional PE records CSV: person, test, value.")
@click.option("--questionnaire", "questionnaire_path", type=click.Path(dir_okay=False), default=None,
              help="Optional questionnaire CSV: person, block, item, value (numeric answer codes).")
@click.option("--changes", "changes_path", type=click.Path(dir_okay=False), default=None,
              help="Optional CSV: person, changed (answers written or altered after the session closed).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Directory to write to.")
@click.option("--alpha-pairs", type=click.FloatRange(1e-12, 0.5), default=0.01, show_default=True,
              help="Family-wise level of pair flags (Bonferroni over all within-school pairs).")
@click.option("--fdr", type=click.FloatRange(1e-6, 0.5), default=0.05, show_default=True,
              help="False discovery rate of school and county flags (Benjamini–Hochberg).")
@click.option("--county-rule", type=click.Choice(("bh_capped", "holm", "bh")), default="bh_capped",
              show_default=True,
              help="County flags: BH with combined p <= 0.005 (each clean county's chance <= 0.5 %), Holm "
                   "(family-wise) or plain BH (docs/forensics.md).")
@click.option("--pair-report-p", type=click.FloatRange(0, 1), default=1e-3, show_default=True,
              help="pairs.csv lists the pairs with ω p-value at or below this (and every flagged pair).")
@click.option("--pair-scope", type=click.Choice(("school", "room")), default="school", show_default=True,
              help="Pairs within a school, or only within a room (needs the grouping's room column).")
@click.option("--fast", is_flag=True, help="ω only: skip the exact GBT and identical-incorrect tails.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def screen(responses_path: str, keys_path: str, grouping_path: str, items_path: str | None,
           background_path: str | None, participation_path: str | None, timings_path: str | None,
           pe_path: str | None, questionnaire_path: str | None, changes_path: str | None, out_dir: str,
           alpha_pairs: float, fdr: float, county_rule: str, pair_report_p: float, pair_scope: str, fast: bool,
           quiet: bool) -> None:
    """Screen a data set for anomalies: stage 1 indicators and stage 2 response forensics.

    Writes to --out: counties.csv and schools.csv (each indicator's statistic, expectation, p and BH q, the
    combined p/q, flag and the indicators that drove it), pairs.csv (ω, GBT, identical incorrect, Bonferroni
    flag), persons.csv (θ, lz*, cluster), clusters.csv and run.json. Bad input: exit 1 with file, row, column
    and reason; nothing is written.
    """
    import numpy as np

    from naeq.engines.errors import EngineError
    from naeq.engines.forensics import screen as run_screen

    started = time.perf_counter()
    bar = ProgressBar(enabled=not quiet)
    try:
        bar("read", 0.0)
        try:
            data = read_inputs(responses_path, keys_path, grouping_path, items=items_path,
                               background=background_path, participation=participation_path,
                               timings=timings_path, pe=pe_path, questionnaire=questionnaire_path,
                               changes=changes_path)
            if pair_scope == "room" and data["room"] is None:
                raise BadInput(grouping_path, 1, "room", "--pair-scope room 需要 grouping 文件的 room 列")
        except BadInput as exc:
            bar.close()
            click.echo(f"error [bad_input]: {exc}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        try:
            res = run_screen(data["options"], data["key"], school=data["school"], county=data["county"],
                             room=data["room"], a=data.get("a"), b=data.get("b"),
                             school_covariates=data.get("school_covariates"),
                             participation=data.get("participation"), timings=data.get("timings"),
                             pe=data.get("pe"), questionnaire=data.get("questionnaire"),
                             changed=data.get("changed"), pair_scope=pair_scope,
                             alpha_pairs=alpha_pairs, county_rule=county_rule,
                             fdr=fdr, exact_tests=not fast,
                             progress=lambda s, f: bar(s, 0.05 + 0.9 * f))
        except EngineError as exc:
            bar.close()
            click.echo(f"error [{exc.code}]: 数据无法筛查：{exc.message}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        persons, schools, counties = data["persons"], data["schools"], data["counties"]
        sch, cty = data["school"], data["county"]
        pr = res.pairs
        keep = np.flatnonzero((pr.omega_p <= pair_report_p) | res.pair_flag)
        keep = keep[np.argsort(pr.omega_p[keep], kind="stable")]
        _write(out / "pairs.csv",
               ["county", "school", "person_a", "person_b", "same_room", "common_items", "matches",
                "identical_incorrect", "omega", "omega_p", "omega_p_bonferroni", "gbt_p", "ii_p", "copier",
                "source", "flag"],
               ([counties[cty[pr.first[i]]], schools[sch[pr.first[i]]], persons[pr.first[i]],
                 persons[pr.second[i]], int(res.same_room[i]), int(pr.common[i]), int(pr.matches[i]),
                 int(pr.identical_incorrect[i]), float(pr.omega[i]), float(pr.omega_p[i]),
                 float(res.pair_omega_adj[i]), float(pr.gbt_p[i]), float(pr.ii_p[i]), persons[pr.copier[i]],
                 persons[pr.second[i] if pr.copier[i] == pr.first[i] else pr.first[i]], int(res.pair_flag[i])]
                for i in keep))
        from scipy.special import ndtr

        lab = res.clusters.label
        _write(out / "persons.csv", ["person", "county", "school", "theta", "lz_star", "lz_p", "cluster"],
               ([persons[i], counties[cty[i]], schools[sch[i]], float(res.model.theta[i]), float(res.lz[i]),
                 float(ndtr(res.lz[i])), "" if lab[i] < 0 else int(lab[i])] for i in range(len(persons))))
        _write(out / "clusters.csv", ["cluster", "county", "school", "size", "source_candidate", "members"],
               ([c, counties[cty[res.clusters.source[c]]], schools[sch[res.clusters.source[c]]],
                 int(res.clusters.size[c]), persons[res.clusters.source[c]],
                 ";".join(persons[i] for i in np.flatnonzero(lab == c))] for c in range(len(res.clusters.size))))
        county_of_school = np.zeros(len(schools), dtype=np.int64)
        county_of_school[sch] = cty
        n_s = np.bincount(sch, minlength=len(schools))
        h, rows = _unit_rows(schools, res.schools, [("county", [counties[c] for c in county_of_school]),
                                                    ("n_persons", n_s.tolist())], fdr)
        order = sorted(range(len(rows)), key=lambda r: (float(res.schools.combined_p[r]), rows[r][0]))
        _write(out / "schools.csv", h, (rows[r] for r in order))
        h, rows = _unit_rows(counties, res.counties, [("n_schools", np.bincount(county_of_school,
                                                                               minlength=len(counties)).tolist())], fdr)
        order = sorted(range(len(rows)), key=lambda r: (float(res.counties.combined_p[r]), rows[r][0]))
        _write(out / "counties.csv", h, (rows[r] for r in order))
        inputs = {name: {"sha256": sha} for name, sha in data["sha256"].items()}
        summary = {"persons": len(persons), "items": len(data["items"]), "schools": len(schools),
                   "counties": len(counties), "pairs": len(pr), "pairs_flagged": int(res.pair_flag.sum()),
                   "clusters": len(res.clusters.size), "schools_flagged": int(res.schools.flag.sum()),
                   "counties_flagged": int(res.counties.flag.sum())}
        run = {"verb": "naeq screen", "when": datetime.now(UTC).isoformat(timespec="seconds"), "inputs": inputs,
               "options": {"alpha_pairs": alpha_pairs, "fdr": fdr, "county_rule": county_rule,
                           "pair_report_p": pair_report_p, "fast": fast,
                           "pair_scope": pair_scope},
               "parameters": res.parameters, "summary": summary,
               "seconds": round(time.perf_counter() - started, 3)}
        (out / "run.json").write_text(json.dumps(run, ensure_ascii=False, indent=2), encoding="utf-8")
        bar("written", 1.0)
    finally:
        bar.close()
    click.echo(f"screen: {summary['persons']:,} persons, {summary['schools']:,} schools, {summary['pairs']:,} "
               f"pairs; flagged {summary['pairs_flagged']} pairs, {summary['schools_flagged']} schools, "
               f"{summary['counties_flagged']} counties → {out_dir}")


def _anomaly(value: str) -> tuple[str, float]:
    from naeq.engines.forensics.simulate import KINDS

    kind, sep, strength = value.partition(":")
    if kind not in KINDS:
        raise click.BadParameter(f"未知的异常类型“{kind}”（可选：{', '.join(KINDS)}）", param_hint="--anomaly")
    try:
        s = float(strength) if sep else 0.5
    except ValueError:
        raise click.BadParameter(f"强度“{strength}”不是数字", param_hint="--anomaly") from None
    if not (0.0 <= s <= 1.0) or not math.isfinite(s):
        raise click.BadParameter(f"强度 {strength} 应在 0 到 1 之间", param_hint="--anomaly")
    return kind, s


@click.command("screen-sim")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Directory to write to.")
@click.option("--anomaly", "anomalies", multiple=True, metavar="KIND:STRENGTH",
              help="Inject an anomaly (repeatable): copying, one_source, preknowledge, altered, replaced, "
                   "pe_fabricated, straightlining, timing; strength in [0, 1] (default 0.5). The cheating counties "
                   "take the kinds in turn.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--counties", type=click.IntRange(1, 2000), default=20, show_default=True)
@click.option("--schools-per-county", type=click.IntRange(1, 200), default=8, show_default=True)
@click.option("--students", type=click.IntRange(2, 200), default=25, show_default=True)
@click.option("--items", "n_items", type=click.IntRange(5, 200), default=40, show_default=True)
@click.option("--cheat-share", type=click.FloatRange(0, 1), default=0.1, show_default=True,
              help="Share of counties that cheat (at least one when --anomaly is given).")
@click.option("--cheat-schools", type=click.IntRange(1, 200), default=3, show_default=True,
              help="Cheating schools in each cheating county.")
@click.option("--no-change-log", is_flag=True, help="Altered answers leave no trace in changes.csv.")
def screen_sim(out_dir: str, anomalies: tuple[str, ...], seed: int, counties: int, schools_per_county: int,
               students: int, n_items: int, cheat_share: float, cheat_schools: int, no_change_log: bool) -> None:
    """Simulate a cycle's screening inputs with known truth (the input files of naeq screen, plus truth.csv).

    Writes responses.csv, keys.csv, grouping.csv, background.csv, participation.csv, timings.csv, pe.csv,
    questionnaire.csv, changes.csv, truth.csv (per school: county, anomaly, strength, persons affected) and
    sim.json. Seeded: the same options give the same files.
    """
    import numpy as np

    from naeq.engines.forensics.simulate import simulate_cycle

    parsed = [_anomaly(a) for a in anomalies]
    cyc = simulate_cycle(seed, parsed, counties=counties, schools_per_county=schools_per_county, students=students,
                         items=n_items, cheat_share=cheat_share, cheat_schools=cheat_schools,
                         log_changes=not no_change_log)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    letters = [chr(ord("A") + k) for k in range(cyc.attract.shape[1] + 1)]
    n = len(cyc.options)
    width = len(str(n))
    persons = [f"P{i:0{width}d}" for i in range(n)]
    items = [f"I{j:03d}" for j in range(cyc.options.shape[1])]
    schools = [f"S{s:05d}" for s in range(cyc.n_schools)]
    county_codes = [f"C{c:04d}" for c in range(cyc.n_counties)]
    _write(out / "responses.csv", ["person", "item", "option"],
           ([persons[i], items[j], letters[cyc.options[i, j]]] for i in range(n) for j in range(len(items))))
    _write(out / "keys.csv", ["item", "key"], ([items[j], letters[k]] for j, k in enumerate(cyc.key)))
    _write(out / "grouping.csv", ["person", "school", "county", "room"],
           ([persons[i], schools[cyc.school[i]], county_codes[cyc.county[i]], f"R{cyc.room[i] % 2 + 1}"]
            for i in range(n)))
    _write(out / "background.csv", ["school", *cyc.covariate_names],
           ([schools[s], *(round(float(v), 4) for v in cyc.school_covariates[s])] for s in range(cyc.n_schools)))
    names = [k for k in ("absent", "exempt", "replaced", "roster_changed") if k in cyc.participation]
    sampled = cyc.participation[names[0]][1]
    _write(out / "participation.csv", ["school", "sampled", *names],
           ([schools[s], int(sampled[s]), *(int(cyc.participation[k][0][s]) for k in names)]
            for s in range(cyc.n_schools)))
    t_rows, t_secs = cyc.timings
    _write(out / "timings.csv", ["person", "item", "seconds"],
           ([persons[r], items[j], f"{s:.1f}"] for r, j, s in zip(t_rows, cyc.timing_item, t_secs, strict=True)))
    rows, tests, vals, dec = cyc.pe
    _write(out / "pe.csv", ["person", "test", "value"],
           ([persons[r], t, f"{v:.{d}f}"] for r, t, v, d in zip(rows, tests, vals, dec, strict=True)))
    q_rows, q_blk, q_val = cyc.questionnaire
    counter: dict[tuple[int, int], int] = {}
    q_out = []
    for r, b_, v in zip(q_rows, q_blk, q_val, strict=True):
        k = counter.get((int(r), int(b_)), 0)
        counter[(int(r), int(b_))] = k + 1
        q_out.append([persons[r], f"B{b_ + 1}", f"B{b_ + 1}_{k + 1}", int(v)])
    _write(out / "questionnaire.csv", ["person", "block", "item", "value"], q_out)
    c_rows, c_cnt = cyc.changed
    per = np.bincount(c_rows, c_cnt, n) if len(c_rows) else np.zeros(n)
    _write(out / "changes.csv", ["person", "changed"], ([persons[i], int(per[i])] for i in np.flatnonzero(per > 0)))
    county_of_school = cyc.county_of_school
    touched = np.bincount(cyc.school, cyc.affected, cyc.n_schools)
    _write(out / "truth.csv", ["school", "county", "anomaly", "strength", "persons_affected"],
           ([schools[s], county_codes[county_of_school[s]], cyc.school_kind[s], float(cyc.school_strength[s]),
             int(touched[s])] for s in range(cyc.n_schools)))
    cheat_c = [county_codes[c] for c in np.flatnonzero(cyc.cheating_counties)]
    cheat_s = [schools[s] for s in np.flatnonzero(cyc.school_kind != "")]
    meta = {"verb": "naeq screen-sim", "seed": seed, "anomalies": [f"{k}:{s:g}" for k, s in parsed],
            "counties": counties, "schools_per_county": schools_per_county, "students": students, "items": n_items,
            "cheat_share": cheat_share, "cheat_schools": cheat_schools, "change_log": not no_change_log,
            "cheating_counties": cheat_c, "cheating_schools": cheat_s}
    (out / "sim.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    click.echo(f"screen-sim: {n:,} persons, {cyc.n_schools:,} schools, {cyc.n_counties:,} counties; "
               f"{len(cheat_s)} cheating schools in {len(cheat_c)} counties → "
               f"{out_dir}")
