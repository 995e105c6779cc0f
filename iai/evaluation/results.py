"""Evaluation results as values: a curve per method and metric, and their JSON form.

Reports, the grid, the results document and the benchmarks read these by attribute; the JSON
written next to every report (`eval.json`, `grid.json`) is `to_json` of them and reads back
with `from_json`.

Divergence, defined here and only here (`diverged`): a task's error after a step is
*diverged* when it is not finite, or above `DIVERGENCE_FACTOR` (1,000) times the scale of the
problem: the prior predictor's mean error over the tasks (the learner's own step 0, before it
has read anything). Measured per task on the committed linear-regression learners (1,000
tasks, 16 steps, in distribution, shift_x, wide_x and noisy), every learner but Meta-SGD keeps
its worst task within about 6 × that scale: 5.6 × is the prior's own spread over tasks at
step 0, 6.1 × the implicit learner's, whose error creeps up under shifted inputs. Apart from
Meta-SGD's, the largest mean in the committed results is 10 × it (NLL on inverted digits;
rerun per task, no task over the threshold).
An error a thousand times it is an update that has blown up: Meta-SGD's under shifted inputs
grows about tenfold each step, past 1,000 × on most tasks by step 4 and to 10¹⁹ by step 16.

A curve's mean and standard error are over the tasks that did not diverge at that step (None
when every task did), and `Curve.diverged` gives the fraction that did, so no blown-up error
is ever averaged into a mean. Tables show a step where any task diverged as `diverged (f % of
tasks)`, with the mean over the rest while at most half diverged (`describe`).
"""

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

import torch

from iai.evaluation.baselines import BASELINES, LR_GRID

DIVERGENCE_FACTOR = 1e3
# Of a step where some tasks diverged, tables show the mean over the rest only while at most
# this share diverged: past it, the survivors are a minority chosen by the failure itself.
REST_SHOWN_UP_TO = 0.5


def diverged(values: torch.Tensor, scale: float) -> torch.Tensor:
    """Which per-task errors (any shape) diverged: not finite, or above DIVERGENCE_FACTOR ×
    `scale` (the prior predictor's mean error over the tasks; a scale that is not a positive
    finite number leaves only the finiteness test)."""
    bad = ~torch.isfinite(values)
    if math.isfinite(scale) and scale > 0:
        bad |= values > DIVERGENCE_FACTOR * scale
    return bad


@dataclass(frozen=True)
class Curve:
    """One metric after each step 0 … K: the mean over tasks and its standard error, both
    over the tasks that did not diverge at that step (None where all did; the s.e. also
    where one task is left), and the fraction
    of tasks that diverged (`diverged`, see the module's rule). A fraction of None means
    unknown: a result written before divergence was recorded whose mean alone shows that
    some task diverged. An empty `diverged` (such a result where none did) reads as 0."""

    mean: list[float | None]
    se: list[float | None]
    diverged: list[float | None] = field(default_factory=list)
    # the step of each entry where they are not 0, 1, …, K (a generative learner is sampled
    # at chosen steps); None: entry k is step k
    steps: list[int] | None = None

    def at(self) -> list[int]:
        """The step of each entry."""
        return list(range(len(self.mean))) if self.steps is None else self.steps

    def fraction(self, k: int) -> float | None:
        """The fraction of tasks diverged at step k (None: some, how many unknown)."""
        return self.diverged[k] if self.diverged else 0.0

    def ok(self, k: int) -> bool:
        """Whether no task diverged at step k: its mean is a mean over every task."""
        return self.fraction(k) == 0.0 and self.mean[k] is not None


def describe(c: Curve, k: int, fmt: str = ".4g", se_fmt: str = ".2g") -> str:
    """One table entry for step k: `mean ± se`, or where tasks diverged `diverged (f % of
    tasks)`, followed by the mean over the rest while at most REST_SHOWN_UP_TO diverged."""
    f = c.fraction(k)
    if f == 0.0 and c.mean[k] is not None:
        return f"{c.mean[k]:{fmt}} ± {c.se[k]:{se_fmt}}"
    if f is None:
        return "diverged (fraction unknown: rerun)"
    text = f"diverged ({100 * f:.3g} % of tasks)"
    if f <= REST_SHOWN_UP_TO and c.mean[k] is not None:
        text += f"; rest {c.mean[k]:{fmt}}"
        text += f" ± {c.se[k]:{se_fmt}}" if c.se[k] is not None else ""
    return text


