"""Task priors, vectorized over tasks and seeded by a torch.Generator.

Every prior has `kind` ('regression' or 'classification'), `out_dim`, `sample(T, N, Q,
generator=...) -> Tasks`, and `bayes(x_train, y_train, x_query)`: the exact Bayes-optimal
prediction, or None where it has no closed form.
"""

from iai.errors import InvalidConfig
from iai.tasks.base import Tasks
from iai.tasks.config import OOD, TaskConfig, shifted
from iai.tasks.gp import GPRegression
from iai.tasks.linear import LinearRegression
from iai.tasks.mlp import Classification, NonlinearRegression

TASKS = {
    "linear_regression": LinearRegression,
    "nonlinear_regression": NonlinearRegression,
    "gp_regression": GPRegression,
    "linear_classification": lambda cfg: Classification(cfg, nonlinear=False),
    "nonlinear_classification": lambda cfg: Classification(cfg, nonlinear=True),
}


def make_prior(cfg: TaskConfig):
    """The prior named by cfg.name."""
    if cfg.name not in TASKS:
        raise InvalidConfig(f"unknown task {cfg.name!r}; known: {sorted(TASKS)}")
    return TASKS[cfg.name](cfg)


__all__ = ["OOD", "TASKS", "TaskConfig", "Tasks", "make_prior", "shifted"]
