"""Chart edge cases that a real run produces: a county whose 校际差异率 is exactly 0 (every school the same
mean, e.g. one sampled school left) must still draw, with its label, and not stop the whole batch."""

from __future__ import annotations

import base64
import io

from PIL import Image

from naeq.reports import charts


def _unit(label: str, level: str, value: float) -> dict[str, object]:
    return {"label": label, "level": level, "diff_rate": {"value": value, "text": f"{value:.3f}", "suppressed": False}}


def test_a_zero_diff_rate_bar_is_drawn_without_error() -> None:
    uri = charts.between_chart([_unit("本县（区）", "county", 0.0), _unit("本省", "province", 0.096),
                                 _unit("全国", "nation", 0.096)])
    assert uri.startswith("data:image/png;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert img.mode == "RGB" and img.width > 100 and img.height > 50
