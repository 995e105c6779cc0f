"""Error after every step, beside exact references and tuned optimizers on the same tasks.

For each step k = 0 … K_eval (K_eval may exceed the trained K) and over `tasks` fresh tasks:
the learner's metric, the exact Bayes-optimal prediction where the prior has one (given all
k·B points seen), per-task SGD and Adam trained to convergence on the same k mini-batches and
run online (one update per new mini-batch, as IAI gets), each with its learning rate tuned per
step on separate tasks, and the prior predictor (the learner's own step 0). Regression
reports MSE against the noisy query targets; classification error % and NLL. Every number is
a mean over tasks with its standard error.
"""

import time
from dataclasses import dataclass
from typing import Literal

import torch

from iai.baselines import LR_GRID, init_theta, optimizer_outputs, tune
from iai.distributed import all_sum, gather_tasks, shard
from iai.errors import InvalidConfig
from iai.learners import Learner
from iai.models.likelihood import Likelihood
from iai.models.predictors import LinearModel, MLPModel, make_model
from iai.rollout import minibatches, rollout
from iai.tasks import OOD, TaskConfig, variant_prior


@dataclass(frozen=True)
class EvalConfig:
    tasks: int = 1000
    steps: int = 16  # K_eval
    queries: int = 128
    ood: tuple[str, ...] = ("shift_x", "wide_x", "noisy", "wide_prior")
    baselines: bool = True  # run the tuned SGD / Adam references
    tune_tasks: int = 200
    optimizer_iters: int = 100  # optimizer updates after each new mini-batch
    seed: int = 20251013
    # steps: the learner reads mini-batch k at step k (IAI); context: "step k" is one step
    # over the first k·B points at once, as a one-step learner (ICL, CNP) reads a context
    mode: Literal["steps", "context"] = "steps"
    batch_size: int = 0  # B, points per step; 0 reads the trained train.batch_size

    def __post_init__(self) -> None:
        for key in ("tasks", "steps", "queries", "tune_tasks", "optimizer_iters"):
            if getattr(self, key) < 1:
                raise InvalidConfig(f"eval.{key} = {getattr(self, key)!r}; must be ≥ 1")
        if self.batch_size < 0:
            raise InvalidConfig(f"eval.batch_size = {self.batch_size}; must be ≥ 0")
        for name in self.ood:
            if name not in OOD:
                raise InvalidConfig(f"unknown OoD variant {name!r}; known: {sorted(OOD)}")


