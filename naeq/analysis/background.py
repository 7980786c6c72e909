"""Student background variables of an estimation run, read from the student questionnaires: the background
factors (homework time, sleep, tutoring, interest, PE lessons per week, …) and the migrant / disadvantaged groups.

Where the answers come from: every student questionnaire of the cycle given in a formal student session (in 2024
the questionnaires (一)(二)(三) have sessions of their own in the afternoon, after the subject tests), joined to the
run's students by the test taker — one test ID per student per cycle, so the same student's test and questionnaires
meet whatever session they were answered in. Single-choice and Likert items only; the last submitted attempt's
answer counts; 97 (invalid) and 99 (omitted) and items not administered are no group. When one item code appears in
several questionnaires (a grade-4 and a grade-8 version with the same codes), a student's answer is taken from
whichever he answered (the later questionnaire code wins if both).

How an item becomes a variable (the run's ``factors`` and ``groups`` options, docs/analysis.md), a *spec*:

* a plain item code ``"S1Q08"``: the group value is the option's number (1…K), labelled with the option's text;
* ``{"item": "S2Q10", "codes": {"1": [1], "0": [2, 3, 4]}, "grade_codes": {"8": {"1": [1, 2], "0": [3, 4]}},
  "labels": {"1": "达到规定时间", "0": "未达到规定时间"}}``: option numbers recoded into groups (``codes``; an option
  in no group is no group, e.g. "不知道"), per tested grade where the rule differs (``grade_codes``, e.g. sleep
  ≥ 10 h in grade 4 and ≥ 9 h in grade 8 over one banded item), with the groups' labels (default: the code).

``groups`` (``migrant``, ``disadvantaged``) must recode into ``"1"`` (the group: 随迁子女 / 家庭经济困难学生) and
``"0"`` (the others), which the run compares (``migrant-nonmigrant``, ``disadvantaged-other``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from numpy.typing import NDArray

from naeq.analysis import exports as _readers
from naeq.core.errors import Problem
from naeq.cycles.models import Cycle
from naeq.delivery.models import Instrument, InstrumentKind, Item, ItemType, Respondent

#: The student groups a run can compare, and the two values each must be recoded into.
GROUP_NAMES = ("migrant", "disadvantaged")
GROUP_VALUES = ("1", "0")
#: Names a background factor may not take (they are the run's own groups).
RESERVED = ("sex", "urban_rural", *GROUP_NAMES)
MAX_NAME = 40


@dataclass
class Variable:
    """One background variable aligned with the run's students: group value per student ('' none), the item it
    comes from, and its groups' labels and printing order."""

    values: NDArray[Any]
    item: str
    labels: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)


def _spec_problems(name: str, spec: Any, *, option: str, values: tuple[str, ...] | None = None) -> list[Problem]:
    """What is wrong with one spec (empty: fine)."""
    bad = Problem(reason=_("应为问卷题目代码，或{\"item\": 题目代码, \"codes\": {组: [选项序号]}, "
                           "\"grade_codes\": {年级: {组: [选项序号]}}, \"labels\": {组: 名称}}。"),
                  field=f"{option}.{name}", value=spec)
    if isinstance(spec, str):
        return [] if spec.strip() and values is None else [bad]
    if not isinstance(spec, dict) or not isinstance(spec.get("item"), str) or not spec["item"].strip():
        return [bad]
    if set(spec) - {"item", "codes", "grade_codes", "labels"}:
        return [bad]

    def codes_ok(c: Any) -> bool:
        return (isinstance(c, dict) and bool(c) and all(
            isinstance(k, str) and k and isinstance(v, list) and v
            and all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in v) for k, v in c.items())
            and len([x for v in c.values() for x in v]) == len({x for v in c.values() for x in v})
            and (values is None or set(c) == set(values)))

    if "codes" in spec and not codes_ok(spec["codes"]):
        return [bad]
    grades = spec.get("grade_codes", {})
    if not isinstance(grades, dict) or not all(isinstance(g, str) and g.isdigit() and codes_ok(c)
                                               for g, c in grades.items()):
        return [bad]
    if values is not None and "codes" not in spec:
        return [bad]
    labels = spec.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        return [bad]
    return []


def clean_specs(given: Any, *, option: str) -> list[Problem]:
    """Problems of the ``factors`` or ``groups`` option (a mapping name → spec)."""
    if not isinstance(given, dict):
        return [Problem(reason=_("应为“名称: 题目”的对应表。"), field=option, value=given)]
    problems: list[Problem] = []
    for name, spec in given.items():
        if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME:
            problems.append(Problem(reason=_("名称应为1到40个字符。"), field=option, value=name))
        elif option == "groups" and name not in GROUP_NAMES:
            problems.append(Problem(reason=_("可比较的学生群体为%(g)s。") % {"g": "、".join(GROUP_NAMES)},
                                    field=f"{option}.{name}", value=name))
        elif option == "factors" and name in RESERVED:
            problems.append(Problem(reason=_("该名称是估计的分组变量，不能作为背景因素名称。"),
                                    field=f"{option}.{name}", value=name))
        else:
            problems += _spec_problems(name, spec, option=option,
                                       values=GROUP_VALUES if option == "groups" else None)
    return problems


def item_of(spec: Any) -> str:
    return spec if isinstance(spec, str) else str(spec["item"])


