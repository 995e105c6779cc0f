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
from iai.models.predictors import apply, batch_grad, make_model
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


class OptimizerLearner(PredictiveLearner):
    def __init__(
        self, cfg: OptimizerConfig, dim: int, objective: Objective, origin: Origin | None = None
    ) -> None:
        super().__init__(cfg, dim, objective, origin)
        self.model = make_model(cfg.model, dim, objective.out_dim, cfg.hidden, cfg.activation)

    def init(self, x_query: torch.Tensor) -> OptimizerState:
        T, P = x_query.shape[0], self.model.n_params
        if self.cfg.model == "linear":
            theta = x_query.new_zeros(T, P)
        else:  # one draw shared by every task, so a task's start does not depend on T
            g = torch.Generator().manual_seed(self.cfg.init_seed)
            theta = torch.randn(P, generator=g) / (self.dim + 1) ** 0.5
            theta = theta.to(x_query).expand(T, P)
        return OptimizerState(theta, torch.zeros_like(theta), torch.zeros_like(theta))

    def step(self, state: OptimizerState, x: torch.Tensor, y: torch.Tensor) -> OptimizerState:
        cfg, theta, m, v, n = self.cfg, state.theta, state.m, state.v, state.updates
        for _ in range(cfg.updates):
            g = batch_grad(self.model, self.objective, theta, x, y)  # (T, P)
            n += 1
            if cfg.method == "sgd":
                theta = theta - cfg.lr * g
                continue
            m = BETAS[0] * m + (1 - BETAS[0]) * g
            v = BETAS[1] * v + (1 - BETAS[1]) * g.square()
            denom = (v / (1 - BETAS[1] ** n)).sqrt() + EPS
            theta = theta - cfg.lr / (1 - BETAS[0] ** n) * m / denom
        return OptimizerState(theta, m, v, state.seen + x.shape[1], n)

    def predict(self, state: OptimizerState, x_query: torch.Tensor) -> torch.Tensor:
        return apply(self.model, state.theta, x_query)

    def fixed_model(self):
        return self.model
