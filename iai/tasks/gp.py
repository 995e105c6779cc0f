"""Gaussian-process regression with an RBF kernel, and its exact Bayes predictive.

k(x, x') = s² exp(-|x - x'|² / (2 (ℓ √D)²)): the lengthscale is given in units of √D so that
points drawn from N(0, I) stay correlated as the dimension grows. y = f(x) + N(0, β).

ℓ is either fixed (`lengthscale`) or drawn per task with log ℓ ~ U[log min_lengthscale,
log max_lengthscale]. Bayes with ℓ unknown averages over its posterior, p(ℓ | D) ∝ p(ℓ)
p(y | X, ℓ): the posterior mean, the predictive moments and its log density are those of the
mixture Σ_g w_g N(μ_g, σ²_g + β) over a grid of GRID points uniform in log ℓ (the midpoint
rule, so each point carries the same prior mass), computed by float64 Cholesky factors of the
(T, G, n, n) Gram matrices. A fixed ℓ is the grid of that one point.
"""

import math
from dataclasses import dataclass, replace
from typing import Literal

import torch

from iai.errors import InvalidConfig
from iai.tasks.base import Family, Tasks, sample_inputs
from iai.tasks.config import MOVE_X, TaskConfig, positive

GRID = 32  # quadrature points in log ℓ: well under 1 % in MSE for ranges of a factor 5
CHUNK = 2**25  # float64 entries of one (tasks, G, n, n) block: 256 MiB per buffer