def task_metrics(lik: Likelihood, out: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-task metrics of outputs (…, T, Q, out) against targets (T, Q): name -> (…, T)."""
    if lik.kind == "regression":
        return {"mse": (out.squeeze(-1) - y).square().mean(-1)}
    wrong = (out.argmax(-1) != y).to(out.dtype)
    return {"error": 100 * wrong.mean(-1), "nll": lik.loss(out, y.expand(out.shape[:-1])).mean(-1)}


def _summary(per_task: dict[str, torch.Tensor]) -> dict[str, dict[str, list[float]]]:
    """(K + 1, T) per metric -> mean and standard error over tasks, per step."""
    T = next(iter(per_task.values())).shape[-1]
    return {
        name: {"mean": v.mean(-1).tolist(), "se": (v.std(-1) / T**0.5).tolist()}
        for name, v in per_task.items()
    }


def baseline_model(learner: Learner, task: TaskConfig):
    """The fixed model the SGD / Adam references train: the learner's own where it has one,
    else a linear model for the linear families and the prior's MLP shape for the rest."""
    model = getattr(learner, "model", None)
    if isinstance(model, LinearModel | MLPModel):
        return model
    name = "linear" if task.name.startswith("linear") else "mlp"
    return make_model(name, task.dim, learner.likelihood.out_dim, task.hidden, task.activation)


def learner_outputs(learner: Learner, tasks, B: int, K: int, mode: str) -> torch.Tensor:
    """Raw outputs (K + 1, T, Q, out) after 0 … K mini-batches of B points, or, in `context`
    mode, after one step over the first k·B points for each k."""
    if mode == "steps":
        batches = minibatches(tasks.x_train, tasks.y_train, B)
        return torch.stack(list(rollout(learner, batches, tasks.x_query)))
    with torch.inference_mode():
        outs = [learner.predict(learner.init(tasks.x_query), tasks.x_query)]
        for k in range(1, K + 1):
            xs, ys = tasks.x_train[:, : k * B], tasks.y_train[:, : k * B]
            state = learner.step(learner.init(tasks.x_query), xs, ys)
            outs.append(learner.predict(state, tasks.x_query))
    return torch.stack(outs)


def _optimizer_baseline(kind, iters, learner, prior, cfg, tasks, mine, B, tune_gen, init_seed):
    """Outputs (K + 1, T_mine, Q, out) of the per-step tuned optimizer on this process's share
    `mine` of the tasks, and the rate chosen per step (tuned on every process's share)."""
    lik, primary = learner.likelihood, "mse" if prior.kind == "regression" else "error"
    tuning = prior.sample(cfg.tune_tasks, cfg.steps * B, cfg.queries, generator=tune_gen)
    model = baseline_model(learner, prior.cfg)
    # draws for every task, then this process's rows: the same starts on any number of them
    tune_start = init_theta(model, cfg.tune_tasks, torch.Generator().manual_seed(0))
    start = init_theta(model, tasks.n_tasks, torch.Generator().manual_seed(init_seed))
    part = shard(cfg.tune_tasks)
    errors = {}
    for lr in LR_GRID[kind]:
        out = optimizer_outputs(
            kind,
            lr,
            model,
            lik,
            tuning.x_train[part],
            tuning.y_train[part],
            tuning.x_query[part],
            B,
            iters,
            tune_start[part],
        )
        total = task_metrics(lik, out, tuning.y_query[part])[primary].sum(-1)
        errors[lr] = all_sum(total) / cfg.tune_tasks
    chosen = tune(errors)
    runs = {
        lr: optimizer_outputs(
            kind,
            lr,
            model,
            lik,
            tasks.x_train[mine],
            tasks.y_train[mine],
            tasks.x_query[mine],
            B,
            iters,
            start[mine],
        )
        for lr in sorted(set(chosen))
    }
    return torch.stack([runs[lr][k] for k, lr in enumerate(chosen)]), chosen


def evaluate(
    learner: Learner, task: TaskConfig, cfg: EvalConfig, batch_size: int, variant: str = "id"
) -> dict:
    """Every number for one task distribution ('id' or an OoD variant name) as a dict."""
    prior = variant_prior(task, variant)
    lik, B, K = learner.likelihood, cfg.batch_size or batch_size, cfg.steps
    tasks = prior.sample(
        cfg.tasks, K * B, cfg.queries, generator=torch.Generator().manual_seed(cfg.seed)
    )
    # Under torchrun each process takes a contiguous share of the tasks (every process draws
    # them all, from the same seed); per-task metrics are gathered at the end.
    full, mine = tasks, shard(cfg.tasks)
    tasks = tasks.select(mine)
    per_task, seconds, lrs = {}, {}, {}

    clock = time.perf_counter()
    outs = learner_outputs(learner, tasks, B, K, cfg.mode)
    seconds["iai"] = time.perf_counter() - clock
    per_task["iai"] = task_metrics(lik, outs, tasks.y_query)
    per_task["prior"] = task_metrics(lik, outs[:1].expand_as(outs), tasks.y_query)

    if prior.bayes is not None:
        clock = time.perf_counter()
        means = [torch.zeros_like(tasks.y_query)]  # every prior here is centred at 0
        means += [
            prior.bayes(tasks.x_train[:, : k * B], tasks.y_train[:, : k * B], tasks.x_query)
            for k in range(1, K + 1)
        ]
        seconds["bayes"] = time.perf_counter() - clock
        per_task["bayes"] = task_metrics(lik, torch.stack(means).unsqueeze(-1), tasks.y_query)

    if cfg.baselines:
        runs = {
            "sgd": ("sgd", cfg.optimizer_iters),
            "adam": ("adam", cfg.optimizer_iters),
            "sgd_online": ("sgd", 1),
            "adam_online": ("adam", 1),
        }
        for i, (name, (kind, iters)) in enumerate(runs.items()):
            clock = time.perf_counter()
            tune_gen = torch.Generator().manual_seed(cfg.seed + 1)
            outs, lrs[name] = _optimizer_baseline(
                kind, iters, learner, prior, cfg, full, mine, B, tune_gen, i
            )
            seconds[name] = time.perf_counter() - clock
            per_task[name] = task_metrics(lik, outs, tasks.y_query)

    return {
        "variant": variant,
        "task": prior.cfg.__dict__,
        "batch_size": B,
        "steps": K,
        "mode": cfg.mode,
        "tasks": cfg.tasks,
        "methods": {
            name: _summary({m: gather_tasks(v, -1) for m, v in metrics.items()})
            for name, metrics in per_task.items()
        },
        "tuned_lr": lrs,
        "seconds": seconds,
    }
