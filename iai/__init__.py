"""iai: iterative amortized inference (Mittal, Mahajan, Lajoie, Pezeshki, 2025).

A learner adapts to a task one mini-batch at a time with an update it learned across a
distribution of tasks: θ⁽ᵏ⁺¹⁾ = h_φ(θ⁽ᵏ⁾, Bₖ).

Shapes, everywhere: T tasks, N points, B mini-batch, K steps, Q queries, D features,
P parameters of the fixed model, C classes, W width of a network.
"""

from iai.api import adapt, load, predict, predict_steps, stream, train
from iai.errors import (
    CheckpointError,
    IAIError,
    InputWarning,
    Interrupted,
    InvalidConfig,
    InvalidInput,
    TrainingStopped,
)
from iai.generative import log_prob_steps, sample_steps
from iai.orders import order_steps

__all__ = [
    "CheckpointError",
    "IAIError",
    "InputWarning",
    "Interrupted",
    "InvalidConfig",
    "InvalidInput",
    "TrainingStopped",
    "adapt",
    "load",
    "log_prob_steps",
    "order_steps",
    "predict",
    "predict_steps",
    "sample_steps",
    "stream",
    "train",
]
