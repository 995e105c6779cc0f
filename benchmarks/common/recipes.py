"""The committed recipes a speed benchmark trains, one per learner kind and objective, with how
many timed rounds each gets (fewer for the tabular recipe, the slowest by far: see
benchmarks/results/throughput/throughput.md), and timing their training iterations side by
side."""

import time

import torch

WARMUP = 2  # untimed rounds first: a first iteration allocates, packs and picks kernels

RECIPES = (
    ("configs/linreg-d8.toml", 12),
    ("configs/linreg-d8-memory.toml", 12),
    ("configs/linreg-d8-implicit.toml", 12),
    ("configs/linreg-d8-explicit.toml", 12),
    ("configs/linreg-d8-cnp.toml", 12),
    ("configs/generative/gmm-2d.toml", 12),
    ("configs/generative/gmm-2d-explicit.toml", 12),
    ("configs/gp-tokens.toml", 12),
    ("configs/tabular/regression.toml", 3),
)


def done(device: str) -> None:
    """Wait for the device's queued kernels (a GPU runs them after the call returns)."""
    if device == "cuda":
        torch.cuda.synchronize()


def interleaved_rates(
    runs: dict, rounds: int, device: str, threads: dict | None = None
) -> dict[object, float]:
    """key -> iterations per second of runs[key] (training iterations, one per `next`, as
    `iai.training.loop.iterations` gives them), timed round by round in turn so that a noisy
    machine slows them alike, after WARMUP untimed rounds; `threads[key]`: torch's thread
    count while that run's iteration runs."""
    seconds = dict.fromkeys(runs, 0.0)
    for r in range(WARMUP + rounds):
        for key, run in runs.items():
            if threads is not None:
                torch.set_num_threads(threads[key])
            clock = time.perf_counter()
            next(run)
            done(device)
            if r >= WARMUP:
                seconds[key] += time.perf_counter() - clock
    return {key: rounds / s for key, s in seconds.items()}
