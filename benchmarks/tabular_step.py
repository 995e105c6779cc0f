"""The tabular learner's step against the same step at an earlier commit, interleaved round by
round in one process: training iterations of both tabular recipes, and the estimators' reading
(`IAIClassifier.fit` on 10,000 × 20 rows, and one-row steps as `iai.river` takes them).

    OMP_NUM_THREADS=1 python benchmarks/tabular_step.py [--base 578281f] [--rounds 3]

The base's `iai/learners/tabular.py` is loaded from git (`git show BASE:…`) and lent to the very
same learner objects (their class swapped for the round), so both read the same weights, tasks
and rows; the last column is the largest difference between what they computed (losses,
or predictions; 0 for the same bits). One thread. Writes
benchmarks/results/tabular-batching/step.md.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification

from common.command import write_markdown
from common.interleaved import interleaved
from common.tabular_at import base_class
from iai.config import load_config
from iai.experiment import build
from iai.learners.tabular import TabularLearner
from iai.sklearn import IAIClassifier
from iai.sklearn_learners import load_learner
from iai.tasks.objective import Classification
from iai.training.loop import iterations

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "tabular-batching"
RECIPES = ("configs/tabular/classification.toml", "configs/tabular/regression.toml")


def timed(learner, cls: type, work) -> tuple[float, object]:
    """Seconds of `work()` with `learner` lent `cls`, and what it returned."""
    own, learner.__class__ = learner.__class__, cls
    try:
        clock = time.perf_counter()
        out = work()
        return time.perf_counter() - clock, out
    finally:
        learner.__class__ = own


def workloads() -> list[tuple[str, object, object]]:
    """(name, learner, work) per workload; each work returns what the check compares."""
    out = []
    for recipe in RECIPES:
        cfg = load_config(recipe, ["train.iterations=1000"])  # the recipe's 64 tables
        pair = []
        for _ in range(2):  # one learner and task stream per variant, from the same seed
            learner, prior = build(cfg)
            stream = iterations(cfg, learner, prior)
            pair.append((learner, stream))
        out.append((f"{Path(recipe).stem} training iteration", pair, None))
    X, y = make_classification(10_000, 20, n_informative=10, n_classes=3, random_state=0)
    shipped = load_learner(None, "tabular-classification", Classification)
    fit = lambda: IAIClassifier().fit(X, y).predict_proba(X[:1000])  # noqa: E731
    out.append(("IAIClassifier.fit 10,000 × 20, predict 1,000", shipped, fit))
    est = IAIClassifier().fit(X[:256], y[:256])
    state, rows = est.state_, torch.from_numpy(X[256:288])[None]

    def one_row_steps():  # what iai.river does per prediction: a step on the waiting rows
        with torch.inference_mode():
            return [shipped.step(state, rows[:, :k], torch.zeros(1, k, dtype=torch.long)).theta
                    for k in range(1, 33)]  # fmt: skip

    out.append(("32 steps of 1-32 waiting rows (iai.river)", shipped, one_row_steps))
    return out


def difference(a, b) -> float:
    """The largest |a - b| over what two variants returned (0.0: the same bits, or so close)."""
    if isinstance(a, list):
        return max(difference(x, z) for x, z in zip(a, b, strict=True))
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="578281f", help="the commit to compare against")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    base, now = base_class(args.base), TabularLearner
    rows = []
    for name, target, work in workloads():

        def run(label: str, cls: type, target=target, work=work):
            if work is None:  # a training iteration: each variant its own stream
                learner, stream = target[0 if label == "base" else 1]
                return timed(learner, cls, lambda st=stream: next(st).detach())
            return timed(target, cls, work)

        variants = {"base": lambda: run("base", base), "now": lambda: run("now", now)}
        medians, apart = interleaved(variants, args.rounds, difference)
        b, n = medians["base"], medians["now"]
        rows.append(f"| {name} | {b:.3f} | {n:.3f} | {b / n:.2f} | {apart:.1e} |")
        print(rows[-1], flush=True)
    cmd = "OMP_NUM_THREADS=1 python benchmarks/tabular_step.py"
    cmd += f" --base {args.base} --rounds {args.rounds}"
    text = [
        f"`{cmd}`, {time.strftime('%Y-%m-%d %H:%M')}; torch {torch.__version__}; one thread; "
        f"median seconds of {args.rounds} interleaved rounds after one warm-up. base: "
        f"`iai/learners/tabular.py` at {args.base}; now: this tree's.",
        "",
        "| workload | base s | now s | speed-up | largest difference |",
        "|---|---|---|---|---|",
        *rows,
    ]
    write_markdown(
        OUT / "step.md", cmd, "The tabular learner's step against an earlier commit's", text
    )


if __name__ == "__main__":
    main()
