"""Random one-hidden-layer networks as task priors: nonlinear regression and classification.

f(x) = act([x, 1] W₁) W₂ with N(0, s²) weights and no other biases, as in the first author's
earlier amortized-inference code; regression adds N(0, β) noise, classification samples
labels from Categorical(f(x) / T).
"""

import torch

from iai.tasks.base import Tasks, sample_inputs, with_bias
from iai.tasks.config import INPUT_SHIFTS, TaskConfig

ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}


def random_mlp(
    cfg: TaskConfig, n_tasks: int, out_dim: int, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Weights W1 (T, D + 1, H) and W2 (T, H, out)."""
    s = cfg.prior_scale
    return {
        "W1": s * torch.randn(n_tasks, cfg.dim + 1, cfg.hidden, generator=generator),
        "W2": s * torch.randn(n_tasks, cfg.hidden, out_dim, generator=generator),
    }


def mlp_outputs(cfg: TaskConfig, w: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """(T, N, D) -> (T, N, out)."""
    return ACTIVATIONS[cfg.activation](with_bias(x) @ w["W1"]) @ w["W2"]


def linear_logits(cfg: TaskConfig, n_tasks: int, generator: torch.Generator):
    """A random linear map as a one-layer 'network': W (T, D + 1, C)."""
    w = {"W": cfg.prior_scale * torch.randn(n_tasks, cfg.dim + 1, cfg.classes, generator=generator)}
    return w, lambda x: with_bias(x) @ w["W"]


class NonlinearRegression:
    kind = "regression"
    model = "mlp"
    variants = INPUT_SHIFTS

    def __init__(self, cfg: TaskConfig) -> None:
        self.cfg, self.dim = cfg, cfg.dim
        self.out_dim = 1

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


class Classification:
    """Labels ~ Categorical(logits / T) with logits from a random linear map or MLP."""

    kind = "classification"
    variants = INPUT_SHIFTS
    bayes = None  # no closed form for the posterior predictive

    def __init__(self, cfg: TaskConfig, nonlinear: bool) -> None:
        self.cfg, self.dim = cfg, cfg.dim
        self.out_dim = cfg.classes
        self.nonlinear = nonlinear
        self.model = "mlp" if nonlinear else "linear"

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
