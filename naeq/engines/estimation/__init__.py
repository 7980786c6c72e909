"""Design-based estimation with replicate weights and plausible values (docs/estimation.md).

Pure numpy/scipy. A :class:`Design` holds the final and replicate weights and R ``survey``'s variance formula;
the estimators compute means, proportions, level shares, percentiles, regression coefficients and between-school
statistics for many groups at once, with replicate SEs combined over plausible values by Rubin's rules;
:func:`difference` and :func:`part_whole` test differences. Verified against R ``survey`` 4.1.1 + ``mitools``
(tests/engines/estimation/reference/).
"""

from naeq.engines.estimation.design import METHODS, Design
from naeq.engines.estimation.estimators import levels, mean, percentile, proportion, regression
from naeq.engines.estimation.results import (
    NO_SUPPRESSION,
    Differences,
    Estimates,
    SuppressionRules,
    difference,
    part_whole,
    rubin,
    trend,
)
from naeq.engines.estimation.schools import (
    DEFINITIONS,
    BalancedCounty,
    BalancedCountyRule,
    balanced_county,
    between_school_share,
)

__all__ = [
    "DEFINITIONS", "METHODS", "NO_SUPPRESSION", "BalancedCounty", "BalancedCountyRule", "Design", "Differences",
    "Estimates", "SuppressionRules", "balanced_county", "between_school_share", "difference", "levels", "mean",
    "part_whole", "percentile", "proportion", "regression", "rubin", "trend",
]
