"""``naeq synth``: generate a synthetic world into the database and/or files."""

from __future__ import annotations

import os
import time
from typing import Any

import click

SCALES = ("county", "city", "province", "national")


def _django_setup() -> None:
    # naeq.cli (a higher layer) has the same helper; the registry must not import it.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naeq.settings")
    import django

    django.setup()


class _Bars:
    """One tqdm bar per phase on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[str, Any] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(phase)
        if bar is None:
            self.close()  # one phase at a time
            unit = {"registry": " steps", "rosters": " schools", "files": " files"}.get(phase, " rows")
            bar = self.bars[phase] = tqdm(total=total, desc=f"{phase:>10}", unit=unit, unit_scale=True, leave=True,
                                          dynamic_ncols=True)
        bar.update(done)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()


@click.command()
@click.option("--scale", type=click.Choice(SCALES), default="province", show_default=True,
              help="county ≈ 100 schools; city ≈ 8–12 counties; province ≈ 40 counties, 2,500 schools; national ≈ "
                   "2,850 counties, 230,000 schools.")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True,
              help="Same seed, same world, bit for bit.")
@click.option("--rosters", "rosters_mode", type=click.Choice(("auto", "all", "none")), default="auto",
              show_default=True, help="Students, teachers and principals: auto = all below national scale, none at "
                                      "national scale (registry only; see docs/synth.md).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, writable=True), default=None,
              help="Also write the tables to this directory.")
@click.option("--format", "fmt", type=click.Choice(("parquet", "csv")), default="parquet", show_default=True,
              help="File format for --out.")
@click.option("--no-db", is_flag=True, help="Do not write to the database (use with --out).")
@click.option("--replace", is_flag=True, help="Delete the registry's current regions, schools and rosters first.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def synth(scale: str, seed: int, rosters_mode: str, out_dir: str | None, fmt: str, no_db: bool, replace: bool,
          quiet: bool) -> None:
    """Generate a deterministic synthetic world (regions, schools, rosters).

    Writes to the database (DATABASE_URL; refuses if it already has regions, unless --replace) and, with --out,
    to CSV or Parquet files whose columns are documented in docs/synth.md.
    """
    from naeq.engines.errors import EngineError
    from naeq.engines.synth import generate_registry, generate_rosters, rosters_default

    if no_db and not out_dir:
        raise click.UsageError("--no-db writes nothing without --out DIR")
    started = time.perf_counter()
    bars = _Bars(enabled=not quiet)
    if not no_db:
        _django_setup()
        from django.db.utils import OperationalError, ProgrammingError

        from naeq.registry.synth_load import synth_world_check

        try:
            synth_world_check(replace=replace)  # fail before generating anything
        except (OperationalError, ProgrammingError) as exc:
            raise click.ClickException(f"the database is not ready ({exc}); run `naeq migrate` first") from exc

    try:
        from naeq.engines.synth import Rosters, World

        bars("registry", 0, 1)
        regions, schools = generate_registry(scale, seed)
        bars("registry", 1, 1)
        with_rosters = rosters_default(scale) if rosters_mode == "auto" else rosters_mode == "all"
        rosters: Rosters | None = None
        if with_rosters:
            n = len(schools["code"])
            rosters = generate_rosters(seed, schools, progress=lambda k: bars("rosters", k, n))
        world = World(scale=scale, seed=seed, regions=regions, schools=schools, rosters=rosters)
    except EngineError as exc:
        from naeq.core.errors import InvalidInput

        bars.close()
        raise InvalidInput(exc.message, code=exc.code) from exc
    generated = time.perf_counter()

    if out_dir:
        from naeq.registry.synth_load import world_write_files

        world_write_files(world, out_dir, fmt=fmt, progress=bars)
    if not no_db:
        from naeq.registry.synth_load import synth_world_load

        try:
            synth_world_load(world=world, replace=replace, progress=bars)
        finally:
            bars.close()
    bars.close()
    finished = time.perf_counter()

    counts = world.counts()
    where = [] if no_db else ["database"]
    if out_dir:
        where.append(f"{out_dir} ({fmt})")
    click.echo(f"synthetic world: scale {scale}, seed {seed}, rosters {'yes' if with_rosters else 'no'} → "
               f"{' + '.join(where)}")
    for key in ("provinces", "cities", "counties", "schools", "students", "teachers", "principals"):
        click.echo(f"  {key:<11}{counts[key]:>12,}")
    click.echo(f"  generated in {generated - started:.1f} s, written in {finished - generated:.1f} s")


# ---------------------------------------------------------------------------------------------------- naeq roster


@click.group()
def roster() -> None:
    """School rosters (students, teachers, principal): templates and uploads, as on the roster page."""


@roster.command("template")
@click.argument("kind", type=click.Choice(("students", "teachers", "principal")))
@click.option("--format", "fmt", type=click.Choice(("xlsx", "csv")), default="xlsx", show_default=True)
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, writable=True), required=True,
              help="Where to write the empty template.")
def roster_template_cmd(kind: str, fmt: str, out: str) -> None:
    """Write the empty template of one roster part, with its Chinese column headers."""
    _django_setup()
    from naeq.registry.rosters import roster_template_csv, roster_template_xlsx

    data = roster_template_xlsx(kind) if fmt == "xlsx" else roster_template_csv(kind)
    with open(out, "wb") as fh:
        fh.write(data)
    click.echo(f"wrote {out}")


@roster.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--school", "school_code", required=True, help="The school's 10-digit identification code.")
@click.option("--kind", type=click.Choice(("students", "teachers", "principal")), required=True)
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="The cycle year.")
@click.option("--as", "username", required=True,
              help="The account acting: the school's head or information officer, or a county officer.")
def roster_import_cmd(file: str, school_code: str, kind: str, year: int, username: str) -> None:
    """Replace one part of a school's roster with FILE (.xlsx or .csv). Any error: every problem is listed with
    its row and column, nothing changes, exit code 1. Teachers' subjects are checked against the national subject
    list (the web page uses the current cycle's)."""
    _django_setup()
    from django.utils.translation import gettext as _

    from naeq.accounts.models import User
    from naeq.core.errors import InvalidInput
    from naeq.registry.rosters import roster_import

    actor = User.objects.filter(username=username, is_active=True).first()
    if actor is None:
        raise InvalidInput(_("没有找到该账户。"))
    with open(file, "rb") as fh:
        data = fh.read()
    result = roster_import(actor=actor, year=year, school_code=school_code, kind=kind,
                           file_name=os.path.basename(file), data=data)
    click.echo(f"{school_code} {kind}: {result.rows} rows imported")
    for key, before, after in result.changes():
        click.echo(f"  {key:<6}{before:>8} → {after}")


# ------------------------------------------------------------------------------------------------ naeq registry


@click.group()
def registry() -> None:
    """The school registry (属地学校信息): upload template, import a county's file, export."""


@registry.command("template")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, writable=True), default="registry-template.xlsx",
              show_default=True, help="Where to write the template (.xlsx, or .csv for the header row only).")
