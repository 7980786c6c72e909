"""The reports' charts, drawn with Pillow straight to PNG (Noto Sans CJK SC from Debian's fonts-noto-cjk) and
embedded in the HTML as ``data:`` images, so the same file shows in the browser and prints through WeasyPrint.

Each chart is a pure function of a report section's numbers (:mod:`naeq.reports.content`): bars, interval
whiskers, dashed reference lines and text on a white RGB canvas, with every label placed in pixels (a value
label stands a fixed gap beyond its whisker's end and on a white ground where a reference line runs under it).
The PNG carries no date or software metadata and Pillow draws deterministically, so the same numbers give the
same bytes. Pillow, not matplotlib: the ten charts of a county report took matplotlib about half of the report's
CPU time (creating axes, ticks and text artists), Pillow draws them in a few hundredths of a second; RGB without
an alpha channel, so WeasyPrint re-encodes each image once instead of splitting off a soft mask.

A value that is not reported (suppressed, or no row) is not drawn as an empty bar: its place says 不予报告, and
the footnote of the report gives the rule. None of the charts names a school; the distributions of a province's
counties or the nation's provinces are unlabelled histograms, not ranked bars.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont

CJK_FONT_FILES = (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
                  Path("/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc"))
#: the face of the Simplified Chinese glyph forms inside the Noto Sans CJK collection (0 JP, 1 KR, 2 SC …)
CJK_FONT_INDEX = 2
#: PNG resolution: the charts are 6.6 in wide and print at the text width (≈ 17.8 cm), ≈ 113 dpi on paper
DPI = 120
LEVEL_COLOURS = ("#d9534f", "#f0ad4e", "#5bc0de", "#2e7d32")
LEVEL_TEXT = ("#ffffff", "#1b1f24", "#1b1f24", "#ffffff")
UNIT_COLOURS = {"county": "#1f5fa8", "province": "#7a9cc6", "nation": "#b8c4d6"}
INK = "#1b1f24"
GREY = "#6b7280"
AXIS = "#444444"
RED = "#c62828"
BAR = "#1f5fa8"
FACTOR_BAR = "#5b8fc7"
HIST = "#7a9cc6"
THRESHOLD = 0.15


def px(inches: float) -> int:
    return round(inches * DPI)


def pt(points: float) -> int:
    """Points to pixels at the chart's resolution."""
    return max(1, round(points * DPI / 72))


@lru_cache(maxsize=16)
def font(size_pt: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in CJK_FONT_FILES:
        if path.exists():
            return ImageFont.truetype(str(path), pt(size_pt), index=CJK_FONT_INDEX,
                                      layout_engine=ImageFont.Layout.BASIC)
    return ImageFont.load_default(pt(size_pt))


def nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 × 10^k steps) inside [lo, hi], about ``n`` of them."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / max(1, n - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw - 1e-12)
    first = math.ceil(lo / step - 1e-9) * step
    out = []
    v = first
    while v <= hi + step * 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def _tick_text(v: float, ticks: Sequence[float]) -> str:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    digits = next((d for d in range(6) if abs(round(step, d) - step) < step * 1e-6), 6)
    return f"{v:.{digits}f}"


