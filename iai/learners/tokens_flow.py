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
from iai.models.latent_tokens import TokenReader, TokensState, TokenUpdate, embedding
from iai.models.precision import full_precision
from iai.tasks.objective import Objective


class TokensFlow(FlowLearner):
    def __init__(
        self, cfg: FlowConfig, dim: int, objective: Objective, origin: Origin | None = None
    ) -> None:
        super().__init__(cfg, dim, objective, origin)
        W = cfg.width
        self.update = TokenUpdate(cfg.latents, W, cfg.depth, cfg.heads, pooled=False)
        self.embed_point = embedding(dim, W)
        self.embed_grad = nn.Linear(W, W) if cfg.signal == "both" else None
        self.field = TokenReader(dim + 1 + 2 * FREQUENCIES, W, cfg.field_depth, cfg.heads, dim)
        register_probes(self, cfg.probes, dim)

    def init(self, x_query: torch.Tensor) -> TokensState:
        return self.update.init(x_query.shape[0])

    def step(self, state: TokensState, x: torch.Tensor, y=None) -> TokensState:
        """One mini-batch of samples x (T, B, D) -> the next latents."""
        grad = None
        if self.embed_grad is not None:
            grad = self.embed_grad(self._latent_grad(state, x))
        return self.update(state, self.embed_point(x), grad)

    def _latent_grad(self, state: TokensState, x: torch.Tensor) -> torch.Tensor:
        """∇z (T, M, W) of each task's mean flow-matching loss over the batch's samples at the
        probes, at a copy of z outside the graph (a signal, as in the explicit flow)."""
        T, B, D = x.shape
        P = self.probe_t.shape[0]
        pairs = (x[:, :, None].expand(T, B, P, D), self.probe_x0.expand(T, B, P, D))
        rows = torch.cat([*pairs, self.probe_t.expand(T, B, P, 1)], -1).flatten(1, 2)

        def total(z: torch.Tensor) -> torch.Tensor:  # the tasks' mean losses, summed
            return self.loss(replace(state, z=z), rows) * T

        with full_precision(state.z):  # a signal (iai.models.precision)
            return torch.func.grad(total)(state.z.detach()).detach()

    def _field(self, state: TokensState, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """v_γ at x (T, n, D), t (T, n, 1): each point's attention to its task's tokens."""
        return self.field(state.z, torch.cat([x, time_features(t)], -1))

    def query_velocity(self, state: TokensState, x_query: torch.Tensor) -> torch.Tensor:
        xt, t, _ = self.objective.flow_pair(x_query)
        return self._field(state, xt, t)

    def velocity(self, state: TokensState, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self._field(state, x, t.expand(*x.shape[:-1], 1))

    def _tasks(self, state: TokensState) -> int:
        return state.z.shape[0]