def summarize(values: torch.Tensor, scale: float) -> Curve:
    """Per-task metrics (K + 1, T) -> a Curve: per step, the fraction of tasks diverged and
    the mean and standard error over the others."""
    bad = diverged(values, scale)
    T = values.shape[-1]
    if not bad.any():  # the common case, computed as it always was
        return Curve(
            values.mean(-1).tolist(), (values.std(-1) / T**0.5).tolist(), [0.0] * len(values)
        )
    kept = (~bad).sum(-1)
    mean, se = [], []
    for k in range(values.shape[0]):
        v = values[k][~bad[k]]
        n = v.numel()
        mean.append(v.mean().item() if n else None)
        se.append((v.std() / n**0.5).item() if n > 1 else None)  # none from one task
    return Curve(mean, se, [(T - n) / T for n in kept.tolist()])


def _legacy(c: dict, scale: float) -> Curve:
    """A curve written before divergence was recorded: a step whose mean is itself diverged
    by the rule (so at least one task was) has an unknown fraction and no mean."""
    mean = [float(m) for m in c["mean"]]
    bad = diverged(torch.tensor(mean, dtype=torch.float64), scale).tolist()
    if not any(bad):
        return Curve(**c)
    return Curve(
        [None if b else m for m, b in zip(mean, bad, strict=True)],
        [None if b else s for s, b in zip(c["se"], bad, strict=True)],
        [None if b else 0.0 for b in bad],
    )


