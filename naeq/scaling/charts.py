"""Charts of a calibration run as inline SVG (matplotlib, Agg; Chinese labels in Noto Sans CJK from Debian's
fonts-noto-cjk, the font of the project's PDFs; no internet assets).

Both charts are drawn from the run's stored summary (a few hundred numbers), never from the person table.
"""

from __future__ import annotations

import io
import itertools
import re
import threading
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

CJK_FONT_FILES = (Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
                  Path("/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc"))
_lock = threading.Lock()  # pyplot's state is global; the object API below is used under one lock
_font: dict[str, Any] = {}


def _setup() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import font_manager

    if "family" not in _font:
        family = "sans-serif"
        for path in CJK_FONT_FILES:
            if path.exists():
                font_manager.fontManager.addfont(str(path))
                family = font_manager.FontProperties(fname=str(path)).get_name()
                break
        _font["family"] = family
    matplotlib.rcParams["font.family"] = [_font["family"], "DejaVu Sans"]
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: small, selectable, rendered by the browser
    matplotlib.rcParams["svg.hashsalt"] = "naeq"  # stable ids: the same run gives the same SVG
    return matplotlib


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    return re.sub(r"^<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?", "", text)


def test_information_svg(summary: dict[str, Any]) -> str:
    """Test information (and the standard error 1/√I) over θ for the item pool and each booklet."""
    info = summary.get("information") or {}
    if not info.get("theta"):
        return ""
    with _lock:
        _setup()
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 3.6), dpi=96)
        ax = fig.add_subplot(1, 1, 1)
        theta = info["theta"]
        for booklet, values in sorted(info.get("booklets", {}).items(), key=lambda kv: int(kv[0])):
            ax.plot(theta, values, linewidth=1.2, label=_("题本%(b)s") % {"b": booklet})
        ax2 = ax.twinx()
        if not info.get("booklets"):
            ax.plot(theta, info["pool"], linewidth=1.8, color="#333333", label=_("全部题目"))
            se = [1 / v**0.5 if v > 0 else float("nan") for v in info["pool"]]
            ax2.plot(theta, se, linestyle="--", color="#999999", linewidth=1, label=_("标准误"))
            ax2.set_ylabel(_("标准误"))
        else:
            ax2.set_visible(False)
        ax.set_xlabel(_("能力 θ"))
        ax.set_ylabel(_("测验信息量"))
        ax.set_title(_("测验信息曲线"))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", ncols=2)
        return _svg(fig)


test_information_svg.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def booklet_scores_svg(summary: dict[str, Any]) -> str:
    """Distribution of the percent score (raw / maximum × 100) of each booklet's takers."""
    books = summary.get("booklets") or []
    if not books:
        return ""
    with _lock:
        _setup()
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 3.6), dpi=96)
        ax = fig.add_subplot(1, 1, 1)
        for b in books:
            edges = b["edges"]
            mids = [(lo + hi) / 2 for lo, hi in itertools.pairwise(edges)]
            total = max(b["n"], 1)
            label = (_("题本%(b)s（%(n)d人，均值%(m).1f）") % {"b": b["booklet"], "n": b["n"], "m": b["mean"]}
                     if b["booklet"] else _("未知题本（%(n)d人）") % {"n": b["n"]})
            ax.plot(mids, [100 * c / total for c in b["counts"]], marker="o", markersize=2.5, linewidth=1.2,
                    label=label)
        ax.set_xlabel(_("得分率（%）"))
        ax.set_ylabel(_("人数占比（%）"))
        ax.set_title(_("各题本得分分布"))
        ax.set_xlim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
        return _svg(fig)