def _uri(img: Image.Image) -> str:
    buf = io.BytesIO()
    # no metadata (no date, no software); fast zlib level: WeasyPrint re-packs the pixels into the PDF anyway
    img.save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class Canvas:
    """A white chart of ``w`` × ``h`` inches with a plot area inside margins given in inches."""

    def __init__(self, w: float, h: float, *, left: float = 1.0, right: float = 0.35, top: float = 0.1,
                 bottom: float = 0.45) -> None:
        self.img = Image.new("RGB", (px(w), px(h)), "#ffffff")
        self.d = ImageDraw.Draw(self.img)
        self.x0, self.x1 = px(left), px(w - right)
        self.y0, self.y1 = px(top), px(h - bottom)
        self.xlo, self.xhi, self.ylo, self.yhi = 0.0, 1.0, 0.0, 1.0

    def area(self, x0: int, y0: int, x1: int, y1: int) -> Canvas:
        """The same picture with another plot area (a panel of a multi-panel chart)."""
        c = object.__new__(Canvas)
        c.img, c.d = self.img, self.d
        c.x0, c.y0, c.x1, c.y1 = x0, y0, x1, y1
        c.xlo, c.xhi, c.ylo, c.yhi = 0.0, 1.0, 0.0, 1.0
        return c

    def X(self, v: float) -> float:
        return self.x0 + (v - self.xlo) / (self.xhi - self.xlo) * (self.x1 - self.x0)

    def Y(self, v: float) -> float:
        return self.y1 - (v - self.ylo) / (self.yhi - self.ylo) * (self.y1 - self.y0)

    def band(self, i: int, n: int) -> float:
        """The centre (pixels, from the top) of row ``i`` of ``n`` equal rows of the plot area."""
        return self.y0 + (i + 0.5) * (self.y1 - self.y0) / n

    def col(self, i: int, n: int) -> float:
        return self.x0 + (i + 0.5) * (self.x1 - self.x0) / n

    def text(self, xy: tuple[float, float], s: str, *, size: float = 8, fill: str = INK, anchor: str = "lm",
             ground: bool = False) -> tuple[int, int, int, int]:
        f = font(size)
        box = self.d.textbbox(xy, s, font=f, anchor=anchor)
        if ground:  # a white ground, so a reference line under the label does not run through its text
            self.d.rectangle((box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1), fill="#ffffff")
        self.d.text(xy, s, font=f, fill=fill, anchor=anchor)
        return (int(box[0]), int(box[1]), int(box[2]), int(box[3]))

    def width(self, s: str, size: float = 8) -> int:
        return int(self.d.textlength(s, font=font(size)))

    def rect(self, x0: float, y0: float, x1: float, y1: float, fill: str) -> None:
        left, top, right, bottom = (round(min(x0, x1)), round(min(y0, y1)), round(max(x0, x1)) - 1,
                                    round(max(y0, y1)) - 1)
        if right < left or bottom < top:  # a bar of value 0 (or under half a pixel) has no area to fill
            return
        self.d.rectangle((left, top, right, bottom), fill=fill)

    def hline(self, x0: float, x1: float, y: float, *, fill: str = INK, w: float = 1.0) -> None:
        self.d.line((round(x0), round(y), round(x1), round(y)), fill=fill, width=pt(w))

    def vline(self, x: float, y0: float, y1: float, *, fill: str = INK, w: float = 1.0) -> None:
        self.d.line((round(x), round(y0), round(x), round(y1)), fill=fill, width=pt(w))

    def dashed_v(self, x: float, y0: float, y1: float, *, fill: str = RED) -> None:
        dash, gap = pt(4), pt(2.5)
        y = y0
        while y < y1:
            self.vline(x, y, min(y + dash, y1), fill=fill)
            y += dash + gap

    def xaxis(self, ticks: Sequence[float], label: str = "", *, fmt: Any = None) -> None:
        """The bottom axis line with ticks, tick labels and the axis title under them."""
        self.hline(self.x0, self.x1, self.y1, fill=AXIS, w=0.8)
        for v in ticks:
            x = self.X(v)
            self.vline(x, self.y1, self.y1 + pt(3), fill=AXIS, w=0.8)
            self.text((x, self.y1 + pt(4)), fmt(v) if fmt else _tick_text(v, ticks), size=7.5, anchor="mt")
        if label:
            self.text(((self.x0 + self.x1) / 2, self.y1 + pt(15)), label, size=8, anchor="mt")

    def yaxis(self, ticks: Sequence[float], *, fmt: Any = None) -> None:
        self.vline(self.x0, self.y0, self.y1, fill=AXIS, w=0.8)
        for v in ticks:
            y = self.Y(v)
            self.hline(self.x0 - pt(3), self.x0, y, fill=AXIS, w=0.8)
            self.text((self.x0 - pt(4), y), fmt(v) if fmt else _tick_text(v, ticks), size=7.5, anchor="rm")

    def row_labels(self, labels: Sequence[str], *, size: float = 8) -> None:
        """Category labels left of a horizontal-bar plot area, row 0 at the top, with the left axis line."""
        self.vline(self.x0, self.y0, self.y1, fill=AXIS, w=0.8)
        for i, s in enumerate(labels):
            y = self.band(i, len(labels))
            self.hline(self.x0 - pt(3), self.x0, y, fill=AXIS, w=0.8)
            self.text((self.x0 - pt(4), y), s, size=size, anchor="rm")

    def side_label(self, x: float, s: str) -> None:
        """A reference line's label above the plot area, beside the line's top: to its right, or to its left
        when it would run off the picture."""
        if x + pt(3) + self.width(s, 7.5) < self.img.width - pt(2):
            self.text((x + pt(3), self.y0 - pt(3)), s, size=7.5, fill=RED, anchor="lb", ground=True)
        else:
            self.text((x - pt(3), self.y0 - pt(3)), s, size=7.5, fill=RED, anchor="rb", ground=True)

    def not_reported(self, xy: tuple[float, float], *, anchor: str = "lm", size: float = 7.5) -> None:
        self.text(xy, _("不予报告"), size=size, fill=GREY, anchor=anchor)

    def uri(self) -> str:
        return _uri(self.img)


