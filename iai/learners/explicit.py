"""Explicit IAI: a learned latent state z and a learned prediction network f_γ(x, z).

Both halves are learned: the update h_φ is the parametric learner's set transformer, now
refining z⁽ᵏ⁺¹⁾ = z⁽ᵏ⁾ + ρₖ Δ_φ(z⁽ᵏ⁾, Bₖ) from the data, ∇z of the mini-batch loss, or both,
and the decoder γ is trained jointly with φ on the same greedy objective. With one step over
the whole context and the `data` signal it is a conditional neural process (CNP).
"""

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from iai.learners.base import check_config, check_memory
from iai.learners.parametric import ParametricLearner
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

    def __post_init__(self) -> None:
        check_config(
            self, ("latent", "decoder_hidden", "history", "width", "depth", "heads", "chunk")
        )
        check_memory(self)


class LatentDecoder(nn.Module):
    """f_γ(x, z) = w·φ + φ · R(z), φ = LayerNorm(MLP([x, z])): the textbook CNP decoder (an MLP
    of x and z) plus a read-out R(z) (hidden × out) linear in z; for one task, z (L,),
    x (N, D) -> (N, out).

    Why the read-out: with z only concatenated to x, the output depends on z through the MLP
    alone, and at the start, with z near its prior value, the gradient that should teach the
    update to move z is nearly zero; on digits, whose labels are permuted per task, training
    never left chance. With the bilinear path z acts on the output from the first step.

    Why the LayerNorm: PyTorch's default initialization shrinks φ layer by layer (RMS 0.07 for
    d = 8, hidden 64), so at the start ∂f/∂zⱼ averages 0.06, against |xⱼ| ≈ 0.8 for a linear
    model's ∂f/∂θⱼ. Update and decoder then sat on a plateau for hundreds of iterations
    before z began to matter. With φ at unit scale (∂f/∂zⱼ ≈ 1), z moves the output from the
    first step; benchmarks/explicit_init.py measures both, and the training loss each reaches
    at the grid's budget.
    """

    def __init__(
        self, dim: int, latent: int, out_dim: int, hidden: int, depth: int, normalize: bool = True
    ) -> None:
        super().__init__()
        self.dim, self.n_params, self.hidden, self.out_dim = dim, latent, hidden, out_dim
        layers, width = [], dim + latent
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.GELU()]
            width = hidden
        self.features = nn.Sequential(*layers, nn.LayerNorm(width) if normalize else nn.Identity())
        self.out = nn.Linear(hidden, out_dim)
        self.readout = nn.Linear(latent, hidden * out_dim)

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        phi = self.features(torch.cat([x, z.expand(*x.shape[:-1], -1)], -1))  # (N, hidden)
        return self.out(phi) + phi @ self.readout(z).view(self.hidden, self.out_dim)


class ExplicitLearner(ParametricLearner):
    def __init__(self, cfg: ExplicitConfig, dim: int, objective: Objective) -> None:
        decoder = LatentDecoder(
            dim,
            cfg.latent,
            objective.out_dim,
            cfg.decoder_hidden,
            cfg.decoder_depth,
            cfg.feature_norm,
        )
        super().__init__(cfg, dim, objective, model=decoder)