@dataclass(frozen=True)
class EvalResult:
    """Every number of one evaluation, on one task distribution ('id' or an OoD variant).

    `methods[name][metric]`: the learner ('iai'), the prior predictor ('prior'), the exact
    reference ('bayes', where the family has one) and the tuned optimizers ('sgd', 'adam',
    'sgd_online', 'adam_online'), each on the same tasks and mini-batches. `metrics` lists
    the metric names, the first being the one tables and tuning rank by.
    """

    variant: str
    task: dict
    batch_size: int
    steps: int
    mode: str
    tasks: int
    methods: dict[str, dict[str, Curve]]
    tuned_lr: dict[str, list[float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    # the learner's train.steps, which `flags` compares the curve past;
    # None in results written before it was recorded
    trained_steps: int | None = None
    # what was scored: a predictive learner's predictions against targets, or a generative
    # learner's samples against fresh samples of the truth (curves at chosen steps)
    scores: Literal["predictions", "samples"] = "predictions"

    def __str__(self) -> str:
        return summary(self)

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(self.methods["iai"])

    @property
    def metric(self) -> str:
        """The primary metric (MSE, or error % for classification)."""
        return self.metrics[0]

    def curve(self, method: str = "iai", metric: str | None = None) -> Curve:
        return self.methods[method][metric or self.metric]

    def to_json(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_json(data: dict) -> "EvalResult":
        """The result `to_json` wrote. An eval.json from before `mode` was recorded (the ones
        under benchmarks/results/) reads as 'steps', the only mode there was then; one from
        before divergence was recorded reads as none diverged, except at a step whose mean
        is itself diverged by the rule (against the prior predictor's step-0 mean): there
        the fraction is unknown (None) and the mean dropped. One from before `trained_steps`
        was recorded reads as None (horizon unknown)."""
        methods = {}
        for name, per_metric in data["methods"].items():
            methods[name] = {}
            for metric, c in per_metric.items():
                if "diverged" in c:
                    methods[name][metric] = Curve(**c)
                    continue
                prior = data["methods"].get("prior", data["methods"]["iai"])[metric]
                methods[name][metric] = _legacy(c, prior["mean"][0])
        return EvalResult(**{"mode": "steps", **data, "methods": methods})


METHODS = ("iai", "bayes", *BASELINES, "prior")
LABELS = {
    "iai": "IAI",
    "bayes": "exact Bayes",
    "sgd": "SGD, converged",
    "adam": "Adam, converged",
    "sgd_online": "SGD, 1 update/batch",
    "adam_online": "Adam, 1 update/batch",
    "prior": "prior (step 0)",
    "truth": "truth (floor)",
}
UNITS = {
    "mse": "MSE",
    "error": "error %",
    "nll": "NLL",
    "energy": "energy distance",
    "mmd": "MMD²",
    "w2": "W2",
    "excess_nll": "excess NLL",
}


def where(r: EvalResult) -> str:
    return "in distribution (id)" if r.variant == "id" else f"out of distribution: {r.variant}"


def ordered_methods(r: EvalResult) -> list[str]:
    """The result's methods in the order tables show them: the known ones, then the rest."""
    return [m for m in METHODS if m in r.methods] + sorted(set(r.methods) - set(METHODS))


# A rise past the trained horizon is flagged when it exceeds this many standard errors of the
# difference, taken as sqrt(se_K² + se_k²): the steps share their tasks, so their errors are
# positively correlated and the true s.e. of the difference is smaller; the test is cautious.
RISE_SE = 2.0


def _horizon_flag(r: EvalResult) -> str | None:
    """The learner's primary metric past its trained horizon K: the first step k > K where
    some tasks diverged, or where the mean rose above its value at K by more than RISE_SE s.e."""
    K, c, unit = r.trained_steps, r.curve("iai"), UNITS.get(r.metric, r.metric)
    at = c.at()  # the step of each entry: entry i is step at[i]
    if K is None or K >= r.steps or K not in at or not c.ok(at.index(K)):
        return None
    head = f"IAI run past its trained horizon (K = {K} steps)"
    tail = f"; its update was not trained beyond step {K}"
    h, last = at.index(K), len(at) - 1
    for i in range(h + 1, len(at)):
        k = at[i]
        if not c.ok(i):
            return f"{head}: at step {k} {describe(c, i)}{tail}"
        rise, noise = c.mean[i] - c.mean[h], (c.se[h] ** 2 + c.se[i] ** 2) ** 0.5
        if rise > RISE_SE * noise:
            share = f"{100 * rise / c.mean[h]:+.3g} %, " if c.mean[h] > 0 else ""
            ses = f"{rise / noise:.1f} combined s.e." if noise else "no spread over tasks"
            end = "" if i == last else f"; at step {at[last]}: {describe(c, last)}"
            return (
                f"{head}: its {unit} rises from {describe(c, h)} at step {K} to "
                f"{describe(c, i)} at step {k} ({share}{ses})"
                f"{end}{tail}"
            )
    return None


def _at(c: Curve, k: int) -> str:
    """`describe` of the curve's entry for step k."""
    at = c.at()
    return describe(c, at.index(k)) if k in at else "-"


def _spans(steps: list[int]) -> str:
    """[1, 2, 3, 7, 9, 10] -> '1–3, 7, 9–10'."""
    spans: list[list[int]] = []
    for k in steps:
        if spans and k == spans[-1][1] + 1:
            spans[-1][1] = k
        else:
            spans.append([k, k])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


def _grid_flags(r: EvalResult) -> list[str]:
    """For each tuned baseline, the steps k ≥ 1 whose chosen rate is the smallest or largest of
    its grid (today's `LR_GRID`). Step 0 is left out: before any update every rate scores the
    same and the first one is taken."""
    found = []
    for name, chosen in r.tuned_lr.items():
        if name not in BASELINES:
            continue
        grid = LR_GRID[BASELINES[name][0]]
        if not set(chosen) <= set(grid):  # tuned on another grid: its edges are unknown
            continue
        for lr, side, beyond in ((min(grid), "smallest", "below"), (max(grid), "largest", "above")):
            steps = [k for k, rate in enumerate(chosen) if k >= 1 and rate == lr]
            if steps:
                found.append(
                    f"{LABELS.get(name, name)}: learning rate {lr:g}, the {side} of its grid "
                    f"({min(grid):g} … {max(grid):g}), chosen at step{'s' * (len(steps) > 1)} "
                    f"{_spans(steps)}; its best rate may lie {beyond} the grid"
                )
    return found


def flags(result: EvalResult) -> list[str]:
    """What a reader of the tables could miss, one sentence each: the learner's error rising
    past the horizon it was trained for, and tuned baselines whose chosen learning rate sits
    at the edge of its grid (so the optimum may lie outside it)."""
    horizon = _horizon_flag(result)
    return ([horizon] if horizon else []) + _grid_flags(result)


def summary(r: EvalResult) -> str:
    """A short text of one result (what `str(result)` prints): its setting, the primary metric
    of every method at steps 0, 1, the trained horizon and the last, and the flags."""
    K = r.trained_steps
    horizon = "trained horizon not recorded" if K is None else f"trained on K = {K}"
    at = r.curve("iai").at()
    shown = sorted({k for k in (0, 1, K, r.steps) if k is not None and k in at})
    methods = [m for m in ordered_methods(r) if r.metric in r.methods[m]]
    rows = [["step k", *map(str, shown)]]
    rows += [[LABELS.get(m, m), *(_at(r.curve(m), k) for k in shown)] for m in methods]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    cells = [
        [v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))]
        for row in rows
    ]
    table = ["  " + "  ".join(row) for row in cells]
    found = flags(r)
    return "\n".join(
        [
            f"EvalResult: {r.task.get('name', 'task')}, {where(r)}",
            f"{r.tasks} tasks, B = {r.batch_size}, steps 0 … {r.steps} ({horizon}), mode {r.mode}",
            f"{UNITS.get(r.metric, r.metric)}, mean ± s.e. over tasks, after k mini-batches:",
            *table,
            "flags: none" if not found else "flags:",
            *(f"  - {f}" for f in found),
        ]
    )
