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

from iai.models.predictors import LinearModel, MLPModel, apply
from iai.rollout import minibatches
from iai.tasks import Tasks
from iai.tasks.objective import Objective

OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}
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


def init_theta(model, n_tasks: int, generator: torch.Generator) -> torch.Tensor:
    """Where training from scratch starts, (T, P): zeros for a linear model, fan-in scaled
    normal for an MLP, and for a user-defined model its own `init_theta(n_tasks, generator)`
    if it has one, else N(0, 1): θ = 0 can be a point where a model's gradient vanishes
    (a sine's frequency and phase), and then SGD and Adam would never move."""
    if isinstance(model, LinearModel):
        return torch.zeros(n_tasks, model.n_params)
    if isinstance(model, MLPModel):
        return torch.randn(n_tasks, model.n_params, generator=generator) / (model.dim + 1) ** 0.5
    if hasattr(model, "init_theta"):
        return model.init_theta(n_tasks, generator)
    return torch.randn(n_tasks, model.n_params, generator=generator)


def optimizer_outputs(
    run: OptimizerRun, tasks: Tasks, batch_size: int, theta0: torch.Tensor
) -> torch.Tensor:
    """Outputs on tasks.x_query at the start θ0 (T, P) and after each mini-batch of
    tasks.x_train, cut by `iai.rollout.minibatches`: (K + 1, T, Q, out)."""
    batches = list(minibatches(tasks.x_train, tasks.y_train, batch_size))
    theta = theta0.clone().requires_grad_()
    # Tasks are independent rows of θ and the loss is a sum over tasks, so one optimizer on the
    # (T, P) tensor is exactly T per-task optimizers (both update element-wise).
    opt = OPTIMIZERS[run.method]([theta], lr=run.lr)
    with torch.no_grad():
        outs = [apply(run.model, theta, tasks.x_query)]
    for k in range(1, len(batches) + 1):
        for i in range(run.iters):
            xb, yb = batches[(k - 1 - i) % k]  # the new batch first, then back through the older
            loss = run.objective.loss(apply(run.model, theta, xb), yb).mean(1).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            outs.append(apply(run.model, theta, tasks.x_query))
    return torch.stack(outs)


def tune(per_lr_error: dict[float, torch.Tensor]) -> list[float]:
    """For each step, the learning rate with the lowest mean error; diverged runs never win.

    per_lr_error: lr -> (K,) mean tuning-task error.
    """
    lrs = list(per_lr_error)
    errors = torch.stack([torch.nan_to_num(per_lr_error[lr], nan=float("inf")) for lr in lrs])
    return [lrs[i] for i in errors.argmin(0).tolist()]
