"""IRT engine: item response models, marginal maximum likelihood calibration, person estimates, plausible values,
linking and proficiency levels. Pure numpy/scipy (see docs/irt.md)."""
