"""Supervised learning as a learner: SGD or Adam on the fixed model, nothing learned.

The degenerate corner of the taxonomy: g is a hand-written optimizer and f the fixed model,
so `init` / `step` / `predict` run plain per-task training, one or more updates on each new
mini-batch. The update is written out on the (T, P) state rather than calling torch.optim,
because a state here is a value (`step` never mutates it) while torch.optim updates in
place; tests check it against torch.optim.SGD and torch.optim.Adam on the same mini-batches.
"""

from dataclasses import dataclass, replace
from typing import Literal

import torch

from iai.errors import InvalidConfig
from iai.learners.base import Origin, PredictiveLearner, check_config
from iai.models.predictors import apply, batch_grad, init_theta, make_model
from iai.tasks.objective import Objective


@dataclass(frozen=True)
class OptimizerConfig:
    kind: Literal["optimizer"] = "optimizer"
    method: Literal["sgd", "adam"] = "sgd"
    lr: float = 0.1
    updates: int = 1  # optimizer updates on each new mini-batch
    model: Literal["linear", "mlp"] = "linear"
    hidden: int = 32
    activation: Literal["tanh", "relu"] = "tanh"
    init_seed: int = 0  # θ⁽⁰⁾ of an MLP: fan-in scaled normal from this seed (zeros if linear)

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise InvalidConfig(f"learner.lr = {self.lr!r}; must be > 0")
        check_config(self, ("updates", "hidden"), heads=False)


BETAS, EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults


@dataclass(frozen=True)
class OptimizerState:
    theta: torch.Tensor  # (T, P)
    m: torch.Tensor  # (T, P) Adam's moments; zeros for SGD
    v: torch.Tensor
    seen: int = 0
    updates: int = 0

    def detach(self) -> "OptimizerState":
        return replace(self, theta=self.theta.detach(), m=self.m.detach(), v=self.v.detach())


def start(theta: torch.Tensor) -> OptimizerState:
    """The optimizer's state at θ (T, P), before any update: zero moments."""
    return OptimizerState(theta, torch.zeros_like(theta), torch.zeros_like(theta))


def update(state: OptimizerState, g: torch.Tensor, method: str, lr: float) -> OptimizerState:
    """One SGD or Adam update of every task's θ by its gradient g (T, P), as torch.optim.SGD
    and torch.optim.Adam (defaults otherwise) make it: the one copy of both, which the tuned
    references of `iai.evaluation.baselines` run too."""
    n = state.updates + 1
    if method == "sgd":
        return replace(state, theta=state.theta - lr * g, updates=n)
    m = BETAS[0] * state.m + (1 - BETAS[0]) * g
    v = BETAS[1] * state.v + (1 - BETAS[1]) * g.square()
    denom = (v / (1 - BETAS[1] ** n)).sqrt() + EPS
    theta = state.theta - lr / (1 - BETAS[0] ** n) * m / denom
    return OptimizerState(theta, m, v, state.seen, n)


class OptimizerLearner(PredictiveLearner):
    def __init__(
        self, cfg: OptimizerConfig, dim: int, objective: Objective, origin: Origin | None = None
    ) -> None:
        super().__init__(cfg, dim, objective, origin)
        self.model = make_model(cfg.model, dim, objective.out_dim, cfg.hidden, cfg.activation)

    def init(self, x_query: torch.Tensor) -> OptimizerState:
        # one draw shared by every task, so a task's start does not depend on T
        g = torch.Generator().manual_seed(self.cfg.init_seed)
        theta = init_theta(self.model, 1, g).to(x_query).expand(x_query.shape[0], -1)
        return start(theta)

    def step(self, state: OptimizerState, x: torch.Tensor, y: torch.Tensor) -> OptimizerState:
        for _ in range(self.cfg.updates):
            g = batch_grad(self.model, self.objective, state.theta, x, y)  # (T, P)
            state = update(state, g, self.cfg.method, self.cfg.lr)
        return replace(state, seen=state.seen + x.shape[1])

    def predict(self, state: OptimizerState, x_query: torch.Tensor) -> torch.Tensor:
        return apply(self.model, state.theta, x_query)

    def fixed_model(self):
        return self.model
