"""How many CPU threads training should use: a tiny training at 1 thread, 2 threads, torch's own
default and iai's default, alone and as two jobs at once, side by side in one run:

    .venv/bin/python benchmarks/threads.py > benchmarks/results/threads/threads.md
    python benchmarks/threads.py --recipe configs/linreg-d8.toml --iterations 20 --rounds 3 \
        --modes '1,iai default,2 passive' > benchmarks/results/threads/threads-linreg-d8.md
    python benchmarks/threads.py --recipe configs/linreg-d8.toml --iterations 30 --rounds 3 \
        --modes '1,2,2 passive,2 short spin' > benchmarks/results/threads/threads-wait.md

`--recipe` trains a committed config for `--iterations` instead of the tiny one. Each
training is a fresh process (`iai.train(..., threads=N)`, OMP_NUM_THREADS unset, so torch's
default is its own) timed around the call; modes are interleaved round by round, each round
led by the next mode, so that a noisy machine slows them alike. "two at once" starts two
processes of the same mode together, as when several jobs share the machine. The weights'
digest shows which thread counts train the same bits.
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common.command import markdown_header

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "demo.toml"
# a small learner and batch, as a newcomer's first run on a prior of their own
TINY = [
    "learner.width=32",
    "learner.depth=1",
    "train.iterations=40",
    "train.tasks=16",
    "train.batch_size=8",
    "train.steps=4",
    "train.queries=16",
    "train.warmup=2",
    "train.log_every=10",
    "train.checkpoint_every=1000",
]
MODES = ("1", "2", "torch default", "iai default", "2 passive", "2 short spin")
# "2 passive": two threads whose OpenMP workers sleep when idle (OMP_WAIT_POLICY=PASSIVE, read
# as the runtime starts) instead of spinning, the spin being what two jobs at once fight over
# "2 short spin": workers that spin 3,000 rounds (GNU OpenMP's default is 300,000) and then sleep
WAIT = {"2 passive": {"OMP_WAIT_POLICY": "PASSIVE"}, "2 short spin": {"GOMP_SPINCOUNT": "3000"}}
ROUNDS = 5


def overrides(recipe: str | None, iterations: int) -> list[str]:
    if recipe is None:
        return TINY
    return [f"train.iterations={iterations}", "train.checkpoint_every=1000", "train.log_every=10"]


def worker(mode: str, recipe: str | None, iterations: int) -> None:
    """Train once with the mode's threads; print its seconds and the weights' digest."""
    import torch

    import iai

    threads = {
        "1": 1,
        "2": 2,
        "torch default": torch.get_num_threads(),
        "iai default": None,
        "2 passive": 2,
        "2 short spin": 2,
    }
    with tempfile.TemporaryDirectory() as out:
        clock = time.perf_counter()
        config, sets = recipe or CONFIG, overrides(recipe, iterations)
        learner = iai.train(config, out, overrides=sets, progress=False, threads=threads[mode])
        seconds = time.perf_counter() - clock
    state = learner.state_dict()
    digest = hashlib.sha256(b"".join(state[k].numpy().tobytes() for k in sorted(state)))
    print(json.dumps({"seconds": seconds, "digest": digest.hexdigest()[:12]}))


def run(mode: str, jobs: int, args) -> list[dict]:
    """`jobs` trainings of `mode` started together; each one's result."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env.update(WAIT.get(mode, {}))
    args = [sys.executable, __file__, "--worker", mode, args.recipe or "", str(args.iterations)]
    pipe = subprocess.PIPE
    procs = [subprocess.Popen(args, env=env, stdout=pipe, text=True) for _ in range(jobs)]
    return [json.loads(p.communicate()[0]) for p in procs]


def machine() -> list[str]:
    """What the thread count is chosen from, read in a fresh process as a training sees it."""
    code = (
        "import os, torch; from iai.training.threads import default_threads; "
        "print(torch.get_num_threads(), torch.get_num_interop_threads(), default_threads())"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    intra, interop, default = done.stdout.split()
    return [
        f"- os.cpu_count() = {os.cpu_count()}, os.sched_getaffinity(0) = "
        f"{sorted(os.sched_getaffinity(0))}",
        f"- torch.get_num_threads() = {intra}, torch.get_num_interop_threads() = {interop} "
        "(OMP_NUM_THREADS unset)",
        f"- iai's default (iai.training.threads.default_threads) = {default}",
        f"- OMP_NUM_THREADS in this shell: {os.environ.get('OMP_NUM_THREADS', 'unset')}",
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", help="a committed config to train instead of the tiny one")
    p.add_argument("--iterations", type=int, default=20, help="the recipe's iterations")
    p.add_argument("--rounds", type=int, default=ROUNDS)
    p.add_argument("--modes", default=",".join(MODES), help="comma-separated, of " + str(MODES))
    args = p.parse_args()
    modes = tuple(m.strip() for m in args.modes.split(","))
    if "1" not in modes or not set(modes) <= set(MODES):
        p.error(f"--modes must include 1 and name only {MODES}, got {args.modes!r}")
    results = {(m, j): [] for j in (1, 2) for m in modes}
    load_before = os.getloadavg()
    for r in range(args.rounds):
        for jobs in (1, 2):
            for mode in modes[r % len(modes) :] + modes[: r % len(modes)]:  # each leads a round
                results[mode, jobs] += run(mode, jobs, args)
    load_after = os.getloadavg()
    seconds = {key: statistics.median(r["seconds"] for r in rs) for key, rs in results.items()}
    what = (
        f"{args.recipe} for {args.iterations} iterations"
        if args.recipe
        else f"A tiny training ({CONFIG.name} with {' '.join(TINY)})"
    )
    lines = [
        markdown_header(),
        "# Training threads",
        "",
        f"{what}, each a fresh process; median seconds of {args.rounds} rounds (two at once: "
        "median over both jobs of every round). On this machine torch's default is 2 threads, "
        "so rows 2 and torch default run the same count: the gap between them is the shared "
        "machine's noise. Throughput of one of two jobs at once: one job alone on one thread "
        "over it.",
        "",
        *machine(),
        f"- load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after",
        "",
        "| threads | alone s | vs 1 thread | two at once s | vs 1 thread | throughput of one "
        "of two, vs alone on 1 thread | weights |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode in modes:
        alone, two = seconds[mode, 1], seconds[mode, 2]
        digests = sorted({r["digest"] for key in ((mode, 1), (mode, 2)) for r in results[key]})
        lines.append(
            f"| {mode} | {alone:.2f} | {alone / seconds['1', 1]:.2f}x | {two:.2f} | "
            f"{two / seconds['1', 2]:.2f}x | {seconds['1', 1] / two:.2f} | {', '.join(digests)} |"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], sys.argv[3] or None, int(sys.argv[4]))
    else:
        main()
