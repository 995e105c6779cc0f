"""Gaussian-process regression with an RBF kernel, and its exact posterior mean.

k(x, x') = s² exp(-|x - x'|² / (2 (ℓ √D)²)): the lengthscale is given in units of √D so that
points drawn from N(0, I) stay correlated as the dimension grows. y = f(x) + N(0, β).
"""

from dataclasses import dataclass, replace
from typing import Literal

import torch

from iai.tasks.base import Family, Tasks, sample_inputs
from iai.tasks.config import MOVE_X, TaskConfig, positive


@dataclass(frozen=True)
class GPRegressionConfig(TaskConfig):
    """noise is β, signal_scale s and lengthscale ℓ (in units of √D) the kernel's; inputs are
    x ~ N(x_mean, x_scale² I)."""

    name: Literal["gp_regression"] = "gp_regression"
    noise: float = positive(0.25)
    lengthscale: float = positive(1.0)
    signal_scale: float = positive(1.0)
    x_mean: float = 0.0
    x_scale: float = positive(1.0)
    shifts = {
        **MOVE_X,
        "noisy": lambda c: replace(c, noise=4.0 * c.noise),
        # a GP's function prior is scaled by s
        "wide_prior": lambda c: replace(c, signal_scale=2.0 * c.signal_scale),
    }


class GPRegression(Family):
    kind = "regression"
    model = "mlp"
    cfg: GPRegressionConfig

    def kernel(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """(T, N, D), (T, M, D) -> (T, N, M)."""
        length = self.cfg.lengthscale * self.cfg.dim**0.5
        return self.cfg.signal_scale**2 * torch.exp(-0.5 * torch.cdist(a, b).square() / length**2)

    def sample(
        self, n_tasks: int, n_train: int, n_query: int, *, generator: torch.Generator
    ) -> Tasks:
        c = self.cfg
        n = n_train + n_query
        x = sample_inputs(n_tasks, n, c.dim, c.x_mean, c.x_scale, generator).double()
        cov = self.kernel(x, x) + 1e-6 * torch.eye(n, dtype=x.dtype)  # jitter for the Cholesky
        chol = torch.linalg.cholesky(cov)
        z = torch.randn(n_tasks, n, 1, generator=generator, dtype=x.dtype)
        f = (chol @ z).squeeze(-1)
        y = (f + c.noise**0.5 * torch.randn(f.shape, generator=generator, dtype=x.dtype)).float()
        x = x.float()
        return Tasks(x[:, :n_train], y[:, :n_train], x[:, n_train:], y[:, n_train:])

    def bayes(
        self, x_train: torch.Tensor, y_train: torch.Tensor, x_query: torch.Tensor
    ) -> torch.Tensor:
        """Exact posterior mean k(x_q, X) (K + βI)⁻¹ y, in float64: (T, Q)."""
        X, Xq = x_train.double(), x_query.double()
        gram = self.kernel(X, X) + self.cfg.noise * torch.eye(X.shape[1], dtype=X.dtype)
        alpha = torch.cholesky_solve(y_train.double().unsqueeze(-1), torch.linalg.cholesky(gram))
        return (self.kernel(Xq, X) @ alpha).squeeze(-1).to(x_query.dtype)
