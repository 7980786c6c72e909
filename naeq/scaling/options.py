"""The options of a calibration, shared by ``naeq calibrate`` (files), ``naeq scaling run`` and the start form.

Options are a plain dict in the run record (``CalibrationRun.options``, ``run.json``); :func:`clean_options`
validates one with precise Chinese messages (field = the option's name) and fills the defaults, so the same
options always mean the same calibration.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from naeq.core.errors import ProblemCollector
from naeq.scaling.files import DICHOTOMOUS, MODELS

DEFAULTS: dict[str, Any] = {
    "model": "2pl",  # dichotomous items
    "poly_model": "gpcm",  # polytomous items
    "models": {},  # item -> model overrides
    "n_quad": 41,
    "prior_a": None,  # (mean of log a, SD of log a)
    "prior_b": None,  # (mean, SD)
    "prior_c": [5.0, 17.0],  # Beta(alpha, beta) on 3PL asymptotes (BILOG-MG's default guessing prior)
    "n_pv": 5,
    "scale_mean": 500.0,
    "scale_sd": 100.0,
    "cuts": [],  # reporting-scale cut scores (待提高 / 中等 / 良好 / 优秀 with three cuts)
    "dif": [],  # DIF variables (platform: sex, urban_rural; files: background columns)
    "group_by": "",  # platform: "grade"; files: the groups column
    "max_iter": 500,
    "tol": 1e-4,
    # rater effects (many-facet model, platform runs with rater-scored items): a rater is flagged when
    # |severity| / SE > rater_z and |severity| > rater_logit logits (significant and large)
    "rater_z": 2.0,
    "rater_logit": 0.3,
}
PLATFORM_DIF = ("sex", "urban_rural")


def _pair(c: ProblemCollector, name: str, value: Any, *, positive_second: bool = True) -> list[float] | None:
    if value in (None, "", "none", []):
        return None
    parts = [p for p in value.replace("，", ",").split(",") if p.strip()] if isinstance(value, str) else list(value)
    try:
        pair = [float(p) for p in parts]
    except (TypeError, ValueError):
        pair = []
    if len(pair) != 2 or (positive_second and pair[1] <= 0):
        c.add(_("应为两个数“均值,标准差”（或 none），实为“%(v)s”。") % {"v": value}, field=name, value=str(value))
        return None
    return pair


def clean_options(raw: dict[str, Any]) -> dict[str, Any]:
    c = ProblemCollector()
    out = dict(DEFAULTS)
    unknown = sorted(set(raw) - set(DEFAULTS))
    for key in unknown:
        c.add(_("未知的参数“%(k)s”。") % {"k": key}, field=key)
    out.update({k: v for k, v in raw.items() if k in DEFAULTS and v is not None})
    if out["model"] not in DICHOTOMOUS:
        c.add(_("二值题的默认模型应为 rasch、2pl 或 3pl。"), field="model", value=out["model"])
    if out["poly_model"] not in ("pcm", "gpcm"):
        c.add(_("多级计分题的默认模型应为 pcm 或 gpcm。"), field="poly_model", value=out["poly_model"])
    models = out["models"] or {}
    for item, m in models.items():
        if m not in MODELS:
            c.add(_("题目“%(item)s”的模型“%(m)s”未知。") % {"item": item, "m": m}, field="models", value=m)
    out["models"] = {str(k): str(v) for k, v in sorted(models.items())}
    for key, lo, hi in (("n_quad", 11, 201), ("n_pv", 0, 20), ("max_iter", 1, 10_000)):
        try:
            out[key] = int(out[key])
        except (TypeError, ValueError):
            c.add(_("应为整数。"), field=key, value=str(out[key]))
            continue
        if not lo <= out[key] <= hi:
            c.add(_("应在%(lo)d至%(hi)d之间。") % {"lo": lo, "hi": hi}, field=key, value=out[key])
    for key in ("scale_mean", "scale_sd", "tol", "rater_z", "rater_logit"):
        try:
            out[key] = float(out[key])
        except (TypeError, ValueError):
            c.add(_("应为数值。"), field=key, value=str(out[key]))
    if isinstance(out["scale_sd"], float) and out["scale_sd"] <= 0:
        c.add(_("报告量尺的标准差应大于0。"), field="scale_sd", value=out["scale_sd"])
    for key in ("rater_z", "rater_logit"):
        if isinstance(out[key], float) and not out[key] >= 0:
            c.add(_("评分员标记阈值应为非负数。"), field=key, value=out[key])
    out["prior_a"] = _pair(c, "prior_a", out["prior_a"])
    out["prior_b"] = _pair(c, "prior_b", out["prior_b"])
    out["prior_c"] = _pair(c, "prior_c", out["prior_c"])
    cuts = out["cuts"]
    if isinstance(cuts, str):
        cuts = [p for p in cuts.replace("，", ",").split(",") if p.strip()]
    try:
        out["cuts"] = [float(x) for x in cuts]
    except (TypeError, ValueError):
        c.add(_("分界分数应为逗号分隔的数值。"), field="cuts", value=str(cuts))
        out["cuts"] = []
    if any(b <= a for a, b in zip(out["cuts"], out["cuts"][1:], strict=False)):
        c.add(_("分界分数应严格递增。"), field="cuts", value=str(out["cuts"]))
    if out["cuts"] and len(out["cuts"]) != 3:
        c.add(_("等级（待提高、中等、良好、优秀）需要3个分界分数。"), field="cuts", value=str(out["cuts"]))
    dif = out["dif"]
    out["dif"] = [d for d in (dif.split(",") if isinstance(dif, str) else dif) if d]
    c.raise_if_any(_("校准参数有误。"))
    return out


def model_spec(options: dict[str, Any]) -> str:
    spec = f"{options['model']}/{options['poly_model']}"
    return spec + (f"+{len(options['models'])}" if options["models"] else "")
