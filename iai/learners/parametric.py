"""Parametric IAI: a fixed model f(x; θ) and a learned update θ⁽ᵏ⁺¹⁾ = θ⁽ᵏ⁾ + ρₖ Δ_φ(θ⁽ᵏ⁾, Bₖ).

The update network h_φ, its signals, adaptation memory and curvature memory are
`iai.models.update.ThetaUpdate`, which the explicit learner shares; here it refines the θ of
a fixed model (linear, an MLP, or one defined in Python) from a learned θ⁽⁰⁾.
"""

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import nn

from iai.learners.base import Origin, PredictiveLearner, check_config, check_memory
from iai.models.predictors import apply, make_model
from iai.models.update import ParametricState, ThetaUpdate
from iai.tasks.objective import Objective


@dataclass(frozen=True)
class ParametricConfig:
    """The fixed model f and the update network h_φ (`iai.models.update`)."""

    kind: Literal["parametric"] = "parametric"
    # custom: a fixed model defined in Python, passed as iai.train(..., model=) / iai.load
    model: Literal["linear", "mlp", "custom"] = "linear"
    hidden: int = 32  # hidden units of an `mlp` model f
    activation: Literal["tanh", "relu"] = "tanh"
    signal: Literal["data", "grad", "both"] = "both"
    history: int = 1  # states fed to h_φ: the current one and history - 1 before it
    width: int = 128
    depth: int = 3
    heads: int = 4
    chunk: int = 32  # θ coordinates per state token
    # With the `grad` signal, each state token also reads the batch-mean gradient of its own
    # θ coordinates: a direct path for gradient-descent-like updates that per-point tokens,
    # squeezed to `width`, cannot carry once θ is much larger than the width (MLP models).
    state_grad: bool = True
    memory: int = 0  # M adaptation-memory tokens carried beside θ (0: θ is the whole state)
    curvature: bool = False  # precondition the update by the running Gauss–Newton matrix

    def __post_init__(self) -> None:
        check_config(self, ("hidden", "history", "width", "depth", "heads", "chunk"))
        check_memory(self)


class ParametricLearner(PredictiveLearner):
    # weights saved before the update network was its own module (checkpoint format 1)
    renamed: ClassVar[tuple[tuple[str, str], ...]] = (("theta0", "theta0"), ("", "update."))

    def __init__(
        self,
        cfg: ParametricConfig,
        dim: int,
        objective: Objective,
        origin: Origin | None = None,
        model=None,
    ) -> None:
        """`model`: a user-defined fixed model f(x; θ) for learner.model = 'custom'."""
        super().__init__(cfg, dim, objective, origin)
        if model is None:
            model = make_model(cfg.model, dim, objective.out_dim, cfg.hidden, cfg.activation)
        self.model = model
        P = model.n_params
        # θ⁽⁰⁾ starts near 0 (a small prediction, as the priors are centred), then is learned.
        self.theta0 = nn.Parameter(0.01 * torch.randn(P))
        self.update = ThetaUpdate(cfg, P, dim, objective.out_dim)

    def init(self, x_query: torch.Tensor) -> ParametricState:
        return self.update.init(self.theta0, x_query.shape[0])

    def step(self, state: ParametricState, x: torch.Tensor, y: torch.Tensor) -> ParametricState:
        """One mini-batch x (T, B, D), y (T, B) -> the next state."""
        return self.update.step(self.model, self.objective, state, x, y)

    def predict(self, state: ParametricState, x_query: torch.Tensor) -> torch.Tensor:
        return apply(self.model, state.theta, x_query)  # (T, Q, out)

    def fixed_model(self):
        return self.model
