"""Linear regression y = wᵀ[x, 1] + ε, w ~ N(0, s² I), ε ~ N(0, β), and its exact posterior."""

from dataclasses import dataclass, replace
from typing import Literal

import torch

from iai.tasks.base import Family, Tasks, sample_inputs, with_bias
from iai.tasks.config import MOVE_X, TaskConfig, positive


@dataclass(frozen=True)
class LinearRegressionConfig(TaskConfig):
    """noise is the noise *variance* β, prior_scale the std s of the weight prior; inputs are
    x ~ N(x_mean, x_scale² I)."""

    name: Literal["linear_regression"] = "linear_regression"
    noise: float = positive(0.25)
    prior_scale: float = positive(1.0)
    x_mean: float = 0.0
    x_scale: float = positive(1.0)
    shifts = {
        **MOVE_X,
        "noisy": lambda c: replace(c, noise=4.0 * c.noise),
        "wide_prior": lambda c: replace(c, prior_scale=2.0 * c.prior_scale),
    }


class LinearRegression(Family):
    kind = "regression"
    model = "linear"  # the fixed model f(x; θ) that suits it: baselines and grid cells use it
    cfg: LinearRegressionConfig

    def sample(
        self, n_tasks: int, n_train: int, n_query: int, *, generator: torch.Generator
    ) -> Tasks:
        c = self.cfg
        w = c.prior_scale * torch.randn(n_tasks, c.dim + 1, generator=generator)  # (T, D + 1)
        x, y = self.points(w, n_train + n_query, generator=generator)
        return Tasks(x[:, :n_train], y[:, :n_train], x[:, n_train:], y[:, n_train:], {"w": w})

    def points(
        self, w: torch.Tensor, n_points: int, *, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """n_points fresh points (x (T, N, D), y (T, N)) of the tasks with weights w (T, D + 1),
        e.g. `tasks.truth["w"]` of a `sample`: a task's stream drawn a batch at a time, for
        streams longer than one would hold at once (`sample` draws its points the same way)."""
        c = self.cfg
        x = sample_inputs(w.shape[0], n_points, c.dim, c.x_mean, c.x_scale, generator)
        f = torch.einsum("tnd,td->tn", with_bias(x), w)
        return x, f + c.noise**0.5 * torch.randn(f.shape, generator=generator)

    def posterior(self, n_tasks: int) -> "LinearPosterior":
        """The prior over w of n_tasks tasks as a `LinearPosterior` that has seen no points."""
        c, D = self.cfg, self.cfg.dim + 1
        precision = torch.eye(D, dtype=torch.float64).repeat(n_tasks, 1, 1) / c.prior_scale**2
        return LinearPosterior(precision, torch.zeros(n_tasks, D, 1, dtype=torch.float64), c.noise)

    def bayes(
        self, x_train: torch.Tensor, y_train: torch.Tensor, x_query: torch.Tensor
    ) -> torch.Tensor:
        """Posterior predictive mean at x_query (T, Q, D) given (x_train (T, N, D), y_train (T, N)).

        The Bayes-optimal prediction under squared error: E[w | D] = (I/s² + XᵀX/β)⁻¹ Xᵀy/β.
        Computed in float64 so it is a reference, not an approximation.
        """
        # A shifted prior mean would enter `posterior`; every variant keeps the prior at 0.
        posterior = self.posterior(x_train.shape[0]).update(x_train, y_train)
        return posterior.predict(x_query).to(x_query.dtype)


@dataclass(frozen=True)
class LinearPosterior:
    """The exact posterior over w as running sums, in float64: precision I/s² + ΣXᵀX/β and
    shift ΣXᵀy/β, X = [x, 1].

    Why: a stream of N points (benchmarks/long_stream.py reads 2¹⁶) has the same posterior
    read batch by batch as all at once, and holding these sums costs O(D²) per task however
    long the stream is. `LinearRegression.bayes` is one `update` of the prior.
    """

    precision: torch.Tensor  # (T, D + 1, D + 1)
    shift: torch.Tensor  # (T, D + 1, 1)
    noise: float  # β

    def update(self, x: torch.Tensor, y: torch.Tensor) -> "LinearPosterior":
        """The posterior after also seeing x (T, B, D), y (T, B)."""
        X = with_bias(x.double())  # (T, B, D + 1)
        precision = self.precision + X.transpose(1, 2) @ X / self.noise
        shift = self.shift + X.transpose(1, 2) @ y.double().unsqueeze(-1) / self.noise
        return LinearPosterior(precision, shift, self.noise)

    def mean(self) -> torch.Tensor:
        """E[w | points seen], (T, D + 1)."""
        return torch.linalg.solve(self.precision, self.shift).squeeze(-1)

    def predict(self, x_query: torch.Tensor) -> torch.Tensor:
        """The posterior predictive mean at x_query (T, Q, D), (T, Q) in float64."""
        return torch.einsum("tqd,td->tq", with_bias(x_query.double()), self.mean())
