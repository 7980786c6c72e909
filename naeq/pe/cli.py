"""``naeq pe``: The PE field test: entry per exam room, bounds, review and lock, completion, derived indicators.

``check-config`` validates the items/bounds and the indicator tables; ``template`` writes a room's Excel entry sheet;
``import`` loads a filled sheet as the room's recorder (the same service as the page: window, bounds, lock);
``completion`` prints completion at a level; ``indicators`` computes BMI / weight status, poor vision and pass /
excellent rates over a CSV file (no database). Bad input exits 1 with a precise message; usage errors exit 2.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from pathlib import Path
from typing import Any

import click


def _django_setup() -> None:
    # naeq.cli (a higher layer) has the same helper; this app must not import it.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naeq.settings")
    import django

    django.setup()


def _fail(exc: Any) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group(name="pe")
def pe_group() -> None:
    """The PE field test: entry per exam room, bounds, review and lock, completion, derived indicators."""


@pe_group.command("check-config")
@click.option("--items", "items_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Items and bounds file (default: the shipped configs/items.yaml).")
@click.option("--standard", "standard_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Indicator tables file (default: the shipped configs/standard.yaml).")
def check_config(items_path: Path | None, standard_path: Path | None) -> None:
    """Validate the PE configuration; list every fault (file, key, reason) and exit 1 if there is any."""
    _django_setup()
    from naeq.pe.config import check_all, parse_items, parse_standard

    faults = check_all(items_path, standard_path)
    if faults:
        for f in faults:
            click.echo(f, err=True)
        raise click.ClickException(f"{len(faults)} 处配置错误。")
    items = parse_items(items_path) if items_path else None
    std = parse_standard(standard_path) if standard_path else None
    from naeq.pe.config import items_config, standard

    items = items or items_config()
    std = std or standard()
    published = sum(t.published for t in std.tables.values())
    click.echo(f"items: {len(items.items)} ({', '.join(i.code for i in items.items)}); "
               f"score tables: {len(std.tables)} ({published} published, {len(std.tables) - published} configured "
               f"norms); OK")


def _room(room_id: int) -> Any:
    from naeq.pe.models import ExamRoom

    room = ExamRoom.objects.select_related("school", "cycle").filter(pk=room_id).first()
    if room is None:
        raise click.ClickException(f"没有编号为 {room_id} 的考场。")
    return room


@pe_group.command("template")
@click.option("--room", "room_id", type=int, required=True, help="The room's id (shown in its page address).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="The .xlsx to write.")
def template(room_id: int, out: Path) -> None:
    """Write a room's Excel entry template (its students in seat order, the values entered so far)."""
    _django_setup()
    from naeq.pe import documents, services
    from naeq.pe.models import Attendance

    room = _room(room_id)
    att: dict[str, str] = {Attendance.PRESENT: "参测", Attendance.ABSENT: "缺考", Attendance.EXEMPT: "免测"}
    rows = []
    for r in services.room_records(room):
        ss = r.test_taker.sampled_student
        rows.append({"seq": r.seq, "code": r.test_taker.code, "sex": ss.student.get_sex_display() if ss else "",
                     "attendance": att[r.attendance], "exempt_reason": r.exempt_reason, **r.values()})
    out.write_bytes(documents.room_template(title=f"{room.school.name} {room.name} 体育测试成绩录入表",
                                            room_number=room.number, rows=rows, missing_items=room.missing_items))
    click.echo(f"{out}: {len(rows)} students")


@pe_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--room", "room_id", type=int, required=True, help="The room's id.")
@click.option("--as", "--user", "username", required=True,
              help="Account name of the room's recorder (who is acting; --user is the same).")
@click.option("--submit", is_flag=True, help="Submit the room for review after the import.")
def import_(file: Path, room_id: int, username: str, submit: bool) -> None:
    """Import a filled room template as the room's recorder: every fault is reported (row, column, reason) and
    nothing is saved."""
    _django_setup()
    from django.contrib.auth import get_user_model

    from naeq.core.errors import ApplicationError
    from naeq.pe import services

    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise click.ClickException(f"没有账户 {username}。")
    try:
        n, findings = services.entry_import(actor=user, room_id=room_id, file_name=file.name,
                                            data=file.read_bytes(), submit=submit)
    except ApplicationError as exc:
        raise _fail(exc) from exc
    for f in findings:
        click.echo(("需改正：" if f.blocking else "请核对：") + f.reason, err=True)
    click.echo(f"{n} records saved" + ("; submitted" if submit else ""))