def _value(c: dict[str, Any]) -> float | None:
    v = c.get("value")
    return None if v is None else float(v)


def _span(values: Sequence[float], *, pad_lo: float, pad_hi: float, floor: float | None = None) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    rng = max(hi - lo, 1e-9)
    a, b = lo - rng * pad_lo, hi + rng * pad_hi
    if floor is not None:
        a = max(floor, a)
    return a, b


# ------------------------------------------------------------------------------------------------ charts


def levels_chart(units: list[dict[str, Any]], level_names: list[str]) -> str:
    """Stacked horizontal bars of the four levels' shares, one bar per unit (county, province, nation)."""
    if not any(_value(c) is not None for u in units for c in u["levels"]):
        return ""
    n = len(units)
    cv = Canvas(6.6, 0.42 * n + 1.0, top=0.4, bottom=0.5)
    cv.xlo, cv.xhi = 0.0, 100.0
    # the legend above the plot area, centred
    items = [(LEVEL_COLOURS[j], name) for j, name in enumerate(level_names)]
    sq, gap = pt(8), pt(4)
    total = sum(sq + gap + cv.width(name) + pt(14) for _c, name in items) - pt(14)
    x = (cv.x0 + cv.x1 - total) / 2
    for colour, name in items:
        cv.rect(x, pt(6), x + sq, pt(6) + sq, colour)
        cv.text((x + sq + gap, pt(6) + sq / 2), name, anchor="lm")
        x += sq + gap + cv.width(name) + pt(14)
    bar = (cv.y1 - cv.y0) / n * 0.6
    for i, u in enumerate(units):
        y = cv.band(i, n)
        vals = [_value(c) for c in u["levels"]]
        if any(v is None for v in vals):
            cv.not_reported((cv.x0 + pt(4), y))
            continue
        left = 0.0
        for j, v in enumerate(vals):
            assert v is not None
            cv.rect(cv.X(left), y - bar / 2, cv.X(left + v), y + bar / 2, LEVEL_COLOURS[j])
            if v >= 6:
                cv.text(((cv.X(left) + cv.X(left + v)) / 2, y), f"{v:.1f}", size=7.5, fill=LEVEL_TEXT[j],
                        anchor="mm")
            left += v
    cv.row_labels([u["label"] for u in units])
    cv.xaxis([0, 20, 40, 60, 80, 100], _("学生比例（%）"))
    return cv.uri()


