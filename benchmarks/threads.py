"""How many CPU threads training should use: a tiny training at 1 thread, 2 threads, torch's own
default and iai's default, alone and as two jobs at once, side by side in one run:

    .venv/bin/python benchmarks/threads.py > benchmarks/results/threads/threads.md

Each training is a fresh process (`iai.train(..., threads=N)`, OMP_NUM_THREADS unset, so
torch's default is its own) timed around the call; modes are interleaved round by round, each
round led by the next mode, so that a noisy machine slows them alike. "two at once" starts two
processes of the same mode together, as when several jobs share the machine. The weights'
digest shows which thread counts train the same bits.
"""

import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
MODES = ("1", "2", "torch default", "iai default")
ROUNDS = 5


def worker(mode: str) -> None:
    """Train TINY once with the mode's threads; print its seconds and the weights' digest."""
    import torch

    import iai

    threads = {"1": 1, "2": 2, "torch default": torch.get_num_threads(), "iai default": None}
    with tempfile.TemporaryDirectory() as out:
        clock = time.perf_counter()
        learner = iai.train(CONFIG, out, overrides=TINY, progress=False, threads=threads[mode])
        seconds = time.perf_counter() - clock
    state = learner.state_dict()
    digest = hashlib.sha256(b"".join(state[k].numpy().tobytes() for k in sorted(state)))
    print(json.dumps({"seconds": seconds, "digest": digest.hexdigest()[:12]}))


def run(mode: str, jobs: int) -> list[dict]:
    """`jobs` trainings of `mode` started together; each one's result."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    args = [sys.executable, __file__, "--worker", mode]
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
    results = {(m, j): [] for j in (1, 2) for m in MODES}
    load_before = os.getloadavg()
    for r in range(ROUNDS):
        for jobs in (1, 2):
            for mode in MODES[r % len(MODES) :] + MODES[: r % len(MODES)]:  # each leads a round
                results[mode, jobs] += run(mode, jobs)
    load_after = os.getloadavg()
    seconds = {key: statistics.median(r["seconds"] for r in rs) for key, rs in results.items()}
    lines = [
        "<!-- python benchmarks/threads.py -->",
        "# Training threads",
        "",
        "    .venv/bin/python benchmarks/threads.py > benchmarks/results/threads/threads.md",
        "",
        f"A tiny training ({CONFIG.name} with {' '.join(TINY)}), each a fresh process; median "
        f"seconds of {ROUNDS} rounds (two at once: median over both jobs of every round). "
        "On this machine torch's default is 2 threads, so rows 2 and torch default run the "
        "same count: the gap between them is the shared machine's noise.",
        "",
        *machine(),
        f"- load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after",
        "",
        "| threads | alone s | vs 1 thread | two at once s | vs 1 thread | weights |",
        "|---|---|---|---|---|---|",
    ]
    for mode in MODES:
        alone, two = seconds[mode, 1], seconds[mode, 2]
        digests = sorted({r["digest"] for key in ((mode, 1), (mode, 2)) for r in results[key]})
        lines.append(
            f"| {mode} | {alone:.2f} | {alone / seconds['1', 1]:.2f}x | {two:.2f} | "
            f"{two / seconds['1', 2]:.2f}x | {', '.join(digests)} |"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2])
    else:
        main()
