"""Questionnaire index scores (interest, confidence, ... from Likert items), as PISA builds its indices
(OECD 2017, *PISA 2015 Technical Report*, ch. 16): a partial credit model per scale, weighted likelihood
estimates (WLE, Warm 1989) as the person scores, reliability, and the index standardised to mean 0 and SD 1 in a
reference population.

Steps for one scale of ``J`` Likert items with categories ``0..K_j−1``:

1. reverse-code the negatively worded items: ``x' = K_j − 1 − x`` (so a high score always means "more");
2. calibrate the items by marginal ML (:func:`naeq.engines.irt.calibrate.calibrate`, PCM by default, GPCM as an
   option) — or take fixed item parameters from an earlier cycle, which keeps the index comparable over time;
3. person scores: WLE with SE (:func:`naeq.engines.irt.persons.wle`), and EAP with posterior SD;
4. reliability:

   * Cronbach's α over the persons who answered every item: ``α = J/(J−1) · (1 − Σ_j s_j² / s_X²)`` (Cronbach
     1951; ``s_X²`` the variance of the sum score);
   * WLE person-separation reliability ``1 − mean(SE²) / var(WLE)`` (the share of the WLE variance that is not
     error variance; Adams 2005);
   * EAP reliability ``var(EAP) / (var(EAP) + mean(PSD²))`` (Adams 2005);

5. the index: ``mean + sd · (WLE − μ_ref) / σ_ref`` with ``μ_ref``, ``σ_ref`` the weighted mean and SD of the
   WLEs in the reference population (default all persons with a score, mean 0 and SD 1); its SE is
   ``sd · SE / σ_ref``. Persons without any answer to the scale get no index (NaN).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from naeq.engines.errors import EngineError
from naeq.engines.irt.calibrate import calibrate
from naeq.engines.irt.data import Responses
from naeq.engines.irt.models import ItemParameters
from naeq.engines.irt.persons import PersonEstimates, eap, wle

__all__ = [
    "QuestionnaireIndex",
    "cronbach_alpha",
    "eap_reliability",
    "questionnaire_index",
    "reverse_code",
    "wle_reliability",
]


def _readonly(a: NDArray[Any]) -> NDArray[Any]:
    a.setflags(write=False)
    return a


def _weights(weights: Any, n: int) -> NDArray[np.float64]:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if len(w) != n:
        raise ValueError(f"weights has {len(w)} entries, expected {n} (one per person)")
    if not np.all(np.isfinite(w)):
        raise EngineError("weights must be finite (no NaN or infinity)", code="non_finite")
    if np.any(w < 0) or w.sum() <= 0:
        raise EngineError("weights must be non-negative and not all zero", code="bad_weights")
    return w


def reverse_code(responses: Responses, items: Sequence[str]) -> Responses:
    """The responses with ``items`` reverse-coded: ``x' = K_j − 1 − x`` (a new object; the input is unchanged).

    Examples
    --------
    >>> from naeq.engines.irt.data import responses_from_long
    >>> r = responses_from_long(["p1", "p1"], ["like", "bored"], [3, 0], {"like": 3, "bored": 3})
    >>> reverse_code(r, ["bored"]).dense().tolist()
    [[3, 3]]
    """
    pos = {item: j for j, item in enumerate(responses.items)}
    unknown = [str(i) for i in items if str(i) not in pos]
    if unknown:
        raise EngineError(f"reverse-coded item {unknown[0]} is not among the scale's items", code="unknown_item")
    flip = np.zeros(responses.n_items, dtype=bool)
    flip[[pos[str(i)] for i in items]] = True
    rows = flip[responses.item]
    score = np.where(rows, responses.n_categories[responses.item] - 1 - responses.score, responses.score)
    return Responses(person=responses.person, item=responses.item, score=score.astype(np.int64),
                     persons=responses.persons, items=responses.items, n_categories=responses.n_categories)


def cronbach_alpha(scores: Any, *, weights: Any = None) -> tuple[float, int]:
    """Cronbach's α of a (N, J) score matrix over the complete rows (a negative value or NaN = no answer).

    Returns ``(α, number of complete rows)``. Weighted variances when ``weights`` (N,) are given.

    Examples
    --------
    >>> round(cronbach_alpha(np.array([[1, 2, 2], [2, 3, 3], [3, 3, 4], [4, 4, 4]]))[0], 6)
    0.953271
    """
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError("Cronbach's alpha needs a (persons, items) matrix with at least two items")
    if np.any(np.isinf(x)):
        raise EngineError("scores must not be infinite", code="non_finite")
    w = _weights(weights, x.shape[0])
    complete = np.all(np.isfinite(x) & (x >= 0), axis=1) & (w > 0)
    n = int(complete.sum())
    if n < 2:
        raise EngineError("Cronbach's alpha needs at least two persons who answered every item",
                          code="too_few_persons")
    xc, wc = x[complete], w[complete]
    mean = wc @ xc / wc.sum()
    item_var = wc @ (xc - mean) ** 2 / wc.sum()
    total = xc.sum(axis=1)
    total_var = float(wc @ (total - total @ wc / wc.sum()) ** 2 / wc.sum())
    if total_var <= 0:
        raise EngineError("Cronbach's alpha is undefined: every complete answer pattern has the same total",
                          code="no_variance")
    j = x.shape[1]
    return float(j / (j - 1) * (1.0 - item_var.sum() / total_var)), n


def wle_reliability(theta: Any, se: Any, *, weights: Any = None) -> float:
    """``1 − mean(SE²) / var(WLE)`` over the persons with a finite estimate (weighted)."""
    t = np.asarray(theta, dtype=np.float64)
    s = np.asarray(se, dtype=np.float64)
    w = _weights(weights, len(t))
    ok = np.isfinite(t) & np.isfinite(s) & (w > 0)
    if ok.sum() < 2:
        raise EngineError("reliability needs at least two persons with an estimate", code="too_few_persons")
    wt, tt, st = w[ok], t[ok], s[ok]
    var = float(wt @ (tt - wt @ tt / wt.sum()) ** 2 / wt.sum())
    return float(1.0 - (wt @ st**2 / wt.sum()) / var) if var > 0 else float("nan")


def eap_reliability(theta: Any, psd: Any, *, weights: Any = None) -> float:
    """``var(EAP) / (var(EAP) + mean(PSD²))`` (weighted)."""
    t = np.asarray(theta, dtype=np.float64)
    s = np.asarray(psd, dtype=np.float64)
    w = _weights(weights, len(t))
    ok = np.isfinite(t) & np.isfinite(s) & (w > 0)
    wt, tt, st = w[ok], t[ok], s[ok]
    var = float(wt @ (tt - wt @ tt / wt.sum()) ** 2 / wt.sum())
    return float(var / (var + wt @ st**2 / wt.sum()))


@dataclass(frozen=True)
class QuestionnaireIndex:
    """One questionnaire index.

    Attributes
    ----------
    persons : (P,) person ids (the order of ``responses.persons``)
    index, index_se : (P,) the standardised index and its SE (NaN for persons without an answer)
    wle, eap : the person estimates on the logit metric (:class:`naeq.engines.irt.persons.PersonEstimates`)
    params : the item parameters used (calibrated here or given)
    reversed_items : items that were reverse-coded
    alpha, alpha_n : Cronbach's α and the number of complete response patterns it used
    wle_reliability, eap_reliability : person-separation reliabilities
    reference_mean, reference_sd : WLE mean and SD in the reference population; target_mean, target_sd
    calibration_warnings : warnings of the calibration (empty with given parameters)
    """

    persons: NDArray[Any]
    index: NDArray[np.float64]
    index_se: NDArray[np.float64]
    wle: PersonEstimates
    eap: PersonEstimates
    params: ItemParameters
    reversed_items: tuple[str, ...]
    alpha: float
    alpha_n: int
    wle_reliability: float
    eap_reliability: float
    reference_mean: float
    reference_sd: float
    target_mean: float
    target_sd: float
    calibration_warnings: tuple[str, ...]


def questionnaire_index(responses: Responses, *, reverse: Sequence[str] = (), model: str = "pcm",
                        params: ItemParameters | None = None, weights: Any = None, reference: Any = None,
                        mean: float = 0.0, sd: float = 1.0) -> QuestionnaireIndex:
    """Scale one questionnaire index (see the module docstring for the steps and formulas).

    Parameters
    ----------
    responses : the scale's Likert responses (:func:`naeq.engines.irt.data.responses_from_long`; items not
        answered have no row)
    reverse : ids of the negatively worded items to reverse-code before scaling
    model : ``pcm`` (default, as PISA) or ``gpcm``
    params : fixed item parameters (on the reverse-coded items), e.g. from the base cycle; skips calibration
    weights : (P,) person weights aligned with ``responses.persons`` (for the reference mean and SD and the
        reliabilities)
    reference : (P,) booleans: the reference population for the standardisation (default everyone)
    mean, sd : the index's mean and SD in the reference population

    Examples
    --------
    >>> from naeq.engines.irt.simulate import simulate
    >>> s = simulate("pcm", 400, n_items=6, n_categories=4, seed=5)
    >>> q = questionnaire_index(s.responses)
    >>> bool(abs(np.average(q.index)) < 1e-9), round(float(np.std(q.index)), 6), q.alpha > 0.6
    (True, 1.0, True)
    """
    if model not in ("pcm", "gpcm"):
        raise ValueError("questionnaire scales use model 'pcm' or 'gpcm'")
    if not sd > 0 or not np.isfinite(mean):
        raise ValueError("the index needs a finite mean and a positive SD")
    if responses.n_items < 2:
        raise EngineError("a questionnaire scale needs at least two items", code="too_few_items")
    if np.any(responses.n_categories < 2):
        raise EngineError("every questionnaire item needs at least two categories", code="bad_categories")
    n_p = responses.n_persons
    w = _weights(weights, n_p)
    ref = np.ones(n_p, dtype=bool) if reference is None else np.asarray(reference, dtype=bool).reshape(-1)
    if len(ref) != n_p:
        raise ValueError(f"reference has {len(ref)} entries, expected {n_p} (one per person)")
    coded = reverse_code(responses, reverse) if reverse else responses
    warnings_: tuple[str, ...] = ()
    prior_mean: Any
    prior_sd: Any
    if params is None:
        fit = calibrate(coded, model)
        params = fit.params
        warnings_ = tuple(fit.warnings)
        prior_mean, prior_sd = fit.group_means[fit.person_group], fit.group_sds[fit.person_group]
    else:
        missing = [i for i in coded.items if i not in set(params.items)]
        if missing:
            raise EngineError(f"no item parameters given for item {missing[0]}", code="unknown_item")
        params = params.select(coded.items)
        prior_mean, prior_sd = 0.0, 1.0
    w_est = wle(coded, params)
    e_est = eap(coded, params, prior_mean=prior_mean, prior_sd=prior_sd)
    dense = coded.dense(missing=-1)
    alpha, alpha_n = cronbach_alpha(dense, weights=w)
    rel_w = wle_reliability(w_est.theta, w_est.se, weights=w)
    answered = np.isfinite(w_est.theta)
    rel_e = eap_reliability(e_est.theta[answered], e_est.se[answered], weights=w[answered])
    use = ref & answered & (w > 0)
    if use.sum() < 2:
        raise EngineError("the reference population needs at least two persons with an index score",
                          code="too_few_persons")
    wr, tr = w[use], w_est.theta[use]
    mu = float(wr @ tr / wr.sum())
    sigma = float(np.sqrt(wr @ (tr - mu) ** 2 / wr.sum()))
    if sigma <= 0:
        raise EngineError("every person of the reference population has the same score; the index cannot be "
                          "standardised", code="no_variance")
    index = mean + sd * (w_est.theta - mu) / sigma
    index_se = sd * w_est.se / sigma
    return QuestionnaireIndex(
        persons=coded.persons, index=_readonly(np.array(index)), index_se=_readonly(np.array(index_se)),
        wle=w_est, eap=e_est, params=params, reversed_items=tuple(str(i) for i in reverse), alpha=alpha,
        alpha_n=alpha_n, wle_reliability=rel_w, eap_reliability=rel_e, reference_mean=mu, reference_sd=sigma,
        target_mean=float(mean), target_sd=float(sd), calibration_warnings=warnings_)
