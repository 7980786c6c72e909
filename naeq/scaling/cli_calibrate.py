"""``naeq calibrate``: IRT calibration over the long-format files of DESIGN.md (columns: docs/scaling.md)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click


def _django_setup() -> None:
    # naeq.cli (a higher layer) has the same helper; this app must not import it.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naeq.settings")
    import django

    django.setup()


class ProgressBar:
    """One tqdm bar (percent) over the pipeline's stages, on stderr; a no-op with ``enabled`` False."""

    def __init__(self, enabled: bool, desc: str = "calibrate") -> None:
        self.bar: Any = None
        self.done = 0
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=100, desc=desc, unit="%", leave=True, dynamic_ncols=True,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix} [{elapsed}]")

    def __call__(self, stage: str, fraction: float) -> None:
        if self.bar is None:
            return
        target = round(100 * fraction)
        self.bar.set_postfix_str(stage)
        if target > self.done:
            self.bar.update(target - self.done)
            self.done = target

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@click.command()
@click.option("--responses", "responses_path", type=click.Path(dir_okay=False), required=True,
              help="Long responses, .csv or .parquet: person, item, score [, booklet] [, the --groups column]; "
                   "a pair that was not administered has no row.")
@click.option("--items", "items_path", type=click.Path(dir_okay=False), required=True,
              help="Item table: item, max_score [, model] (model: rasch, 2pl, 3pl, pcm, gpcm; empty = default).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Directory to write to.")
@click.option("--seed", type=click.IntRange(min=0), required=True,
              help="Seed of the plausible values: same files, options and seed give the same output.")
@click.option("--model", type=click.Choice(("rasch", "2pl", "3pl")), default="2pl", show_default=True,
              help="Default model of dichotomous items (max score 1).")
@click.option("--poly-model", type=click.Choice(("pcm", "gpcm")), default="gpcm", show_default=True,
              help="Default model of polytomous items (max score above 1).")
@click.option("--groups", "group_column", default=None,
              help="Column of the responses file with each person's group (grade, year) for a multiple-group "
                   "calibration; the smallest label is the reference group N(0, 1).")
@click.option("--prior-a", default=None, help="Lognormal prior on slopes: 'mean of log a,SD of log a' (e.g. 0,0.5).")
@click.option("--prior-b", default=None, help="Normal prior on difficulties and steps: 'mean,SD' (e.g. 0,2).")
@click.option("--prior-c", default="5,17", show_default=True,
              help="Beta prior on 3PL guessing: 'alpha,beta', or none.")
@click.option("--quad", "n_quad", type=click.IntRange(11, 201), default=41, show_default=True,
              help="Quadrature points on [-6, 6].")
@click.option("--max-iter", type=click.IntRange(1, 10_000), default=500, show_default=True,
              help="At most this many EM cycles.")
@click.option("--tol", type=float, default=1e-4, show_default=True, help="EM stops when no parameter moves more.")
@click.option("--pvs", "n_pv", type=click.IntRange(0, 20), default=5, show_default=True,
              help="Plausible values per person (drawn when --background is given).")
@click.option("--background", "background_path", type=click.Path(dir_okay=False), default=None,
              help="Background data for plausible values: person + variables (numeric; empty = missing).")
@click.option("--categorical", default="", help="Comma-separated categorical columns of the background file.")
@click.option("--dif", "dif_columns", default="",
              help="Comma-separated background columns (two groups each, e.g. sex,urban_rural) for "
                   "Mantel-Haenszel DIF; writes dif.csv.")
@click.option("--anchors", "anchors_path", type=click.Path(dir_okay=False), default=None,
              help="Fixed parameters of anchor items (item, a, c, b1..bK: items.csv of the base year) for linking.")
@click.option("--scale-mean", type=float, default=500.0, show_default=True,
              help="Reporting-scale mean of this population.")
@click.option("--scale-sd", type=float, default=100.0, show_default=True,
              help="Reporting-scale SD of this population.")
@click.option("--scale-slope", type=float, default=None,
              help="Use the base year's reporting scale s = A θ + B (A = scale.A of its run.json) instead of "
                   "fitting one on this population; needs --scale-intercept.")
