"""How fast the tabular foundation model's prior draws its tables, on one thread and on several
(`train.draw_threads`): the CPU work a GPU step waits on.

    python benchmarks/prior_draw.py [--tasks 256] [--shards 8] [--rounds 3]

Each recipe's prior (configs/tabular/tokens-*.toml) draws `tasks` tables of its training size
(steps × batch_size rows and `queries` query rows) as `shards` shards of tasks / shards, each
from its own seeded generator, as the trainer draws them; torch's intra-op threads are 1 and
the shards are spread over a thread pool. Rounds alternate the thread counts; the table gives
the median seconds per draw and the speed-up over one thread, and checks that every thread
count drew the very same tables. Writes benchmarks/results/tabular-gpu/prior-draw.md.
"""

import argparse
import os
import platform
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from common.command import write_markdown
from iai.config import load_config
from iai.tasks import make_prior

OUT = Path(__file__).parent / "results" / "tabular-gpu"
RECIPES = ("configs/tabular/tokens-classification.toml", "configs/tabular/tokens-regression.toml")


def draw(prior, cfg, shards: int, per: int, threads: int) -> list:
    """The shards' tables, shard s from a generator seeded s, over `threads` threads."""
    t = cfg.train

    def one(s: int):
        g = torch.Generator().manual_seed(s)
        return prior.sample(per, t.steps * t.batch_size, t.queries, generator=g)

    if threads == 1:
        return [one(s) for s in range(shards)]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(shards)))


def same(a: list, b: list) -> bool:
    """Equal tables, NaN (a missing value) equal to NaN."""
    return all(
        torch.allclose(getattr(x, f), getattr(y, f), rtol=0, atol=0, equal_nan=True)
        for x, y in zip(a, b, strict=True)
        for f in ("x_train", "y_train", "x_query", "y_query")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=256)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    counts = sorted({1, 2, os.cpu_count() or 1})
    per = args.tasks // args.shards
    rows = []
    for recipe in RECIPES:
        cfg = load_config(recipe)
        prior = make_prior(cfg.task)
        reference = draw(prior, cfg, args.shards, per, 1)  # also warms up
        secs: dict[int, list[float]] = {k: [] for k in counts}
        equal = True
        for _ in range(args.rounds):
            for k in counts:
                clock = time.perf_counter()
                tables = draw(prior, cfg, args.shards, per, k)
                secs[k].append(time.perf_counter() - clock)
                equal &= same(tables, reference)
        base = statistics.median(secs[1])
        for k in counts:
            med = statistics.median(secs[k])
            rows.append(
                f"| {Path(recipe).stem} | {k} | {med:.2f} | {base / med:.2f} | "
                f"{'yes' if equal else 'NO'} |"
            )
            print(rows[-1], flush=True)
    cmd = (
        f"python benchmarks/prior_draw.py --tasks {args.tasks} --shards {args.shards} "
        f"--rounds {args.rounds}"
    )
    text = [
        f"`{cmd}`, {time.strftime('%Y-%m-%d %H:%M')}; torch {torch.__version__}, python "
        f"{platform.python_version()}, {platform.machine()}, os.cpu_count() = {os.cpu_count()}."
        f" {args.tasks} tables per draw in {args.shards} shards; torch.set_num_threads(1); "
        f"median of {args.rounds} rounds.",
        "",
        "| recipe | threads | s per draw | speed-up | same tables |",
        "|---|---|---|---|---|",
        *rows,
    ]
    write_markdown(
        OUT / "prior-draw.md",
        cmd,
        "Drawing the tabular foundation model's prior on one thread and on several",
        text,
    )


if __name__ == "__main__":
    main()
