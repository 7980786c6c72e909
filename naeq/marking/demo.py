"""Demo marking: one rater-scored item of the cycle with a rubric and anchor papers, two demo raters who disagree
on some responses (one disagreement waits for arbitration), check papers in their queues, and the final scores.

The response texts are invented from a few phrases drawn with the seed; the raters' names are generated; no real
person appears. Everything is written through :mod:`naeq.marking.services` (validated and audited, as the
system). Idempotent: an item that already has responses is left alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db import transaction

from naeq.accounts.models import User
from naeq.cycles.models import Cycle
from naeq.delivery.models import Respondent, TestTaker
from naeq.marking import selectors, services
from naeq.marking.models import MarkResponse, Source
from naeq.registry.models import Region

RATERS = (("demo_rater_1", "评分员甲"), ("demo_rater_2", "评分员乙"))
PHRASES = ("第一组有12人，", "第二组有17人，", "第三组人数最多，", "第四组最少，", "我把每组的条形高度比较了一下，",
           "先数出每组人数再排序，", "第二组比第一组多5人，", "所以第三组最多。", "我不会。", "四个组差不多。")
DESCRIPTORS = ("作答与题目无关或空白", "只读出部分小组人数，没有比较", "读出各组人数并作了部分比较",
               "读出全部人数，比较完整且结论正确", "比较完整、结论正确并说明方法")


def _text(rng: np.random.Generator, quality: int) -> str:
    n = 1 + quality + int(rng.integers(0, 2))
    picks = rng.choice(len(PHRASES) - 2, size=min(n, len(PHRASES) - 2), replace=False)
    return "".join(PHRASES[int(i)] for i in picks) if quality else PHRASES[8 + int(rng.integers(0, 2))]


def _perturb(rng: np.random.Generator, truth: int, max_score: int, p_exact: float) -> int:
    if rng.random() < p_exact:
        return truth
    return int(np.clip(truth + (1 if rng.random() < 0.5 else -1), 0, max_score))


@transaction.atomic
def demo_marking(cycle: Cycle, *, seed: int, password: str | None = None) -> list[User]:
    """Fill the demo marking of ``cycle``; returns the demo rater accounts (empty when the cycle has no
    rater-scored item or no test takers)."""
    items = services.rater_scored_items(cycle)
    if not items:
        return []
    key = ("math", "M07") if ("math", "M07") in items else next(iter(items))
    inst, code = key
    max_score = round(items[key].max_score)
    existing = list(User.objects.filter(username__in=[u for u, _n in RATERS]))
    if MarkResponse.objects.filter(cycle=cycle, instrument_code=inst, item_code=code).exists():
        return existing
    takers = list(TestTaker.objects.filter(cycle=cycle, kind=Respondent.STUDENT).order_by("code")[:30])
    province = Region.objects.filter(level="province").order_by("code").first()
    if not takers or province is None:
        return []
    rng = np.random.default_rng(seed)
    services.rubric_save(actor=None, cycle=cycle, instrument_code=inst, item_code=code,
                         points={s: DESCRIPTORS[min(s, len(DESCRIPTORS) - 1)] for s in range(max_score + 1)},
                         anchors=[{"code": f"A{s}", "text": _text(rng, s), "score": s, "note": "示例样卷"}
                                  for s in range(max_score + 1)], source="demo")
    services.settings_update(actor=None, cycle=cycle, double_share="0.5", check_rate="0.15")
    raters = existing or [services.rater_add(actor=None, cycle=cycle, username=u, password=password, region=province,
                                             display_name=n, items=[key]) for u, n in RATERS]
    truth: dict[int, int] = {}
    for taker in takers:
        t = int(rng.integers(0, max_score + 1))
        r = MarkResponse.objects.create(cycle=cycle, code=services.new_response_code(), instrument_code=inst,
                                        item_code=code, max_score=max_score, source=Source.ONLINE,
                                        test_taker=taker, text=_text(rng, t))
        truth[r.pk] = t
    for s in range(max_score + 1):
        chk = services.check_paper_add(actor=None, cycle=cycle, instrument_code=inst, item_code=code,
                                       text=_text(rng, s), score=s)
        truth[chk.pk] = s
    services.assign(actor=None, cycle=cycle, instrument_code=inst, item_code=code, seed=seed)
    first_double: Any = None
    for i, rater in enumerate(raters):
        while True:
            q = selectors.queue_next(actor=rater)
            if q.assignment is None:
                break
            resp = q.assignment.response
            t = truth[resp.pk]
            score = _perturb(rng, t, max_score, 0.9 if i == 0 else 0.75)
            if i == 1 and resp.double and first_double is None:
                # One clear disagreement, so that an arbitration waits for the national centre.
                first_double = resp.pk
                other = (resp.assignments.exclude(rater=rater).values_list("score", flat=True).first())
                score = 0 if (other or 0) * 2 >= max_score else max_score
            services.score_submit(actor=rater, assignment_id=q.assignment.pk, score=score)
    return raters


__all__ = ["demo_marking"]
