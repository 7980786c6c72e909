"""The chart of a screening run as inline SVG: its units ranked by combined p, −log10 p against rank, flagged units
in colour, with the line a clean screen would follow (the i-th smallest of n uniform p-values is about i/(n+1)).

Units far above the line are more suspect than chance explains; a run whose points hug the line found little.
Drawn with the calibration charts' set-up (:mod:`naeq.scaling.charts`: matplotlib Agg, Noto Sans CJK, text kept as
text, stable ids) from a few hundred numbers the selector hands over, never from the pair or person tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.translation import gettext as _

from naeq.scaling import charts as base

FLAG_COLOUR = "#c0392b"
CLEAN_COLOUR = "#7f8c8d"
P_FLOOR = 1e-300  # a p of exactly 0 is drawn at the floor, not at infinity


def _height(p: float) -> float:
    return -math.log10(max(p, P_FLOOR)) if math.isfinite(p) else 0.0


def ranked_svg(points: Sequence[tuple[float, bool]], *, n_units: int, level_label: str) -> str:
    """−log10 combined p of the units in rank order (``points`` = (combined p, flagged), most suspect first;
    ``n_units`` all units of the level, for the chance line). "" when there are no points."""
    if not points:
        return ""
    n = max(n_units, len(points))
    ranks = list(range(1, len(points) + 1))
    heights = [_height(p) for p, _f in points]
    with base._lock:
        base._setup()
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7.2, 3.4), dpi=96)
        ax = fig.add_subplot(1, 1, 1)
        flagged = [(r, h) for r, h, (_p, f) in zip(ranks, heights, points, strict=True) if f]
        clean = [(r, h) for r, h, (_p, f) in zip(ranks, heights, points, strict=True) if not f]
        if clean:
            ax.scatter([r for r, _h in clean], [h for _r, h in clean], s=12, color=CLEAN_COLOUR, label=_("未标记"),
                       zorder=2)
        if flagged:
            ax.scatter([r for r, _h in flagged], [h for _r, h in flagged], s=18, color=FLAG_COLOUR,
                       label=_("疑似异常（%(n)d）") % {"n": len(flagged)}, zorder=3)
        ax.plot(ranks, [-math.log10(r / (n + 1)) for r in ranks], linestyle="--", linewidth=1, color="#34495e",
                label=_("无异常时的期望"), zorder=1)
        ax.set_xlabel(_("%(level)s排序（1 = 最可疑）") % {"level": level_label})
        ax.set_ylabel(_("−log10 综合p值"))
        shown = _("前 %(k)d 个，共 %(n)d 个") % {"k": len(points), "n": n} if len(points) < n else \
            _("共 %(n)d 个") % {"n": n}
        ax.set_title(_("%(level)s综合p值排序（%(shown)s）") % {"level": level_label, "shown": shown})
        ax.set_xlim(0, len(points) + 1)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
        return base._svg(fig)
