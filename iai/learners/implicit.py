"""Implicit IAI: refine the predictions themselves, ŷ⁽ᵏ⁺¹⁾ = r_γ([x_q, ŷ⁽ᵏ⁾], Bₖ) (paper Eq. 8).

There is no parameter vector: the state is one vector per query, learned ŷ⁽⁰⁾ at the start.
A step embeds the mini-batch points (x, y) and the queries [x_q, state], runs one set
transformer in which the points attend to each other and every query attends to the points
only, and adds ρₖ Δ to each query's state (ρₖ = B / (n + B) as in the parametric learner,
and again the only notion of time).

Queries do not attend to each other: a query's prediction then does not depend on which
other queries were asked with it (no transduction), the cost is Q · B rather than (Q + B)²,
and a large query set can be split freely. The memory this learner carries between steps is
its queries' states, (T, Q, S): flat in the number of batches, linear in Q.

`state` picks what is carried: `logits` (the raw outputs: logits, or the mean in
regression), `probs` (class probabilities, updated by mixing ŷ ← (1 - ρ) ŷ + ρ softmax(Δ)),
or `latent` (a pre-output vector of size `latent`, read out by a learned head). With one step
over the whole context this is in-context learning / a prior-fitted network.
"""

from dataclasses import dataclass, replace
from typing import ClassVar, Literal

import torch
from torch import nn

from iai.errors import InvalidConfig, InvalidInput
from iai.learners.base import Origin, PredictiveLearner, check_config
from iai.models.clock import ClockEmbedding, step_clock
from iai.models.heads import ZeroLinear
from iai.models.set_transformer import SetTransformer
from iai.tasks.objective import Objective


@dataclass(frozen=True)
class ImplicitConfig:
    kind: Literal["implicit"] = "implicit"
    state: Literal["logits", "probs", "latent"] = "logits"
    latent: int = 32  # size of the `latent` state
    width: int = 128
    depth: int = 3
    heads: int = 4

    def __post_init__(self) -> None:
        check_config(self, ("latent", "width", "depth", "heads"))


@dataclass(frozen=True)
class ImplicitState:
    """The queries are part of the state: a step refines [x_q, ŷ_q] pairs."""

    x_query: torch.Tensor  # (T, Q, D)
    value: torch.Tensor  # (T, Q, S): the queries' logits, probabilities or latents
    seen: int = 0

    def detach(self) -> "ImplicitState":
        return replace(self, value=self.value.detach())


class ImplicitLearner(PredictiveLearner):
    queries_in_state: ClassVar[bool] = True  # the state is the queries' predictions

    def __init__(
        self, cfg: ImplicitConfig, dim: int, objective: Objective, origin: Origin | None = None
    ) -> None:
        if cfg.state == "probs" and not objective.categorical:
            raise InvalidConfig("learner.state = 'probs' needs a classification task")
        super().__init__(cfg, dim, objective, origin)
        C, W = objective.out_dim, cfg.width
        S = cfg.latent if cfg.state == "latent" else C
        # ŷ⁽⁰⁾: zero logits (uniform) or zero mean to start, then learned
        self.state0 = nn.Parameter(torch.zeros(S))
        self.embed_point = nn.Linear(dim + C, W)
        self.embed_query = nn.Linear(dim + S, W)
        self.embed_time = ClockEmbedding(W)
        self.net = SetTransformer(W, cfg.depth, cfg.heads)
        self.head = ZeroLinear(W, S)
        self.readout = nn.Linear(S, C) if cfg.state == "latent" else None

    def init(self, x_query: torch.Tensor) -> ImplicitState:
        T, Q, _ = x_query.shape
        value = self.state0.expand(T, Q, -1)  # (T, Q, S)
        if self.cfg.state == "probs":
            value = value.softmax(-1)
        return ImplicitState(x_query, value)

    def step(self, state: ImplicitState, x: torch.Tensor, y: torch.Tensor) -> ImplicitState:
        """One mini-batch x (T, B, D), y (T, B) -> the queries' next state."""
        B, v = x.shape[1], state.value
        rho = step_clock(state.seen, B)
        time = self.embed_time(rho)
        points = self.embed_point(torch.cat([x, self.objective.target_features(y)], -1))
        queries = self.embed_query(torch.cat([state.x_query, v], -1)) + time
        h = self.net(torch.cat([points, queries], 1), keys=B, read=slice(B, None))  # (T, Q, W)
        delta = self.head(h)  # (T, Q, S)
        if self.cfg.state == "probs":
            value = (1 - rho) * v + rho * delta.softmax(-1)
        else:
            value = v + rho * delta
        return ImplicitState(state.x_query, value, state.seen + B)

    def predict(self, state: ImplicitState, x_query: torch.Tensor) -> torch.Tensor:
        if x_query.shape[:2] != state.value.shape[:2]:
            raise InvalidInput(
                f"the implicit learner predicts the {tuple(state.value.shape[:2])} (tasks, "
                f"queries) it was initialized with, not {tuple(x_query.shape[:2])}"
            )
        v = state.value
        if self.cfg.state == "probs":
            return v.clamp_min(1e-6).log()
        return self.readout(v) if self.readout is not None else v
