"""The one interface every learner in the taxonomy implements.

    state = learner.init(x_query)                  # θ⁽⁰⁾, z⁽⁰⁾ or ŷ⁽⁰⁾
    state = learner.step(state, x_b, y_b)          # one mini-batch: h_φ(state, B_k)
    out = learner.predict(state, x_query)          # raw outputs (T, Q, out_dim)
    loss = learner.loss(state, x_query, y_query)   # the training loss at this state (scalar)

State is a value: `step` never mutates it, and `state.detach()` is the greedy-training boundary.
The step index lives in the state as the number of points seen, so a learner can be streamed
over any number of batches without a counter kept outside it.

The trainer only ever calls `loss`: a predictive learner scores its predictions with the task
family's objective (`query_loss`); a learner with an objective of its own (a flow-matching
loss on samples, say) computes it there instead.
"""

from typing import Protocol

import torch

from iai.errors import InvalidConfig
from iai.tasks.objective import Objective


class State(Protocol):
    seen: int

    def detach(self) -> "State": ...


class Learner(Protocol):
    objective: Objective
    dim: int

    def init(self, x_query: torch.Tensor) -> State: ...

    def step(self, state: State, x: torch.Tensor, y: torch.Tensor) -> State: ...

    def predict(self, state: State, x_query: torch.Tensor) -> torch.Tensor: ...

    def loss(self, state: State, x_query: torch.Tensor, y_query: torch.Tensor) -> torch.Tensor: ...


def query_loss(
    learner: Learner, state: State, x_query: torch.Tensor, y_query: torch.Tensor
) -> torch.Tensor:
    """The mean over tasks and queries of the objective's loss of `learner`'s predictions."""
    return learner.objective.loss(learner.predict(state, x_query), y_query).mean()


def check_config(cfg, positive: tuple[str, ...]) -> None:
    """InvalidConfig naming the first of `positive` (int fields) below 1, or a width the heads
    do not divide: the checks every learner config shares."""
    for key in positive:
        if getattr(cfg, key) < 1:
            raise InvalidConfig(f"learner.{key} = {getattr(cfg, key)!r}; must be ≥ 1")
    if hasattr(cfg, "heads") and cfg.width % cfg.heads:
        raise InvalidConfig(
            f"learner.width = {cfg.width} is not a multiple of learner.heads = {cfg.heads}"
        )


def check_memory(cfg) -> None:
    """InvalidConfig for a negative adaptation-memory size (0 is allowed: no memory)."""
    if cfg.memory < 0:
        raise InvalidConfig(f"learner.memory = {cfg.memory!r}; must be ≥ 0 (0: no memory)")
