"""The one interface every learner in the taxonomy implements.

    state = learner.init(x_query)            # θ⁽⁰⁾, z⁽⁰⁾ or ŷ⁽⁰⁾
    state = learner.step(state, x_b, y_b)    # one mini-batch: h_φ(state, B_k)
    out = learner.predict(state, x_query)    # raw outputs (T, Q, out_dim)

State is a value: `step` never mutates it, and `state.detach()` is the greedy-training boundary.
The step index lives in the state as the number of points seen, so a learner can be streamed
over any number of batches without a counter kept outside it.
"""

from typing import Protocol

import torch

from iai.models.likelihood import Likelihood


class State(Protocol):
    seen: int

    def detach(self) -> "State": ...


class Learner(Protocol):
    likelihood: Likelihood
    dim: int

    def init(self, x_query: torch.Tensor) -> State: ...

    def step(self, state: State, x: torch.Tensor, y: torch.Tensor) -> State: ...

    def predict(self, state: State, x_query: torch.Tensor) -> torch.Tensor: ...
