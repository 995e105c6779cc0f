"""The optimizers a practitioner would otherwise use: per-task SGD and Adam on the fixed model.

At step k the optimizer has seen mini-batches 1…k. It continues from its step k-1 solution and
runs `iters` more updates over those batches, newest first and then cycling back through the
older ones. With many iterations it is trained towards convergence on everything seen so far;
with `iters = 1` it is the online optimizer that, like IAI, makes one update per new batch.
It runs for every learning rate in a grid; `tune` then picks, for each step, the rate that
is best on separate tuning tasks.
"""

from dataclasses import dataclass

import torch

from iai.learners.optimizer import start, update
from iai.models.predictors import apply, batch_grad
from iai.rollout import minibatches
from iai.tasks import Tasks
from iai.tasks.objective import Objective

LR_GRID = {
    "sgd": (0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
    "adam": (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
}


# the references evaluations run: name -> (optimizer, updates after each new mini-batch;
# None: eval.optimizer_iters, "converged")
BASELINES = {
    "sgd": ("sgd", None),
    "adam": ("adam", None),
    "sgd_online": ("sgd", 1),
    "adam_online": ("adam", 1),
}


@dataclass(frozen=True)
class OptimizerRun:
    """One optimizer baseline: `method` ('sgd' or 'adam') at rate `lr`, `iters` updates per new
    mini-batch, training the fixed `model` on the family's `objective`."""

    method: str
    lr: float
    iters: int
    model: object
    objective: Objective


def optimizer_outputs(
    run: OptimizerRun, tasks: Tasks, batch_size: int, theta0: torch.Tensor
) -> torch.Tensor:
    """Outputs on tasks.x_query at the start θ0 (T, P) and after each mini-batch of
    tasks.x_train, cut by `iai.rollout.minibatches`: (K + 1, T, Q, out). Each update is the
    optimizer learner's (`iai.learners.optimizer.update`) on every task's own gradient."""
    batches = list(minibatches(tasks.x_train, tasks.y_train, batch_size))
    state = start(theta0)
    outs = [apply(run.model, state.theta, tasks.x_query)]
    for k in range(1, len(batches) + 1):
        for i in range(run.iters):
            xb, yb = batches[(k - 1 - i) % k]  # the new batch first, then back through the older
            g = batch_grad(run.model, run.objective, state.theta, xb, yb)  # (T, P)
            state = update(state, g, run.method, run.lr)
        outs.append(apply(run.model, state.theta, tasks.x_query))
    return torch.stack(outs)


def tune(per_lr_error: dict[float, torch.Tensor]) -> list[float]:
    """For each step, the learning rate with the lowest mean error; diverged runs never win.

    per_lr_error: lr -> (K,) mean tuning-task error.
    """
    lrs = list(per_lr_error)
    errors = torch.stack([torch.nan_to_num(per_lr_error[lr], nan=float("inf")) for lr in lrs])
    return [lrs[i] for i in errors.argmin(0).tolist()]
