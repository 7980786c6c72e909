"""The reports' charts: matplotlib (Agg) drawn to PNG with Chinese text in Noto Sans CJK (Debian's fonts-noto-cjk),
embedded in the HTML as PNG ``data:`` images so the same file shows in the browser and prints through WeasyPrint.

Each chart is a pure function of a report section's numbers (:mod:`naeq.reports.content`); the PNG carries no
software or date metadata and Agg draws deterministically, so the same numbers give the same bytes. PNG, not SVG:
WeasyPrint drew the SVG charts slower than it laid out the whole rest of a report (docs/reports.md).
None of the charts names a school; the distributions of a province's counties or the nation's provinces are
unlabelled histograms, not ranked bars.
"""

from __future__ import annotations

import base64
import io
import threading
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

CJK_FONT_FILES = (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
                  Path("/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc"))
#: PNG resolution: sharp on paper at the printed width (≈ 16 cm), and far cheaper to draw and to lay out in
#: the PDF than SVG (the bench: SVG charts doubled the time of a report).
DPI = 120
LEVEL_COLOURS = ("#d9534f", "#f0ad4e", "#5bc0de", "#2e7d32")
UNIT_COLOURS = {"county": "#1f5fa8", "province": "#7a9cc6", "nation": "#b8c4d6"}
_lock = threading.Lock()
_state: dict[str, Any] = {}


def _setup() -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import font_manager

    if "family" not in _state:
        family = "sans-serif"
        for path in CJK_FONT_FILES:
            if path.exists():
                font_manager.fontManager.addfont(str(path))
                family = font_manager.FontProperties(fname=str(path)).get_name()
                break
        _state["family"] = family
    matplotlib.rcParams["font.family"] = [_state["family"], "DejaVu Sans"]
    matplotlib.rcParams["font.size"] = 9
    matplotlib.rcParams["axes.spines.top"] = False
    matplotlib.rcParams["axes.spines.right"] = False


def _uri(fig: Any) -> str:
    buf = io.BytesIO()
    # fixed margins: one draw, not two (bbox_inches="tight" draws twice); fast zlib level: the PDF re-packs it
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, pil_kwargs={"compress_level": 1})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(w: float, h: float, *, left: float = 1.0, bottom: float = 0.45, top: float = 0.1,
            right: float = 0.35, wspace: float = 0.2, hspace: float = 0.2) -> Any:
    """A figure with its margins in inches (labels fit without ``bbox_inches="tight"``, which draws twice)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=DPI)
    fig.subplots_adjust(left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h, wspace=wspace,
                        hspace=hspace)
    return fig


def levels_chart(units: list[dict[str, Any]], level_names: list[str]) -> str:
    """Stacked horizontal bars of the four levels' shares, one bar per unit (county, province, nation)."""
    rows = [u for u in units if any(c["value"] is not None for c in u["levels"])]
    if not rows:
        return ""
    with _lock:
        _setup()
        fig = _figure(6.6, 0.42 * len(rows) + 0.95, top=0.35)
        ax = fig.add_subplot(1, 1, 1)
        labels = [u["label"] for u in rows][::-1]
        left = [0.0] * len(rows)
        for j, name in enumerate(level_names):
            vals = [(u["levels"][j]["value"] or 0.0) for u in rows][::-1]
            ax.barh(labels, vals, left=left, color=LEVEL_COLOURS[j], label=name, height=0.6)
            for i, v in enumerate(vals):
                if v >= 6:
                    ax.text(left[i] + v / 2, i, f"{v:.1f}", ha="center", va="center", fontsize=8, color="#111")
            left = [a + b for a, b in zip(left, vals, strict=True)]
        ax.set_xlim(0, 100)
        ax.set_xlabel(_("学生比例（%）"))
        ax.legend(ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, fontsize=8)
        return _uri(fig)


def compare_chart(units: list[dict[str, Any]], what: str) -> str:
    """Means of the unit, its province and the nation with 95% interval whiskers."""
    rows = [u for u in units if u["mean"]["value"] is not None]
    if not rows:
        return ""
    with _lock:
        _setup()
        fig = _figure(6.6, 0.38 * len(rows) + 0.6)
        ax = fig.add_subplot(1, 1, 1)
        labels = [u["label"] for u in rows][::-1]
        vals = [u["mean"]["value"] for u in rows][::-1]
        err = [[(u["mean"]["value"] - u["mean"]["lo"]) if u["mean"].get("lo") is not None else 0 for u in rows][::-1],
               [(u["mean"]["hi"] - u["mean"]["value"]) if u["mean"].get("hi") is not None else 0 for u in rows][::-1]]
        colours = [UNIT_COLOURS.get(u["level"], "#888") for u in rows][::-1]
        ax.barh(labels, vals, xerr=err, color=colours, height=0.55, capsize=4, error_kw={"elinewidth": 1})
        lo = min(v - e for v, e in zip(vals, err[0], strict=True))
        hi = max(v + e for v, e in zip(vals, err[1], strict=True))
        ax.set_xlim(max(0.0, lo - (hi - lo) * 0.6 - 20), hi + (hi - lo) * 0.3 + 10)
        for i, v in enumerate(vals):
            ax.text(v + err[1][i] + 1, i, f"{v:.1f}", va="center", fontsize=8)
        ax.set_xlabel(what)
        return _uri(fig)


