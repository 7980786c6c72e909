"""A public, seeded simulator of one cycle's screening inputs with known truth, and injectors of every anomaly kind
of issue 7 at a strength in [0, 1] (docs/forensics.md, "Simulated cycles").

Clean data: counties × schools × students; school background (SES, urban, previous-cycle mean) that predicts the
school mean; θ = school mean + N(0, 0.8²); 2PL keys (a ~ U(0.7, 2), b ~ N(0, 1)) with item-specific distractor
attractiveness (Dirichlet(2)); two rooms per school; participation (sampled, absent 4 %, exempt 1 %, replaced 1 %,
roster_changed 0.3 %); online response times (log-normal, item- and person-specific); PE records (50 m run, one
decimal; standing long jump, whole cm); a questionnaire of two Likert blocks driven by a person trait; and a
handful of stray late syncs (``changed``: one answer of a person with probability 0.05 %).

Anomalies (``KINDS``), each on the chosen schools, strength ``s`` ∈ [0, 1] (0 = no effect):

* ``copying`` — 4 neighbour pairs; the copier takes the source's option on a share ``s`` of the items;
* ``one_source`` — a proctor's answer string copied by 8 students on ``min(1, s + 0.2)`` of the items;
* ``preknowledge`` — the 8 hardest items leaked; 60 % of the students answer them correctly with probability
  ``min(1, s + 0.4)``;
* ``altered`` — after the test a teacher turns a share ``s`` of the wrong answers on the hardest half of the items
  right, for 70 % of the students; the system logs it in ``changed`` unless ``log_changes=False``;
* ``replaced`` — a share ``0.5 s`` of the sampled students replaced by stronger ones (θ + 1.5): responses, times and
  questionnaires regenerated, ``roster_changed`` and ``replaced`` raised by the count;
* ``pe_fabricated`` — a share ``s`` of the PE records invented: half one repeated value, half rounded (heaped);
* ``straightlining`` — a share ``0.8 s`` of the students tick one box throughout every questionnaire block;
* ``timing`` — every student's log times shortened by ``1.5 s`` and their person speeds pulled together by
  ``1 − s`` (answers entered fast and evenly).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

KINDS = ("copying", "one_source", "preknowledge", "altered", "replaced", "pe_fabricated", "straightlining",
         "timing")
BLOCKS = 2
BLOCK_ITEMS = 6


@dataclass(frozen=True)
class Cycle:
    """One simulated cycle: the engine's inputs (:meth:`screen_kwargs`) and the truth (``school_kind``)."""

    options: NDArray[np.int64]
    key: NDArray[np.int64]
    a: NDArray[np.float64]
    b: NDArray[np.float64]
    theta: NDArray[np.float64]
    attract: NDArray[np.float64]
    school: NDArray[np.int64]
    county: NDArray[np.int64]
    room: NDArray[np.int64]
    school_covariates: NDArray[np.float64]
    participation: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]
    timings: tuple[NDArray[np.int64], NDArray[np.float64]]
    pe: tuple[NDArray[np.int64], NDArray[np.str_], NDArray[np.float64], NDArray[np.int64]]
    questionnaire: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]
    changed: tuple[NDArray[np.int64], NDArray[np.float64]]
    timing_item: NDArray[np.int64]         # (T,) the item of each timing row
    speed: NDArray[np.float64]
    trait: NDArray[np.float64]
    school_kind: NDArray[np.str_]          # (S,) "" or the anomaly kind injected in the school
    school_strength: NDArray[np.float64]   # (S,) its strength (0 where clean)
    affected: NDArray[np.bool_]            # (N,) persons an anomaly touched
    covariate_names: tuple[str, ...] = ("ses", "urban", "previous_mean")
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def n_schools(self) -> int:
        return len(self.school_kind)

    @property
    def n_counties(self) -> int:
        return int(self.county.max()) + 1

    @property
    def county_of_school(self) -> NDArray[np.int64]:
        out = np.zeros(self.n_schools, dtype=np.int64)
        out[self.school] = self.county
        return out

    @property
    def cheating_counties(self) -> NDArray[np.bool_]:
        return np.bincount(self.county_of_school, self.school_kind != "", self.n_counties) > 0

    def screen_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`naeq.engines.forensics.screen` after ``options, key``."""
        return {"school": self.school, "county": self.county, "room": self.room,
                "school_covariates": self.school_covariates, "participation": self.participation,
                "timings": self.timings, "pe": self.pe, "questionnaire": self.questionnaire,
                "changed": self.changed}


def _responses(rng: np.random.Generator, theta: NDArray[np.float64], a: NDArray[np.float64],
               b: NDArray[np.float64], key: NDArray[np.int64], attract: NDArray[np.float64]) -> NDArray[np.int64]:
    n, n_items = len(theta), len(a)
    k = attract.shape[1] + 1
    correct = rng.random((n, n_items)) < expit(a * (theta[:, None] - b))
    cum = np.cumsum(attract, axis=1)
    pick = np.minimum((rng.random((n, n_items))[:, :, None] > cum[None]).sum(axis=2), k - 2)
    return np.where(correct, key, pick + (pick >= key)).astype(np.int64)


def _times(rng: np.random.Generator, rows: NDArray[np.int64], speed: NDArray[np.float64],
           b: NDArray[np.float64], every: int) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]:
    items = np.arange(0, len(b), every)
    r = np.repeat(rows, len(items))
    j = np.tile(items, len(rows))
    secs = np.exp(3.4 + 0.25 * b[j] - speed[r] + rng.normal(0, 0.45, len(r)))
    return (r.astype(np.int64), np.round(np.maximum(secs, 1.0), 1).astype(np.float64),
            j.astype(np.int64))


def _questionnaire(rng: np.random.Generator, rows: NDArray[np.int64],
                   trait: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    r = np.repeat(rows, BLOCKS * BLOCK_ITEMS)
    blk = np.tile(np.repeat(np.arange(BLOCKS), BLOCK_ITEMS), len(rows))
    loading = np.tile(rng.uniform(0.5, 1.0, BLOCKS * BLOCK_ITEMS), len(rows))
    v = np.clip(np.rint(2.5 + loading * trait[r] + rng.normal(0, 0.8, len(r))), 1, 4)
    return r, blk, v


def simulate_clean(seed: int, *, counties: int = 20, schools_per_county: int = 8, students: int = 25,
                   items: int = 40, options: int = 4, timing_every: int = 4) -> Cycle:
    """A clean cycle (no anomaly): see the module docstring."""
    if min(counties, schools_per_county, students, items) < 1 or options < 3:
        raise ValueError("counties, schools per county, students and items must be ≥ 1, options ≥ 3")
    rng = np.random.default_rng(seed)
    n_s = counties * schools_per_county
    n = n_s * students
    ses = rng.normal(0, 1, n_s)
    urban = (rng.random(n_s) < 0.5).astype(np.float64)
    school_mean = 0.3 * ses + 0.2 * urban + rng.normal(0, 0.3, n_s)
    previous = np.round(school_mean + rng.normal(0, 0.12, n_s), 3)
    school = np.repeat(np.arange(n_s), students)
    theta = school_mean[school] + rng.normal(0, 0.8, n)
    a, b = rng.uniform(0.7, 2.0, items), rng.normal(0, 1, items)
    key = rng.integers(0, options, items)
    attract = rng.dirichlet(np.full(options - 1, 2.0), items)
    x = _responses(rng, theta, a, b, key, attract)
    room = (np.arange(n) % students >= students // 2).astype(np.int64) + 2 * school
    absent = rng.binomial(students, 0.04, n_s).astype(np.float64)
    sampled = students + absent
    participation = {"absent": (absent, sampled),
                     "exempt": (rng.binomial(sampled.astype(np.int64), 0.01).astype(np.float64), sampled),
                     "replaced": (rng.binomial(sampled.astype(np.int64), 0.01).astype(np.float64), sampled),
                     "roster_changed": (rng.binomial(sampled.astype(np.int64), 0.003).astype(np.float64), sampled)}
    speed = rng.normal(0, 0.3, n)
    everyone = np.arange(n)
    t_rows, t_secs, t_item = _times(rng, everyone, speed, b, timing_every)
    pe_rows = np.r_[everyone, everyone]
    pe_test = np.r_[np.full(n, "run50m"), np.full(n, "jump")]
    pe_val = np.r_[np.round(rng.normal(8.6, 0.7, n) - 0.1 * theta, 1), np.rint(rng.normal(180, 20, n))]
    pe_dec = np.r_[np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64)]
    trait = rng.normal(0, 1, n)
    late = np.flatnonzero(rng.random(n) < 5e-4)
    return Cycle(options=x, key=key, a=a, b=b, theta=theta, attract=attract, school=school,
                 county=school // schools_per_county, room=room,
                 school_covariates=np.column_stack([ses, urban, previous]), participation=participation,
                 timings=(t_rows, t_secs), timing_item=t_item, pe=(pe_rows, pe_test, pe_val, pe_dec),
                 questionnaire=_questionnaire(rng, everyone, trait), changed=(late, np.ones(len(late))),
                 speed=speed, trait=trait, school_kind=np.full(n_s, "", dtype="<U16"),
                 school_strength=np.zeros(n_s), affected=np.zeros(n, dtype=bool),
                 notes={"seed": seed})


def inject(cycle: Cycle, kind: str, strength: float, schools: Any, *, seed: int = 0,
           log_changes: bool = True) -> Cycle:
    """A new cycle with anomaly ``kind`` at ``strength`` ∈ [0, 1] in ``schools`` (the input is not changed)."""
    if kind not in KINDS:
        raise ValueError(f"unknown anomaly {kind!r}; known: {', '.join(KINDS)}")
    if not 0.0 <= strength <= 1.0:
        raise ValueError("strength must lie in [0, 1]")
    rng = np.random.default_rng([seed, KINDS.index(kind), round(strength * 1000)])
    x = cycle.options.copy()
    theta = cycle.theta.copy()
    speed = cycle.speed.copy()
    affected = cycle.affected.copy()
    part = {k: (c.copy(), t) for k, (c, t) in cycle.participation.items()}
    t_rows, t_secs = cycle.timings[0], cycle.timings[1].copy()
    pe_rows, pe_test, pe_val, pe_dec = cycle.pe[0], cycle.pe[1], cycle.pe[2].copy(), cycle.pe[3]
    q_rows, q_blk, q_val = cycle.questionnaire[0], cycle.questionnaire[1], cycle.questionnaire[2].copy()
    ch_rows, ch_cnt = list(cycle.changed[0]), list(cycle.changed[1])
    kinds, strengths = cycle.school_kind.copy(), cycle.school_strength.copy()
    hard = np.argsort(cycle.b)
    n_items = x.shape[1]
    for s in np.asarray(schools, dtype=np.int64).reshape(-1):
        rows = np.flatnonzero(cycle.school == s)
        kinds[s], strengths[s] = kind, strength
        if strength == 0:
            continue
        if kind == "copying":
            for k in range(min(4, len(rows) // 2)):
                src, cop = rows[2 * k], rows[2 * k + 1]
                items = rng.random(n_items) < strength
                x[cop, items] = x[src, items]
                affected[[src, cop]] = True
        elif kind == "one_source":
            for cop in rows[1:9]:
                items = rng.random(n_items) < min(1.0, strength + 0.2)
                x[cop, items] = x[rows[0], items]
            affected[rows[:9]] = True
        elif kind == "preknowledge":
            leaked = hard[-8:]
            who = rows[rng.random(len(rows)) < 0.6]
            hit = rng.random((len(who), len(leaked))) < min(1.0, strength + 0.4)
            sub = x[np.ix_(who, leaked)]
            x[np.ix_(who, leaked)] = np.where(hit, cycle.key[leaked], sub)
            affected[who] = True
        elif kind == "altered":
            target = hard[n_items // 2:]
            who = rows[rng.random(len(rows)) < 0.7]
            sub = x[np.ix_(who, target)]
            flip = (sub != cycle.key[target]) & (rng.random(sub.shape) < strength)
            x[np.ix_(who, target)] = np.where(flip, cycle.key[target], sub)
            n_flip = flip.sum(axis=1)
            affected[who[n_flip > 0]] = True
            if log_changes:
                ch_rows.extend(who[n_flip > 0].tolist())
                ch_cnt.extend(n_flip[n_flip > 0].astype(float).tolist())
        elif kind == "replaced":
            who = rows[rng.random(len(rows)) < 0.5 * strength]
            theta[who] = theta[who] + 1.5
            x[who] = _responses(rng, theta[who], cycle.a, cycle.b, cycle.key, cycle.attract)
            speed[who] = rng.normal(0, 0.3, len(who))
            sel = np.isin(t_rows, who)
            t_secs[sel] = np.round(np.maximum(np.exp(3.4 + 0.25 * cycle.b[cycle.timing_item[sel]] - speed[t_rows[sel]]
                                                     + rng.normal(0, 0.45, int(sel.sum()))), 1.0), 1)
            qs = np.isin(q_rows, who)
            q_val[qs] = _questionnaire(rng, who, cycle.trait)[2]
            for name in ("roster_changed", "replaced"):
                c, t = part[name]
                c[s] = min(t[s], c[s] + len(who))
            affected[who] = True
        elif kind == "pe_fabricated":
            for test in np.unique(pe_test):
                idx = np.flatnonzero(np.isin(pe_rows, rows) & (pe_test == test))
                fake = idx[rng.random(len(idx)) < strength]
                half = len(fake) // 2
                if len(fake):
                    pe_val[fake[:half]] = np.median(pe_val[idx])
                    step = 0.5 if pe_dec[fake[0]] > 0 else 10.0
                    pe_val[fake[half:]] = np.round(pe_val[fake[half:]] / step) * step
                affected[pe_rows[fake]] = True
        elif kind == "straightlining":
            who = rows[rng.random(len(rows)) < 0.8 * strength]
            for p in who:
                for blk in range(BLOCKS):
                    sel = (q_rows == p) & (q_blk == blk)
                    q_val[sel] = rng.integers(2, 4)
            affected[who] = True
        elif kind == "timing":
            sel = np.isin(t_rows, rows)
            mean_speed = float(np.mean(speed[rows]))
            pull = (1 - strength) * (speed[t_rows[sel]] - mean_speed) - (speed[t_rows[sel]] - mean_speed)
            t_secs[sel] = np.round(np.maximum(t_secs[sel] * np.exp(-1.5 * strength - pull), 1.0), 1)
            affected[rows] = True
    return replace(cycle, options=x, theta=theta, speed=speed, affected=affected, participation=part,
                   timings=(t_rows, t_secs), pe=(pe_rows, pe_test, pe_val, pe_dec),
                   questionnaire=(q_rows, q_blk, q_val),
                   changed=(np.asarray(ch_rows, dtype=np.int64), np.asarray(ch_cnt, dtype=np.float64)),
                   school_kind=kinds, school_strength=strengths)


def simulate_cycle(seed: int, anomalies: list[tuple[str, float]] | tuple[tuple[str, float], ...] = (), *,
                   counties: int = 20, schools_per_county: int = 8, students: int = 25, items: int = 40,
                   cheat_share: float = 0.1, cheat_schools: int = 3, log_changes: bool = True) -> Cycle:
    """A cycle in which ``max(1, round(cheat_share · counties))`` counties cheat (when ``anomalies`` is not
    empty): in each, ``cheat_schools`` schools by one of the ``anomalies`` (``(kind, strength)``, assigned to the
    cheating counties in turn)."""
    cyc = simulate_clean(seed, counties=counties, schools_per_county=schools_per_county, students=students,
                         items=items)
    if not anomalies:
        return cyc
    rng = np.random.default_rng([seed, 7])
    n_cheat = min(counties, max(1, round(cheat_share * counties)))
    chosen = np.sort(rng.choice(counties, n_cheat, replace=False))
    for i, c in enumerate(chosen):
        kind, strength = anomalies[i % len(anomalies)]
        sch = c * schools_per_county + rng.choice(schools_per_county, min(cheat_schools, schools_per_county),
                                                  replace=False)
        cyc = inject(cyc, kind, strength, sch, seed=seed * 1000 + i, log_changes=log_changes)
    return cyc
