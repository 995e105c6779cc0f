"""Sample quality after each step: a generative learner's samples beside fresh samples of the truth.

For T fresh tasks of a density family, the learner reads each task's context batch by batch
(`iai.sample_steps`); after each step asked for, its samples are compared with as many fresh
samples of the task's true distribution by the metrics of `iai.evaluation.sample_metrics`
(energy distance, MMD, W2), and, where the family has an exact density (`prior.log_prob`) and
the learner one too, by the excess NLL: the mean over fresh true samples of
log p_true(x) − log p_learner(x), ≥ 0 in expectation (a KL divergence), 0 only for the truth.
Every number is a mean over tasks with its standard error.
"""

import sys
import time
from dataclasses import dataclass, field

import torch

from iai.errors import InvalidInput
from iai.evaluation.config import EvalConfig
from iai.evaluation.results import Curve, EvalResult, summarize
from iai.evaluation.sample_metrics import METRICS
from iai.generative import log_prob_steps, sample_steps
from iai.learners import GenerativeLearner, Learner

# the steps sampled by default, up to eval.steps (which is always added)
DEFAULT_STEPS = (0, 1, 2, 5, 10, 20, 40, 80, 160)


@dataclass(frozen=True)
class SampleQuality:
    """Per-task values (len(steps), T) of each metric after each step of `steps`."""

    steps: list[int]
    per_task: dict[str, torch.Tensor] = field(default_factory=dict)
    nll_steps: list[int] = field(default_factory=list)  # the steps excess_nll was taken at
    samples: torch.Tensor | None = None  # (len(steps), T, n, D): what the metrics compared

    def mean(self, metric: str) -> list[float]:
        return self.per_task[metric].mean(1).tolist()

    def se(self, metric: str) -> list[float]:
        v = self.per_task[metric]
        return (v.std(1) / v.shape[1] ** 0.5).tolist()


@dataclass(frozen=True)
class Draw:
    """T tasks of a density family: the context each learner reads, fresh true samples to compare
    samples with, and fresh true samples to score densities at."""

    context: torch.Tensor  # (T, N, D)
    truth: torch.Tensor  # (T, n, D)
    held_out: torch.Tensor  # (T, M, D)
    true_log_prob: torch.Tensor | None  # (T, M) where the family has a density
    params: dict[str, torch.Tensor]  # each task's truth (`Tasks.truth`): a mixture, a letter


def draw(prior, tasks: int, context: int, samples: int, held_out: int, seed: int) -> Draw:
    """Tasks from `prior` (a density family with `points`), all from one seeded generator."""
    g = torch.Generator().manual_seed(seed)
    t = prior.sample(tasks, context, 1, generator=g)
    truth = prior.points(t.truth, samples, generator=g)
    x_eval = prior.points(t.truth, held_out, generator=g)
    exact = None if prior.log_prob is None else prior.log_prob(t.truth, x_eval)
    return Draw(t.x_train, truth, x_eval, exact, t.truth)


def sample_quality(
    learner: Learner,
    data: Draw,
    steps: list[int],
    *,
    batch_size: int | None = None,
    nll_steps: list[int] | None = None,
    seed: int = 0,
    one_step: bool = False,
) -> SampleQuality:
    """The metrics of the learner's samples after each of `steps` (as many samples as
    data.truth holds), and the excess NLL after each of `nll_steps` (default: `steps`; [] for
    none; only where the family has a density).

    `one_step`: the learner reads the first k · batch_size points in a single step instead
    (the one-step, in-context baseline's way of seeing k batches)."""
    n = data.truth.shape[1]
    g = torch.Generator().manual_seed(seed)
    B = batch_size or learner.config.train.batch_size
    if one_step:
        samples = torch.cat(
            [_one_step(sample_steps, learner, data.context, k, B, n, g) for k in steps]
        )
    else:
        samples = sample_steps(learner, data.context, n, batch_size=B, steps=steps, generator=g)
    per_task = {
        name: torch.stack([metric(s, data.truth) for s in samples])
        for name, metric in METRICS.items()
    }
    nll_steps = steps if nll_steps is None else nll_steps
    if data.true_log_prob is not None and nll_steps:
        if one_step:
            lp = torch.cat(
                [
                    _one_step(log_prob_steps, learner, data.context, k, B, data.held_out, None)
                    for k in nll_steps
                ]
            )
        else:
            lp = log_prob_steps(learner, data.context, data.held_out, batch_size=B, steps=nll_steps)
        per_task["excess_nll"] = (data.true_log_prob - lp).mean(-1)  # (S, T)
    nll_steps = list(nll_steps) if "excess_nll" in per_task else []
    return SampleQuality(list(steps), per_task, nll_steps, samples)