@click.option("--scale-intercept", type=float, default=None, help="The base year's B (scale.B of its run.json).")
@click.option("--cuts", default="", help="Three increasing cut scores on the reporting scale (待提高/中等/良好/优秀).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def calibrate(responses_path: str, items_path: str, out_dir: str, seed: int, model: str, poly_model: str,
              group_column: str | None, prior_a: str | None, prior_b: str | None, prior_c: str, n_quad: int,
              max_iter: int, tol: float, n_pv: int, background_path: str | None, categorical: str,
              dif_columns: str, anchors_path: str | None, scale_mean: float, scale_sd: float,
              scale_slope: float | None, scale_intercept: float | None, cuts: str, quiet: bool) -> None:
    """Calibrate items (Rasch, 2PL, 3PL, PCM, GPCM, mixed) by marginal maximum likelihood and estimate persons.

    Writes to --out: items.csv (parameters with SEs, fit and DIF flags), persons.csv (EAP and WLE with SEs, on
    the θ metric and the reporting scale), fit.csv, pvs.csv (with --background), dif.csv (with --dif) and
    run.json (inputs' hashes, options, seed, code version, warnings, timings). Bad input: exit 1 with file,
    row, column and reason; nothing is written.
    """
    _django_setup()
    from naeq.core.errors import InvalidInput, Problem
    from naeq.scaling import files, outputs, pipeline
    from naeq.scaling.options import clean_options

    started = time.perf_counter()
    cat = tuple(c.strip() for c in categorical.split(",") if c.strip())
    dif_vars = tuple(c.strip() for c in dif_columns.split(",") if c.strip())
    if dif_vars and not background_path:
        raise InvalidInput("--dif 需要 --background（DIF变量取自背景数据文件）。", code="dif_needs_background",
                           problems=[Problem(reason="--dif 需要 --background", field="--dif")])
    if (scale_slope is None) != (scale_intercept is None):
        raise InvalidInput("--scale-slope 与 --scale-intercept 须同时给出。", code="bad_scale")
    raw_options: dict[str, Any] = {
        "model": model, "poly_model": poly_model, "n_quad": n_quad, "prior_a": prior_a, "prior_b": prior_b,
        "prior_c": prior_c, "n_pv": n_pv, "scale_mean": scale_mean, "scale_sd": scale_sd, "cuts": cuts,
        "dif": list(dif_vars), "group_by": group_column or "", "max_iter": max_iter, "tol": tol,
    }
    options = clean_options(raw_options)
    if scale_slope is not None:
        if scale_slope <= 0:
            raise InvalidInput("--scale-slope 应大于0。", code="bad_scale")
        options["scale_slope"], options["scale_intercept"] = scale_slope, scale_intercept
    bar = ProgressBar(enabled=not quiet)
    t_read = time.perf_counter()
    try:
        bar("read", 0.0)
        table = files.read_item_table(items_path, default_model=model, poly_model=poly_model)
        long = files.read_long_responses(responses_path, table, group_column=group_column)
        background = (files.read_background(background_path, long.persons, categorical=cat + dif_vars,
                                            required=dif_vars) if background_path else None)
        anchors = files.read_anchors(anchors_path, table) if anchors_path else None
        dif = {v: background.text(v) for v in dif_vars} if background is not None else {}
        if background is not None and dif_vars:
            background = files.Background(
                persons=background.persons, sha256=background.sha256,
                categorical=tuple(c for c in background.categorical if c not in dif_vars),
                variables={k: v for k, v in background.variables.items() if k not in dif_vars})
        read_seconds = time.perf_counter() - t_read
        result = pipeline.run(long, table, options, seed=seed, background=background, anchors=anchors, dif=dif,
                              draw_pvs=background is not None, progress=bar)
        result.timings = {"read": round(read_seconds, 3), **result.timings}
        inputs = {"responses": {"file": os.path.basename(responses_path), "sha256": long.sha256},
                  "items": {"file": os.path.basename(items_path), "sha256": table.sha256}}
        if background_path and background is not None:
            inputs["background"] = {"file": os.path.basename(background_path), "sha256": background.sha256}
        if anchors_path and anchors is not None:
            inputs["anchors"] = {"file": os.path.basename(anchors_path), "sha256": anchors.sha256}
        t_write = time.perf_counter()
        run_record = {"verb": "naeq calibrate", "when": datetime.now(UTC).isoformat(timespec="seconds"),
                      "inputs": inputs, "options": options, "seed": seed, "code_version": outputs.code_version()}
        written = outputs.write_results(Path(out_dir), result, run_record, write_timing=t_write)
        bar("written", 1.0)
    finally:
        bar.close()
    s = result.summary
    click.echo(f"calibrate: {s['n_items']} items, {s['n_persons']:,} persons, {s['n_responses']:,} responses; "
               f"{'converged' if s['converged'] else 'NOT converged'} after {s['iterations']} EM cycles")
    click.echo(f"  written: {', '.join(written)} → {out_dir}")
    for w in result.warnings:
        click.echo(f"  warning: {w}", err=True)
    click.echo(f"  done in {time.perf_counter() - started:.1f} s")
