"""Training throughput of every committed recipe as a fraction of the machine's peak: iterations
per second, FLOPs per iteration and achieved GFLOP/s in float32 and bfloat16, on one thread
and on all, beside the device's measured matmul peak in each.

The FLOPs of one iteration are counted by `torch.utils.flop_counter.FlopCounterMode` (matmuls,
attention, convolutions, forward and backward: model FLOPs, as nanoGPT and torchtitan count
them; elementwise work, norms and solves count nothing); it cannot follow torch.func's
per-example gradients, so recipes with the `grad` signal show their speed without FLOPs. The
peak is the best of several 2048 x 2048 `torch.mm` at the same precision and thread count,
measured in this run. The four variants of a recipe (precision x threads) train the same
config from the same seed, each with its own learner and task streams
(`iai.training.loop.iterations`, as `iai train` runs them), their iterations interleaved
round by round so that a noisy machine slows them alike. Run it on a quiet machine: a second
job on the other core halves the all-threads rows.

    python benchmarks/throughput.py > benchmarks/results/throughput/throughput.md
    python benchmarks/throughput.py --rounds 0.2 configs/demo.toml   # a quick look
    python benchmarks/throughput.py --device cuda   # on a GPU (benchmarks/gpu.sh): MFU

On a GPU there is one thread count, and the fraction of peak against the card's measured
bfloat16 matmul peak is its model FLOPs utilization (MFU).
"""

import argparse
import os
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from common.command import markdown_header
from common.recipes import RECIPES, WARMUP, done, interleaved_rates
from iai.config import load_config
from iai.experiment import build
from iai.training.loop import iterations
from iai.training.precision import device_precision
from iai.training.threads import default_threads

LATER = (("configs/scm-order.toml", 12),)  # recipes newer than precision.py's table
PRECISIONS = ("float32", "bfloat16")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


# n and repetitions of the peak's n x n matmul: a GPU's peak a smaller product does not reach
PEAK_SIZE = {"cpu": (2048, 4), "cuda": (8192, 20)}


def matmul_peak(precision: str, threads: int, device: str, repeats: int = 5) -> float:
    """GFLOP/s of the best of `repeats` timings of PEAK_SIZE matmuls at `threads` threads."""
    torch.set_num_threads(threads)
    n, reps = PEAK_SIZE[device]
    a = torch.randn(n, n, generator=torch.Generator().manual_seed(0))
    a = a.to(device=device, dtype=DTYPES[precision])
    b = a.T.contiguous()
    torch.mm(a, b)  # warm-up: the kernel's first call picks and packs
    done(device)
    best = float("inf")
    for _ in range(repeats):
        clock = time.perf_counter()
        for _ in range(reps):
            torch.mm(a, b)
        done(device)
        best = min(best, (time.perf_counter() - clock) / reps)
    return 2 * n**3 / best / 1e9


def flops_per_iteration(path: str, device: str) -> float | None:
    """Model FLOPs of one float32 training iteration of `path` (its second: the first can
    differ, e.g. an initial linear solve); None where the counter cannot follow it (its
    backward hooks fail inside torch.func's per-example gradients, the `grad` signal)."""
    cfg = load_config(path, ["train.iterations=3", f"train.device={device}"])
    learner, prior = build(cfg)
    run = iterations(cfg, learner.to(device), prior)
    next(run)
    counter = FlopCounterMode(display=False)
    try:
        with counter:
            next(run)
    except RuntimeError as e:
        if "_will_engine_execute_node" not in str(e):
            raise
        return None
    return counter.get_total_flops()


def variants(path: str, total: int, thread_counts: list[int], device: str) -> dict:
    """(precision, threads) -> the training iterations of `path` in that precision."""
    out = {}
    for threads in thread_counts:
        for precision in PRECISIONS:
            sets = [f"train.iterations={total}", f"train.precision={precision}"]
            cfg = load_config(path, [*sets, f"train.device={device}"])
            learner, prior = build(cfg)
            out[precision, threads] = iterations(cfg, learner.to(device), prior)
    return out


def measure(path: str, rounds: int, thread_counts: list[int], device: str) -> dict:
    """(precision, threads) -> iterations per second of `path`, interleaved."""
    runs = variants(path, WARMUP + rounds, thread_counts, device)
    return interleaved_rates(runs, rounds, device, threads={key: key[1] for key in runs})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("configs", nargs="*", help="recipes (default: benchmarks/common/recipes.py)")
    p.add_argument("--rounds", type=float, default=1.0, help="scales each recipe's rounds")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = p.parse_args()
    recipes = [(c, 12) for c in args.configs] or [*RECIPES, *LATER]
    all_threads = len(os.sched_getaffinity(0))
    counts = sorted({1, all_threads}) if args.device == "cpu" else [all_threads]
    peak = {(pr, t): matmul_peak(pr, t, args.device) for t in counts for pr in PRECISIONS}
    print(markdown_header())
    print(f"\n# Training throughput against the matmul peak, torch {torch.__version__}\n")
    if args.device == "cuda":
        print(f"{torch.cuda.get_device_name()}; threads: the host's, for the task streams.\n")
    else:
        print(f"CPU capability {torch.backends.cpu.get_cpu_capability()}, {all_threads} CPUs.\n")
    own = device_precision(torch.device(args.device))
    print(
        f'iai\'s defaults here: `train.precision = "auto"` trains in {own}, on '
        f"{default_threads()} thread(s).\n"
    )
    print(f"| precision | threads | {PEAK_SIZE[args.device][0]}² matmul GFLOP/s |\n|---|---:|---:|")
    for (pr, t), g in peak.items():
        print(f"| {pr} | {t} | {g:.0f} |")
    print(
        "\nFraction of peak: achieved GFLOP/s over the float32 peak at the same thread count "
        "(the issue's measure), and over the peak of the run's own precision.\n"
    )
    print("| recipe | GFLOP / it | precision | threads | it/s | GFLOP/s | of f32 peak | of own |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for path, rounds in recipes:
        flops = flops_per_iteration(path, args.device)
        rates = measure(path, max(1, round(rounds * args.rounds)), counts, args.device)
        for (pr, t), rate in rates.items():
            if flops is None:
                print(f"| {path} | – | {pr} | {t} | {rate:.2f} | – | – | – |", flush=True)
                continue
            gflop = flops / 1e9
            achieved = rate * gflop
            print(
                f"| {path} | {gflop:.2f} | {pr} | {t} | {rate:.2f} | {achieved:.0f} | "
                f"{achieved / peak['float32', t]:.2f} | {achieved / peak[pr, t]:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
