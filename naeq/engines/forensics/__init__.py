"""Forensics engine (data quality, issue 7): stage 1 indicators for counties and schools and stage 2 response
forensics — ω, the generalised binomial test, identical incorrect answers, clusters of near-identical answer strings,
person fit lz* — with Bonferroni for pairs, Benjamini–Hochberg for schools and capped BH (or Holm) for counties;
``simulate`` builds cycles with known truth and injected anomalies. Pure numpy/scipy (docs/forensics.md)."""

from naeq.engines.forensics.multiple import benjamini_hochberg, bonferroni
from naeq.engines.forensics.options import OptionModel, fit_option_model
from naeq.engines.forensics.personfit import lz_star
from naeq.engines.forensics.screen import ScreenResult, UnitTable, screen
from naeq.engines.forensics.similarity import PairStatistics, clusters, compound_binomial_sf, pair_statistics

__all__ = ["OptionModel", "PairStatistics", "ScreenResult", "UnitTable", "benjamini_hochberg", "bonferroni",
           "clusters", "compound_binomial_sf", "fit_option_model", "lz_star", "pair_statistics", "screen"]
