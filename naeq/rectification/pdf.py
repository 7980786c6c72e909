"""A problem letter as a PDF for download (WeasyPrint, Noto Sans CJK, as the reports are rendered).

Page one is the letter as sent — its number, title, addressee, the numbered problems, the request and the sender;
then, from a new page, the annex 问题清单及依据: every problem with its number, the unit, the indicator, the
evidence numbers (estimates with SE and n, the difference, its SE and p, the threshold) and the rule that found
it, with the estimation run and its inputs' hash. Pure rendering: the caller checks access and audits the
download (:func:`naeq.web.views_rectification.rectification_letter_pdf`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from naeq.rectification.letters import rule_label, subject_label
from naeq.rectification.models import Problem, ProblemLetter

CJK_FONT_FILE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
CJK_FONT_FAMILY = "Noto Sans CJK SC"


def font_css() -> str:
    """The CJK font face (the same file naeq.reports.render embeds)."""
    if CJK_FONT_FILE.exists():
        return (f'@font-face {{ font-family: "naeq-cjk"; src: url("{CJK_FONT_FILE.as_uri()}"); }}\n'
                f'body {{ font-family: "naeq-cjk", "{CJK_FONT_FAMILY}", sans-serif; }}')
    return f'body {{ font-family: "{CJK_FONT_FAMILY}", sans-serif; }}'


def _num(v: Any) -> str:
    if v is None:
        return "—"
    v = float(v)
    return f"{v:.3f}" if abs(v) < 2 else f"{v:.1f}"


def _p(v: Any) -> str:
    if v is None:
        return "—"
    return "< 0.001" if float(v) < 0.001 else f"{float(v):.3f}"


def _role(role: str) -> str:
    return {"province": _("本省"), "nation": _("全国"), "county": _("本县（区）"), "difference": _("差异"),
            "vs_nation": _("与全国之差"), "vs_province": _("与全省之差")}.get(role, role)


def evidence_lines(problem: Problem) -> list[str]:
    """The evidence numbers of a problem, one line each: its estimates (value, SE, n, p), the difference tested,
    its SE and p, the threshold."""
    ev = problem.evidence or {}
    out: list[str] = []
    for role, items in (ev.get("estimates") or {}).items():
        for e in items if isinstance(items, list) else [items]:
            if not isinstance(e, dict):
                continue
            label = _role(role)
            if e.get("statistic") == "difference" or not e.get("n"):  # a contrast has no sample size of its own
                line = _("%(who)s：估计值 %(v)s，标准误 %(se)s") % {"who": label, "v": _num(e.get("value")),
                                                               "se": _num(e.get("se"))}
            else:
                line = _("%(who)s：估计值 %(v)s，标准误 %(se)s，学生数 %(n)s") % {
                    "who": label, "v": _num(e.get("value")), "se": _num(e.get("se")), "n": e.get("n")}
            if e.get("p_value") is not None:
                line += _("，p %(p)s") % {"p": _p(e.get("p_value"))}
            out.append(line + _("（估计值 #%(id)s）") % {"id": e.get("id", "—")})
    listed = [e for items in (ev.get("estimates") or {}).values() for e in (items if isinstance(items, list)
                                                                             else [items]) if isinstance(e, dict)]
    tested_is_listed = any(e.get("statistic") == "difference" and e.get("value") == ev.get("difference")
                           for e in listed)
    if ev.get("difference") is not None and not tested_is_listed:  # a z test computed here: its numbers
        out.append(_("检验：差异 %(d)s，标准误 %(se)s，p %(p)s") % {"d": _num(ev.get("difference")),
                                                             "se": _num(ev.get("se")), "p": _p(ev.get("p_value"))})
    if ev.get("threshold") is not None:
        out.append(_("关注线 %(t)s") % {"t": _num(ev.get("threshold"))})
    return out


def letter_context(letter: ProblemLetter) -> dict[str, Any]:
    problems = list(letter.problems.select_related("region").order_by("seq"))
    rows = [{"p": p, "subject": subject_label(p.instrument_code), "rule": rule_label(p.rule),
             "evidence": evidence_lines(p), "run": (p.evidence or {}).get("run"),
             "hash": str((p.evidence or {}).get("inputs_hash") or "")[:12]} for p in problems]
    return {"letter": letter, "rows": rows, "font_css": font_css()}


def letter_pdf(letter: ProblemLetter) -> bytes:
    """The letter and its annex as PDF bytes."""
    from weasyprint import HTML  # late: loading pango costs time

    html = render_to_string("rectification/letter_pdf.html", letter_context(letter))
    pdf = HTML(string=html, base_url=str(Path(__file__).parent)).write_pdf()
    assert pdf is not None  # write_pdf() without a target returns the bytes
    return bytes(pdf)
