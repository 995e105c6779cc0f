"""Trainer throughput (tasks per second) of greedy training, eager against torch.compile.

Both variants train the same config from the same seed in one process, one after the other,
after a warm-up (which for the compiled one includes compilation, reported apart):

    python benchmarks/throughput.py [CONFIG] > benchmarks/results/throughput.md
"""

import sys
import time

import torch

from iai.config import load_config
from iai.train import build, compile_networks, greedy_losses

ITERS, WARMUP = 20, 3


def measure(cfg, compile_: bool) -> tuple[float, float]:
    """(tasks per second, seconds of warm-up) for `cfg` trained eagerly or compiled."""
    learner, prior = build(cfg)
    if compile_:
        compile_networks(learner)
    t = cfg.train
    opt = torch.optim.AdamW(learner.parameters(), lr=t.lr)
    gen = torch.Generator().manual_seed(0)

    def one() -> None:
        tasks = prior.sample(t.tasks, t.steps * t.batch_size, t.queries, generator=gen)
        opt.zero_grad()
        greedy_losses(learner, tasks, t.batch_size, t.steps).mean().backward()
        opt.step()

    clock = time.perf_counter()
    for _ in range(WARMUP):
        one()
    warm = time.perf_counter() - clock
    clock = time.perf_counter()
    for _ in range(ITERS):
        one()
    return ITERS * t.tasks / (time.perf_counter() - clock), warm


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "configs/demo.toml"
    cfg = load_config(path)
    eager, eager_warm = measure(cfg, False)
    compiled, compiled_warm = measure(cfg, True)
    print(f"# Greedy-training throughput, {path}, {torch.get_num_threads()} thread(s)\n")
    print(
        f"T = {cfg.train.tasks} tasks x K = {cfg.train.steps} steps of B = {cfg.train.batch_size}, "
        f"{ITERS} iterations after {WARMUP} of warm-up, torch {torch.__version__}\n"
    )
    print("| variant | tasks / s | warm-up s |\n|---|---|---|")
    print(f"| eager | {eager:.1f} | {eager_warm:.1f} |")
    print(f"| torch.compile | {compiled:.1f} | {compiled_warm:.1f} |")
    print(f"\ncompiled / eager throughput: {compiled / eager:.2f}x")


if __name__ == "__main__":
    main()
