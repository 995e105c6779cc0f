"""Task priors, vectorized over tasks and seeded by a torch.Generator.

A prior is any object with `kind` (which names its objective: 'regression',
'classification' or 'density', see `iai.tasks.objective`), `dim`, `out_dim` and `sample(T, N, Q,
generator=...) -> Tasks` (`Prior`). The shipped families are `Family` subclasses, which also
declare `bayes(x_train, y_train, x_query)` (the exact Bayes-optimal prediction, or None where
there is no closed form), `model` (the fixed model f(x; θ) that suits them) and `variants`
(their out-of-distribution shifts). Each is built from its own config dataclass, which
`task.name` selects through `TASKS`.

A new family is one file here (a `TaskConfig` and a `Family` subclass) and one line in
`TASKS`.
"""

from iai.errors import InvalidConfig
from iai.tasks.base import DensityFamily, Family, MLPShape, Prior, PriorSignature, Tasks
from iai.tasks.config import TASKS, CustomTask, TaskConfig, config_class, shifted
from iai.tasks.digits import Digits, DigitsConfig
from iai.tasks.gp import GPRegression, GPRegressionConfig
from iai.tasks.letters import Letters, LettersConfig
from iai.tasks.linear import LinearRegression, LinearRegressionConfig
from iai.tasks.mixtures import GaussianMixtures, GaussianMixturesConfig
from iai.tasks.mlp import (
    Classification,
    LinearClassificationConfig,
    NonlinearClassificationConfig,
    NonlinearRegression,
    NonlinearRegressionConfig,
)
from iai.tasks.objective import objective_of
from iai.tasks.scm import SCM, SCMConfig
from iai.tasks.tabular import Tabular, TabularClassificationConfig, TabularRegressionConfig

# task.name -> (its config dataclass, the `Family` built from it)
TASKS.update(
    {
        "linear_regression": (LinearRegressionConfig, LinearRegression),
        "nonlinear_regression": (NonlinearRegressionConfig, NonlinearRegression),
        "gp_regression": (GPRegressionConfig, GPRegression),
        "linear_classification": (LinearClassificationConfig, Classification),
        "nonlinear_classification": (NonlinearClassificationConfig, Classification),
        "digits": (DigitsConfig, Digits),
        "gaussian_mixtures": (GaussianMixturesConfig, GaussianMixtures),
        "letters": (LettersConfig, Letters),
        # tables of 1 … task.dim features (and 2 … task.classes classes): iai.sklearn's prior
        "tabular_regression": (TabularRegressionConfig, Tabular),
        "tabular_classification": (TabularClassificationConfig, Tabular),
        # structural causal models: samples in, the causal order out (kind "order")
        "scm": (SCMConfig, SCM),
    }
)

# Every OoD variant name of every shipped family (CLI choices, `eval.ood`), in registry order.
OOD = tuple(dict.fromkeys(v for cls, _ in TASKS.values() for v in cls.shifts))


def make_prior(cfg: TaskConfig) -> Prior:
    """The prior named by cfg.name, built from cfg."""
    cls = config_class(cfg.name)
    if not isinstance(cfg, cls):
        raise InvalidConfig(
            f"task {cfg.name!r} is configured by {cls.__name__}, not {type(cfg).__name__}"
        )
    return TASKS[cfg.name][1](cfg)


def fixed_model(prior: Prior) -> str:
    """The fixed model f(x; θ) that suits a prior: the one its family names, else an MLP,
    which fits any regression or classification prior."""
    return prior.model if isinstance(prior, Family) else "mlp"


def mlp_shape(prior: Prior) -> MLPShape:
    """The hidden layer of the MLP f(x; θ) that suits a prior (`fixed_model` 'mlp')."""
    return prior.mlp if isinstance(prior, Family) else MLPShape()


def variants_of(prior: Prior | None) -> tuple[str, ...]:
    """The OoD variants of a prior: its family's; none for a prior defined in Python."""
    return prior.variants if isinstance(prior, Family) else ()


def variant_prior(cfg: TaskConfig, variant: str) -> Prior:
    """The prior of `cfg` ('id') or of its OoD variant, which must be one of its family's."""
    return make_prior(cfg if variant == "id" else shifted(cfg, variant))


__all__ = [
    "OOD",
    "TASKS",
    "CustomTask",
    "DensityFamily",
    "Family",
    "MLPShape",
    "Prior",
    "PriorSignature",
    "TaskConfig",
    "Tasks",
    "config_class",
    "fixed_model",
    "make_prior",
    "mlp_shape",
    "objective_of",
    "shifted",
    "variant_prior",
    "variants_of",
]