@dataclass(frozen=True)
class GPRegressionConfig(TaskConfig):
    """noise is β, signal_scale s and lengthscale ℓ (in units of √D) the kernel's; inputs are
    x ~ N(x_mean, x_scale² I). min_lengthscale … max_lengthscale (same units), when set, is the
    range of a per-task ℓ, log-uniform, and `lengthscale` is not read; 0.0, the default, means
    no range (TOML has no null, and a value no range can take keeps old configs as they were)."""

    name: Literal["gp_regression"] = "gp_regression"
    noise: float = positive(0.25)
    lengthscale: float = positive(1.0)
    min_lengthscale: float = 0.0
    max_lengthscale: float = 0.0
    signal_scale: float = positive(1.0)
    x_mean: float = 0.0
    x_scale: float = positive(1.0)
    shifts = {
        **MOVE_X,
        "noisy": lambda c: replace(c, noise=4.0 * c.noise),
        # a GP's function prior is scaled by s
        "wide_prior": lambda c: replace(c, signal_scale=2.0 * c.signal_scale),
        # functions wigglier than any the prior draws (ℓ below the range [0.2, 1])
        "short_lengthscale": lambda c: replace(
            c, lengthscale=0.12, min_lengthscale=0.0, max_lengthscale=0.0
        ),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        low, high = self.min_lengthscale, self.max_lengthscale
        if low == 0.0 and high == 0.0:
            return
        for key, value in (("min_lengthscale", low), ("max_lengthscale", high)):
            if not value > 0:
                raise InvalidConfig(
                    f"task.{key} = {value!r}; must be > 0 (set both task.min_lengthscale and "
                    "task.max_lengthscale for a per-task lengthscale, or neither)"
                )
        if low > high:
            raise InvalidConfig(
                f"task.max_lengthscale = {high!r}; must be ≥ task.min_lengthscale = {low!r}"
            )

    @property
    def has_range(self) -> bool:
        """Whether ℓ is drawn per task (else it is `lengthscale` for every task)."""
        return self.max_lengthscale > 0.0


def mixture_mean(log_w: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """The predictive mixture's mean (T, Q) from `posterior`'s log weights (T, G) and means."""
    return (log_w.exp().unsqueeze(-1) * mean).sum(1)


def mixture_log_density(
    log_w: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """log p(y) (T, Q) of each target y (T, Q) under `posterior`'s mixture over the grid."""
    y = y.unsqueeze(1)  # (T, 1, Q)
    log_n = -0.5 * ((y - mean).square() / var + var.log() + math.log(2 * math.pi))
    return torch.logsumexp(log_w.unsqueeze(-1) + log_n, dim=1)


class GPRegression(Family):
    kind = "regression"
    model = "mlp"
    cfg: GPRegressionConfig

    def kernel(
        self, a: torch.Tensor, b: torch.Tensor, length: torch.Tensor | float | None = None
    ) -> torch.Tensor:
        """(..., N, D), (..., M, D) -> (..., N, M), at the lengthscale `length` in units of √D
        (a float, or a tensor broadcast against (..., N, M)); the config's fixed one if None."""
        length = (self.cfg.lengthscale if length is None else length) * self.cfg.dim**0.5
        return self.cfg.signal_scale**2 * torch.exp(-0.5 * torch.cdist(a, b).square() / length**2)

    def grid(self) -> torch.Tensor:
        """(G,) the lengthscales Bayes integrates over, float64 in units of √D: GRID midpoints
        uniform in log ℓ over the range, or the one fixed ℓ."""
        c = self.cfg
        if not c.has_range:
            return torch.tensor([c.lengthscale], dtype=torch.float64)
        low, high = math.log(c.min_lengthscale), math.log(c.max_lengthscale)
        mid = (torch.arange(GRID, dtype=torch.float64) + 0.5) / GRID
        return torch.exp(low + (high - low) * mid)

    def sample(
        self, n_tasks: int, n_train: int, n_query: int, *, generator: torch.Generator
    ) -> Tasks:
        """T tasks; truth["lengthscale"] (T,) is each task's ℓ in units of √D. Without a range
        the draws are those of the fixed-ℓ family (ℓ takes no random number)."""
        c = self.cfg
        n = n_train + n_query
        x = sample_inputs(n_tasks, n, c.dim, c.x_mean, c.x_scale, generator).double()
        if c.has_range:
            low, high = math.log(c.min_lengthscale), math.log(c.max_lengthscale)
            u = torch.rand(n_tasks, generator=generator, dtype=x.dtype)
            length = torch.exp(low + (high - low) * u)
            cov = self.kernel(x, x, length[:, None, None])
        else:
            length = torch.full((n_tasks,), c.lengthscale, dtype=x.dtype)
            cov = self.kernel(x, x)
        chol = torch.linalg.cholesky(cov + 1e-6 * torch.eye(n, dtype=x.dtype))  # jitter
        z = torch.randn(n_tasks, n, 1, generator=generator, dtype=x.dtype)
        f = (chol @ z).squeeze(-1)
        y = (f + c.noise**0.5 * torch.randn(f.shape, generator=generator, dtype=x.dtype)).float()
        x = x.float()
        truth = {"lengthscale": length.float()}
        return Tasks(x[:, :n_train], y[:, :n_train], x[:, n_train:], y[:, n_train:], truth)

    def bayes(
        self, x_train: torch.Tensor, y_train: torch.Tensor, x_query: torch.Tensor
    ) -> torch.Tensor:
        """The exact posterior mean (T, Q): Σ_g w_g k_g(x_q, X) (K_g + βI)⁻¹ y, in float64."""
        log_w, mean, _ = self.posterior(x_train, y_train, x_query)
        return mixture_mean(log_w, mean).to(x_query.dtype)

    def predictive(
        self, x_train: torch.Tensor, y_train: torch.Tensor, x_query: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The mean and variance (T, Q) each of the exact predictive mixture of y at x_query
        (the variance includes the noise β)."""
        log_w, mean, var = self.posterior(x_train, y_train, x_query)
        w = log_w.exp().unsqueeze(-1)
        mixed = (w * mean).sum(1)
        second = (w * (var + mean.square())).sum(1)
        dtype = x_query.dtype
        return mixed.to(dtype), (second - mixed.square()).clamp_min(0.0).to(dtype)

    def log_predictive(
        self,
        x_train: torch.Tensor,
        y_train: torch.Tensor,
        x_query: torch.Tensor,
        y_query: torch.Tensor,
    ) -> torch.Tensor:
        """The exact log density (T, Q) of each target y_query under the predictive mixture
        (each query on its own, given the training points): logsumexp over the grid."""
        log_w, mean, var = self.posterior(x_train, y_train, x_query)
        return mixture_log_density(log_w, mean, var, y_query.double()).to(x_query.dtype)

    def posterior(
        self, x_train: torch.Tensor, y_train: torch.Tensor, x_query: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """ℓ's posterior on the grid and each grid point's predictive, in float64: log weights
        (T, G) (normalized), means (T, G, Q) and variances (T, G, Q) of y (noise included).
        Tasks go in chunks that keep each (tasks, G, n, n) buffer under CHUNK entries."""
        X, Xq, y = x_train.double(), x_query.double(), y_train.double()
        T, n = X.shape[:2]
        grid = self.grid()
        if n == 0:  # the prior predictive: mean 0, variance s² + β, for every ℓ
            mean = Xq.new_zeros(T, len(grid), Xq.shape[1])
            log_w = torch.full((T, len(grid)), -math.log(len(grid)), dtype=X.dtype)
            return log_w, mean, mean + self.cfg.signal_scale**2 + self.cfg.noise
        size = max(1, CHUNK // (len(grid) * n * n))
        parts = [
            self._posterior(X[i : i + size], y[i : i + size], Xq[i : i + size], grid)
            for i in range(0, T, size)
        ]
        return tuple(torch.cat(p) for p in zip(*parts, strict=True))

    def _posterior(
        self, X: torch.Tensor, y: torch.Tensor, Xq: torch.Tensor, grid: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`posterior` for one chunk of tasks, n ≥ 1."""
        n, G = X.shape[1], len(grid)
        length = grid[:, None, None]  # (G, 1, 1): against (T, 1, ·, n) distances
        eye = self.cfg.noise * torch.eye(n, dtype=X.dtype)
        gram = self.kernel(X.unsqueeze(1), X.unsqueeze(1), length) + eye  # (T, G, n, n)
        cross = self.kernel(Xq.unsqueeze(1), X.unsqueeze(1), length)  # (T, G, Q, n)
        chol = torch.linalg.cholesky(gram)
        rhs = y[:, None, :, None].expand(-1, G, -1, -1)  # (T, G, n, 1)
        alpha = torch.cholesky_solve(rhs, chol)
        mean = (cross @ alpha).squeeze(-1)  # (T, G, Q)
        v = torch.linalg.solve_triangular(chol, cross.transpose(-1, -2), upper=False)
        var = self.cfg.signal_scale**2 - v.square().sum(-2) + self.cfg.noise
        # log p(y | X, ℓ) = -½ yᵀα - Σ log diag L - n/2 log 2π; p(ℓ) is equal on the grid
        fit = (rhs * alpha).sum((-1, -2))
        log_det = chol.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        log_like = -0.5 * fit - log_det - 0.5 * n * math.log(2 * math.pi)
        return torch.log_softmax(log_like, dim=1), mean, var.clamp_min(1e-12)
