"""Linear regression y = wᵀ[x, 1] + ε, w ~ N(0, s² I), ε ~ N(0, β), and its exact posterior."""

import torch

from iai.tasks.base import Tasks, sample_inputs, with_bias
from iai.tasks.config import INPUT_SHIFTS, TaskConfig


class LinearRegression:
    kind = "regression"
    model = "linear"  # the fixed model f(x; θ) that suits it: baselines and grid cells use it
    variants = INPUT_SHIFTS

    def __init__(self, cfg: TaskConfig) -> None:
        self.cfg, self.dim = cfg, cfg.dim
        self.out_dim = 1

    def sample(
        self, n_tasks: int, n_train: int, n_query: int, *, generator: torch.Generator
    ) -> Tasks:
        c = self.cfg
        w = c.prior_scale * torch.randn(n_tasks, c.dim + 1, generator=generator)  # (T, D + 1)
        x = sample_inputs(n_tasks, n_train + n_query, c.dim, c.x_mean, c.x_scale, generator)
        f = torch.einsum("tnd,td->tn", with_bias(x), w)
        y = f + c.noise**0.5 * torch.randn(f.shape, generator=generator)
        return Tasks(x[:, :n_train], y[:, :n_train], x[:, n_train:], y[:, n_train:], {"w": w})

    def bayes(
        self, x_train: torch.Tensor, y_train: torch.Tensor, x_query: torch.Tensor
    ) -> torch.Tensor:
        """Posterior predictive mean at x_query (T, Q, D) given (x_train (T, N, D), y_train (T, N)).

        The Bayes-optimal prediction under squared error: E[w | D] = (I/s² + XᵀX/β)⁻¹ Xᵀy/β.
        Computed in float64 so it is a reference, not an approximation.
        """
        c = self.cfg
        X = with_bias(x_train.double())  # (T, N, D + 1)
        precision = X.transpose(1, 2) @ X / c.noise
        precision += torch.eye(X.shape[-1], dtype=X.dtype) / c.prior_scale**2
        rhs = X.transpose(1, 2) @ y_train.double().unsqueeze(-1) / c.noise  # (T, D + 1, 1)
        w = torch.linalg.solve(precision, rhs).squeeze(-1)
        # A shifted prior mean would enter here; every variant keeps the prior centred at 0.
        return torch.einsum("tqd,td->tq", with_bias(x_query.double()), w).to(x_query.dtype)