def registry_template_cmd(out: str) -> None:
    """Write the upload template: Chinese headers, a 填写说明 sheet, drop-down lists (no database needed)."""
    _django_setup()
    from naeq.registry.imports import registry_template_csv, registry_template_xlsx

    data = registry_template_csv() if out.lower().endswith(".csv") else registry_template_xlsx()
    with open(out, "wb") as f:
        f.write(data)
    click.echo(f"template written to {out}")


@registry.command("import")
@click.option("--county", "county", required=True, help="The county's 6-digit division code.")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="The monitoring cycle year.")
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; change nothing.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def registry_import_cmd(county: str, year: int, dry_run: bool, file: str) -> None:
    """Replace a county's schools with FILE (.xlsx or .csv), as the system.

    Every error is listed with its row, column and reason, and then nothing is imported (exit code 1). Refused
    while the county's registry is submitted, approved or locked.
    """
    _django_setup()
    from naeq.registry.imports import registry_import

    with open(file, "rb") as f:
        data = f.read()
    result = registry_import(actor=None, year=year, county_code=county, file_name=os.path.basename(file), data=data,
                             dry_run=dry_run)
    verb = "would change" if dry_run else "imported"
    click.echo(f"{result.county_name} ({result.county_code}): {result.rows} schools read; {verb}: "
               f"{len(result.added)} added, {len(result.removed)} removed, {len(result.changed)} changed, "
               f"{result.unchanged} unchanged")
    for r in result.added:
        click.echo(f"  + {r.code} {r.name}")
    for code, name in result.removed:
        click.echo(f"  - {code} {name}")
    for ch in result.changed:
        click.echo(f"  ~ {ch.code} {ch.name}: " + "; ".join(f"{c.field} {c.old} → {c.new}" for c in ch.changes))


@registry.command("export")
@click.option("--county", "county", required=True, help="The county's 6-digit division code.")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Output file (default registry-<county>.xlsx).")
def registry_export_cmd(county: str, out: str | None) -> None:
    """Write a county's schools in the template's form (correct it and import it again)."""
    _django_setup()
    from naeq.core.errors import NotFound
    from naeq.registry.imports import registry_export_xlsx
    from naeq.registry.models import Region, RegionLevel, School

    region = Region.objects.filter(code=county, level=RegionLevel.COUNTY).first()
    if region is None:
        raise NotFound(f"no county with code {county}")
    schools = list(School.objects.filter(county=region).order_by("code"))
    out = out or f"registry-{county}.xlsx"
    with open(out, "wb") as f:
        f.write(registry_export_xlsx(county=region, schools=schools))
    click.echo(f"{len(schools)} schools of {region.name} ({county}) written to {out}")
