"""Task priors, vectorized over tasks and seeded by a torch.Generator.

Every prior has `kind` ('regression' or 'classification'), `out_dim`, `sample(T, N, Q,
generator=...) -> Tasks`, and `bayes(x_train, y_train, x_query)`: the exact Bayes-optimal
prediction, or None where it has no closed form.
"""

from iai.errors import InvalidConfig
from iai.tasks.base import Tasks
from iai.tasks.config import OOD, TaskConfig, shifted
from iai.tasks.digits import Digits
from iai.tasks.gp import GPRegression
from iai.tasks.linear import LinearRegression
from iai.tasks.mlp import Classification, NonlinearRegression

TASKS = {
    "linear_regression": LinearRegression,
    "nonlinear_regression": NonlinearRegression,
    "gp_regression": GPRegression,
    "linear_classification": lambda cfg: Classification(cfg, nonlinear=False),
    "nonlinear_classification": lambda cfg: Classification(cfg, nonlinear=True),
    "digits": Digits,
}
# The out-of-distribution variants that mean something for each family.
INPUT_SHIFTS = ("shift_x", "wide_x", "noisy", "wide_prior")
VARIANTS = {name: INPUT_SHIFTS for name in TASKS} | {
    "digits": ("new_classes", "permuted", "inverted")
}


def make_prior(cfg: TaskConfig):
    """The prior named by cfg.name."""
    if cfg.name not in TASKS:
        raise InvalidConfig(f"unknown task {cfg.name!r}; known: {sorted(TASKS)}")
    return TASKS[cfg.name](cfg)


def variant_prior(cfg: TaskConfig, variant: str):
    """The prior of `cfg` ('id') or of its OoD variant, which must apply to the family."""
    if variant == "id":
        return make_prior(cfg)
    if variant not in VARIANTS.get(cfg.name, ()):
        raise InvalidConfig(
            f"OoD variant {variant!r} does not apply to {cfg.name!r}; "
            f"its variants: {list(VARIANTS.get(cfg.name, ()))}"
        )
    return make_prior(shifted(cfg, variant))


__all__ = [
    "OOD",
    "TASKS",
    "VARIANTS",
    "TaskConfig",
    "Tasks",
    "make_prior",
    "shifted",
    "variant_prior",
]
