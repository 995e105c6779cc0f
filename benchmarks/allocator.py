"""Training iterations with glibc's default malloc against `iai train`'s
(`iai.training.allocator.retain_freed_memory`), each in a fresh process, alternating; for the
tabular recipes also the tabular learner of an earlier commit under the default malloc, the
whole change since then as `iai train` sees it.

    OMP_NUM_THREADS=1 python benchmarks/allocator.py [--base 578281f] [--iterations 5] [--rounds 2]

Per recipe, `rounds` rounds of fresh processes (base, default, retained), each training
`iterations` iterations of the recipe on one thread from the same seed, so all read the same
tasks; the first iteration of each process warms up and is not timed. Reports the median
seconds per iteration, the ratios, each variant's peak resident memory (VmHWM) and whether all
computed the same losses bit for bit. Writes benchmarks/results/allocator/allocator.md.
"""

import argparse
import statistics
import time
from pathlib import Path

import torch

from common.command import command, write_markdown
from common.tabular.measure import in_fresh_process, rss
from common.tabular_at import base_class
from iai.config import load_config
from iai.experiment import build
from iai.training.allocator import retain_freed_memory
from iai.training.loop import iterations as stream_of

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "allocator"
RECIPES = (
    "configs/tabular/classification.toml",
    "configs/tabular/regression.toml",
    "configs/tabular/tokens-classification.toml",
    "configs/linreg-d8.toml",
)
VARIANTS = ("base", "default", "retained")


def _run(recipe: str, iterations: int, variant: str, base: str) -> tuple[list, list, float]:
    """(seconds per timed iteration, every iteration's losses, peak MiB) in this process."""
    torch.set_num_threads(1)
    if variant == "retained" and not retain_freed_memory():
        raise RuntimeError("retain_freed_memory() did not apply: not glibc")
    cfg = load_config(ROOT / recipe, ["train.iterations=1000"])
    learner, prior = build(cfg)
    if variant == "base":
        learner.__class__ = base_class(base)
    stream = stream_of(cfg, learner, prior)
    seconds, losses = [], []
    for i in range(iterations):
        clock = time.perf_counter()
        losses.append(next(stream).detach().tolist())  # (K + 1,) per-step losses
        if i:  # the first iteration warms up
            seconds.append(time.perf_counter() - clock)
    return seconds, losses, rss("VmHWM")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="578281f", help="the tabular learner's earlier commit")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    rows = []
    for recipe in RECIPES:
        tabular = load_config(ROOT / recipe).learner.kind == "tabular"  # base: its learner only
        variants = VARIANTS if tabular else VARIANTS[1:]
        runs: dict[str, list] = {v: [] for v in variants}
        for _ in range(args.rounds):
            for v in variants:
                runs[v].append(in_fresh_process(_run, recipe, args.iterations, v, args.base))
        med = {k: statistics.median(s for r in v for s in r[0]) for k, v in runs.items()}
        peak = {k: max(r[2] for r in v) for k, v in runs.items()}
        first = runs["default"][0][1]
        same = all(r[1] == first for v in runs.values() for r in v)
        shown = {v: f"{med[v]:.3f}" if v in med else "–" for v in VARIANTS}
        whole = f"{med['base'] / med['retained']:.2f}" if tabular else "–"
        rows.append(
            f"| `{recipe}` | {shown['base']} | {shown['default']} | {shown['retained']} | "
            f"{med['default'] / med['retained']:.2f} | {whole} | {peak['default']:.0f} | "
            f"{peak['retained']:.0f} | {'yes' if same else 'NO'} |"
        )
        print(rows[-1], flush=True)
    cmd = "OMP_NUM_THREADS=1 " + command()
    text = [
        f"`{cmd}`, {time.strftime('%Y-%m-%d %H:%M')}; torch {torch.__version__}; one thread. "
        f"Per recipe {args.rounds} rounds of fresh processes: `base`, the tabular learner of "
        f"{args.base} (`iai/learners/tabular.py` from git, as benchmarks/tabular_step.py lends "
        "it) under glibc's default malloc, tabular recipes only; `default`, this tree under the "
        "default malloc; `retained`, this tree after `retain_freed_memory()`, as `iai train` "
        f"runs. Each process trains {args.iterations} iterations from the same seed, the first "
        "not timed: median seconds per iteration over the timed ones; peak resident memory "
        "(VmHWM, MiB) of the larger process of a variant; whether every process computed the "
        "same losses bit for bit.",
        "",
        "| recipe | base s | default s | retained s | retained speed-up | base → retained "
        "| default peak MiB | retained peak MiB | same losses |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    write_markdown(OUT / "allocator.md", cmd, "Training with freed memory kept by malloc", text)


if __name__ == "__main__":
    main()