def compare_chart(units: list[dict[str, Any]], what: str) -> str:
    """Means of the unit, its province and the nation, each bar with its 95% interval as a whisker."""
    shown = [u for u in units if _value(u["mean"]) is not None]
    if not shown:
        return ""
    n = len(units)
    cv = Canvas(6.6, 0.4 * n + 0.75)
    los = [u["mean"]["lo"] if u["mean"].get("lo") is not None else u["mean"]["value"] for u in shown]
    his = [u["mean"]["hi"] if u["mean"].get("hi") is not None else u["mean"]["value"] for u in shown]
    lo, hi = min(los), max(his)
    rng = max(hi - lo, 10.0)
    cv.xlo, cv.xhi = max(0.0, lo - rng * 0.6 - 20), hi + rng * 0.35 + 12
    bar = (cv.y1 - cv.y0) / n * 0.55
    for i, u in enumerate(units):
        y = cv.band(i, n)
        v = _value(u["mean"])
        if v is None:
            cv.not_reported((cv.x0 + pt(4), y))
            continue
        cv.rect(cv.x0, y - bar / 2, cv.X(v), y + bar / 2, UNIT_COLOURS.get(u["level"], "#888888"))
        end = cv.X(v)
        if u["mean"].get("lo") is not None and u["mean"].get("hi") is not None:
            a, b = cv.X(u["mean"]["lo"]), cv.X(u["mean"]["hi"])
            cv.hline(a, b, y, w=1.0)
            for x in (a, b):
                cv.vline(x, y - pt(3.5), y + pt(3.5), w=1.0)
            end = max(end, b)
        cv.text((end + pt(5), y), u["mean"]["text"], size=8, anchor="lm")
    cv.row_labels([u["label"] for u in units])
    cv.xaxis(nice_ticks(cv.xlo, cv.xhi, 7), what)
    return cv.uri()


def between_chart(units: list[dict[str, Any]], threshold: float = THRESHOLD) -> str:
    """The 校际差异率 of the unit, its province and the nation against the 0.15 threshold (dashed line)."""
    vals = [_value(u["diff_rate"]) for u in units]
    shown = [v for v in vals if v is not None]
    if not shown:
        return ""
    n = len(units)
    cv = Canvas(6.6, 0.4 * n + 0.95, top=0.3)
    cv.xlo, cv.xhi = 0.0, max(max(shown) * 1.3, threshold * 1.4)
    bar = (cv.y1 - cv.y0) / n * 0.55
    xt = cv.X(threshold)
    for i, (u, v) in enumerate(zip(units, vals, strict=True)):
        if v is not None:
            y = cv.band(i, n)
            cv.rect(cv.x0, y - bar / 2, cv.X(v), y + bar / 2, UNIT_COLOURS.get(u["level"], "#888888"))
    cv.dashed_v(xt, cv.y0 - pt(2), cv.y1)  # over the bars: the threshold stays visible across every bar
    for i, (u, v) in enumerate(zip(units, vals, strict=True)):
        y = cv.band(i, n)
        if v is None:
            cv.not_reported((cv.x0 + pt(4), y))
        else:
            cv.text((cv.X(v) + pt(4), y), u["diff_rate"]["text"], size=8, anchor="lm", ground=True)
    # the threshold's label above the plot area, beside the top of its line
    cv.side_label(xt, _("优质均衡标准 %(t)s") % {"t": threshold})
    cv.row_labels([u["label"] for u in units])
    cv.xaxis(nice_ticks(cv.xlo, cv.xhi, 7), _("校际差异率"))
    return cv.uri()


