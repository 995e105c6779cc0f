"""Generative IAI by conditional flow matching: a velocity field for the task, refined over its
mini-batches of samples, that carries N(0, I) to the task's distribution.

Flow matching (linear path): x_t = (1 − t) x₀ + t x₁, x₀ ~ N(0, I), x₁ a sample of the task;
the field is trained to predict x₁ − x₀ at (x_t, t), and sampling integrates dx/dt = v(x, t)
from t = 0 to 1 (`iai.models.flow_ode`). The training pairs (x₁, x₀, t) are the density
family's query rows (`iai.tasks.objective.Density`).

Three regimes, one config (`regime`):

- `implicit` (the paper's): the state is a latent per query point (x_t, t), refined by a set
  transformer in which each query attends to the mini-batch's samples,
  s⁽ᵏ⁺¹⁾ = s⁽ᵏ⁾ + ρₖ Δ([x_t, t, s⁽ᵏ⁾], Bₖ), and read out as a velocity. There is no task
  state outside the queries, so sampling re-runs the refinement over the context at every
  evaluation of the field: its state for sampling is the context itself, and its cost grows
  with the number of samples read. With one step over the whole context it is the one-step
  in-context model.
- `explicit` (beyond the paper): a task latent z refined from the samples (and, with the
  `both` signal, from ∇z of the flow-matching loss at each sample), z⁽ᵏ⁺¹⁾ = z⁽ᵏ⁾ + ρₖ Δ_φ,
  and a learned field v_γ(x_t, t, z). Once z is formed, sampling costs the same whatever the
  context size, and the state is flat in the number of samples read.
- `tokens` (issue 21): the explicit flow with a state of M latent tokens, the field a query's
  attention to them (`iai.learners.tokens_flow`).

The step clock ρₖ (`iai.models.clock`) scales the update and is the network's notion of
time, as in the predictive learners.
"""

import math
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

import torch
from torch import nn
from torch.func import grad, vmap

from iai.errors import InvalidConfig
from iai.learners.base import GenerativeLearner, Origin, check_config
from iai.models.clock import ClockEmbedding, step_clock
from iai.models.decoder import LatentDecoder
from iai.models.flow_ode import ADAPTIVE, FIXED, Solver, log_prob, transport
from iai.models.heads import ZeroLinear
from iai.models.precision import full_precision
from iai.models.set_transformer import SetTransformer
from iai.tasks.objective import Objective

FREQUENCIES = 4  # Fourier features of t: t, sin and cos of 2π f t for f = 1 … 4
MAX_COMPONENTS = 64  # the mixture floor's components: each costs a D × D solve per point


@dataclass(frozen=True)
class FlowConfig:
    kind: Literal["flow"] = "flow"
    regime: Literal["implicit", "explicit", "tokens"] = "implicit"
    signal: Literal["data", "both"] = "both"  # explicit, tokens: what z is refined from
    latent: int = 64  # per-query latent (implicit) or task latent z (explicit)
    latents: int = 16  # tokens: M latent tokens of width `width`
    width: int = 128
    depth: int = 3
    heads: int = 4
    field_hidden: int = 128  # explicit: the field v_γ(x, t, z)
    field_depth: int = 3  # explicit: the field's layers; tokens: its cross-attention blocks
    probes: int = 4  # explicit, tokens, `both`: (x₀, t) pairs per sample at which ∇z is taken
    # explicit, `both`: ∇z a constant to training, as FO-MAML's inner gradient (the field's
    # second derivatives are not taken; docs/training.md, "First-order signals"); the tokens
    # regime's always is
    first_order: bool = False
    floor: int = 0  # tokens: components of the mixture floor (iai.learners.tokens_flow); 0: none
    # the floor's mixture refined by the mixture learner's update, or by online EM
    floor_update: Literal["learned", "em"] = "learned"
    solver: Literal["euler", "midpoint", "rk4", "dopri5", "bosh3"] = "midpoint"
    ode_steps: int = 16  # fixed-step solvers
    rtol: float = 1e-4  # adaptive solvers
    atol: float = 1e-4

    def __post_init__(self) -> None:
        check_config(
            self,
            (
                "latent",
                "latents",
                "width",
                "depth",
                "heads",
                "field_hidden",
                "field_depth",
                "probes",
                "ode_steps",
            ),
        )
        if self.regime not in ("implicit", "explicit", "tokens"):
            raise InvalidConfig(
                f"learner.regime = {self.regime!r}; allowed: 'implicit', 'explicit', 'tokens'"
            )
        if not 0 <= self.floor <= MAX_COMPONENTS:
            raise InvalidConfig(
                f"learner.floor = {self.floor!r}; must be from 0 (no floor) to {MAX_COMPONENTS}"
            )
        if self.floor and self.regime != "tokens":
            raise InvalidConfig(
                f"learner.floor = {self.floor} needs learner.regime = 'tokens', not {self.regime!r}"
            )
        if self.floor_update not in ("learned", "em"):
            raise InvalidConfig(
                f"learner.floor_update = {self.floor_update!r}; allowed: 'learned', 'em'"
            )
        if self.floor_update == "em" and not self.floor:
            raise InvalidConfig("learner.floor_update = 'em' needs a floor: set learner.floor = K")
        if self.first_order and (self.regime, self.signal) != ("explicit", "both"):
            raise InvalidConfig(
                "learner.first_order = true needs learner.regime = 'explicit' with signal = "
                f"'both', whose ∇z it holds constant (not {self.regime!r} with {self.signal!r})"
            )
        if self.solver not in (*FIXED, *ADAPTIVE):
            raise InvalidConfig(f"learner.solver = {self.solver!r}; allowed: {(*FIXED, *ADAPTIVE)}")

    @property
    def ode(self) -> Solver:
        return Solver(self.solver, self.ode_steps, self.rtol, self.atol)


