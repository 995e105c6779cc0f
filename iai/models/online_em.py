"""A mixture of K Gaussians fitted by online EM: the token flow's mixture floor with
`floor_update = "em"` (`iai.learners.tokens_flow`), the mixture counterpart of the regression
floor's exact sums (`iai.models.feature_bayes`).

Why. The learned mixture update (`iai.learners.mixture`) is as good as the tasks it was trained
on: with means twice as spread as in training, the mixture learner's samples were 7.7 × EM's
energy distance from the truth, the token flow's on it 8.5 × (benchmarks/results/
generative-tokens/gmm.md). EM needs no training to find a mixture wherever it lies. Stepwise
EM (Cappé & Moulines 2009; Neal & Hinton 1998) carries each component's sufficient
statistics, Σ r, Σ r x and Σ r xxᵀ over the samples read, each sample's responsibilities r
taken under the mixture as its batch was read: memory flat in the number of samples, one pass.

Each batch: a few EM iterations on the batch alone (`INNER`), its responsibilities under the
mixture refitted to the sums with the batch's current share; then the batch's share joins the
sums. The M-step is the MAP fit under a conjugate prior: a Dirichlet of pseudo-count 1 on the
weights, an inverse Wishart of ν pseudo-samples of covariance ψ s² I on each covariance, s²
the first batch's variance (1 if it has none: one sample, or copies of one), so the prior
scales with the data (ν and ψ are learned across tasks, as offsets over GAIN:
`iai.models.fourier_basis`). The first batch also places the means, by farthest-point
traversal of its samples (Gonzalez 1985): a batch of fewer than K samples leaves some
components the same, and EM keeps them so. Before any sample the mixture is N(0, I). float64
throughout, float32 out.

Not order-free, as the regression floor's sums are: a sample's responsibilities are those of
the mixture when its batch was read. Measured, checkpoints/gmm-2d-tokens's floor alone (its
tokens' correction set to zero) after 320 samples in 10 batches of 32 is 1.12 ×, 1.00 × and
1.23 × EM's energy distance in distribution, with 6–8 components and with means twice as spread
(benchmarks/results/generative-tokens/gmm.md).
"""

import math
from dataclasses import dataclass, fields

import torch
from torch import nn
from torch.distributions import MultivariateNormal

from iai.models.fourier_basis import GAIN
from iai.models.precision import full_precision
from iai.tasks.objective import Objective

INNER = 3  # EM iterations on each batch before it joins the sums
PRIOR_SAMPLES, PRIOR_SCALE = 3.0, 0.05  # ν and ψ before training


@dataclass(frozen=True)
class EMStats:
    """Per task and component: the sums over the samples read, and the mixture they give."""

    count: torch.Tensor  # (T,): samples read
    spread: torch.Tensor  # (T,): s², the first batch's variance (0 before it)
    weight: torch.Tensor  # (T, K): Σ r
    first: torch.Tensor  # (T, K, D): Σ r x
    second: torch.Tensor  # (T, K, D, D): Σ r xxᵀ
    logits: torch.Tensor  # (T, K): the mixture's log weights
    means: torch.Tensor  # (T, K, D)
    scale_tril: torch.Tensor  # (T, K, D, D): Cholesky factors of the covariances

    def detach(self) -> "EMStats":
        return EMStats(**{f.name: getattr(self, f.name).detach() for f in fields(self)})


