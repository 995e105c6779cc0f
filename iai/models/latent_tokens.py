"""A state of M latent tokens of width W per task: the update h_φ that refines them from a
mini-batch's point tokens, the reader through which queries attend to them, and CMANP's exact
running pooled attention. The predictive and the generative token learners share all three
(`iai.learners.tokens`, `iai.learners.tokens_flow`).

The update. Each latent token reads the current z, a learned code of its own and the step
clock ρₖ (`iai.models.clock`); a set transformer over [latents, points] writes back
z⁽ᵏ⁺¹⁾ = z⁽ᵏ⁾ + ρₖ Δ_φ, with Δ_φ = 0 at the start (`ZeroLinear`): an untrained learner is its
prior z⁽⁰⁾ after any number of steps.

The pool (CMANP, Feng et al.). M fixed learned queries attend to every point read so far; the
softmax's numerator and denominator are sums over points, so they are carried in the state by
a running log-sum-exp, exactly and in any order, in memory flat in the number of points. With
`pooled`, the latents read that attention beside the update's own memory of the data.
"""

import math
from dataclasses import dataclass, replace
from typing import Protocol

import torch
from torch import nn

from iai.models.clock import ClockEmbedding, step_clock
from iai.models.heads import ZeroLinear
from iai.models.set_transformer import SetTransformer


@dataclass(frozen=True)
class Pool:
    """Per task, query and head: Σᵢ exp(sᵢ − top) vᵢ, Σᵢ exp(sᵢ − top) and top, the largest
    score sᵢ so far (the log-sum-exp stabiliser)."""

    num: torch.Tensor  # (T, M, H, W / H)
    den: torch.Tensor  # (T, M, H)
    top: torch.Tensor  # (T, M, H)

    def read(self) -> torch.Tensor:
        """The pooled attention (T, M, W), heads side by side: 0 before any point."""
        tiny = torch.finfo(self.den.dtype).tiny
        return (self.num / self.den.clamp_min(tiny)[..., None]).flatten(2)

    def detach(self) -> "Pool":
        return Pool(self.num.detach(), self.den.detach(), self.top.detach())


class PooledAttention(nn.Module):
    """M learned queries' multi-head attention over all points read, carried as a `Pool`."""

    def __init__(self, latents: int, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Parameter(torch.randn(latents, heads, width // heads) / math.sqrt(width))
        self.key = nn.Linear(width, width)
        self.value = nn.Linear(width, width)
        self.out = nn.Linear(width, width)

    def start(self, tasks: int, like: torch.Tensor) -> Pool:
        M, H, Wh = self.query.shape
        zeros = like.new_zeros(tasks, M, H)
        return Pool(like.new_zeros(tasks, M, H, Wh), zeros, zeros - math.inf)

    def add(self, pool: Pool, points: torch.Tensor) -> Pool:
        """The pool after a mini-batch of point tokens (T, B, W)."""
        split = (self.heads, points.shape[-1] // self.heads)
        keys = self.key(points).unflatten(-1, split)  # (T, B, H, W / H)
        values = self.value(points).unflatten(-1, split)
        s = torch.einsum("mhw,tbhw->tmhb", self.query, keys) / math.sqrt(split[1])
        top = torch.maximum(pool.top, s.amax(-1))
        carry, w = (pool.top - top).exp(), (s - top[..., None]).exp()  # (T, M, H), (T, M, H, B)
        num = pool.num * carry[..., None] + torch.einsum("tmhb,tbhw->tmhw", w, values)
        return Pool(num, pool.den * carry + w.sum(-1), top)


class FloorState(Protocol):
    """What a floor keeps beside the tokens, detached with them: an exact posterior
    (`iai.models.feature_bayes`, `feature_laplace`) or a mixture (`iai.learners.mixture`)."""

    def detach(self) -> "FloorState": ...


@dataclass(frozen=True)
class TokensState:
    z: torch.Tensor  # (T, M, W)
    seen: int = 0
    pool: Pool | None = None  # with `pooled`: the running attention over the points read
    # with a floor: its posterior (iai.learners.tokens) or its mixture (iai.learners.tokens_flow)
    stats: "FloorState | None" = None

    def detach(self) -> "TokensState":
        pool = None if self.pool is None else self.pool.detach()
        stats = None if self.stats is None else self.stats.detach()
        return replace(self, z=self.z.detach(), pool=pool, stats=stats)


class TokenUpdate(nn.Module):
    """h_φ: z⁽⁰⁾ and the step from (z⁽ᵏ⁾, the batch's point tokens) to z⁽ᵏ⁺¹⁾."""

    def __init__(self, latents: int, width: int, depth: int, heads: int, pooled: bool) -> None:
        super().__init__()
        self.z0 = nn.Parameter(0.02 * torch.randn(latents, width))
        self.latent_code = nn.Parameter(0.02 * torch.randn(latents, width))
        self.embed_time = ClockEmbedding(width)
        self.net = SetTransformer(width, depth, heads)
        self.head = ZeroLinear(width, width)
        self.pool = PooledAttention(latents, width, heads) if pooled else None

    def init(self, tasks: int) -> TokensState:
        z = self.z0.expand(tasks, -1, -1)
        return TokensState(z, pool=None if self.pool is None else self.pool.start(tasks, z))

    def forward(
        self, state: TokensState, points: torch.Tensor, extra: torch.Tensor | None = None
    ) -> TokensState:
        """Point tokens (T, B, W), and what else the latents read (T, M, W) -> the next state."""
        M, z = state.z.shape[1], state.z
        rho = step_clock(state.seen, points.shape[1])
        latents = z + self.latent_code + self.embed_time(rho)
        if extra is not None:
            latents = latents + extra
        pool = state.pool
        if self.pool is not None:
            pool = self.pool.add(pool, points)
            latents = latents + self.pool.out(pool.read())
        h = self.net(torch.cat([latents, points], 1), read=slice(0, M))  # (T, M, W)
        z = z + rho * self.head(h)
        return replace(state, z=z, seen=state.seen + points.shape[1], pool=pool)


def embedding(inputs: int, width: int) -> nn.Sequential:
    """A point's or a query's token: an MLP of its raw features. Why not a linear map: with a
    token linear in x, a dot-product score is linear in x too, and attention cannot single out
    the points, or the latents, near a query; the MLP gives it features local in x."""
    return nn.Sequential(nn.Linear(inputs, width), nn.GELU(), nn.Linear(width, width))


class TokenReader(nn.Module):
    """f_γ's body: each query (T, Q, inputs) attends to the latents in cross-attention blocks
    (queries do not see each other) and a linear head reads it, (T, Q, out); with `correction`
    the head starts at zero, the reader then a correction to what the query already carries."""

    def __init__(
        self, inputs: int, width: int, depth: int, heads: int, out: int, correction: bool = False
    ) -> None:
        super().__init__()
        self.embed_query = embedding(inputs, width)
        self.decoder = SetTransformer(width, depth, heads)
        self.out = nn.Linear(width, out)
        if correction:
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def forward(self, z: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        M = z.shape[1]
        tokens = torch.cat([z, self.embed_query(queries)], 1)
        return self.out(self.decoder(tokens, keys=M, read=slice(M, None)))