def student_questionnaire_items(cycle: Cycle, ids: NDArray[np.int64], wanted: Iterable[str] | None = None
                                ) -> dict[str, tuple[Item, NDArray[np.float64]]]:
    """Per item code (single-choice and Likert items of the student questionnaires of the cycle's formal student
    sessions; only ``wanted`` codes if given): the item and, aligned with ``ids`` (sorted test-taker ids), the
    option's number 1…K, 97 invalid, 99 omitted, NaN not administered."""
    from naeq.delivery import selectors as delivery
    from naeq.delivery.models import SessionKind, TestSession

    given: set[str] = set()
    for codes in (TestSession.objects.filter(cycle=cycle, kind=SessionKind.FORMAL, respondent=Respondent.STUDENT)
                  .values_list("instruments", flat=True).iterator(chunk_size=_readers.CHUNK)):
        given |= set(codes or [])
    latest: dict[str, Instrument] = {}
    for inst in Instrument.objects.filter(cycle=cycle, kind=InstrumentKind.QUESTIONNAIRE, code__in=given
                                          ).order_by("code", "-version"):
        latest.setdefault(inst.code, inst)
    want = set(wanted) if wanted is not None else None
    n = len(ids)
    out: dict[str, tuple[Item, NDArray[np.float64]]] = {}
    if not n:
        return out
    for code in sorted(latest):
        q = latest[code]
        items = [it for it in Item.objects.filter(instrument=q, type__in=(ItemType.SINGLE, ItemType.LIKERT))
                 .order_by("seq") if want is None or it.code in want]
        if not items:
            continue
        value_of = {(it.code, str(o.get("value") if isinstance(o, dict) else o)): j + 1
                    for it in items for j, o in enumerate(it.options or [])}
        cols = {it.code: np.full(n, np.nan) for it in items}
        rows = delivery.screening_item_codes(cycle=cycle, instrument_code=q.code, items=list(cols))
        for part in _readers._chunks(rows):
            taker = np.fromiter((r[0] for r in part), dtype=np.int64, count=len(part))
            pos = np.searchsorted(ids, taker)
            hit = (pos < n) & (ids[np.minimum(pos, n - 1)] == taker)
            for k in np.flatnonzero(hit).tolist():
                item, c = part[k][3], str(part[k][4])
                cols[item][pos[k]] = (_readers.OMITTED if c == str(_readers.OMITTED)
                                      else value_of.get((item, c), _readers.INVALID))
        for it in items:
            if it.code in out:  # the same code in another questionnaire: fill where this one was answered
                prev = out[it.code][1]
                got = np.isfinite(cols[it.code])
                prev[got] = cols[it.code][got]
            else:
                out[it.code] = (it, cols[it.code])
    return out


def variable(spec: Any, item: Item, answers: NDArray[np.float64], grade: NDArray[np.float64]) -> Variable:
    """The group values of one spec over one item's answers (see the module docstring)."""
    good = np.isfinite(answers) & (answers != _readers.INVALID) & (answers != _readers.OMITTED)
    option_labels = {str(j + 1): str(o.get("label") if isinstance(o, dict) else o)
                     for j, o in enumerate(item.options or [])}
    if isinstance(spec, str) or ("codes" not in spec and "grade_codes" not in spec):
        values = np.array([str(int(x)) if g else "" for x, g in zip(answers.tolist(), good.tolist(), strict=True)],
                          dtype=str)
        labels = {**option_labels, **({} if isinstance(spec, str) else spec.get("labels", {}))}
        return Variable(values, item.code, labels, list(option_labels))
    values = np.full(len(answers), "", dtype=object)
    base = spec.get("codes") or {}
    rules = [(None, base)] + [(int(g), c) for g, c in sorted((spec.get("grade_codes") or {}).items())]
    order: list[str] = []
    for g, codes in rules:
        sel = good if g is None else good & (grade == g)
        for group, options in codes.items():
            if group not in order:
                order.append(group)
            hit = sel & np.isin(answers, np.asarray(options, dtype=np.float64))
            values[hit] = group
        if g is not None:  # options this grade's rule leaves out are no group in that grade
            unmapped = sel & ~np.isin(answers, np.asarray([x for v in codes.values() for x in v], dtype=np.float64))
            values[unmapped] = ""
    labels = {k: str(v) for k, v in (spec.get("labels") or {}).items()}
    return Variable(values.astype(str), item.code, {k: labels.get(k, k) for k in order}, order)


def read(cycle: Cycle, ids: NDArray[np.int64], grade: NDArray[np.float64], factors: dict[str, Any] | None,
         groups: dict[str, Any] | None) -> tuple[dict[str, Variable], dict[str, Variable], list[str]]:
    """The run's background factors and groups (name → :class:`Variable`) and warnings for specs whose item is not
    in any student questionnaire. With no ``factors``, every single-choice and Likert item is a factor named
    ``q_<item>`` (option numbers)."""
    wanted = None if not factors else {item_of(s) for s in factors.values()} | {
        item_of(s) for s in (groups or {}).values()}
    by_code = student_questionnaire_items(cycle, ids, wanted)
    warnings: list[str] = []
    chosen_f = dict(factors) if factors else {f"q_{code}"[:MAX_NAME]: code for code in by_code}
    out: list[dict[str, Variable]] = [{}, {}]
    for k, chosen in enumerate((chosen_f, dict(groups or {}))):
        for name, spec in sorted(chosen.items()):
            code = item_of(spec)
            if code not in by_code:
                warnings.append(_("背景变量“%(name)s”对应的问卷题目%(code)s不在本周期的学生问卷中，未分析。") % {
                    "name": name, "code": code})
                continue
            item, answers = by_code[code]
            out[k][name] = variable(spec, item, answers, grade)
    return out[0], out[1], warnings