def time_features(t: torch.Tensor) -> torch.Tensor:
    """t (…, 1) -> (…, 1 + 2 · FREQUENCIES): t and its Fourier features."""
    f = 2 * math.pi * torch.arange(1, FREQUENCIES + 1, dtype=t.dtype, device=t.device)
    return torch.cat([t, (f * t).sin(), (f * t).cos()], -1)


def register_probes(module: nn.Module, probes: int, dim: int) -> None:
    """Fixed (x₀, t) probes, `probe_x0` (P, D) and `probe_t` (P, 1), at which the explicit
    flows take ∇z of the flow-matching loss: the step stays a function of the data, with no
    noise of its own. Buffers, saved with the weights."""
    g = torch.Generator().manual_seed(0)
    module.register_buffer("probe_x0", torch.randn(probes, dim, generator=g))
    module.register_buffer("probe_t", (torch.arange(probes) + 0.5)[:, None] / probes)


@dataclass(frozen=True)
class ImplicitFlowState:
    queries: torch.Tensor  # (T, Q, D + 1): [x_t, t] for each query
    value: torch.Tensor  # (T, Q, S): the queries' latents
    # the batches read, (T, B, D) each: sampling refines new queries over them
    context: tuple[torch.Tensor, ...] = ()
    seen: int = 0

    def detach(self) -> "ImplicitFlowState":
        return replace(self, value=self.value.detach())


@dataclass(frozen=True)
class ExplicitFlowState:
    z: torch.Tensor  # (T, L)
    seen: int = 0

    def detach(self) -> "ExplicitFlowState":
        return replace(self, z=self.z.detach())


class FlowLearner(GenerativeLearner):
    """What both regimes share: the flow-matching loss, sampling and densities through the ODE.
    Each regime supplies `query_velocity(state, x_query)` (the field at its query rows) and
    `velocity(state, x, t)` (the field anywhere, after the samples the state has read)."""

    def loss(self, state, x_query: torch.Tensor, y_query=None) -> torch.Tensor:
        """Flow matching at the query rows [x₁, x₀, t] (T, Q, 2D + 1): mean ‖v − (x₁ − x₀)‖²."""
        _, _, target = self.objective.flow_pair(x_query)
        return (self.query_velocity(state, x_query) - target).square().sum(-1).mean()

    def sample(self, state, n: int, generator: torch.Generator) -> torch.Tensor:
        """n samples per task of the distribution the state describes, (T, n, D)."""
        T = self._tasks(state)
        x0 = torch.randn(T, n, self.dim, generator=generator).to(self._device())
        return transport(lambda x, t: self.velocity(state, x, t), x0, self.cfg.ode)

    def log_prob(self, state, x: torch.Tensor) -> torch.Tensor:
        """The flow's log density at x (T, M, D), (T, M)."""
        return log_prob(lambda x, t: self.velocity(state, x, t), x, self.cfg.ode)

    def _device(self) -> torch.device:
        return next(self.parameters()).device