def groups_chart(gaps: list[dict[str, Any]]) -> str:
    """Mean scores by sex, urban/rural, migrant and disadvantaged students: one panel per grouping (two a row),
    bars with 95% whiskers, every panel on the same score axis, a category label wrapped to its bar's width."""
    blocks = [g for g in gaps if g["groups"]]
    values = [(_value(x["mean"]), x["mean"].get("se_value") or 0.0) for g in blocks for x in g["groups"]]
    shown = [(v, e) for v, e in values if v is not None]
    if not shown:
        return ""
    ncol = min(2, len(blocks))
    nrow = (len(blocks) + ncol - 1) // ncol
    row_h = 2.05
    cv = Canvas(6.6, row_h * nrow + 0.05, left=0, right=0, top=0, bottom=0)
    lo = min(v - 1.96 * e for v, e in shown)
    hi = max(v + 1.96 * e for v, e in shown)
    rng = max(hi - lo, 20.0)
    ylo, yhi = max(0.0, lo - rng * 0.8 - 20), hi + rng * 0.25 + 12
    ticks = nice_ticks(ylo, yhi, 6)
    left, gap, right = px(0.55), px(0.45), px(0.15)
    w = (cv.img.width - left - right - gap * (ncol - 1)) / ncol
    for k, g in enumerate(blocks):
        r, c = divmod(k, ncol)
        x0 = round(left + c * (w + gap))
        top_px = px(r * row_h)
        p = cv.area(x0, top_px + px(0.35), round(x0 + w), top_px + px(row_h - 0.5))
        p.ylo, p.yhi = ylo, yhi
        groups = g["groups"]
        m = len(groups)
        bw = (p.x1 - p.x0) / m * 0.6
        for i, x in enumerate(groups):
            cx = p.col(i, m)
            v = _value(x["mean"])
            for j, line in enumerate(_wrap(p, x["label"], (p.x1 - p.x0) / m - pt(4), size=8)):
                p.text((cx, p.y1 + pt(4) + j * pt(10)), line, size=8, anchor="mt")
            if v is None:
                p.not_reported((cx, p.y1 - pt(10)), anchor="mb")
                continue
            p.rect(cx - bw / 2, p.Y(v), cx + bw / 2, p.y1, BAR)
            e = 1.96 * (x["mean"].get("se_value") or 0.0)
            top = p.Y(v)
            if e:
                a, b = p.Y(v - e), p.Y(v + e)
                p.vline(cx, b, a, w=1.0)
                for y in (a, b):
                    p.hline(cx - pt(3), cx + pt(3), y, w=1.0)
                top = b
            p.text((cx, top - pt(3)), x["mean"]["text"], size=7.5, anchor="mb", ground=True)
        p.text(((p.x0 + p.x1) / 2, top_px + pt(6)), g["label"], size=9, anchor="mt")
        p.hline(p.x0, p.x1, p.y1, fill=AXIS, w=0.8)
        p.yaxis(ticks)
    return cv.uri()


def _wrap(cv: Canvas, s: str, width: float, *, size: float) -> list[str]:
    """``s`` in lines no wider than ``width`` pixels (Chinese breaks between any two characters), at most two; a
    label too long for two lines keeps its end on the second."""
    lines: list[str] = []
    cur = ""
    for ch in s:
        if cur and cv.width(cur + ch, size) > width:
            lines.append(cur)
            cur = ch
        else:
            cur += ch
    lines.append(cur)
    return lines if len(lines) <= 2 else [lines[0], "".join(lines[1:])]


