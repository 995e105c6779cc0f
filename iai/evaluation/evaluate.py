"""Error after every step, beside exact references and tuned optimizers on the same tasks.

For each step k = 0 … K_eval (K_eval may exceed the trained K) and over `tasks` fresh tasks:
the learner's metric, the exact Bayes-optimal prediction where the prior has one (given all
k·B points seen), per-task SGD and Adam trained to convergence on the same k mini-batches and
run online (one update per new mini-batch, as IAI gets), each with its learning rate tuned per
step on separate tasks, and the prior predictor (the learner's own step 0). Regression
reports MSE against the noisy query targets; classification error % and NLL. Every number is
a mean over tasks with its standard error, over the tasks whose error did not diverge, with
the fraction that did (the rule: `iai.evaluation.results`).
"""

import time

import torch
from tqdm import tqdm

from iai.distributed import all_sum, gather_tasks, shard
from iai.errors import InvalidConfig, InvalidInput
from iai.evaluation.baselines import (
    BASELINES,
    LR_GRID,
    OptimizerRun,
    optimizer_outputs,
    tune,
)
from iai.evaluation.config import EvalConfig
from iai.evaluation.results import Curve, EvalResult, summarize
from iai.evaluation.sampling import evaluate_samples
from iai.experiment import prior_signature
from iai.inputs import checked_draw
from iai.learners import GenerativeLearner, Learner, PredictiveLearner
from iai.models.predictors import init_theta, make_model
from iai.rollout import minibatches, rollout
from iai.tasks import TASKS, Family, Tasks, fixed_model, mlp_shape, objective_of, variant_prior


def _summary(per_task: dict[str, torch.Tensor], scale: dict[str, float]) -> dict[str, Curve]:
    """(K + 1, T) per metric -> per step, the fraction of tasks diverged and the mean and
    standard error over the others (`iai.evaluation.results.summarize`); `scale[metric]` is
    the prior predictor's mean error over the tasks, which divergence is measured against."""
    return {name: summarize(v, scale[name]) for name, v in per_task.items()}


def baseline_model(learner: Learner, prior):
    """The fixed model the SGD / Adam references train: the learner's own where it has one,
    else the one the family names (`prior.model`; an MLP of the prior's shape if it names
    none)."""
    if learner.fixed_model() is not None:  # linear, MLP or the user's
        return learner.fixed_model()
    name, shape = fixed_model(prior), mlp_shape(prior)
    return make_model(name, learner.dim, learner.objective.out_dim, shape.hidden, shape.activation)


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


def _tuned_optimizer(
    name: str, learner: Learner, prior, cfg: EvalConfig, tasks, mine: slice, B: int, bar
) -> tuple[torch.Tensor, list[float]]:
    """Outputs (K + 1, T_mine, Q, out) of the per-step tuned optimizer `name` on this
    process's share `mine` of the tasks, and the rate chosen per step (tuned on separate tasks,
    every process's share)."""
    method, iters = BASELINES[name]
    iters = iters or cfg.optimizer_iters
    objective, metric = learner.objective, learner.objective.metrics[0]
    tune_gen = torch.Generator().manual_seed(cfg.seed + 1)
    tuning = prior.sample(cfg.tune_tasks, cfg.steps * B, cfg.queries, generator=tune_gen)
    model = baseline_model(learner, prior)
    # draws for every task, then this process's rows: the same starts on any number of them
    tune_start = init_theta(model, cfg.tune_tasks, torch.Generator().manual_seed(0))
    init_seed = list(BASELINES).index(name)
    start = init_theta(model, tasks.n_tasks, torch.Generator().manual_seed(init_seed))
    part = shard(cfg.tune_tasks)
    errors = {}
    for lr in LR_GRID[method]:
        run = OptimizerRun(method, lr, iters, model, objective)
        out = optimizer_outputs(run, tuning.select(part), B, tune_start[part])
        total = objective.task_metrics(out, tuning.y_query[part])[metric].sum(-1)
        errors[lr] = all_sum(total) / cfg.tune_tasks
        bar.update()
    chosen = tune(errors)
    mine_tasks = tasks.select(mine)
    runs = {
        lr: optimizer_outputs(
            OptimizerRun(method, lr, iters, model, objective), mine_tasks, B, start[mine]
        )
        for lr in sorted(set(chosen))
    }
    bar.update()
    return torch.stack([runs[lr][k] for k, lr in enumerate(chosen)]), chosen


def _check_fits(learner: Learner, prior) -> None:
    """InvalidInput unless `prior` draws tasks of the learner's kind, dimension and outputs."""
    sig = prior_signature(prior)
    have = {
        "kind": learner.objective.kind,
        "dim": learner.dim,
        "out_dim": learner.objective.out_dim,
    }
    wrong = [f"{k} {sig[k]!r} (the learner's: {v!r})" for k, v in have.items() if sig[k] != v]
    if wrong:
        raise InvalidInput(f"the prior does not fit this learner: {', '.join(wrong)}")


