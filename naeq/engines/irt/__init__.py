"""IRT engine: item response models, marginal maximum likelihood calibration, person estimates, plausible values,
linking and proficiency levels, and the many-facet model of rater effects. Pure numpy/scipy (see docs/irt.md)."""

from naeq.engines.irt.facets import FacetsResult, Ratings, fit_facets, ratings_from_long, simulate_ratings

__all__ = ["FacetsResult", "Ratings", "fit_facets", "ratings_from_long", "simulate_ratings"]
