"""Gaussian mixtures in 2-D: the generative family with an exact density (paper Fig. 2).

A task is a mixture of K components, K uniform in min_components … components, weights
~ Dirichlet(1), means ~ N(0, (2 · prior_scale)² I), and each component's covariance a random
rotation of per-axis standard deviations uniform in [0.2, 0.8]. Components a task does not
use carry weight 0, so tasks with different K batch together.
"""

import math
from dataclasses import dataclass, replace
from typing import Literal

import torch
from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal

from iai.errors import InvalidConfig
from iai.tasks.base import DensityFamily, Tasks
from iai.tasks.config import TaskConfig, at_least, positive
from iai.tasks.objective import Density

STD_RANGE = (0.2, 0.8)


@dataclass(frozen=True)
class GaussianMixturesConfig(TaskConfig):
    """min_components … components components per task, means N(0, (2 · prior_scale)² I)."""

    name: Literal["gaussian_mixtures"] = "gaussian_mixtures"
    dim: int = 2
    prior_scale: float = positive(1.0)
    min_components: int = at_least(1, 1)
    components: int = 5
    shifts = {  # more components than trained on; means spread twice as wide
        "many_components": lambda c: replace(c, min_components=6, components=8),
        "wide_prior": lambda c: replace(c, prior_scale=2.0 * c.prior_scale),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dim != 2:
            raise InvalidConfig(
                f"gaussian_mixtures samples 2-D points: set task.dim = 2, not {self.dim}"
            )
        if self.components < self.min_components:
            raise InvalidConfig(
                f"task.components = {self.components!r}; must be ≥ task.min_components"
            )


class GaussianMixtures(DensityFamily):
    out_dim = 2
    cfg: GaussianMixturesConfig

    def sample(
        self, n_tasks: int, n_points: int, n_query: int, *, generator: torch.Generator
    ) -> Tasks:
        truth = self.draw(n_tasks, generator=generator)
        x_train = self.points(truth, n_points, generator=generator)
        x1 = self.points(truth, n_query, generator=generator)
        return Tasks(x_train, None, Density(2).queries(x1, generator), None, truth)

    def draw(self, n_tasks: int, *, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Each task's mixture: weights (T, K), means (T, K, 2), scale (T, K, 2, 2) with
        covariance scale · scaleᵀ, and components (T,) in use; K = cfg.components."""
        lo, hi, T = self.cfg.min_components, self.cfg.components, n_tasks
        used = torch.randint(lo, hi + 1, (T,), generator=generator)
        # Dirichlet(1) over the components in use: normalized Exponential(1) draws
        gamma = -torch.rand(T, hi, generator=generator).log()
        gamma = gamma * (torch.arange(hi) < used[:, None])
        weights = gamma / gamma.sum(-1, keepdim=True)
        means = 2 * self.cfg.prior_scale * torch.randn(T, hi, 2, generator=generator)
        std = STD_RANGE[0] + (STD_RANGE[1] - STD_RANGE[0]) * torch.rand(
            T, hi, 2, generator=generator
        )
        angle = 2 * math.pi * torch.rand(T, hi, generator=generator)
        c, s = angle.cos(), angle.sin()
        rotation = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
        scale = rotation * std[..., None, :]  # R diag(std): columns scaled
        return {"weights": weights, "means": means, "scale": scale, "components": used}

    def points(
        self, truth: dict[str, torch.Tensor], n: int, *, generator: torch.Generator
    ) -> torch.Tensor:
        """n fresh samples of each task's mixture, (T, n, 2)."""
        return sample_mixture(
            truth["weights"], truth["means"], truth["scale"], n, generator=generator
        )

    def log_prob(self, truth: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """The exact log density of each task's mixture at x (T, M, 2) -> (T, M)."""
        return mixture(truth["weights"], truth["means"], truth["scale"]).log_prob(x)


def sample_mixture(
    weights: torch.Tensor,
    means: torch.Tensor,
    scale: torch.Tensor,
    n: int,
    *,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """n draws per task, (T, n, D), of mixtures with weights (T, K), means (T, K, D) and scale
    (T, K, D, D) (covariance scale · scaleᵀ): a component by its weight, then mean + scale · ε.
    The one sampler of the task family, the mixture learner and the EM baseline."""
    D = means.shape[-1]
    comp = torch.multinomial(weights, n, replacement=True, generator=generator)  # (T, n)
    eps = torch.randn(*comp.shape, D, generator=generator, dtype=means.dtype)
    mu = means.gather(1, comp[..., None].expand(-1, -1, D))
    sc = scale.gather(1, comp[..., None, None].expand(-1, -1, D, D))
    return mu + (sc @ eps[..., None]).squeeze(-1)


def mixture(weights: torch.Tensor, means: torch.Tensor, scale: torch.Tensor) -> MixtureSameFamily:
    """Mixtures batched over tasks, to score points (T, M, 2): weights (T, K), means (T, K, 2),
    scale (T, K, 2, 2) (covariance scale · scaleᵀ)."""
    cov = scale @ scale.transpose(-1, -2)
    components = MultivariateNormal(means[:, None], covariance_matrix=cov[:, None])
    return MixtureSameFamily(Categorical(probs=weights[:, None]), components)