def evaluate(
    learner: Learner,
    cfg: EvalConfig | None = None,
    variant: str = "id",
    prior=None,
    progress: bool = True,
) -> EvalResult:
    """Every number for one task distribution ('id' or an OoD variant name) of the learner's
    prior, on fresh tasks, for either kind of learner.

    A predictive learner: its error after each step beside the prior predictor, the exact
    reference (the evaluated prior's `bayes`, where it has one) and the tuned optimizers, on
    the same tasks and mini-batches. The tuned SGD / Adam references take most of the time
    (a grid of learning rates, each trained to convergence on separate tuning tasks):
    `cfg.baselines = False` skips them, `cfg.tune_tasks` and `cfg.optimizer_iters` shorten
    them. A generative learner: its samples after chosen steps beside fresh samples of the
    truth (`iai.evaluation.sampling.evaluate_samples`).

    cfg defaults to the learner's own [eval]; B to its eval.batch_size, else the trained
    train.batch_size. `prior`: another prior object to evaluate on (a user-defined one, of
    the learner's kind and dimension), in distribution only; by default the learner's own.
    `progress`: a progress bar on stderr.
    """
    cfg = cfg or learner.config.eval
    prior = _evaluated_prior(learner, prior, variant)
    if isinstance(learner, GenerativeLearner):
        return evaluate_samples(learner, cfg, prior, variant, _task_of(prior), progress)
    return _evaluate_predictions(learner, cfg, prior, variant, progress)


def _evaluated_prior(learner: Learner, prior, variant: str):
    """The prior the evaluation draws from: `prior`, else the learner's, or its variant."""
    trained = learner.config
    prior = prior if prior is not None else learner.prior
    if prior is None:
        raise InvalidInput(
            f"this learner was trained on a prior defined in Python ({trained.task.name}), "
            "which a checkpoint does not store: pass it as evaluate(learner, prior=...)"
        )
    if variant != "id":
        if prior is not learner.prior or trained.task.name not in TASKS:
            raise InvalidInput(f"variant {variant!r} needs a shipped family; pass variant='id'")
        prior = variant_prior(trained.task, variant)
    _check_fits(learner, prior)
    return prior


def _tasks(prior, cfg: EvalConfig, N: int) -> Tasks:
    """The evaluation's tasks of N points: a user prior's draw checked (`checked_draw`), a
    registered family's trusted."""
    g = torch.Generator().manual_seed(cfg.seed)
    if isinstance(prior, Family):
        return prior.sample(cfg.tasks, N, cfg.queries, generator=g)
    return checked_draw(prior, cfg.tasks, N, cfg.queries, g, "the evaluation")


def _task_of(prior) -> dict:
    """A shipped family's settings, or what a user-defined prior says of itself."""
    return prior.cfg.to_dict() if isinstance(prior, Family) else prior_signature(prior)


def _evaluate_predictions(
    learner: PredictiveLearner, cfg: EvalConfig, prior, variant: str, progress: bool
) -> EvalResult:
    trained = learner.config
    if cfg.baselines and learner.variable_dim:
        raise InvalidConfig(
            "the SGD / Adam references tune one fixed model of one input width; this learner's "
            f"prior draws tables of 1 … {learner.dim} features: evaluate it with "
            "eval.baselines = false (iai eval --no-baselines)"
        )
    objective, B, K = learner.objective, cfg.batch_size or trained.train.batch_size, cfg.steps
    tasks = _tasks(prior, cfg, K * B)
    # Under torchrun each process takes a contiguous share of the tasks (every process draws
    # them all, from the same seed); per-task metrics are gathered at the end.
    full, mine = tasks, shard(cfg.tasks)
    tasks = tasks.select(mine)
    per_task, seconds, lrs = {}, {}, {}
    n_runs = sum(len(LR_GRID[m]) + 1 for m, _ in BASELINES.values()) if cfg.baselines else 0
    what = " (the tuned SGD / Adam references take most of it)" if cfg.baselines else ""
    bar = tqdm(total=1 + n_runs, desc=f"eval {variant}{what}", disable=not progress, leave=False)

    clock = time.perf_counter()
    outs = learner_outputs(learner, tasks, B, K, cfg.mode)
    seconds["iai"] = time.perf_counter() - clock
    per_task["iai"] = objective.task_metrics(outs, tasks.y_query)
    per_task["prior"] = objective.task_metrics(outs[:1].expand_as(outs), tasks.y_query)
    bar.update()
    reference = objective_of(prior).reference  # the evaluated prior's, not the training one's
    if reference is not None:
        clock = time.perf_counter()
        per_task["bayes"] = _reference_metrics(objective, reference, tasks, B, K)
        seconds["bayes"] = time.perf_counter() - clock
    if cfg.baselines:
        for name in BASELINES:
            clock = time.perf_counter()
            outs, lrs[name] = _tuned_optimizer(name, learner, prior, cfg, full, mine, B, bar)
            seconds[name] = time.perf_counter() - clock
            per_task[name] = objective.task_metrics(outs, tasks.y_query)
    bar.close()
    per_task = {
        name: {m: gather_tasks(v, -1) for m, v in metrics.items()}
        for name, metrics in per_task.items()
    }
    # the problem's scale, which a diverged error is measured against: the prior predictor's
    # mean error over all the tasks (every method's, on the same tasks)
    scale = {m: v[0].double().mean().item() for m, v in per_task["prior"].items()}
    return EvalResult(
        variant=variant,
        task=_task_of(prior),
        batch_size=B,
        steps=K,
        mode=cfg.mode,
        tasks=cfg.tasks,
        methods={name: _summary(metrics, scale) for name, metrics in per_task.items()},
        tuned_lr=lrs,
        seconds=seconds,
        trained_steps=trained.train.steps,
    )


def _reference_metrics(objective, reference, tasks, B: int, K: int) -> dict[str, torch.Tensor]:
    """The exact reference's per-task metrics after k·B points, k = 0 … K: (K + 1, T) each."""
    preds = [
        reference(tasks.x_train[:, : k * B], tasks.y_train[:, : k * B], tasks.x_query)
        for k in range(K + 1)
    ]
    return objective.task_metrics(objective.outputs(torch.stack(preds)), tasks.y_query)
