"""bfloat16 against float32 training (`train.precision`), side by side in one process.

speed: each committed recipe's training iterations in both precisions, interleaved round by
round (`iai.training.loop.iterations`, as `iai train` runs them) so that a noisy machine
slows both alike; iterations per second and the ratio. quality: each `--quality` recipe
trained the same number of iterations from the same seed in both precisions, interleaved;
the greedy loss over the last iterations and the evaluation against the exact posterior
(fresh tasks, no SGD / Adam references) after it. One thread throughout.

    OMP_NUM_THREADS=1 python benchmarks/precision.py > benchmarks/results/precision/precision.md
    python benchmarks/precision.py --iterations 20 --rounds 0.2   # a quick rehearsal
    python benchmarks/precision.py --device cuda                  # on a GPU (benchmarks/gpu.sh)
    OMP_NUM_THREADS=1 python benchmarks/precision.py configs/demo-quick.toml configs/demo.toml \
        --quality > benchmarks/results/precision/small.md           # small networks, speed only
"""

import argparse

import torch

from common.command import markdown_header
from common.recipes import RECIPES, WARMUP, interleaved_rates
from iai.config import load_config
from iai.evaluation.config import EvalConfig
from iai.evaluation.evaluate import evaluate
from iai.experiment import build
from iai.training.loop import iterations

PRECISIONS = ("float32", "bfloat16")


def runs(path: str, total: int, device: str) -> dict:
    """Both precisions' training iterations of `path`, each with its own learner and streams."""
    out = {}
    for precision in PRECISIONS:
        sets = [f"train.iterations={total}", f"train.precision={precision}"]
        cfg = load_config(path, [*sets, f"train.device={device}"])
        learner, prior = build(cfg)
        out[precision] = (learner, iterations(cfg, learner.to(device), prior))
    return out


def speed(recipes, rounds_scale: float, device: str) -> list[str]:
    lines = ["## Speed", "", "| recipe | float32 it/s | bfloat16 it/s | bfloat16 / float32 |"]
    lines.append("|---|---:|---:|---:|")
    for path, rounds in recipes:
        rounds = max(1, round(rounds * rounds_scale))
        its = runs(path, WARMUP + rounds, device)
        rate = interleaved_rates({p: run for p, (_, run) in its.items()}, rounds, device)
        lines.append(
            f"| {path} | {rate['float32']:.3g} | {rate['bfloat16']:.3g} | "
            f"{rate['bfloat16'] / rate['float32']:.2f} |"
        )
    return lines


# regression recipes whose evaluation has the exact posterior beside it
QUALITY = ("configs/linreg-d8.toml",)


def quality(path: str, total: int, tasks: int, device: str) -> list[str]:
    its = runs(path, total, device)
    losses = {p: [] for p in its}
    for _ in range(total):
        for precision, (_, run) in its.items():
            losses[precision].append(next(run).mean().item())
    tail = max(1, total // 5)
    lines = [
        f"## Quality: {path}, {total} iterations from one seed in each precision",
        "",
        f"Mean greedy loss over the last {tail} iterations; evaluation on {tasks} fresh tasks "
        "(eval.seed, no SGD / Adam references): MSE after steps 1, 4 and 8, and its ratio to the "
        "exact posterior's.",
        "",
        "| precision | loss | MSE step 1 | step 4 | step 8 | step 8 / exact |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    cfg = EvalConfig(tasks=tasks, steps=8, ood=(), baselines=False)
    for precision, (learner, _) in its.items():
        learner.cpu().eval()  # evaluated where the references are computed
        result = evaluate(learner, cfg, progress=False)
        iai, bayes = result.methods["iai"]["mse"].mean, result.methods["bayes"]["mse"].mean
        loss = sum(losses[precision][-tail:]) / tail
        lines.append(
            f"| {precision} | {loss:.4f} | {iai[1]:.4f} | {iai[4]:.4f} | {iai[8]:.4f} | "
            f"{iai[8] / bayes[8]:.3f} |"
        )
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("configs", nargs="*", help="the speed runs' recipes (default: RECIPES)")
    p.add_argument("--iterations", type=int, default=300, help="the quality run's length")
    p.add_argument("--rounds", type=float, default=1.0, help="scales the speed rounds")
    p.add_argument("--tasks", type=int, default=1000, help="the quality evaluation's tasks")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--quality", nargs="*", default=QUALITY, help="the quality runs' recipes")
    p.add_argument("--no-speed", action="store_true", help="the quality runs only")
    args = p.parse_args()
    torch.set_num_threads(1)
    where = (
        torch.cuda.get_device_name()
        if args.device == "cuda"
        else f"one thread, {torch.backends.cpu.get_cpu_capability()}"
    )
    print(markdown_header())
    print("\n# bfloat16 against float32 training\n")
    print(f"torch {torch.__version__}, {where}\n")
    if not args.no_speed:
        recipes = [(c, 12) for c in args.configs] or RECIPES
        print("\n".join(speed(recipes, args.rounds, args.device)), "\n")
    for path in args.quality:
        print("\n".join(quality(path, args.iterations, args.tasks, args.device)), "\n")


if __name__ == "__main__":
    main()
