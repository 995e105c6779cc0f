"""The update head every learned update ends in."""

from torch import nn


class ZeroLinear(nn.Linear):
    """A linear read-out that starts at zero: the update Δ is 0 before training, so an
    untrained learner is its prior, θ⁽⁰⁾ (or z⁽⁰⁾, ŷ⁽⁰⁾) after any number of steps, and
    training starts from a learner that is at least never worse than doing nothing."""

    def __init__(self, width: int, out: int) -> None:
        super().__init__(width, out)
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)