def factors_chart(factors: list[dict[str, Any]]) -> str:
    """Factor-by-score bars: the mean score of the students in each category of each background factor, two
    panels a row, all on the same score axis."""
    blocks = [f for f in factors if f["rows"]]
    shown = [v for f in blocks for r in f["rows"] if (v := _value(r["mean"])) is not None]
    if not shown:
        return ""
    ncol = 2
    nrow = (len(blocks) + 1) // 2
    heights = [max(len(blocks[i]["rows"]) for i in range(r * ncol, min(len(blocks), r * ncol + ncol)))
               for r in range(nrow)]
    row_h = [0.24 * k + 0.75 for k in heights]
    cv = Canvas(6.8, sum(row_h) + 0.3, left=0, right=0, top=0, bottom=0)
    lo, hi = _span(shown, pad_lo=0.6, pad_hi=0.3)
    xlo, xhi = max(0.0, lo - 25), hi + 18
    ticks = nice_ticks(xlo, xhi, 6)
    label_w, gap, right = px(1.1), px(0.25), px(0.3)
    pw = (cv.img.width - 2 * label_w - gap - 2 * right) / ncol
    y = 0.0
    for r in range(nrow):
        for c in range(ncol):
            k = r * ncol + c
            if k >= len(blocks):
                break
            f = blocks[k]
            x0 = round(label_w + c * (pw + right + gap + label_w))
            p = cv.area(x0, px(y + 0.28), round(x0 + pw), px(y + 0.28 + 0.24 * len(f["rows"]) + 0.05))
            p.xlo, p.xhi = xlo, xhi
            rows = f["rows"]
            m = len(rows)
            bh = (p.y1 - p.y0) / m * 0.65
            for i, row in enumerate(rows):
                yy = p.band(i, m)
                v = _value(row["mean"])
                if v is None:
                    p.not_reported((p.x0 + pt(3), yy), size=7)
                    continue
                p.rect(p.x0, yy - bh / 2, p.X(v), yy + bh / 2, FACTOR_BAR)
                p.text((p.X(v) + pt(3), yy), row["mean"]["text"], size=7, anchor="lm")
            p.row_labels([row["label"] for row in rows], size=7)
            p.text(((p.x0 + p.x1) / 2, px(y + 0.05)), f["label"], size=8.5, anchor="mt")
            p.hline(p.x0, p.x1, p.y1, fill=AXIS, w=0.8)
            for t in ticks:
                p.vline(p.X(t), p.y1, p.y1 + pt(3), fill=AXIS, w=0.8)
                p.text((p.X(t), p.y1 + pt(4)), _tick_text(t, ticks), size=7, anchor="mt")
        y += row_h[r]
    cv.text((cv.img.width / 2, cv.img.height - pt(4)), _("横轴：各类别学生的平均分"), size=7.5, fill=GREY,
            anchor="md")
    return cv.uri()


def distribution_chart(values: list[float], *, xlabel: str, marker: float | None = None,
                       marker_label: str = "") -> str:
    """An unlabelled histogram (counties' or provinces' means or rates): the spread, never who is where."""
    if len(values) < 2:
        return ""
    import numpy as np

    bins = min(20, max(5, len(values) // 3))
    lo, hi = min(values), max(values)
    if marker is not None:
        lo, hi = min(lo, marker), max(hi, marker)
    if hi <= lo:
        hi = lo + 1.0
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    cv = Canvas(3.4, 2.0, left=0.5, right=0.2, top=0.3)  # half the text width: the two histograms side by side
    pad = (hi - lo) * 0.04
    cv.xlo, cv.xhi = lo - pad, hi + pad
    top = int(counts.max())
    cv.ylo, cv.yhi = 0.0, top * 1.15
    for k, cnt in enumerate(counts):
        if cnt:
            cv.rect(cv.X(float(edges[k])) + 1, cv.Y(float(cnt)), cv.X(float(edges[k + 1])) - 1, cv.y1, HIST)
    if marker is not None:
        xm = cv.X(marker)
        cv.dashed_v(xm, cv.y0 - pt(2), cv.y1)
        cv.side_label(xm, marker_label)
    step = max(1, math.ceil(top / 5))
    yt = [float(v) for v in range(0, top + 1, step)]
    cv.yaxis(yt, fmt=lambda v: f"{int(v)}")
    cv.text((cv.x0 - pt(4), cv.y0 - pt(3)), _("个数"), size=7.5, anchor="rb")
    cv.xaxis(nice_ticks(cv.xlo, cv.xhi, 5), xlabel)
    return cv.uri()
