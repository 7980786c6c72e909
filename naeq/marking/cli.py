"""``naeq marking``: constructed-response scoring from the command line — rubric template and import, rater
accounts, collecting online responses, importing scanned paper responses, random assignment, agreement
statistics and the final-score export.

The command line is the national centre's own tool: it acts as the system (audited as such), like ``naeq items``.
Bad input exits 1 with the precise message (file, row, column, reason); usage errors exit 2.
"""

from __future__ import annotations

import csv
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from naeq.core.clitools import django_setup as _django_setup


@contextmanager
def _errors() -> Iterator[None]:
    from naeq.core.errors import ApplicationError

    try:
        yield
    except ApplicationError as exc:
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None


def _cycle(year: int | None) -> Any:
    from naeq.sampling.selectors import cycle_for

    return cycle_for(year)


def _item(spec: str) -> tuple[str, str]:
    if "/" not in spec:
        raise click.BadParameter(f"应写作 工具代码/题目编号，例如 math/M07：{spec}")
    inst, item = spec.split("/", 1)
    return inst.strip(), item.strip()


YEAR = click.option("--year", type=click.IntRange(2000, 2100), default=None,
                    help="Cycle year; default: the current cycle.")


@click.group(name="marking")
def marking_group() -> None:
    """Constructed-response scoring: rubrics, raters, assignment, agreement, arbitration, drift."""


@marking_group.command("rubric-template")
@YEAR
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
def rubric_template_cmd(year: int | None, out: str) -> None:
    """Write the rubric workbook template (every rater-scored item's score points pre-filled) to OUT.xlsx."""
    _django_setup()
    from naeq.marking.services import rater_scored_items
    from naeq.marking.workbook import rubric_template

    with _errors():
        cycle = _cycle(year)
        items = [(i, q, round(it.max_score), it.stem) for (i, q), it in rater_scored_items(cycle).items()]
        with open(out, "wb") as fh:
            fh.write(rubric_template(items))
    click.echo(f"{len(items)} 道主观题，模板已写入 {out}")


@marking_group.command("rubric-import")
@YEAR
@click.argument("workbook", type=click.Path(exists=True, dir_okay=False))
def rubric_import_cmd(year: int | None, workbook: str) -> None:
    """Import rubrics, anchor papers and check papers from WORKBOOK.xlsx (all or nothing)."""
    _django_setup()
    from naeq.marking.services import rubric_import

    with _errors(), open(workbook, "rb") as fh:
        result = rubric_import(actor=None, cycle=_cycle(year), data=fh.read(),
                               filename=os.path.basename(workbook))
    for r in result.rubrics:
        click.echo(f"{r.instrument_code}/{r.item_code}: 评分标准第{r.version}版")
    click.echo(f"检测卷 {result.checks} 份")


@marking_group.command("rater-add")
@YEAR
@click.option("--username", required=True, help="Sign-in name of the new rater account.")
@click.option("--province", "province_code", required=True, help="Province division code of the marking centre.")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--item", "items", multiple=True, help="INSTRUMENT/ITEM the rater marks (repeatable).")
@click.option("--senior", is_flag=True, help="A senior rater, who also arbitrates.")
@click.password_option("--password", help="Initial password (prompted when not given).")
def rater_add_cmd(year: int | None, username: str, province_code: str, display_name: str, items: tuple[str, ...],
                  senior: bool, password: str) -> None:
    """Create a rater account (评分员) anchored at a province, with the items it marks."""
    _django_setup()
    from naeq.core.errors import InvalidInput
    from naeq.marking.services import rater_add
    from naeq.registry.models import Region

    with _errors():
        region = Region.objects.filter(code=province_code, level="province").first()
        if region is None:
            raise InvalidInput(f"没有行政区划代码为 {province_code} 的省。")
        user = rater_add(actor=None, cycle=_cycle(year), username=username, password=password, region=region,
                         display_name=display_name, items=[_item(s) for s in items], senior=senior)
    click.echo(f"评分员 {user.username} 已创建（{len(items)} 道题）")


@marking_group.command("collect")
@YEAR
def collect_cmd(year: int | None) -> None:
    """Collect the answers of submitted online attempts to rater-scored items (idempotent)."""
    _django_setup()
    from naeq.marking.services import responses_collect

    with _errors():
        c = responses_collect(actor=None, cycle=_cycle(year))
    click.echo(f"新增待评 {c.created} 份，未作答（记0分）{c.omitted} 份，已收集过 {c.existing} 份")


