"""Task priors, vectorized over tasks and seeded by a torch.Generator.

A prior is any object with `kind` (which names its objective: 'regression',
'classification' or 'density', see `iai.tasks.objective`), `dim`, `out_dim` and `sample(T, N, Q,
generator=...) -> Tasks`. The shipped families also have `bayes(x_train, y_train, x_query)`
(the exact Bayes-optimal prediction, or None where there is no closed form), `model` (the
fixed model f(x; θ) that suits them) and `variants` (their out-of-distribution shifts).

A new family is one file here and one line in `TASKS`.
"""

from iai.errors import InvalidConfig
from iai.tasks.base import Tasks
from iai.tasks.config import OOD, TaskConfig, shifted
from iai.tasks.digits import Digits
from iai.tasks.gp import GPRegression
from iai.tasks.letters import Letters
from iai.tasks.linear import LinearRegression
from iai.tasks.mixtures import GaussianMixtures
from iai.tasks.mlp import Classification, NonlinearRegression
from iai.tasks.objective import objective_of
from iai.tasks.tabular import Tabular

TASKS = {
    "linear_regression": LinearRegression,
    "nonlinear_regression": NonlinearRegression,
    "gp_regression": GPRegression,
    "linear_classification": lambda cfg: Classification(cfg, nonlinear=False),
    "nonlinear_classification": lambda cfg: Classification(cfg, nonlinear=True),
    "digits": Digits,
    "gaussian_mixtures": GaussianMixtures,
    "letters": Letters,
    # tables of 1 … task.dim features (and 2 … task.classes classes): iai.sklearn's prior
    "tabular_regression": lambda cfg: Tabular(cfg, "regression"),
    "tabular_classification": lambda cfg: Tabular(cfg, "classification"),
}


def make_prior(cfg: TaskConfig):
    """The prior named by cfg.name."""
    if cfg.name not in TASKS:
        raise InvalidConfig(f"unknown task {cfg.name!r}; known: {sorted(TASKS)}")
    return TASKS[cfg.name](cfg)


def fixed_model(prior) -> str:
    """The fixed model f(x; θ) that suits a prior: the one it names (`model`), else an MLP,
    which fits any regression or classification family."""
    return getattr(prior, "model", "mlp")


def variant_prior(cfg: TaskConfig, variant: str):
    """The prior of `cfg` ('id') or of its OoD variant, which must apply to the family."""
    prior = make_prior(cfg)
    if variant == "id":
        return prior
    known = getattr(prior, "variants", ())
    if variant not in known:
        raise InvalidConfig(
            f"OoD variant {variant!r} does not apply to {cfg.name!r}; its variants: {list(known)}"
        )
    return make_prior(shifted(cfg, variant))


def variants_of(prior) -> tuple[str, ...]:
    """The OoD variants a prior's family has (none for a user-defined prior)."""
    return getattr(prior, "variants", ())


__all__ = [
    "OOD",
    "TASKS",
    "TaskConfig",
    "Tasks",
    "fixed_model",
    "make_prior",
    "objective_of",
    "shifted",
    "variant_prior",
    "variants_of",
]
