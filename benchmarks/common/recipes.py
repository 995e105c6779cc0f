"""The committed recipes a speed benchmark trains, one per learner kind and objective, with how
many timed rounds each gets (the tabular recipe takes ~13 s an iteration on one thread)."""

RECIPES = (
    ("configs/linreg-d8.toml", 12),
    ("configs/linreg-d8-memory.toml", 12),
    ("configs/linreg-d8-implicit.toml", 12),
    ("configs/linreg-d8-explicit.toml", 12),
    ("configs/linreg-d8-cnp.toml", 12),
    ("configs/generative/gmm-2d.toml", 12),
    ("configs/generative/gmm-2d-explicit.toml", 12),
    ("configs/gp-tokens.toml", 12),
    ("configs/tabular/regression.toml", 3),
)
