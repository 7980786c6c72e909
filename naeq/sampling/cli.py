"""``naeq sample``: draw a national sample from a school frame file, write the sample to files."""

from __future__ import annotations

import getpass
import os
import time
from datetime import UTC, datetime
from typing import Any

import click

STAGES = ("read", "counties", "schools", "students", "weights", "replicates", "write")


def _django_setup() -> None:
    # naeq.cli (a higher layer) has the same helper; this app must not import it.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naeq.settings")
    import django

    django.setup()


class _Bar:
    """One tqdm bar over the stages, on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.bar: Any = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=len(STAGES), desc="sample", unit=" stages", leave=True, dynamic_ncols=True)

    def __call__(self, stage: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(stage)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _booklets(drawn: Any, n_booklets: int, seed: int) -> dict[str, Any]:
    """Booklets spiralled within school x grade (own random stream: the sample does not change) and test IDs
    with the student's number 1..30 within school and grade."""
    import numpy as np

    from naeq.engines.booklets import assign_booklets, make_test_ids

    st = drawn.students
    group = st["school_row"].astype(np.int64)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xB00C]))
    booklet = assign_booklets(group, n_booklets, rng=rng)
    seq = np.arange(len(group)) - np.searchsorted(group, group) + 1  # students are sorted by school row
    return {"booklet": booklet, "seq": seq, "test_id": make_test_ids(st["school_code"], st["grade"], seq)}


@click.command()
@click.option("--frame", "frame_path", type=click.Path(dir_okay=False), required=True,
              help="School frame, .csv or .parquet: code, county_code, level, urban_rural, g4_enrollment, "
                   "g8_enrollment [, province_code] (the schools file of `naeq synth --out`).")
@click.option("--design", "design_path", type=click.Path(dir_okay=False), default=None,
              help="Sample design YAML (default: naeq/sampling/designs/default.yaml; see docs/sampling.md).")
@click.option("--seed", type=click.IntRange(min=0), required=True, help="Same frame, design and seed: same sample.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Directory to write to.")
@click.option("--rosters", "roster_path", type=click.Path(dir_okay=False), default=None,
              help="Student rosters (.csv/.parquet: school_code, grade, ...); sampled positions become roster rows.")
@click.option("--booklets", type=click.IntRange(min=1), default=None,
              help="Also spiral booklets 1..N within every school and grade and make test IDs "
                   "(naeq.engines.booklets); adds the columns booklet, seq and test_id to students.")
@click.option("--format", "fmt", type=click.Choice(("csv", "parquet")), default="csv", show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def sample(frame_path: str, design_path: str | None, seed: int, out_dir: str, roster_path: str | None,
           booklets: int | None, fmt: str, quiet: bool) -> None:
    """Draw counties, schools (with two replacements each) and students, with weights and replicate weights.

    Writes counties, schools, students, groups, replicate factors and manifest.json (the run record: frame
    hash, design, seed, code version, who, when) to --out. Bad input: exit 1 with file, row, column and reason.
    """
    _django_setup()
    from naeq.core.errors import InvalidInput
    from naeq.engines.errors import EngineError
    from naeq.engines.sampling import draw_sample
    from naeq.sampling.design import default_design, parse_design_file
    from naeq.sampling.files import attach_rosters, read_rosters, read_school_frame, write_sample

    started = time.perf_counter()
    design = parse_design_file(design_path) if design_path else default_design()
    bar = _Bar(enabled=not quiet)
    try:
        frame = read_school_frame(frame_path)
        rosters = read_rosters(roster_path) if roster_path else None
        bar("read")
        try:
            drawn = draw_sample(frame, design, seed, progress=bar)
        except EngineError as exc:
            raise InvalidInput(exc.message, code=exc.code) from exc
        roster_rows = attach_rosters(drawn, rosters, file=str(roster_path)) if rosters is not None else None
        run: dict[str, Any] = {"who": getpass.getuser(), "when": datetime.now(UTC).isoformat(timespec="seconds"),
               "frame_file": os.path.basename(frame_path),
               "design_file": os.path.basename(design_path) if design_path else "default.yaml"}
        extra = _booklets(drawn, booklets, seed) if booklets else None
        if booklets:
            run["booklets"] = booklets
        write_sample(drawn, out_dir, fmt=fmt, rosters=roster_rows, run=run, student_extra=extra)
        bar("write")
    finally:
        bar.close()
    counts = drawn.counts()
    click.echo(f"sample: design {design.name}, seed {seed}, frame {drawn.frame_hash[:19]}… → {out_dir} ({fmt})")
    for key, value in counts.items():
        click.echo(f"  {key:<18}{value:>10,}")
    click.echo(f"  done in {time.perf_counter() - started:.1f} s")
