"""Custody rules that a province may set differently: the Django setting ``NAEQ_CUSTODY`` (a dict) overrides these.

* ``keep_approver`` — who approves the two-day exception. ``"county"`` (default) follows the seed literally:
  "车程超过2小时的样本校，经县级实施工作领导小组审查同意后，可领取两天的监测工具" (2024-nanchang-city-plan.txt):
  the county's liaison or information officer records the leading group's decision, and must not be the
  account that filed the request (four eyes). ``"province"``: the province coordinator decides instead.
* ``mail_back_days`` — days after the county's last test day by whose end the boxes must be mailed back
  ("9月28日 …正式开始" then "9月29日前 …完成监测工具的回邮工作", collected-county-and-school-plans.txt: one day).
* ``utc_offset_minutes`` — the offset of the local day that "当天领取，当天送回" is counted in (Beijing time).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

APPROVERS = ("county", "province")


@dataclass(frozen=True)
class CustodyConfig:
    keep_approver: str = "county"
    mail_back_days: int = 1
    utc_offset_minutes: int = 480


def custody_config() -> CustodyConfig:
    raw = dict(getattr(settings, "NAEQ_CUSTODY", {}) or {})
    cfg = CustodyConfig(**raw)
    if cfg.keep_approver not in APPROVERS:
        raise ValueError(f"NAEQ_CUSTODY keep_approver must be one of {APPROVERS}, not {cfg.keep_approver!r}")
    if cfg.mail_back_days < 0:
        raise ValueError("NAEQ_CUSTODY mail_back_days must not be negative")
    return cfg
