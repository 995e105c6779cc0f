"""Random one-hidden-layer networks as task priors: nonlinear regression and classification.

f(x) = act([x, 1] W₁) W₂ with N(0, s²) weights and no other biases, as in the first author's
earlier amortized-inference code; regression adds N(0, β) noise, classification samples
labels from Categorical(f(x) / T), with f a random linear map for linear classification.
"""

from dataclasses import dataclass, replace
from typing import Literal

import torch

from iai.tasks.base import Family, MLPShape, Tasks, sample_inputs, with_bias
from iai.tasks.config import MOVE_X, Activation, TaskConfig, at_least, positive


@dataclass(frozen=True)
class NonlinearRegressionConfig(TaskConfig):
    """A random MLP of `hidden` units (`activation`) with N(0, prior_scale²) weights, noise
    variance β = noise; inputs x ~ N(x_mean, x_scale² I)."""

    name: Literal["nonlinear_regression"] = "nonlinear_regression"
    noise: float = positive(0.25)
    hidden: int = at_least(1, 32)
    activation: Activation = "tanh"
    prior_scale: float = positive(1.0)
    x_mean: float = 0.0
    x_scale: float = positive(1.0)
    shifts = {
        **MOVE_X,
        "noisy": lambda c: replace(c, noise=4.0 * c.noise),
        "wide_prior": lambda c: replace(c, prior_scale=2.0 * c.prior_scale),
    }


# the shifts of both classification families: label noise is the softmax temperature
CLASSIFICATION_SHIFTS = {
    **MOVE_X,
    "noisy": lambda c: replace(c, temperature=2.0 * c.temperature),
    "wide_prior": lambda c: replace(c, prior_scale=2.0 * c.prior_scale),
}


@dataclass(frozen=True)
class LinearClassificationConfig(TaskConfig):
    """`classes` classes, labels ~ Categorical(softmax(W [x, 1] / temperature)), W with
    N(0, prior_scale²) entries; inputs x ~ N(x_mean, x_scale² I)."""

    name: Literal["linear_classification"] = "linear_classification"
    classes: int = at_least(2, 2)
    temperature: float = positive(0.1)
    prior_scale: float = positive(1.0)
    x_mean: float = 0.0
    x_scale: float = positive(1.0)
    shifts = CLASSIFICATION_SHIFTS


@dataclass(frozen=True)
class NonlinearClassificationConfig(TaskConfig):
    """As `LinearClassificationConfig`, with logits from a random MLP of `hidden` units."""

    name: Literal["nonlinear_classification"] = "nonlinear_classification"
    classes: int = at_least(2, 2)
    temperature: float = positive(0.1)
    hidden: int = at_least(1, 32)
    activation: Activation = "tanh"
    prior_scale: float = positive(1.0)
    x_mean: float = 0.0
    x_scale: float = positive(1.0)
    shifts = CLASSIFICATION_SHIFTS


MLPConfig = NonlinearRegressionConfig | NonlinearClassificationConfig

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}


def random_mlp(
    cfg: MLPConfig, n_tasks: int, out_dim: int, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Weights W1 (T, D + 1, H) and W2 (T, H, out)."""
    s = cfg.prior_scale
    return {
        "W1": s * torch.randn(n_tasks, cfg.dim + 1, cfg.hidden, generator=generator),
        "W2": s * torch.randn(n_tasks, cfg.hidden, out_dim, generator=generator),
    }


def mlp_outputs(cfg: MLPConfig, w: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """(T, N, D) -> (T, N, out)."""
    return ACTIVATIONS[cfg.activation](with_bias(x) @ w["W1"]) @ w["W2"]


def linear_logits(cfg: LinearClassificationConfig, n_tasks: int, generator: torch.Generator):
    """A random linear map as a one-layer 'network': W (T, D + 1, C)."""
    w = {"W": cfg.prior_scale * torch.randn(n_tasks, cfg.dim + 1, cfg.classes, generator=generator)}
    return w, lambda x: with_bias(x) @ w["W"]


class NonlinearRegression(Family):
    kind = "regression"
    model = "mlp"
    cfg: NonlinearRegressionConfig

    def __init__(self, cfg: NonlinearRegressionConfig) -> None:
        super().__init__(cfg)
        self.mlp = MLPShape(cfg.hidden, cfg.activation)

    def sample(
        self, n_tasks: int, n_train: int, n_query: int, *, generator: torch.Generator
    ) -> Tasks:
        c = self.cfg
        w = random_mlp(c, n_tasks, 1, generator)
        x = sample_inputs(n_tasks, n_train + n_query, c.dim, c.x_mean, c.x_scale, generator)
        f = mlp_outputs(c, w, x).squeeze(-1)
        y = f + c.noise**0.5 * torch.randn(f.shape, generator=generator)
        return Tasks(x[:, :n_train], y[:, :n_train], x[:, n_train:], y[:, n_train:], w)

    bayes = None  # no closed form: the posterior over MLP weights is intractable


class Classification(Family):
    """Labels ~ Categorical(logits / T) with logits from a random linear map or MLP (which the
    config says: linear or nonlinear classification)."""

    kind = "classification"
    bayes = None  # no closed form for the posterior predictive
    cfg: LinearClassificationConfig | NonlinearClassificationConfig

    def __init__(self, cfg: LinearClassificationConfig | NonlinearClassificationConfig) -> None:
        super().__init__(cfg)
        self.out_dim = cfg.classes
        self.nonlinear = isinstance(cfg, NonlinearClassificationConfig)
        self.model = "mlp" if self.nonlinear else "linear"
        if self.nonlinear:
            self.mlp = MLPShape(cfg.hidden, cfg.activation)

    def sample(
        self, n_tasks: int, n_train: int, n_query: int, *, generator: torch.Generator
    ) -> Tasks:
        c = self.cfg
        if self.nonlinear:
            w = random_mlp(c, n_tasks, c.classes, generator)
            logits_fn = lambda x: mlp_outputs(c, w, x)  # noqa: E731
        else:
            w, logits_fn = linear_logits(c, n_tasks, generator)
        x = sample_inputs(n_tasks, n_train + n_query, c.dim, c.x_mean, c.x_scale, generator)
        logits = logits_fn(x) / c.temperature  # (T, N + Q, C)
        y = torch.multinomial(
            logits.softmax(-1).reshape(-1, c.classes), 1, generator=generator
        ).reshape(logits.shape[:2])
        return Tasks(x[:, :n_train], y[:, :n_train], x[:, n_train:], y[:, n_train:], w)
