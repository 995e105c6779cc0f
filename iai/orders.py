"""The public call of order learners: causal orders of variables after chosen steps.

An order learner (learner.kind 'order', trained on task.name 'scm') reads a data set's
samples (T, N, d) batch_size at a time, in the mini-batches of `iai.rollout.minibatches`
(the last one smaller if B does not divide N), and after step k holds leaf logits for the
d variables; the order is the variables by increasing leaf logit, roots first
(`iai.tasks.order.Order.prediction`). Only the current state is held, so a stream of any
length is read in flat memory.
"""

from collections.abc import Sequence

import torch

import iai.inputs as inputs
from iai.errors import InvalidInput
from iai.learners.order import OrderLearner
from iai.rollout import minibatches

MAX_VARIABLES = 1024  # the pair statistics grow as d²: far beyond any trained d (10)


def order_steps(
    learner,
    samples,
    *,
    batch_size: int | None = 64,
    steps: Sequence[int] = (1, 10),
) -> torch.Tensor:
    """Orders after k mini-batches for each k in `steps`: samples (T, N, d) -> (len(steps),
    T, d) int64, each row a permutation of 0 … d − 1 with the roots first.

    d may be any number of variables from 2 (the learner is equivariant over variables);
    `steps` must lie in 0 … ⌈N / batch_size⌉ (step 0 is the learner before any sample: every
    variable alike, so the identity); batch_size None is the trained one. The same call gives
    the same orders."""
    inputs.loaded(learner, "iai.order_steps")
    if not isinstance(learner, OrderLearner):
        raise InvalidInput(
            "iai.order_steps is for order learners (learner.kind 'order', trained on "
            f"task.name 'scm'); this one is a {type(learner).__name__}"
        )
    x = _samples(samples)
    B = inputs.batch_size_of(learner, batch_size)
    wanted = inputs.steps_within(steps, -(-x.shape[1] // B), B, x.shape[1])
    with torch.inference_mode():
        state = learner.init(x[:, :0])
        at = {0: state.value}
        for k, (xb, _) in enumerate(minibatches(x, None, B), 1):
            if k > max(wanted):
                break
            state = learner.step(state, xb)
            at[k] = state.value
        logits = torch.stack([at[k] for k in wanted])  # (S, T, d)
    if not torch.isfinite(logits).all():
        inputs.refuse_non_finite("the leaf logits are", {"samples": inputs.largest(x)})
    return learner.objective.prediction(logits)


def _samples(samples) -> torch.Tensor:
    """Samples as a finite float tensor (T, N, d) with T, N ≥ 1 and 2 ≤ d ≤ MAX_VARIABLES,
    or InvalidInput naming the problem."""
    one = " (for one data set add the task axis in front: samples[None])"
    x = inputs.real_sets("samples", samples, ("tasks", "samples", "variables"), one)
    if not 2 <= x.shape[-1] <= MAX_VARIABLES:
        raise InvalidInput(
            f"samples has {x.shape[-1]} variables; an order needs 2 to {MAX_VARIABLES}"
        )
    return x
