"""What computing the decoder once per step saves: the `both` signal's point tokens read the
model's outputs and each point's gradient, which until 2026-12-02 came from two passes
(`apply`, then `per_example_grads`' own forward inside torch.func) and now from one
(`iai.models.predictors.outputs_and_grads`, the outputs as the gradient's auxiliary value).

"two passes" puts the old pair back for its iterations only; both variants train the same
config from the same seed in one process, in float32 and in bfloat16, their iterations
(`iai.training.loop.iterations`, as `iai train` runs them) interleaved round by round so that
a noisy machine slows them alike. One thread.

    python benchmarks/one_pass.py > benchmarks/results/throughput/one-pass.md
"""

import argparse
import time

import torch

import iai.models.update as update
from common.command import markdown_header
from common.recipes import WARMUP
from iai.config import load_config
from iai.experiment import build
from iai.models.predictors import apply, outputs_and_grads, per_example_grads
from iai.training.loop import iterations

RECIPES = ("configs/linreg-d8-explicit.toml", "configs/linreg-d8.toml")


def two_passes(model, objective, theta, x, y):
    """The outputs and per-example gradients as the update read them before: two forwards."""
    return apply(model, theta, x), per_example_grads(model, objective, theta, x, y)


VARIANTS = {"two passes": two_passes, "one pass": outputs_and_grads}


def measure(path: str, rounds: int) -> list[str]:
    lines = []
    for precision in ("float32", "bfloat16"):
        runs = {}
        for name in VARIANTS:
            sets = [f"train.iterations={WARMUP + rounds}", f"train.precision={precision}"]
            cfg = load_config(path, sets)
            learner, prior = build(cfg)
            runs[name] = iterations(cfg, learner, prior)
        seconds = dict.fromkeys(runs, 0.0)
        for r in range(WARMUP + rounds):
            for name, run in runs.items():
                update.outputs_and_grads = VARIANTS[name]
                clock = time.perf_counter()
                next(run)
                if r >= WARMUP:
                    seconds[name] += time.perf_counter() - clock
        update.outputs_and_grads = outputs_and_grads
        rate = {name: rounds / s for name, s in seconds.items()}
        lines.append(
            f"| {path} | {precision} | {rate['two passes']:.2f} | {rate['one pass']:.2f} | "
            f"{rate['one pass'] / rate['two passes']:.2f} |"
        )
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("configs", nargs="*", default=RECIPES)
    p.add_argument("--rounds", type=int, default=12)
    args = p.parse_args()
    torch.set_num_threads(1)
    print(markdown_header())
    print(f"\n# The decoder once per step, torch {torch.__version__}, one thread\n")
    print("| recipe | precision | two passes it/s | one pass it/s | one / two |")
    print("|---|---|---:|---:|---:|")
    for path in args.configs:
        print("\n".join(measure(path, args.rounds)), flush=True)


if __name__ == "__main__":
    main()