def between_chart(units: list[dict[str, Any]], threshold: float = 0.15) -> str:
    """The 校际差异率 of the unit, its province and the nation against the 0.15 threshold."""
    rows = [u for u in units if u["diff_rate"]["value"] is not None]
    if not rows:
        return ""
    with _lock:
        _setup()
        fig = _figure(6.6, 0.38 * len(rows) + 0.75, top=0.25)
        ax = fig.add_subplot(1, 1, 1)
        labels = [u["label"] for u in rows][::-1]
        vals = [u["diff_rate"]["value"] for u in rows][::-1]
        ax.barh(labels, vals, color=[UNIT_COLOURS.get(u["level"], "#888") for u in rows][::-1], height=0.55)
        ax.axvline(threshold, color="#c62828", linestyle="--", linewidth=1)
        # the label beside the line, four points to its right, so the dashes do not run through the text
        ax.annotate(_("优质均衡标准 %(t)s") % {"t": threshold}, xy=(threshold, len(rows) - 0.45),
                    xytext=(4, 0), textcoords="offset points", color="#c62828", fontsize=8, ha="left",
                    annotation_clip=False)
        for i, v in enumerate(vals):
            ax.text(v + 0.003, i, f"{v:.3f}", va="center", fontsize=8)
        ax.set_xlim(0, max(max(vals) * 1.3, threshold * 1.4))
        ax.set_xlabel(_("校际差异率"))
        return _uri(fig)


def groups_chart(gaps: list[dict[str, Any]]) -> str:
    """Mean scores by sex, urban/rural and the other groups, side by side."""
    blocks = [g for g in gaps if any(x["mean"]["value"] is not None for x in g["groups"])]
    if not blocks:
        return ""
    with _lock:
        _setup()
        fig = _figure(6.6, 2.2, left=0.5, top=0.3, bottom=0.3, wspace=0.35)
        axes = fig.subplots(1, len(blocks), squeeze=False)[0]
        for ax, g in zip(axes, blocks, strict=True):
            labels = [x["label"] for x in g["groups"]]
            vals = [x["mean"]["value"] or 0.0 for x in g["groups"]]
            err = [x["mean"].get("se_value") or 0.0 for x in g["groups"]]
            ax.bar(labels, vals, yerr=[1.96 * e for e in err], color="#1f5fa8", capsize=3, width=0.6)
            for i, (v, x, e) in enumerate(zip(vals, g["groups"], err, strict=True)):
                ax.text(i, v + 1.96 * e + 2, x["mean"]["text"], ha="center", va="bottom", fontsize=7)
            shown = [v for v in vals if v]
            if shown:
                ax.set_ylim(max(0.0, min(shown) - 80), max(shown) + 1.96 * max(err) + 25)
            ax.set_title(g["label"], fontsize=9)
        return _uri(fig)


def factors_chart(factors: list[dict[str, Any]]) -> str:
    """Factor-by-score bars: the mean score of the students in each category of each background factor."""
    blocks = [f for f in factors if any(r["mean"]["value"] is not None for r in f["rows"])]
    if not blocks:
        return ""
    with _lock:
        _setup()
        ncol = 2
        nrow = (len(blocks) + 1) // 2
        fig = _figure(6.8, 1.55 * nrow + 0.2, left=1.2, top=0.25, bottom=0.3, wspace=0.9, hspace=0.55)
        axes = fig.subplots(nrow, ncol, squeeze=False)
        for k, f in enumerate(blocks):
            ax = axes[k // ncol][k % ncol]
            labels = [r["label"] for r in f["rows"]][::-1]
            vals = [r["mean"]["value"] or 0.0 for r in f["rows"]][::-1]
            ax.barh(labels, vals, color="#5b8fc7", height=0.6)
            shown = [v for v in vals if v]
            if shown:
                ax.set_xlim(max(0.0, min(shown) - 60), max(shown) + 30)
            for i, (v, r) in enumerate(zip(vals, f["rows"][::-1], strict=True)):
                ax.text(v + 1, i, r["mean"]["text"], va="center", fontsize=7)
            ax.set_title(f["label"], fontsize=9)
            ax.tick_params(labelsize=7)
        for k in range(len(blocks), nrow * ncol):
            axes[k // ncol][k % ncol].set_visible(False)
        return _uri(fig)


def distribution_chart(values: list[float], *, xlabel: str, marker: float | None = None,
                       marker_label: str = "") -> str:
    """An unlabelled histogram (counties' or provinces' means or rates): the spread, never who is where."""
    if len(values) < 2:
        return ""
    with _lock:
        _setup()
        fig = _figure(6.6, 2.0, left=0.6, top=0.15)
        ax = fig.add_subplot(1, 1, 1)
        ax.hist(values, bins=min(20, max(5, len(values) // 3)), color="#7a9cc6", edgecolor="#fff")
        if marker is not None:
            ax.axvline(marker, color="#c62828", linestyle="--", linewidth=1)
            ax.text(marker, ax.get_ylim()[1] * 0.95, " " + marker_label, color="#c62828", fontsize=8, va="top")
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(xlabel)
        ax.set_ylabel(_("个数"))
        return _uri(fig)
