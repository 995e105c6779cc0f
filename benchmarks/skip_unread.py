"""What reading only the used tokens saves: greedy training's tasks per second before and
after reading only the tokens a learner uses in the last transformer block, and with
torch.compile.

"before" runs every token through every block and slices the outputs afterwards, as the
trainer did until the update networks learned to skip the unread tokens (the set
transformers' `skip_unread = False`); "after" is the current code; "after + compile" adds
torch.compile. The variants train the same config from the same seed in one process, their
iterations (`iai.training.loop.iterations`, exactly as `iai train` runs them) interleaved
round by round so that a noisy machine slows them alike:

    python benchmarks/skip_unread.py [CONFIG ...] > benchmarks/results/throughput/skip-unread.md

(Until 2026-12-01 this script was benchmarks/throughput.py, which now measures every recipe's
FLOPs and fraction of the machine's peak.)
"""

import sys
import time
from collections.abc import Iterator

import torch

from common.command import markdown_header
from iai.config import load_config
from iai.experiment import build
from iai.models.set_transformer import SetTransformer
from iai.training.loop import compile_networks, iterations

ROUNDS, WARMUP = 12, 2
VARIANTS = {"before": (False, False), "after": (True, False), "after + compile": (True, True)}


def trainer(cfg, skip_unread: bool, compile_: bool) -> Iterator[torch.Tensor]:
    """The training iterations of `cfg`, one per `next`, with its own learner and task streams."""
    learner, prior = build(cfg)
    for module in learner.modules():
        if isinstance(module, SetTransformer):
            module.skip_unread = skip_unread
    if compile_:
        compile_networks(learner)
    return iterations(cfg, learner, prior)


def measure(path: str, rounds: int = ROUNDS, warmup: int = WARMUP, overrides=()) -> str:
    """Interleave the variants' iterations of the config at `path`; a markdown section."""
    cfg = load_config(path, list(overrides))
    runs = {name: trainer(cfg, *flags) for name, flags in VARIANTS.items()}
    seconds, warm = dict.fromkeys(runs, 0.0), dict.fromkeys(runs, 0.0)
    for r in range(warmup + rounds):
        for name, run in runs.items():
            clock = time.perf_counter()
            next(run)
            (warm if r < warmup else seconds)[name] += time.perf_counter() - clock
    t = cfg.train
    rate = {name: rounds * t.tasks / s for name, s in seconds.items()}
    lines = [
        f"## {path} ({cfg.learner.kind}, width {cfg.learner.width})",
        "",
        f"T = {t.tasks} tasks x K = {t.steps} steps of B = {t.batch_size}, Q = {t.queries}; "
        f"{rounds} interleaved rounds after {warmup} of warm-up",
        "",
        "| variant | tasks / s | warm-up s | vs before |",
        "|---|---|---|---|",
    ]
    for name in runs:
        lines.append(
            f"| {name} | {rate[name]:.1f} | {warm[name]:.1f} | {rate[name] / rate['before']:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    paths = sys.argv[1:] or ["configs/demo.toml"]
    threads, version = torch.get_num_threads(), torch.__version__
    print(markdown_header())
    print(f"# Greedy-training throughput, {threads} thread(s), torch {version}\n")
    for path in paths:
        print(measure(path))


if __name__ == "__main__":
    main()
