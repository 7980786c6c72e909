"""The rules an instrument must satisfy before any of it is imported.

:func:`instrument_problems` returns every problem it finds (nothing is imported while there is one). Each problem
names the item (or stimulus, or booklet), where it came from (sheet and row of the workbook, or the QTI file) and
the column, with a Chinese reason. The rules per item type are in docs/items.md.
"""

from __future__ import annotations

import math
import re
from typing import Any

from django.utils.translation import gettext as _

from naeq.core.errors import Problem
from naeq.delivery.items.spec import (
    BOOKLET_SHEET,
    COLUMN,
    MAX_RECORD_SECONDS,
    MIN_RECORD_SECONDS,
    RECORD_KINDS,
    InstrumentSpec,
    ItemSpec,
    StimulusSpec,
)
from naeq.delivery.media import media_problem
from naeq.delivery.models import InstrumentKind, ItemType

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,39}$")
BLOCK_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,19}$")
CHOICE_TYPES = {ItemType.SINGLE, ItemType.TRUE_FALSE, ItemType.LIKERT}
MAX_TEXT_LENGTH = 10000


def _count(v: Any) -> bool:
    """An integer ≥ 1 (a play limit)."""
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _has_audio(media: list[dict[str, Any]]) -> bool:
    return any(m.get("kind") == "audio" for m in media)


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