class OnlineEM(nn.Module):
    """K components in D dimensions; `objective` splits the query rows (`loss`)."""

    def __init__(self, components: int, dim: int, objective: Objective) -> None:
        super().__init__()
        self.components, self.dim, self.objective = components, dim, objective
        self.samples_offset = nn.Parameter(torch.zeros(()))  # log ν − log PRIOR_SAMPLES, / GAIN
        self.scale_offset = nn.Parameter(torch.zeros(()))  # log ψ − log PRIOR_SCALE, / GAIN

    def init(self, x_query: torch.Tensor) -> EMStats:
        """No sample read: K components N(0, I), equally weighted."""
        T, K, D = x_query.shape[0], self.components, self.dim
        z = torch.zeros((), dtype=torch.float64, device=x_query.device)
        eye = torch.eye(D, dtype=torch.float64, device=x_query.device)
        logits = z.expand(T, K) - math.log(K)
        return EMStats(
            z.expand(T), z.expand(T), z.expand(T, K), z.expand(T, K, D), z.expand(T, K, D, D),
            logits, z.expand(T, K, D), eye.expand(T, K, D, D),
        )  # fmt: skip

    def step(self, stats: EMStats, x: torch.Tensor) -> EMStats:
        """The sums and mixture after a batch of samples x (T, B, D)."""
        with full_precision(x):
            x = x.double()
            fresh = stats.count == 0  # (T,)
            var = x.var(1, correction=0).mean(-1)  # (T,); 1 where there is none to see
            spread = torch.where(fresh, torch.where(var > 0, var, 1.0), stats.spread)
            logits, means, tril = self._start(stats, x, fresh, spread)
            sums = (stats.weight, stats.first, stats.second)
            for _ in range(INNER):
                r = self._log_joint(logits, means, tril, x).softmax(-1)  # (T, B, K)
                share = (
                    r.sum(1),
                    torch.einsum("tbk,tbd->tkd", r, x),
                    torch.einsum("tbk,tbd,tbe->tkde", r, x, x),
                )
                total = [s + b for s, b in zip(sums, share, strict=True)]
                logits, means, tril = self._fit(*total, spread)
            return EMStats(stats.count + x.shape[1], spread, *total, logits, means, tril)

    def _start(self, stats: EMStats, x: torch.Tensor, fresh: torch.Tensor, spread: torch.Tensor):
        """The mixture the batch's E-steps start from: the current one, or for a task's first
        batch K means spread over its samples, each of covariance s² / K, equally weighted."""
        K, D = self.components, self.dim
        if not fresh.any():  # every task past its first batch: the current mixture
            return stats.logits, stats.means, stats.scale_tril
        picked = farthest_points(x, K)  # (T, K, D)
        eye = torch.eye(D, dtype=x.dtype, device=x.device)
        scale = (spread / K).sqrt()[:, None, None, None] * eye  # (T, 1, D, D)
        f = fresh[:, None]
        logits = torch.where(f, torch.full_like(stats.logits, -math.log(K)), stats.logits)
        means = torch.where(f[..., None], picked, stats.means)
        tril = torch.where(f[..., None, None], scale.expand_as(stats.scale_tril), stats.scale_tril)
        return logits, means, tril

    def _fit(self, weight, first, second, spread):
        """The MAP mixture of the sums (see the module docstring)."""
        nu = (math.log(PRIOR_SAMPLES) + GAIN * self.samples_offset.double()).exp()
        psi = (math.log(PRIOR_SCALE) + GAIN * self.scale_offset.double()).exp() * spread
        eye = torch.eye(self.dim, dtype=first.dtype, device=first.device)
        n = weight[..., None]  # (T, K, 1)
        means = first / n.clamp_min(torch.finfo(first.dtype).tiny)
        scatter = second - n[..., None] * means[..., :, None] * means[..., None, :]
        prior = (nu * psi)[:, None, None, None] * eye
        cov = (scatter + prior) / (weight + nu)[..., None, None]
        logits = (weight + 1).log() - (weight.sum(-1, keepdim=True) + self.components).log()
        return logits, means, torch.linalg.cholesky(cov)

    def _log_joint(self, logits, means, tril, x):
        """log π_k N(x; μ_k, Σ_k) at x (T, M, D): (T, M, K)."""
        # no argument validation: a non-finite mixture is refused by name where it surfaces (API)
        normal = MultivariateNormal(means[:, None], scale_tril=tril[:, None], validate_args=False)
        return logits[:, None] + normal.log_prob(x[:, :, None])

    def components_of(self, stats: EMStats):
        """The mixture (log weights (T, K), means (T, K, D), Cholesky factors (T, K, D, D)),
        float32: what `iai.models.mixture_field` reads."""
        dtype = torch.get_default_dtype()
        return stats.logits.to(dtype), stats.means.to(dtype), stats.scale_tril.to(dtype)

    def log_prob(self, stats: EMStats, x: torch.Tensor) -> torch.Tensor:
        """The mixture's log density at x (T, M, D), (T, M)."""
        with full_precision(x):
            joint = self._log_joint(stats.logits, stats.means, stats.scale_tril, x.double())
            return joint.logsumexp(-1).to(x.dtype)

    def loss(self, stats: EMStats, x_query: torch.Tensor) -> torch.Tensor:
        """The negative log-likelihood of the query rows' held-out samples x₁: what trains ν
        and ψ."""
        x1, _, _ = self.objective.split(x_query)
        return -self.log_prob(stats, x1).mean()


def farthest_points(x: torch.Tensor, k: int) -> torch.Tensor:
    """k of each task's points x (T, N, D) by farthest-point traversal from its first, (T, k, D)."""
    rows = torch.arange(x.shape[0], device=x.device)
    picked = [x[:, 0]]
    distance = (x - picked[0][:, None]).square().sum(-1)  # (T, N)
    for _ in range(k - 1):
        picked.append(x[rows, distance.argmax(1)])
        distance = torch.minimum(distance, (x - picked[-1][:, None]).square().sum(-1))
    return torch.stack(picked, 1)
