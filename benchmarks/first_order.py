"""`learner.first_order` measured on the two explicit recipes whose ∇z signal it concerns:
speed side by side, and quality beside the committed checkpoints.

    OMP_NUM_THREADS=1 python benchmarks/first_order.py speed \
        > benchmarks/results/first-order/speed.md
    python benchmarks/first_order.py quality   # after bash benchmarks/first_order.sh, which runs it

speed: each recipe's training iterations with the ∇z signal differentiated (second order) and
held constant (first order), in float32 and in bfloat16, interleaved round by round
(`iai.training.loop.iterations`), one thread. quality: the runs of benchmarks/first_order.sh
(first order, float32, otherwise the recipe) against checkpoints/<name> (second order,
float32): linreg-d8-explicit's MSE on the same 1,000 fresh tasks per distribution beside the
exact posterior's; gmm-2d-explicit's sample quality (benchmarks/generative.py's JSON, the
committed checkpoint's and the runs') at the recipe's iterations and at twice them.
"""

import argparse
from pathlib import Path

import torch

import iai
from common.command import markdown_header
from common.generative import quality as read_quality
from common.recipes import WARMUP, interleaved_rates
from iai.config import load_config
from iai.evaluation.config import EvalConfig
from iai.evaluation.evaluate import evaluate
from iai.experiment import build
from iai.training.loop import iterations

RECIPES = ("configs/linreg-d8-explicit.toml", "configs/generative/gmm-2d-explicit.toml")
RUNS, CHECKPOINTS = Path("runs/first-order"), Path("checkpoints")
GENERATIVE = Path("benchmarks/results/generative")  # the committed checkpoint's quality
OUT = Path("benchmarks/results/first-order")  # the new one's, by benchmarks/first_order.sh
MSE_STEPS = (1, 4, 8, 16)  # 16: twice the trained horizon
SAMPLE_STEPS = (1, 10, 40)  # 40: four times it


def speed(rounds: int) -> list[str]:
    lines = [
        "| recipe | precision | second order it/s | first order it/s | first / second |",
        "|---|---|---:|---:|---:|",
    ]
    for path in RECIPES:
        for precision in ("float32", "bfloat16"):
            runs = {}
            for first in (False, True):
                sets = [f"train.iterations={WARMUP + rounds}", f"train.precision={precision}"]
                cfg = load_config(path, [*sets, f"learner.first_order={str(first).lower()}"])
                learner, prior = build(cfg)
                runs[first] = iterations(cfg, learner, prior)
            rate = interleaved_rates(runs, rounds, "cpu")
            lines.append(
                f"| {path} | {precision} | {rate[False]:.3g} | {rate[True]:.3g} | "
                f"{rate[True] / rate[False]:.2f} |"
            )
    return lines


def predictive(name: str, tasks: int) -> list[str]:
    lines = [
        f"## {name}: MSE on {tasks} fresh tasks per distribution (mean ± s.e.), over the exact "
        "posterior's",
        "",
        "| distribution | checkpoint | "
        + " | ".join(f"step {k}" for k in MSE_STEPS)
        + " | step 8 / exact |",
        "|---|---|" + "---:|" * (len(MSE_STEPS) + 1),
    ]
    learners = {
        "committed (second order)": iai.load(CHECKPOINTS / name),
        "first order": iai.load(RUNS / name),
    }
    for variant in ("id", *learners["committed (second order)"].config.eval.ood):
        for label, learner in learners.items():
            cfg = EvalConfig(tasks=tasks, steps=max(MSE_STEPS), ood=(), baselines=False)
            result = evaluate(learner, cfg, variant, progress=False)
            mse, exact = result.methods["iai"]["mse"], result.methods["bayes"]["mse"]
            cells = [f"{mse.mean[k]:.4f} ± {mse.se[k]:.4f}" for k in MSE_STEPS]
            ratio = mse.mean[8] / exact.mean[8]
            lines.append(f"| {variant} | {label} | {' | '.join(cells)} | {ratio:.3f} |")
    return lines


def generative(name: str) -> list[str]:
    runs = {
        "committed (second order)": read_quality(GENERATIVE)[name],
        "first order": read_quality(OUT / name)[name],
        "first order, 2 × the iterations": read_quality(OUT / f"{name}-2x")[name],
    }
    lines = [
        f"## {name}: energy distance to fresh true samples (mean ± s.e. over tasks; lower is "
        "better), the same tasks and context for each",
        "",
        "| distribution | checkpoint | " + " | ".join(f"step {k}" for k in SAMPLE_STEPS) + " |",
        "|---|---|" + "---:|" * len(SAMPLE_STEPS),
    ]
    for variant in runs["committed (second order)"]:
        for label, q in runs.items():
            curve = q[variant].curves["energy"]
            where = {k: i for i, k in enumerate(curve.at())}
            cells = [f"{curve.mean[where[k]]:.4f} ± {curve.se[where[k]]:.4f}" for k in SAMPLE_STEPS]
            lines.append(f"| {variant} | {label} | {' | '.join(cells)} |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=["speed", "quality"])
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--tasks", type=int, default=1000)
    args = p.parse_args()
    torch.set_num_threads(1)
    print(markdown_header())
    if args.what == "speed":
        print("\n# The ∇z signal held constant: training speed\n")
        print(f"torch {torch.__version__}, one thread; {args.rounds} interleaved rounds\n")
        print("\n".join(speed(args.rounds)))
        return
    print("\n# The recipes trained first order beside the committed checkpoints\n")
    print("\n".join(predictive("linreg-d8-explicit", args.tasks)), "\n")
    print("\n".join(generative("gmm-2d-explicit")))


if __name__ == "__main__":
    main()