@marking_group.command("collect-recordings")
@YEAR
def collect_recordings_cmd(year: int | None) -> None:
    """Collect the accepted takes of recorded singing/speaking tasks of submitted attempts (idempotent)."""
    _django_setup()
    from naeq.marking.recordings import recordings_collect

    with _errors():
        c = recordings_collect(actor=None, cycle=_cycle(year))
    click.echo(f"新增待评录音 {c.created} 份，已收集过 {c.existing} 份，改用重录 {c.moved} 份，"
               f"已评不再更换 {c.locked} 份，仍在上传 {c.pending} 份")


@marking_group.command("import-paper")
@YEAR
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False))
@click.argument("images", type=click.Path(exists=True, dir_okay=False))
def import_paper_cmd(year: int | None, manifest: str, images: str) -> None:
    """Import scanned paper responses: MANIFEST (.csv/.xlsx: test_id, instrument, item, image) and IMAGES.zip."""
    _django_setup()
    from naeq.marking.services import paper_import

    with _errors(), open(manifest, "rb") as fh, open(images, "rb") as zh:
        n = paper_import(actor=None, cycle=_cycle(year), manifest=fh.read(),
                         manifest_name=os.path.basename(manifest), archive=zh.read(),
                         archive_name=os.path.basename(images))
    click.echo(f"已导入扫描答卷 {n} 份")


@marking_group.command("assign")
@YEAR
@click.option("--item", "item", required=True, help="INSTRUMENT/ITEM to assign.")
@click.option("--seed", type=int, required=True, help="Random seed (recorded with the run).")
def assign_cmd(year: int | None, item: str, seed: int) -> None:
    """Assign the item's unassigned responses to its raters at random (double share and check papers from the
    cycle's marking settings)."""
    _django_setup()
    from naeq.marking.services import assign

    inst, code = _item(item)
    with _errors():
        run = assign(actor=None, cycle=_cycle(year), instrument_code=inst, item_code=code, seed=seed)
    click.echo(f"{inst}/{code}: {run.responses} 份答卷，{run.assignments} 项评分任务（种子 {seed}）")


def _fmt(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.3f}"


@marking_group.command("agreement")
@YEAR
def agreement_cmd(year: int | None) -> None:
    """Print exact and adjacent agreement and quadratic-weighted kappa per item and per rater, and each rater's
    severity (mean score difference against the other rater, SE, z; flagged when |z| > 2)."""
    _django_setup()
    from naeq.marking.selectors import agreement_by_item, agreement_by_rater, rater_severity

    with _errors():
        cycle = _cycle(year)
        actor = None
        for title, rows in (("按题目", agreement_by_item(actor=actor, cycle=cycle)),
                            ("按评分员", agreement_by_rater(actor=actor, cycle=cycle))):
            click.echo(f"{title}\tn\t一致率\t相邻一致率\t加权Kappa\t预警")
            for r in rows:
                s = r.stats
                click.echo(f"{r.label}\t{s.n}\t{_fmt(s.exact)}\t{_fmt(s.adjacent)}\t{_fmt(s.kappa)}\t"
                           f"{','.join(r.flags)}")
        click.echo("评分员宽严\tn\t平均分差\t标准误\tz\t预警")
        for v in rater_severity(actor=actor, cycle=cycle):
            click.echo(f"{v.name} · {v.instrument_code}/{v.item_code}\t{v.n}\t{_fmt(v.mean_diff)}\t{_fmt(v.se)}\t"
                       f"{_fmt(v.z)}\t{'severity' if v.flagged else ''}")


@marking_group.command("export")
@YEAR
@click.option("--instrument", default=None, help="Only this instrument code.")
@click.argument("out", type=click.Path(dir_okay=False, writable=True, allow_dash=True))
def export_cmd(year: int | None, instrument: str | None, out: str) -> None:
    """Write the final scores (test_id, instrument, item, score, rule) of resolved responses to OUT.csv
    ("-" for standard output)."""
    _django_setup()
    from naeq.marking.selectors import export_rows

    with _errors():
        rows = export_rows(actor=None, cycle=_cycle(year), instrument_code=instrument)
        fh = sys.stdout if out == "-" else open(out, "w", newline="", encoding="utf-8")  # noqa: SIM115
        try:
            writer = csv.writer(fh)
            count = -1  # the header row is not a score
            for row in rows:
                writer.writerow(row)
                count += 1
        finally:
            if fh is not sys.stdout:
                fh.close()
    if out != "-":
        click.echo(f"{count} 条最终得分已写入 {out}")
