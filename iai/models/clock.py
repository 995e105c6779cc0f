"""The step's own clock: ρₖ = B / (n + B), the share of the evidence seen so far that the new
mini-batch carries (n: the points read before it).

Every IAI update is scaled by ρₖ, and ρₖ is also the update network's only notion of time.
Exact Bayesian updating in linear regression has this form (the posterior precision grows
with n), and ρ stays in (0, 1] for any number of steps, so a learner trained on K steps meets
no input it has never seen when run for 100 K: it extrapolates by construction instead of
reading a step index it was never trained on.
"""

import torch
from torch import nn


def step_clock(seen: int, batch: int) -> float:
    """ρ for a batch of `batch` points after `seen` points."""
    return batch / (seen + batch)


class ClockEmbedding(nn.Linear):
    """The clock as the update network reads it: a learned code (W,) of (ρ, √ρ)."""

    def __init__(self, width: int) -> None:
        super().__init__(2, width)

    def forward(self, rho: float) -> torch.Tensor:
        return super().forward(self.weight.new_tensor([rho, rho**0.5]))
