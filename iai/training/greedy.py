"""Greedy training's objective (paper Eq. 9): the learner's own loss after every step.

The learner is rolled out over K mini-batches with the state detached before every step, so
step k's loss trains only the transition k-1 → k and step 0's loss the learned initial
state. Memory holds K one-step graphs and never a graph through the rollout. The loss itself
is the learner's (`learner.loss`): the family's objective for a predictive learner, or one
the learner owns.
"""

import torch
from torch import nn

from iai.learners import Learner
from iai.tasks import Tasks


def greedy_losses(
    learner: Learner, tasks: Tasks, batch_size: int, steps: int, greedy: bool = True
) -> torch.Tensor:
    """The loss after each step 0 … K, (K + 1,), each step detached from the ones before
    (unless not `greedy`: then every loss reaches back through the whole rollout)."""
    B, xq, yq = batch_size, tasks.x_query, tasks.y_query
    state = learner.init(xq)
    # float32 whatever the run's precision: the losses are summed and logged
    losses = [learner.loss(state, xq, yq).float()]
    for k in range(steps):
        xb = tasks.x_train[:, k * B : (k + 1) * B]
        yb = None if tasks.y_train is None else tasks.y_train[:, k * B : (k + 1) * B]
        state = learner.step(state.detach() if greedy else state, xb, yb)
        losses.append(learner.loss(state, xq, yq).float())
    return torch.stack(losses)


class GreedyObjective(nn.Module):
    """`greedy_losses` as a module, so DistributedDataParallel can wrap the whole rollout."""

    def __init__(self, learner: Learner, batch_size: int, steps: int, greedy: bool) -> None:
        super().__init__()
        self.learner, self.batch_size, self.steps, self.greedy = learner, batch_size, steps, greedy

    def forward(self, tasks: Tasks) -> torch.Tensor:
        return greedy_losses(self.learner, tasks, self.batch_size, self.steps, self.greedy)
