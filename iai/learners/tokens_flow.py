"""The explicit flow with a state of latent tokens (`learner.kind = "flow"`, `regime = "tokens"`).

Why. The explicit flow's state is one latent vector z read by an MLP field v_γ(x, t, z): on
Gaussian mixtures its samples stay several times further from the truth than EM's, and its
letters are seldom recognized, because one vector read by concatenation cannot hold where each
of several components, or each stroke of a letter, lies. Here the state is M latent tokens
refined from the samples by `iai.models.latent_tokens.TokenUpdate`, and the field is the
query's attention to them: a point (x_t, t) reads the tokens that describe its neighbourhood.

The signals: the latents read the batch's samples (`data`), and with `both` also ∇z of the
batch's mean flow-matching loss at the fixed probes (x₀, t) of the explicit flow. Sampling
costs the same whatever the context size, and the state is flat in the number of samples.

The floor (`floor` = K > 0). Trained from nothing, the token field's samples stayed 10–14 ×
further from mixtures than EM's (`benchmarks/results/generative-tokens/gmm.md` before the
floor), while the mixture learner, whose state is a mixture, came within 1.3–1.5 ×. So the
state also carries a mixture of K Gaussians refined as `iai.learners.mixture` refines it
(trained by its NLL beside the flow-matching loss), and the field is the mixture's exact
flow-matching field (`iai.models.mixture_field`) plus the tokens' correction, which starts
at zero: an untrained learner samples its mixture, and the tokens may learn what a mixture of
K cannot hold. Measured, they did not: with the correction set to zero the committed learners
score the same (docs/generative.md, "The mixture floor"). The points the tokens read carry
their log density under the mixture, and each query the mixture's field at it. With
`floor_update = "em"` the mixture is fitted by online EM instead (`iai.models.online_em`):
the learned update fell apart where the mixtures' means lay further out than in training.
"""

from dataclasses import replace

import torch
from torch import nn

from iai.learners.base import Origin
from iai.learners.flow import (
    FREQUENCIES,
    FlowConfig,
    FlowLearner,
    register_probes,
    time_features,
)
from iai.learners.mixture import MixtureConfig, MixtureLearner
from iai.models.latent_tokens import TokenReader, TokensState, TokenUpdate, embedding
from iai.models.mixture_field import mixture_velocity
from iai.models.online_em import OnlineEM
from iai.models.precision import full_precision
from iai.tasks.objective import Objective


class TokensFlow(FlowLearner):
    def __init__(
        self, cfg: FlowConfig, dim: int, objective: Objective, origin: Origin | None = None
    ) -> None:
        super().__init__(cfg, dim, objective, origin)
        W, floor = cfg.width, cfg.floor > 0
        self.update = TokenUpdate(cfg.latents, W, cfg.depth, cfg.heads, pooled=False)
        self.embed_point = embedding(dim + floor, W)
        self.embed_grad = nn.Linear(W, W) if cfg.signal == "both" else None
        query = dim + 1 + 2 * FREQUENCIES + (dim if floor else 0)
        self.field = TokenReader(query, W, cfg.field_depth, cfg.heads, dim, correction=floor)
        self.floor = None
        if floor and cfg.floor_update == "em":
            self.floor = OnlineEM(cfg.floor, dim, objective)
        elif floor:
            mixture = MixtureConfig(components=cfg.floor, width=W, depth=cfg.depth, heads=cfg.heads)
            self.floor = MixtureLearner(mixture, dim, objective)
        register_probes(self, cfg.probes, dim)

    def init(self, x_query: torch.Tensor) -> TokensState:
        state = self.update.init(x_query.shape[0])
        if self.floor is None:
            return state
        return replace(state, stats=self.floor.init(x_query))

    def step(self, state: TokensState, x: torch.Tensor, y=None) -> TokensState:
        """One mini-batch of samples x (T, B, D) -> the next latents (and mixture)."""
        grad = None
        if self.embed_grad is not None:
            grad = self.embed_grad(self._latent_grad(state, x))
        if self.floor is None:
            return self.update(state, self.embed_point(x), grad)
        log_p = self.floor.log_prob(state.stats, x).detach()[..., None]  # (T, B, 1)
        new = self.update(state, self.embed_point(torch.cat([x, log_p], -1)), grad)
        return replace(new, stats=self.floor.step(state.stats, x))

    def loss(self, state: TokensState, x_query: torch.Tensor, y_query=None) -> torch.Tensor:
        """Flow matching, and with a floor its mixture's NLL at the query rows' samples x₁."""
        fm = super().loss(state, x_query)
        return fm if self.floor is None else fm + self.floor.loss(state.stats, x_query)

    def _latent_grad(self, state: TokensState, x: torch.Tensor) -> torch.Tensor:
        """∇z (T, M, W) of each task's mean flow-matching loss over the batch's samples at the
        probes, at a copy of z outside the graph (a signal, as in the explicit flow)."""
        T, B, D = x.shape
        P = self.probe_t.shape[0]
        pairs = (x[:, :, None].expand(T, B, P, D), self.probe_x0.expand(T, B, P, D))
        rows = torch.cat([*pairs, self.probe_t.expand(T, B, P, 1)], -1).flatten(1, 2)

        def total(z: torch.Tensor) -> torch.Tensor:  # the tasks' mean losses, summed
            return FlowLearner.loss(self, replace(state, z=z), rows) * T  # (a floor's NLL: no z)

        with full_precision(state.z):  # a signal (iai.models.precision)
            return torch.func.grad(total)(state.z.detach()).detach()

    def _field(self, state: TokensState, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """v_γ at x (T, n, D), t (T, n, 1) or one time per task (T, 1, 1): each point's
        attention to its task's tokens (plus, with a floor, its mixture's exact field)."""
        times = time_features(t.expand(*x.shape[:-1], 1))
        if self.floor is None:
            return self.field(state.z, torch.cat([x, times], -1))
        base = mixture_velocity(*self.floor.components_of(state.stats), x, t)
        return base + self.field(state.z, torch.cat([x, times, base], -1))

    def query_velocity(self, state: TokensState, x_query: torch.Tensor) -> torch.Tensor:
        xt, t, _ = self.objective.flow_pair(x_query)
        return self._field(state, xt, t)

    def velocity(self, state: TokensState, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self._field(state, x, t.expand(x.shape[0], 1, 1))

    def _tasks(self, state: TokensState) -> int:
        return state.z.shape[0]
