"""Explicit IAI: a learned latent state z and a learned prediction network f_γ(x, z).

Both halves are learned: the update h_φ is the parametric learner's (`iai.models.update`), now
refining z⁽ᵏ⁺¹⁾ = z⁽ᵏ⁾ + ρₖ Δ_φ(z⁽ᵏ⁾, Bₖ) from the data, ∇z of the mini-batch loss, or both,
and the decoder γ is trained jointly with φ on the same greedy objective. With one step over
the whole context and the `data` signal it is a conditional neural process (CNP).
"""

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import nn

from iai.errors import InvalidConfig
from iai.learners.base import Origin, PredictiveLearner, check_config, check_memory
from iai.models.decoder import LatentDecoder
from iai.models.predictors import apply
from iai.models.update import ParametricState, ThetaUpdate
from iai.tasks.objective import Objective


@dataclass(frozen=True)
class ExplicitConfig:
    """The latent state, the decoder f_γ and the update network h_φ (as the parametric one)."""

    kind: Literal["explicit"] = "explicit"
    latent: int = 32  # size of z
    decoder_hidden: int = 64
    decoder_depth: int = 2  # hidden layers of f_γ
    signal: Literal["data", "grad", "both"] = "both"
    history: int = 1
    width: int = 128
    depth: int = 3
    heads: int = 4
    chunk: int = 32
    state_grad: bool = True
    # The LayerNorm on the decoder's features φ (see LatentDecoder). Off only to measure why it
    # is there: benchmarks/explicit_init.py trains the grid's cells both ways.
    feature_norm: bool = True
    memory: int = 0  # adaptation-memory tokens beside z (see iai/learners/parametric.py)
    curvature: bool = False  # precondition the update of z by the decoder's Gauss–Newton
    # ∇z a constant to training, as FO-MAML's inner gradient: the decoder's second derivatives
    # are not taken (docs/training.md, "First-order signals")
    first_order: bool = False

    def __post_init__(self) -> None:
        sizes = ("latent", "decoder_hidden", "decoder_depth", "history", "width", "depth")
        check_config(self, (*sizes, "heads", "chunk"))
        check_memory(self)
        if self.first_order and self.signal == "data" and not self.curvature:
            raise InvalidConfig(
                "learner.first_order = true has no gradient to hold constant: it needs "
                "learner.signal = 'grad' or 'both', or learner.curvature = true"
            )


class ExplicitLearner(PredictiveLearner):
    """z⁽⁰⁾ and the decoder f_γ learned; z refined by the update network the parametric
    learner uses (`iai.models.update.ThetaUpdate`), with the decoder as its model."""

    # weights saved when this learner subclassed the parametric one (checkpoint format 1)
    renamed: ClassVar[tuple[tuple[str, str], ...]] = (
        ("theta0", "z0"),
        ("model.", "decoder."),
        ("", "update."),
    )

    def __init__(
        self, cfg: ExplicitConfig, dim: int, objective: Objective, origin: Origin | None = None
    ) -> None:
        super().__init__(cfg, dim, objective, origin)
        L = cfg.latent
        self.decoder = LatentDecoder(
            dim, L, objective.out_dim, cfg.decoder_hidden, cfg.decoder_depth, cfg.feature_norm
        )
        self.z0 = nn.Parameter(0.01 * torch.randn(L))  # z⁽⁰⁾ near 0, then learned
        self.update = ThetaUpdate(cfg, L, dim, objective.out_dim)

    def init(self, x_query: torch.Tensor) -> ParametricState:
        return self.update.init(self.z0, x_query.shape[0])

    def step(self, state: ParametricState, x: torch.Tensor, y: torch.Tensor) -> ParametricState:
        """One mini-batch x (T, B, D), y (T, B) -> the next z (in `state.theta`)."""
        return self.update.step(self.decoder, self.objective, state, x, y, self.cfg.first_order)

    def predict(self, state: ParametricState, x_query: torch.Tensor) -> torch.Tensor:
        return apply(self.decoder, state.theta, x_query)  # (T, Q, out)
