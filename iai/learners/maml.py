"""MAML and Meta-SGD: gradient descent from a learned θ⁽⁰⁾ with fixed, learned or per-parameter
step sizes.

A step is θ ← θ - α ⊙ ∇θ L(θ; Bₖ), repeated `updates` times on each mini-batch. The meta-
gradient reaches θ⁽⁰⁾ only through these updates, so MAML is trained with
`train.backprop = "full"` (every step's query loss backpropagated through the rollout); the
inner gradient is differentiated again through torch.func (second order) unless
`first_order`, which treats it as a constant (FO-MAML).
"""

from dataclasses import dataclass, replace
from typing import Literal

import torch
from torch import nn

from iai.errors import InvalidConfig
from iai.learners.base import Origin, PredictiveLearner, check_config
from iai.models.predictors import apply, batch_grad, init_theta, make_model
from iai.tasks.objective import Objective


@dataclass(frozen=True)
class MAMLConfig:
    kind: Literal["maml"] = "maml"
    model: Literal["linear", "mlp"] = "linear"
    hidden: int = 32
    activation: Literal["tanh", "relu"] = "tanh"
    lr: float = 0.1  # α, or its initial value when learned
    # fixed: MAML; learned: one learned α; per_parameter: Meta-SGD's learned α per coordinate
    step_size: Literal["fixed", "learned", "per_parameter"] = "fixed"
    first_order: bool = False
    updates: int = 1

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise InvalidConfig(f"learner.lr = {self.lr!r}; must be > 0")
        check_config(self, ("updates", "hidden"), heads=False)


@dataclass(frozen=True)
class MAMLState:
    theta: torch.Tensor  # (T, P)
    seen: int = 0

    def detach(self) -> "MAMLState":
        return replace(self, theta=self.theta.detach())


class MAMLLearner(PredictiveLearner):
    def __init__(
        self, cfg: MAMLConfig, dim: int, objective: Objective, origin: Origin | None = None
    ) -> None:
        super().__init__(cfg, dim, objective, origin)
        self.model = make_model(cfg.model, dim, objective.out_dim, cfg.hidden, cfg.activation)
        P = self.model.n_params
        # the one rule for θ⁽⁰⁾, drawn from the global generator `iai.experiment.build` seeds
        self.theta0 = nn.Parameter(init_theta(self.model, 1, None)[0])
        alpha = torch.full((P,) if cfg.step_size == "per_parameter" else (), cfg.lr)
        if cfg.step_size == "fixed":
            self.register_buffer("alpha", alpha)
        else:
            self.alpha = nn.Parameter(alpha)

    def init(self, x_query: torch.Tensor) -> MAMLState:
        return MAMLState(self.theta0.expand(x_query.shape[0], -1))

    def step(self, state: MAMLState, x: torch.Tensor, y: torch.Tensor) -> MAMLState:
        theta = state.theta
        for _ in range(self.cfg.updates):
            at = theta.detach() if self.cfg.first_order else theta
            g = batch_grad(self.model, self.objective, at, x, y)  # (T, P)
            theta = theta - self.alpha * (g.detach() if self.cfg.first_order else g)
        return MAMLState(theta, state.seen + x.shape[1])

    def predict(self, state: MAMLState, x_query: torch.Tensor) -> torch.Tensor:
        return apply(self.model, state.theta, x_query)

    def fixed_model(self):
        return self.model