def evaluate_samples(
    learner: GenerativeLearner,
    cfg: EvalConfig,
    prior,
    variant: str,
    task: dict,
    progress: bool = False,
) -> EvalResult:
    """`iai.evaluation.evaluate` for a generative learner: its samples after each of the
    config's steps beside as many fresh samples of the truth, on `cfg.tasks` fresh tasks of
    `prior` (an 'id' prior or its OoD `variant`).

    Methods: 'iai' (the learner; its step 0 is its prior) and 'truth' (a second set of true
    samples: the metrics' floor at this sample size, 0 for an exact sampler up to noise)."""
    trained = learner.config.train
    B, K = cfg.batch_size or trained.batch_size, cfg.steps
    steps = list(cfg.sample_steps) or sorted({k for k in DEFAULT_STEPS if k <= K} | {K})
    if cfg.nll_steps:
        nll = list(cfg.nll_steps)
    else:
        nll = steps if learner.exact_density else sorted({1, min(trained.steps, K)})
    data = draw(prior, cfg.tasks, K * B, cfg.samples, cfg.samples, cfg.seed)
    if progress:
        print(f"eval {variant}: sampling {cfg.tasks} tasks at steps {steps}", file=sys.stderr)
    clock = time.perf_counter()
    q = sample_quality(
        learner,
        data,
        steps,
        batch_size=B,
        nll_steps=nll,
        seed=cfg.seed,
        one_step=cfg.mode == "context",
    )
    seconds = {"iai": time.perf_counter() - clock}
    floor = {name: metric(data.held_out, data.truth) for name, metric in METRICS.items()}
    methods = {"iai": {}, "truth": {}}
    for name, v in q.per_task.items():  # (S, T)
        at = q.nll_steps if name == "excess_nll" else q.steps
        # the problem's scale, which divergence is measured against (as for predictions):
        # the learner's mean at its first step asked, its prior's at step 0 by default
        scale = v[0].double().mean().item()
        methods["iai"][name] = _curve(v, at, scale)
        if name in floor:
            methods["truth"][name] = _curve(floor[name].expand(len(at), -1), at, scale)
    return EvalResult(
        variant=variant,
        task=task,
        batch_size=B,
        steps=K,
        mode=cfg.mode,
        tasks=cfg.tasks,
        methods=methods,
        seconds=seconds,
        trained_steps=trained.steps,
        scores="samples",
    )


def _curve(values: torch.Tensor, steps: list[int], scale: float) -> Curve:
    """Per-task values (S, T) at `steps` -> a Curve (`iai.evaluation.results.summarize`)."""
    c = summarize(values.double(), scale)
    return Curve(c.mean, c.se, c.diverged, list(steps))


def to_json(q: SampleQuality) -> dict:
    """Mean and standard error per metric and step: {metric: {steps, mean, se}}."""
    return {
        m: {
            "steps": q.nll_steps if m == "excess_nll" else q.steps,
            "mean": q.mean(m),
            "se": q.se(m),
        }
        for m in q.per_task
    }


_KEYS = ("steps", "mean", "se")  # the lists of each `to_json` table


def quality_from_json(data: dict) -> dict[str, Curve]:
    """`to_json`'s tables read back: per metric, a Curve of its mean and s.e. at its steps
    (`Curve.at()`; no divergence was recorded, so none reads as diverged). A table without
    `steps`, `mean` or `se`, with another key, or with lists of different lengths is refused."""
    keys = ", ".join(_KEYS)
    out = {}
    for metric, t in data.items():
        if not isinstance(t, dict):
            kind = type(t).__name__
            raise InvalidInput(f"sample quality {metric!r}: a {kind}, not a table of {keys}")
        problems = []
        if missing := [k for k in _KEYS if k not in t]:
            problems.append("no " + ", ".join(missing))
        if unknown := sorted(set(t) - set(_KEYS)):
            problems.append("unknown " + ", ".join(unknown))
        if problems:
            what = "; ".join(problems)
            raise InvalidInput(f"sample quality {metric!r}: {what} (a table has {keys})")
        lengths = {k: len(t[k]) for k in _KEYS}
        if len(set(lengths.values())) != 1:
            raise InvalidInput(f"sample quality {metric!r}: lists of different lengths {lengths}")
        out[metric] = Curve(list(t["mean"]), list(t["se"]), [], [int(k) for k in t["steps"]])
    return out


def quality_table(results: dict[str, dict[str, Curve]]) -> str:
    """A markdown table per variant of typed results (`quality_from_json`): metric rows, step
    columns, mean ± s.e."""
    lines = []
    for variant, r in results.items():
        steps = sorted({k for c in r.values() for k in c.at()})
        lines += [
            f"### {variant}",
            "",
            "| metric | " + " | ".join(f"step {k}" for k in steps) + " |",
            "|---|" + "---|" * len(steps),
        ]
        for m, c in r.items():
            cells = {k: f"{a:.4f} ± {s:.4f}" for k, a, s in zip(c.at(), c.mean, c.se, strict=True)}
            lines.append(f"| {m} | " + " | ".join(cells.get(k, "") for k in steps) + " |")
        lines.append("")
    return "\n".join(lines)


def _one_step(call, learner, context, k: int, B: int, arg, generator):
    """`call` after one step over the first k · B points (k = 0: the prior)."""
    x = context[:, : max(k, 1) * B]
    kwargs = {"batch_size": x.shape[1], "steps": [min(k, 1)]}
    if generator is not None:
        kwargs["generator"] = generator
    return call(learner, x, arg, **kwargs)
