"""Parametric generative IAI: θ is a Gaussian mixture, refined by h_φ from the samples and ∇θ
of the mixture's negative log-likelihood; the density is exact.

θ holds, per component k of K: a weight logit, a mean (D) and the D(D + 1)/2 entries of a
Cholesky factor of its covariance (log-diagonal, then the entries below). The update network
is a set transformer over one token per component (its parameters, and the batch-mean
gradient of the NLL with respect to them) and one token per sample (the sample, its log
density under θ and its responsibilities), reading out a change for each component:
θ⁽ᵏ⁺¹⁾ = θ⁽ᵏ⁾ + ρₖ Δ_φ(θ⁽ᵏ⁾, Bₖ), ρₖ = B / (n + B), as in `iai.learners.parametric`.

Why component tokens rather than θ in flat chunks: a mixture is the same under any
permutation of its components, and a token per component lets one network weight each the
same way (a learned code per component breaks the tie at the start).
"""

from dataclasses import dataclass, replace
from typing import ClassVar, Literal

import torch
from torch import nn
from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal

from iai.learners.base import GenerativeLearner, Origin, check_config
from iai.models.clock import ClockEmbedding, step_clock
from iai.models.heads import ZeroLinear
from iai.models.set_transformer import SetTransformer
from iai.tasks.mixtures import sample_mixture
from iai.tasks.objective import Objective


@dataclass(frozen=True)
class MixtureConfig:
    kind: Literal["mixture"] = "mixture"
    components: int = 8
    signal: Literal["data", "grad", "both"] = "both"
    width: int = 128
    depth: int = 3
    heads: int = 4

    def __post_init__(self) -> None:
        check_config(self, ("components", "width", "depth", "heads"))


@dataclass(frozen=True)
class MixtureState:
    theta: torch.Tensor  # (T, K, 1 + D + D(D + 1)/2)
    seen: int = 0

    def detach(self) -> "MixtureState":
        return replace(self, theta=self.theta.detach())


class MixtureLearner(GenerativeLearner):
    exact_density: ClassVar[bool] = True

    def __init__(
        self, cfg: MixtureConfig, dim: int, objective: Objective, origin: Origin | None = None
    ) -> None:
        super().__init__(cfg, dim, objective, origin)
        K, W, D = cfg.components, cfg.width, dim
        self.n_tril = D * (D + 1) // 2
        P = 1 + D + self.n_tril  # parameters per component
        rows, cols = torch.tril_indices(D, D, offset=-1)
        self.register_buffer("below", torch.stack([rows, cols]), persistent=False)
        # θ⁽⁰⁾: equal weights, means spread over the prior's scale, standard deviations 1
        theta0 = torch.zeros(K, P)
        theta0[:, 1 : 1 + D] = 2.0 * torch.randn(K, D)
        self.theta0 = nn.Parameter(theta0)
        grad_in = P if cfg.signal != "data" else 0
        self.embed_component = nn.Linear(P + grad_in, W)
        self.component_code = nn.Parameter(0.02 * torch.randn(K, W))
        self.embed_point = nn.Linear(D + 1 + K, W) if cfg.signal != "grad" else None
        self.embed_time = ClockEmbedding(W)
        self.net = SetTransformer(W, cfg.depth, cfg.heads)
        self.head = ZeroLinear(W, P)

    def parts(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """θ (T, K, P) -> the weights' logits (T, K), means (T, K, D), Cholesky factors of the
        covariances (T, K, D, D)."""
        D = self.dim
        logits, means, tril = theta[..., 0], theta[..., 1 : 1 + D], theta[..., 1 + D :]
        below = torch.zeros(*tril.shape[:-1], D, D, dtype=tril.dtype, device=tril.device)
        below[..., self.below[0], self.below[1]] = tril[..., D:]
        return logits, means, torch.diag_embed(tril[..., :D].exp()) + below

    def components_of(self, state: MixtureState):
        """The mixture of a state, as `parts` gives it: what `iai.models.mixture_field` reads."""
        return self.parts(state.theta)

    def distribution(self, theta: torch.Tensor) -> MixtureSameFamily:
        """The mixtures θ (T, K, P) describe, scoring points (T, M, D)."""
        logits, means, scale = self.parts(theta)
        # no argument validation: a non-finite θ is refused by name where it surfaces (API)
        components = MultivariateNormal(
            means[:, None], scale_tril=scale[:, None], validate_args=False
        )
        return MixtureSameFamily(
            Categorical(logits=logits[:, None], validate_args=False), components, False
        )

    def init(self, x_query: torch.Tensor) -> MixtureState:
        return MixtureState(self.theta0.expand(x_query.shape[0], -1, -1))

    def step(self, state: MixtureState, x: torch.Tensor, y=None) -> MixtureState:
        """One mini-batch of samples x (T, B, D) -> the next θ."""
        B, theta = x.shape[1], state.theta
        rho = step_clock(state.seen, B)
        time = self.embed_time(rho)
        with torch.enable_grad():  # the signals are read off a copy of θ outside the graph
            leaf = theta.detach().requires_grad_(True)
            mix = self.distribution(leaf)
            log_p = mix.log_prob(x)  # (T, B)
            grads = None
            if self.cfg.signal != "data":  # batch-mean ∇θ of the NLL
                (grads,) = torch.autograd.grad(-log_p.mean(1).sum(), leaf, retain_graph=True)
        comp = [theta] if grads is None else [theta, grads]
        tokens = [self.embed_component(torch.cat(comp, -1)) + self.component_code + time]
        if self.embed_point is not None:
            resp = (
                mix.component_distribution.log_prob(x[..., None, :])
                + mix.mixture_distribution.logits
            )
            resp = resp.softmax(-1)  # (T, B, K) responsibilities
            feats = torch.cat([x, log_p[..., None], resp], -1).detach()
            tokens.append(self.embed_point(feats))
        K = self.cfg.components
        h = self.net(torch.cat(tokens, 1), read=slice(0, K))  # (T, K, W)
        return MixtureState(theta + rho * self.head(h), state.seen + B)

    def loss(self, state: MixtureState, x_query: torch.Tensor, y_query=None) -> torch.Tensor:
        """The negative log-likelihood of the held-out samples x₁ of the query rows."""
        x1, _, _ = self.objective.split(x_query)
        return -self.log_prob(state, x1).mean()

    def log_prob(self, state: MixtureState, x: torch.Tensor) -> torch.Tensor:
        """The mixture's exact log density at x (T, M, D), (T, M)."""
        return self.distribution(state.theta).log_prob(x)

    def sample(
        self, state: MixtureState, n: int, generator: torch.Generator | None
    ) -> torch.Tensor:
        """n samples per task, (T, n, D), drawn with `generator` (on the CPU)."""
        theta = state.theta.cpu()
        bad = ~torch.isfinite(theta).all(-1).all(-1)  # (T,): a θ that overflowed
        mix = self.distribution(theta.nan_to_num())
        components = mix.component_distribution
        weights = mix.mixture_distribution.probs[:, 0]  # (T, K)
        tril = components.scale_tril[:, 0]  # (T, K, D, D)
        x = sample_mixture(weights, components.loc[:, 0], tril, n, generator=generator)
        x[bad] = float("nan")  # for the API to refuse by name, rather than fail in torch
        return x.to(state.theta.device)
