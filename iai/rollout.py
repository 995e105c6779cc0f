"""Adapting a learner to a stream of mini-batches: the loop every consumer shares, and the one
rule for cutting a task's points into mini-batches."""

from collections.abc import Iterable, Iterator

import torch

from iai.learners import Learner, State


@torch.inference_mode()
def rollout(
    learner: Learner, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], x_query: torch.Tensor
) -> Iterator[torch.Tensor]:
    """Raw outputs (T, Q, out) for x_query before any batch, then after each one.

    Holds only the current state: a batch is dropped as soon as its step is taken.
    """
    state = learner.init(x_query)
    yield learner.predict(state, x_query)
    for x, y in batches:
        state = learner.step(state, x, y)
        yield learner.predict(state, x_query)


@torch.inference_mode()
def adapt_stream(
    learner: Learner, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], x_query: torch.Tensor
) -> State:
    """The state after reading every batch in turn, with no prediction on the way.

    Why beside `rollout`: the cost of adapting to a stream is this alone (benchmarks/scaling.py
    times it), and `rollout`'s prediction after every batch would add to it. One batch of all
    the points is a one-step learner reading its context.
    """
    state = learner.init(x_query)
    for x, y in batches:
        state = learner.step(state, x, y)
    return state


def minibatches(
    x: torch.Tensor, y: torch.Tensor | None, batch_size: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """Consecutive (T, B, ·) slices of N points, in order: ⌈N / B⌉ of them, the last holding
    the N mod B points left over (if any), so no point is ever dropped. Tasks without targets
    (samples of a density) have y None, and so do their batches."""
    for i in range(0, x.shape[1], batch_size):
        yield x[:, i : i + batch_size], None if y is None else y[:, i : i + batch_size]
