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

from iai.learners.parametric import ParametricLearner
from iai.models.likelihood import Likelihood


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


class LatentDecoder(nn.Module):
    """f_γ(x, z) = MLP([x, z]); called for one task, z (L,) and x (N, D) -> (N, out)."""

    def __init__(self, dim: int, latent: int, out_dim: int, hidden: int, depth: int) -> None:
        super().__init__()
        self.dim, self.n_params = dim, latent
        layers, width = [], dim + latent
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.GELU()]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, out_dim))

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, z.expand(*x.shape[:-1], -1)], -1))


class ExplicitLearner(ParametricLearner):
    def __init__(self, cfg: ExplicitConfig, dim: int, likelihood: Likelihood) -> None:
        decoder = LatentDecoder(
            dim, cfg.latent, likelihood.out_dim, cfg.decoder_hidden, cfg.decoder_depth
        )
        super().__init__(cfg, dim, likelihood, model=decoder)