@pe_group.command("completion")
@click.option("--region", default="", help="Region code (province, city or county); default the nation.")
@click.option("--year", type=int, help="Cycle year (default: the current cycle).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write an .xlsx.")
def completion(region: str, year: int | None, out: Path | None) -> None:
    """Completion of the PE entry at one level: expected, entered, exempt, absent, missing by item, rooms."""
    _django_setup()
    from django.contrib.auth import get_user_model

    from naeq.accounts.roles import Role
    from naeq.core.errors import ApplicationError
    from naeq.cycles.selectors import cycle_for
    from naeq.pe import documents, selectors
    from naeq.pe.config import items_config
    from naeq.registry.models import Region

    # The command line reads every region, as the national centre does (no account): a transient national actor.
    actor = get_user_model()(username="cli", role=Role.NATIONAL_ANALYST, is_active=True)
    try:
        cycle = cycle_for(year)
        reg = None
        if region:
            reg = Region.objects.filter(code=region).first()
            if reg is None:
                raise click.ClickException(f"没有行政区划代码为 {region} 的地区。")
        data = selectors.completion(actor=actor, cycle=cycle, region=reg)
    except ApplicationError as exc:
        raise _fail(exc) from exc
    items = items_config().items
    header = ["code", "name", "expected", "in_rooms", "entered", "exempt", "absent",
              *[f"missing_{i.code}" for i in items], "rooms", "submitted", "confirmed"]
    rows = [[r.code, r.name, r.expected, r.in_rooms, r.entered, r.exempt, r.absent, *r.missing_values, r.rooms,
             r.submitted, r.confirmed] for r in [*data.rows, data.total]]
    w = csv.writer(sys.stdout)
    w.writerow(header)
    w.writerows(rows)
    if out:
        out.write_bytes(documents.completion_xlsx(title=f"{reg.name if reg else '全国'} 体育测试完成情况",
                                                  header=header, rows=rows))


@pe_group.command("indicators")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "by", default="group", show_default=True, help="Column to group by (omit the column for "
              "one group).")
def indicators_cmd(file: Path, by: str) -> None:
    """Derived indicators over a CSV of students: columns grade (4/8), sex (M/F), the entry fields (height,
    weight, grip_1, grip_2, vision_l, vision_r, vc_1, vc_2, run50, jump_1..3, shuttle; −1 or blank = missing) and
    optionally a grouping column. Writes one CSV row per group: counts and rates of obesity, overweight, poor
    vision by severity, and pass / excellent per item."""
    import numpy as np

    _django_setup()
    from naeq.pe import indicators
    from naeq.pe.config import FIELDS, items_config, standard

    text = file.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    cols = set(reader.fieldnames or [])
    missing = [c for c in ("grade", "sex") if c not in cols]
    if missing:
        raise click.ClickException(f"{file.name}: 缺少列 {', '.join(missing)}。")
    problems: list[str] = []
    groups: list[str] = []
    grades: list[int] = []
    sexes: list[str] = []
    values: dict[str, list[float]] = {f: [] for f in FIELDS}
    for n, row in enumerate(reader, start=2):
        g = (row.get("grade") or "").strip()
        s = (row.get("sex") or "").strip()
        if g not in ("4", "8"):
            problems.append(f"{file.name}: row {n}, grade: 应为 4 或 8，现为“{g}”")
        if s not in ("M", "F"):
            problems.append(f"{file.name}: row {n}, sex: 应为 M 或 F，现为“{s}”")
        for f in FIELDS:
            raw = (row.get(f) or "").strip()
            try:
                v = float(raw) if raw else np.nan
            except ValueError:
                problems.append(f"{file.name}: row {n}, {f}: “{raw}”不是数值")
                v = np.nan
            values[f].append(v)
        groups.append((row.get(by) or "").strip() if by in cols else "")
        grades.append(int(g) if g in ("4", "8") else 0)
        sexes.append(s)
    if problems:
        for p in problems[:50]:
            click.echo(p, err=True)
        raise click.ClickException(f"{len(problems)} 处错误，未计算。")
    cfg, std = items_config(), standard()
    arr = {f: indicators.clean(np.array(v, dtype=float)) for f, v in values.items()}
    g_arr, gr, sx = np.array(groups, dtype=object), np.array(grades), np.array(sexes, dtype=object)
    out = csv.writer(sys.stdout)
    item_codes = sorted({k[0] for k in std.tables})
    out.writerow(["group", "students", "bmi_n", "obese", "obesity_rate", "overweight", "overweight_rate",
                  "vision_n", "poor_vision", "poor_vision_rate", *[c.code for c in std.vision_classes],
                  *[f"{c}_{k}" for c in item_codes for k in ("n", "pass", "pass_rate", "excellent",
                                                              "excellent_rate")]])
    for key in sorted(set(groups)):
        sel = g_arr == key
        results = {}
        for item in cfg.items:
            t = np.column_stack([arr[f.code][sel] for f in item.fields]) if len(item.fields) > 1 else arr[
                item.fields[0].code][sel]
            results[item.code] = indicators.best_of(t, item.best)
        gi = indicators.group_indicators(grades=gr[sel], sexes=sx[sel], height=arr["height"][sel],
                                         weight=arr["weight"][sel], vision_l=arr["vision_l"][sel],
                                         vision_r=arr["vision_r"][sel], results=results, std=std)

        def fmt(x: float | None) -> str:
            return "" if x is None else f"{x:.4f}"

        line: list[Any] = [key, gi.students, gi.bmi_n, gi.obesity.k, fmt(gi.obesity.rate), gi.overweight.k,
                          fmt(gi.overweight.rate), gi.vision_n, gi.poor_vision.k, fmt(gi.poor_vision.rate),
                          *[gi.vision.get(c.code, 0) for c in std.vision_classes]]
        for c in item_codes:
            pr, ex = gi.passed[c], gi.excellent[c]
            line += [pr.n, pr.k, fmt(pr.rate), ex.k, fmt(ex.rate)]
        out.writerow(line)