class _Checker:
    def __init__(self, spec: InstrumentSpec) -> None:
        self.spec = spec
        self.problems: list[Problem] = []
        self.test = spec.kind == InstrumentKind.TEST

    def item(self, it: ItemSpec, column: str, reason: str) -> None:
        self.problems.append(Problem(reason=f"{it.code or '?'}：{reason}", file=it.source, row=it.row,
                                     field=COLUMN[column]))

    # ------------------------------------------------------------------------------------------- per item type

    def options(self, it: ItemSpec, minimum: int = 2) -> set[str]:
        values = [str(o.get("value", "")) for o in it.options]
        if len(values) < minimum:
            self.item(it, "options", _("该题型至少需要%(n)d个选项。") % {"n": minimum})
        if len(set(values)) != len(values):
            self.item(it, "options", _("选项编号重复。"))
        if any(not v for v in values) or any(not str(o.get("label", "")).strip() for o in it.options):
            self.item(it, "options", _("每个选项都要有编号和文字。"))
        return set(values)

    def range_(self, it: ItemSpec) -> tuple[float, float, int] | None:
        c = it.constraints
        lo, hi, dec = _num(c.get("min")), _num(c.get("max")), c.get("decimals", 0)
        if lo is None or hi is None:
            self.item(it, "constraints", _("数值题和滑块题必须写明最小值和最大值。"))
            return None
        if not lo < hi:
            self.item(it, "constraints", _("最小值必须小于最大值。"))
            return None
        if isinstance(dec, bool) or not isinstance(dec, int) or dec < 0 or dec > 6:
            self.item(it, "constraints", _("小数位必须是0到6之间的整数。"))
            return None
        return lo, hi, dec

    def check_type(self, it: ItemSpec) -> None:
        t, key = it.type, it.key
        if t in CHOICE_TYPES:
            if t == ItemType.TRUE_FALSE and len(it.options) != 2:
                # One reason for one fault: "exactly two" already says "at least two" was not met.
                self.item(it, "options", _("判断题必须恰好有两个选项。"))
                values = {str(o.get("value", "")) for o in it.options}
            else:
                values = self.options(it)
            # A Likert item of a scale (e.g. the mental-health test) is summed, not keyed: its key is optional.
            if key is None and self.test and t != ItemType.LIKERT:
                self.item(it, "key", _("测试卷的选择题必须填写答案。"))
            elif key is not None and str(key) not in values:
                self.item(it, "key", _("答案“%(key)s”不是选项编号之一。") % {"key": key})
        elif t == ItemType.MULTIPLE:
            values = self.options(it)
            lo, hi = it.constraints.get("min_choices", 1), it.constraints.get("max_choices", len(it.options))
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (lo, hi)) or not (
                    0 <= lo <= hi <= len(it.options)) or hi < 1:
                self.item(it, "constraints",
                          _("最少选、最多选必须满足 0 ≤ 最少选 ≤ 最多选 ≤ 选项数，且最多选至少为1。"))
            if key is None:
                if self.test:
                    self.item(it, "key", _("测试卷的多选题必须填写答案。"))
            elif not isinstance(key, list) or not key or len(set(map(str, key))) != len(key):
                self.item(it, "key", _("多选题的答案必须是不重复的选项编号列表。"))
            elif not set(map(str, key)) <= values:
                self.item(it, "key", _("答案中有不是选项编号的值：%(bad)s。") % {
                    "bad": "、".join(sorted(set(map(str, key)) - values))})
        elif t == ItemType.MATRIX:
            values = self.options(it)
            if not it.rows or any(not str(r).strip() for r in it.rows):
                self.item(it, "rows", _("矩阵题至少需要一行子题，且每行都要有文字。"))
            # The key maps row numbers ("1".."n", the rows' ids in scoring) to option values.
            if key is not None and (not isinstance(key, dict)
                                    or set(key) != {str(n) for n in range(1, len(it.rows) + 1)}
                                    or not {str(v) for v in key.values()} <= values):
                self.item(it, "key", _("矩阵题的答案必须每行一个选项编号，行数与子题一致。"))
        elif t in (ItemType.NUMERIC, ItemType.SLIDER):
            rng = self.range_(it)
            if key is None:
                if self.test and t == ItemType.NUMERIC:
                    self.item(it, "key", _("测试卷的数值填空题必须填写答案。"))
            elif _num(key) is None:
                self.item(it, "key", _("答案必须是数字。"))
            elif rng is not None:
                lo, hi, dec = rng
                if not lo <= float(key) <= hi:
                    self.item(it, "key", _("答案%(key)s不在作答范围 %(lo)g～%(hi)g 内。") % {
                        "key": key, "lo": lo, "hi": hi})
                elif round(float(key), dec) != float(key):
                    self.item(it, "key", _("答案的小数位多于允许的%(dec)d位。") % {"dec": dec})
        elif t in (ItemType.TEXT, ItemType.SINGLE_TEXT):
            n = it.constraints.get("max_length")
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_TEXT_LENGTH:
                self.item(it, "constraints", _("填空题必须写明字数上限（1～%(max)d）。") % {"max": MAX_TEXT_LENGTH})
            if t == ItemType.SINGLE_TEXT:
                values = self.options(it)
                if str(it.constraints.get("text_option", "")) not in values:
                    self.item(it, "constraints", _("单选+填空题必须指明带填空的选项（填空项=选项编号）。"))
            if key is not None and not (isinstance(key, list) and key and all(isinstance(k, str) for k in key)):
                self.item(it, "key", _("填空题的答案必须是一个或多个可接受的文字。"))
        elif t == ItemType.RANKING:
            if len(it.rows) < 2:
                self.item(it, "rows", _("排序题至少需要两项待排序的内容。"))
            wanted = sorted(str(i) for i in range(1, len(it.rows) + 1))
            if key is not None and (not isinstance(key, list) or sorted(str(k) for k in key) != wanted):
                self.item(it, "key", _("排序题的答案必须是 1～%(n)d 的一个排列。") % {"n": len(it.rows)})
        elif t == ItemType.OPEN:
            if key is not None:
                self.item(it, "key", _("开放题由评分员评分，不能填写答案。"))
            if self.test and not it.max_score > 0:
                self.item(it, "max_score", _("测试卷的开放题满分必须大于0。"))
        else:
            # An empty type is one the reader (workbook or QTI) could not read and has already reported.
            if t:
                self.item(it, "type", _("不认识的题型“%(type)s”。") % {"type": t})
            return
        partial = it.constraints.get("partial_credit")
        if partial is not None and (not isinstance(partial, bool) or t not in (ItemType.MULTIPLE, ItemType.MATRIX)):
            self.item(it, "constraints", _("部分得分只能用于多选题和矩阵题，填“是”或“否”。"))
        if not self.test and key is not None:
            self.item(it, "key", _("问卷题不设答案。"))
        if not self.test and it.max_score:
            self.item(it, "max_score", _("问卷题不计分，满分应为空或0。"))
        if self.test and key is not None and not it.max_score > 0:
            self.item(it, "max_score", _("有答案的测试题满分必须大于0。"))

    # ------------------------------------------------------------------------------------------- performance

    def media_limits(self, media: list[dict[str, Any]]) -> list[str]:
        """Reasons against the play limits of media entries (audio only, integers ≥ 1)."""
        out = []
        for m in media:
            if "play_limit" not in m:
                continue
            if m.get("kind") != "audio":
                out.append(_("只有音频可以限制播放次数（“%(file)s”不是音频）。") % {"file": m.get("file", "")})
            elif not _count(m["play_limit"]):
                out.append(_("“%(file)s”的播放次数必须是不小于1的整数。") % {"file": m.get("file", "")})
        return out

    def performance(self, it: ItemSpec, stimulus: StimulusSpec | None) -> None:
        """Listening and recorded tasks (issue 9): 播放次数, 录音, 录音时长 and the media's own play limits."""
        c = it.constraints
        for reason in self.media_limits(it.media):
            self.item(it, "media", reason)
        if "play_limit" in c:
            if not _count(c["play_limit"]):
                self.item(it, "play_limit", _("播放次数必须是不小于1的整数。"))
            elif not _has_audio(it.media) and not (stimulus is not None and _has_audio(stimulus.media)):
                self.item(it, "play_limit", _("填写了播放次数，但本题和它的共享材料都没有音频。"))
        if "record" in c:
            if c["record"] not in RECORD_KINDS:
                self.item(it, "record", _("录音只能是“口语”（speaking）或“演唱”（singing）。"))
            elif it.type != ItemType.OPEN:
                self.item(it, "record", _("只有开放题可以录音作答（本题的题型不是开放题）。"))
            elif not it.max_score > 0:
                self.item(it, "record", _("录音题由评分员评分，满分必须大于0。"))
        if "record_seconds" in c:
            v = c["record_seconds"]
            if "record" not in c:
                self.item(it, "record_seconds", _("录音时长只用于录音题，请同时填写“录音”。"))
            elif isinstance(v, bool) or not isinstance(v, int) or not MIN_RECORD_SECONDS <= v <= MAX_RECORD_SECONDS:
                self.item(it, "record_seconds", _("录音时长必须是%(lo)d～%(hi)d的整数（秒）。") % {
                    "lo": MIN_RECORD_SECONDS, "hi": MAX_RECORD_SECONDS})

    # ------------------------------------------------------------------------------------------- the whole

    def run(self) -> list[Problem]:
        spec = self.spec
        seen: dict[str, ItemSpec] = {}
        order: dict[str, int] = {}
        stimuli = {s.code: s for s in spec.stimuli}
        seen_stimuli: set[str] = set()
        for s in spec.stimuli:
            if not CODE_RE.fullmatch(s.code or ""):
                self.problems.append(Problem(reason=_("材料编号“%(code)s”不合法。") % {"code": s.code},
                                             file=s.source, row=s.row, field="编号"))
            if s.code in seen_stimuli:
                self.problems.append(Problem(reason=_("材料编号“%(code)s”重复。") % {"code": s.code},
                                             file=s.source, row=s.row, field="编号"))
            seen_stimuli.add(s.code)
            if not (s.body.strip() or s.media):
                self.problems.append(Problem(reason=_("%(code)s：共享材料需要内容或图片/音频。") % {"code": s.code},
                                             file=s.source, row=s.row, field="内容"))
            for m in s.media:
                reason = self.media_reason(m.get("file", ""))
                if reason:
                    self.problems.append(Problem(reason=f"{s.code}：{reason}", file=s.source, row=s.row,
                                                 field="图片/音频"))
            for reason in self.media_limits(s.media):
                self.problems.append(Problem(reason=f"{s.code}：{reason}", file=s.source, row=s.row,
                                             field="图片/音频"))
        if not spec.items:
            self.problems.append(Problem(reason=_("没有任何题目。"), file="题目", field=None))
        screens_of: dict[str, set[int]] = {}  # screens are numbered within their block
        blocks_seen: list[str] = []
        last_screen: dict[str, int] = {}
        for i, it in enumerate(spec.items):
            if not CODE_RE.fullmatch(it.code or ""):
                self.item(it, "code", _("题目编号只能由字母、数字、下划线和连字符组成（不超过40个字符）。"))
            elif it.code in seen:
                first = seen[it.code]
                self.item(it, "code", _("题目编号重复（第%(row)s行已使用）。") % {"row": first.row or "?"})
            else:
                seen[it.code] = it
                order[it.code] = i
            if not it.stem.strip():
                self.item(it, "stem", _("题干不能为空。"))
            if not it.dimension.strip():
                self.item(it, "dimension", _("每道题都要填写维度（指标体系）。"))
            if not BLOCK_RE.fullmatch(it.block or ""):
                self.item(it, "block", _("题块编号只能由字母、数字、下划线和连字符组成。"))
            if isinstance(it.screen, bool) or not isinstance(it.screen, int) or it.screen < 1:
                self.item(it, "screen", _("屏号必须是正整数。"))
            else:
                if not self.test and blocks_seen and it.block != blocks_seen[0]:
                    # A questionnaire is one block (one booklet); its pages are its screens.
                    self.item(it, "block", _("问卷只有一个题块（“%(block)s”）。") % {"block": blocks_seen[0]})
                elif blocks_seen and it.block != blocks_seen[-1] and it.block in blocks_seen:
                    self.item(it, "block", _("题块“%(block)s”的题目必须连续排列。") % {"block": it.block})
                if it.block not in blocks_seen:
                    blocks_seen.append(it.block)
                screens_of.setdefault(it.block, set()).add(it.screen)
                if it.screen < last_screen.get(it.block, 0):
                    self.item(it, "screen", _("屏号不能比前一题小。"))
                last_screen[it.block] = it.screen
            if not (_num(it.max_score) is not None and it.max_score >= 0):
                self.item(it, "max_score", _("满分必须是不小于0的数。"))
            self.check_type(it)
            self.performance(it, stimuli.get(it.stimulus) if it.stimulus else None)
            if it.stimulus is not None and it.stimulus not in stimuli:
                self.item(it, "stimulus", _("共享材料“%(code)s”不存在。") % {"code": it.stimulus})
            for m in it.media:
                reason = self.media_reason(m.get("file", ""))
                if reason:
                    self.item(it, "media", reason)
        for i, it in enumerate(spec.items):
            if it.show_if is not None:
                ref = it.show_if.get("item")
                if ref not in order or order[ref] >= i:
                    self.item(it, "show_if", _("显示条件只能引用前面的题目（“%(ref)s”不在本题之前）。") % {"ref": ref})
                else:
                    self.values_in(it, "show_if", seen[ref], it.show_if.get("in") or [])
            if it.skip is not None:
                to = it.skip.get("to_screen")
                if not isinstance(to, int) or to <= it.screen or to not in screens_of.get(it.block, set()):
                    self.item(it, "skip", _("跳转只能跳到本题块中后面已有的屏（第%(to)s屏）。") % {"to": to})
                self.values_in(it, "skip", it, it.skip.get("in") or [])
        self.booklets(blocks_seen)
        return self.problems

    def values_in(self, it: ItemSpec, column: str, ref: ItemSpec, values: list[Any]) -> None:
        if not values:
            self.item(it, column, _("条件中没有取值。"))
            return
        if ref.options:
            allowed = {str(o.get("value")) for o in ref.options}
            bad = [str(v) for v in values if str(v) not in allowed]
            if bad:
                self.item(it, column, _("取值 %(bad)s 不是题目 %(ref)s 的选项编号。") % {
                    "bad": "、".join(bad), "ref": ref.code})

    def media_reason(self, name: str) -> str | None:
        reason = media_problem(name)
        if reason:
            return reason
        if name not in self.spec.media:
            return _("没有找到文件“%(name)s”：请把它放进随题目上传的文件夹或压缩包。") % {"name": name}
        return None

    def booklets(self, blocks: list[str]) -> None:
        numbers: set[int] = set()
        used: set[str] = set()
        for b in self.spec.booklets:
            def bad(reason: str, b: Any = b) -> None:
                self.problems.append(Problem(reason=_("题本%(n)s：%(r)s") % {"n": b.number, "r": reason},
                                             file=b.source, row=b.row, field="题块顺序"))
            if isinstance(b.number, bool) or not isinstance(b.number, int) or not 1 <= b.number <= 999:
                self.problems.append(Problem(reason=_("题本号必须是1～999的整数。"), file=b.source, row=b.row,
                                             field="题本号"))
            elif b.number in numbers:
                self.problems.append(Problem(reason=_("题本号%(n)s重复。") % {"n": b.number}, file=b.source,
                                             row=b.row, field="题本号"))
            numbers.add(b.number)
            if not b.blocks:
                bad(_("没有题块。"))
            if len(set(b.blocks)) != len(b.blocks):
                bad(_("同一题块出现了两次。"))
            missing = [c for c in b.blocks if c not in blocks]
            if missing:
                bad(_("题块 %(codes)s 不存在。") % {"codes": "、".join(missing)})
            used.update(b.blocks)
        if self.spec.booklets:
            unused = [c for c in blocks if c not in used]
            if unused:
                self.problems.append(Problem(reason=_("题块 %(codes)s 不在任何题本中。") % {"codes": "、".join(unused)},
                                             file=BOOKLET_SHEET, field="题块顺序"))


def instrument_problems(spec: InstrumentSpec) -> list[Problem]:
    """Every problem of ``spec`` (its ``kind`` must already be set from the cycle configuration)."""
    return _Checker(spec).run()