class ImplicitFlow(FlowLearner):
    queries_in_state: ClassVar[bool] = True

    def __init__(
        self, cfg: FlowConfig, dim: int, objective: Objective, origin: Origin | None = None
    ) -> None:
        super().__init__(cfg, dim, objective, origin)
        W, S, F = cfg.width, cfg.latent, 1 + 2 * FREQUENCIES
        self.state0 = nn.Parameter(torch.zeros(S))
        self.embed_point = nn.Linear(dim, W)
        self.embed_query = nn.Linear(dim + F + S, W)
        self.embed_time = ClockEmbedding(W)
        self.net = SetTransformer(W, cfg.depth, cfg.heads)
        self.head = ZeroLinear(W, S)
        self.readout = nn.Sequential(nn.Linear(S, W), nn.GELU(), nn.Linear(W, dim))

    def init(self, x_query: torch.Tensor) -> ImplicitFlowState:
        """Query rows [x₁, x₀, t] (T, Q, 2D + 1) -> the queries (x_t, t) at their latent s⁽⁰⁾."""
        xt, t, _ = self.objective.flow_pair(x_query)
        return self._at(torch.cat([xt, t], -1))

    def _at(self, queries: torch.Tensor) -> ImplicitFlowState:
        T, Q, _ = queries.shape
        return ImplicitFlowState(queries, self.state0.expand(T, Q, -1))

    def step(self, state: ImplicitFlowState, x: torch.Tensor, y=None) -> ImplicitFlowState:
        """One mini-batch of samples x (T, B, D) -> the queries' next latents."""
        B, v = x.shape[1], state.value
        rho = step_clock(state.seen, B)
        if v.shape[1]:
            time = self.embed_time(rho)
            xt, t = state.queries[..., : self.dim], state.queries[..., self.dim :]
            queries = self.embed_query(torch.cat([xt, time_features(t), v], -1)) + time
            h = self.net(torch.cat([self.embed_point(x), queries], 1), keys=B, read=slice(B, None))
            v = v + rho * self.head(h)
        return ImplicitFlowState(state.queries, v, (*state.context, x), state.seen + B)

    def query_velocity(self, state: ImplicitFlowState, x_query: torch.Tensor) -> torch.Tensor:
        return self.readout(state.value)

    def velocity(self, state: ImplicitFlowState, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The field at points x (T, n, D) and time t after the state's context: the queries
        (x, t) refined over every batch read so far."""
        q = self._at(torch.cat([x, t.expand(*x.shape[:-1], 1)], -1))
        for batch in state.context:
            q = self.step(q, batch)
        return self.readout(q.value)

    def _tasks(self, state: ImplicitFlowState) -> int:
        return state.queries.shape[0]


class ExplicitFlow(FlowLearner):
    def __init__(
        self, cfg: FlowConfig, dim: int, objective: Objective, origin: Origin | None = None
    ) -> None:
        super().__init__(cfg, dim, objective, origin)
        W, L, F = cfg.width, cfg.latent, 1 + 2 * FREQUENCIES
        self.field = LatentDecoder(dim + F, L, dim, cfg.field_hidden, cfg.field_depth)
        self.z0 = nn.Parameter(0.01 * torch.randn(L))
        self.embed_point = nn.Linear(dim + (L if cfg.signal == "both" else 0), W)
        self.embed_z = nn.Linear(2 * L if cfg.signal == "both" else L, W)
        self.embed_time = ClockEmbedding(W)
        self.net = SetTransformer(W, cfg.depth, cfg.heads)
        self.head = ZeroLinear(W, L)
        register_probes(self, cfg.probes, dim)

    def init(self, x_query: torch.Tensor) -> ExplicitFlowState:
        return ExplicitFlowState(self.z0.expand(x_query.shape[0], -1))

    def step(self, state: ExplicitFlowState, x: torch.Tensor, y=None) -> ExplicitFlowState:
        """One mini-batch of samples x (T, B, D) -> the next z."""
        B, z = x.shape[1], state.z
        rho = step_clock(state.seen, B)
        time = self.embed_time(rho)
        points, z_in = x, z
        if self.cfg.signal == "both":
            grads = self._sample_grads(z, x)  # (T, B, L)
            points = torch.cat([x, grads], -1)
            z_in = torch.cat([z, grads.mean(1)], -1)
        tokens = torch.cat([(self.embed_z(z_in) + time)[:, None], self.embed_point(points)], 1)
        h = self.net(tokens, read=slice(0, 1))[:, 0]
        return ExplicitFlowState(z + rho * self.head(h), state.seen + B)

    def _sample_grads(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """∇z of each sample's flow-matching loss at the fixed probes: (T, B, L)."""
        x0, t = self.probe_x0, self.probe_t  # (P, D), (P, 1)
        inputs = time_features(t)  # (P, F)

        def one(z1: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:  # z (L,), x1 (D,)
            xt = (1 - t) * x0 + t * x1
            v = self.field(z1, torch.cat([xt, inputs], -1))
            return (v - (x1 - x0)).square().sum(-1).mean()

        outer = torch.no_grad() if self.cfg.first_order else torch.enable_grad()
        with outer, full_precision(z):  # a signal (iai.models.precision)
            return vmap(vmap(grad(one), in_dims=(None, 0)))(z, x)

    def _field(self, z: torch.Tensor, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """v_γ at x (T, n, D), t (T, n, 1) for each task's z (T, L)."""
        return self.field(z, torch.cat([x, time_features(t)], -1))  # batched (LatentDecoder)

    def query_velocity(self, state: ExplicitFlowState, x_query: torch.Tensor) -> torch.Tensor:
        xt, t, _ = self.objective.flow_pair(x_query)
        return self._field(state.z, xt, t)

    def velocity(self, state: ExplicitFlowState, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self._field(state.z, x, t.expand(*x.shape[:-1], 1))

    def _tasks(self, state: ExplicitFlowState) -> int:
        return state.z.shape[0]
