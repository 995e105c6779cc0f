"""Trainer throughput (tasks per second) of greedy training: before and after reading only the
tokens a learner uses in the last transformer block, and with torch.compile.

"before" runs every token through every block and slices the outputs afterwards, as the
trainer did until the update networks learned to skip the unread tokens; "after" is the
current code; "after + compile" adds torch.compile. The variants train the same config from
the same seed in one process, their iterations interleaved round by round so that a noisy
machine slows them alike:

    python benchmarks/throughput.py [CONFIG ...] > benchmarks/results/throughput.md
"""

import sys
import time
from contextlib import contextmanager

import torch
from iai.train import build, compile_networks, greedy_losses

from iai.config import load_config
from iai.models.set_transformer import SetTransformer

ROUNDS, WARMUP = 12, 2


def full_last_block(self, h, keys=None, read=None):
    """The code before: every token through every block, the outputs sliced afterwards."""
    for block in self.blocks:
        h = block(h, keys)
    return self.norm(h) if read is None else self.norm(h)[:, read]


@contextmanager
def before():
    fast = SetTransformer.forward
    SetTransformer.forward = full_last_block
    try:
        yield
    finally:
        SetTransformer.forward = fast


def trainer(cfg, compile_: bool):
    """One training iteration of `cfg` as a closure, with its own learner and generator."""
    learner, prior = build(cfg)
    if compile_:
        compile_networks(learner)
    t = cfg.train
    opt = torch.optim.AdamW(learner.parameters(), lr=t.lr)
    gen = torch.Generator().manual_seed(0)
    greedy = t.backprop == "greedy"

    def one() -> None:
        tasks = prior.sample(t.tasks, t.steps * t.batch_size, t.queries, generator=gen)
        opt.zero_grad()
        greedy_losses(learner, tasks, t.batch_size, t.steps, greedy).mean().backward()
        opt.step()

    return one


def measure(path: str) -> None:
    cfg = load_config(path)
    variants = {"before": False, "after": False, "after + compile": True}
    runs = {name: trainer(cfg, c) for name, c in variants.items()}
    seconds, warm = dict.fromkeys(runs, 0.0), dict.fromkeys(runs, 0.0)
    for r in range(WARMUP + ROUNDS):
        for name, one in runs.items():
            clock = time.perf_counter()
            if name == "before":
                with before():
                    one()
            else:
                one()
            (warm if r < WARMUP else seconds)[name] += time.perf_counter() - clock
    t = cfg.train
    rate = {name: ROUNDS * t.tasks / s for name, s in seconds.items()}
    print(f"## {path} ({cfg.learner.kind}, width {cfg.learner.width})\n")
    print(
        f"T = {t.tasks} tasks x K = {t.steps} steps of B = {t.batch_size}, Q = {t.queries}; "
        f"{ROUNDS} interleaved rounds after {WARMUP} of warm-up\n"
    )
    print("| variant | tasks / s | warm-up s | vs before |\n|---|---|---|---|")
    for name in runs:
        print(
            f"| {name} | {rate[name]:.1f} | {warm[name]:.1f} | {rate[name] / rate['before']:.2f}x |"
        )
    print()


def main() -> None:
    paths = sys.argv[1:] or ["configs/demo.toml"]
    threads, version = torch.get_num_threads(), torch.__version__
    print(f"# Greedy-training throughput, {threads} thread(s), torch {version}\n")
    for path in paths:
        measure(path)


if __name__ == "__main__":
    main()
