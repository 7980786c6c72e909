"""One report from its laid-out numbers to files: charts (Pillow), HTML (a Django template) and PDF (WeasyPrint,
Noto Sans CJK).

:func:`render_report` is a pure function of the report's context (no database), so batches run it in worker
processes (:mod:`naeq.reports.services`). The output is reproducible: no generation time, fixed chart ids, and a
PDF without creation or modification dates, so the same context gives the same HTML and PDF bytes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from naeq.reports import charts

CJK_FONT_FILE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_FONT_FAMILY = "Noto Sans CJK SC"
ARTICLE = re.compile(r"<!--report-start-->(.*)<!--report-end-->", re.S)
STYLE = re.compile(r"<style data-report>(.*?)</style>", re.S)


@dataclass(frozen=True)
class Rendered:
    key: str
    html: bytes
    pdf: bytes
    pages: int

    @property
    def html_sha256(self) -> str:
        return hashlib.sha256(self.html).hexdigest()

    @property
    def pdf_sha256(self) -> str:
        return hashlib.sha256(self.pdf).hexdigest()


def font_css() -> str:
    if CJK_FONT_FILE.exists():
        return (f'@font-face {{ font-family: "naeq-cjk"; src: url("{CJK_FONT_FILE.as_uri()}"); }}\n'
                f'body {{ font-family: "naeq-cjk", "{CJK_FONT_FAMILY}", sans-serif; }}')
    return f'body {{ font-family: "{CJK_FONT_FAMILY}", sans-serif; }}'


def add_charts(ctx: dict[str, Any]) -> dict[str, Any]:
    """The context with each subject's charts drawn (data: URIs)."""
    subjects = []
    for sub in ctx["subjects"]:
        c = {"compare": charts.compare_chart(sub["units"], _("平均分（横线为95%置信区间）")),
             "levels": charts.levels_chart(sub["units"], ctx["level_names"]),
             "between": charts.between_chart(sub["units"]),
             "groups": charts.groups_chart(sub["gaps"]),
             "factors": charts.factors_chart(sub["factors"])}
        ch = sub.get("children")
        if ch:
            unit_mean = sub["units"][0]["mean"]["value"]
            c["child_means"] = charts.distribution_chart(ch["means"], xlabel=_("平均分"), marker=unit_mean,
                                                         marker_label=sub["units"][0]["label"])
            c["child_rates"] = charts.distribution_chart(ch["rates"], xlabel=_("校际差异率"), marker=0.15,
                                                         marker_label="0.15")
        subjects.append({**sub, "charts": c})
    # a PE table prints its comparison column only when some indicator has a comparison
    pe = [{**p, "has_diffs": any(r.get("diffs") for r in p["rows"])} for p in ctx.get("pe") or []]
    return {**ctx, "subjects": subjects, "pe": pe}


def render_html(ctx: dict[str, Any]) -> str:
    return render_to_string("reports/report.html", {**ctx, "font_css": font_css()})


_fonts: dict[str, Any] = {}


def font_config() -> Any:
    """One WeasyPrint font configuration per process, shared by the reports it renders: the report's
    ``@font-face`` (the CJK collection) is loaded into fontconfig and pango once, not once per report."""
    if "config" not in _fonts:
        from weasyprint.text.fonts import FontConfiguration

        _fonts["config"] = FontConfiguration()
    return _fonts["config"]


def render_report(key: str, ctx: dict[str, Any], language: str = "zh-hans") -> Rendered:
    """Charts, HTML and PDF of one report."""
    from weasyprint import HTML  # late: loading pango costs time

    with translation.override(language):
        html = render_html(add_charts(ctx))
    doc = HTML(string=html, base_url=str(Path(__file__).parent)).render(font_config=font_config())
    pdf = doc.write_pdf()
    assert pdf is not None  # write_pdf() without a target returns the bytes
    return Rendered(key=key, html=html.encode("utf-8"), pdf=bytes(pdf), pages=len(doc.pages))


def article_of(html: str) -> tuple[str, str]:
    """(style, article) of a stored report: what the platform page shows inside its own layout."""
    m = ARTICLE.search(html)
    s = STYLE.search(html)
    return (s.group(1) if s else ""), (m.group(1) if m else "")
