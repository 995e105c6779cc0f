"""What stays in float32 when a run trains in bfloat16 (`train.precision = "bfloat16"`).

Under `torch.autocast` the networks' matrix products run in bfloat16 (on this project's CPU,
its AMX units run them). What is not a network's feature but a
quantity of the data or of the fixed model is kept in float32, since bfloat16's 8 bits of
mantissa would change what it means: per-example and batch gradients, Gauss–Newton curvature
and the solve that uses it (recursive least squares is exact only in full precision), the
∇z signals of the token and flow learners, and attention's softmax on the CPU
(`iai.models.set_transformer.attention`; its two products run in bfloat16). Losses are taken
in float32 by promotion (targets are float32) and by autocast's own float32 list
(log-softmax, norms); the tabular learner solves in float64 throughout.
"""

import torch


def full_precision(like: torch.Tensor) -> torch.autocast:
    """A context in which autocast is off for `like`'s device: inputs in float32 stay so."""
    return torch.autocast(like.device.type, enabled=False)
