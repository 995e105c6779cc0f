"""Training throughput of the committed recipes now against the tree issue 22 was filed on
(ff4b2c8, the commit before its first change), each as `iai train` runs it with its tree's
defaults: the issue's "at least 1.5 × their current iterations/s", measured side by side.

    python benchmarks/throughput_since.py [--base ff4b2c8] [--rounds 3]

Per recipe and thread count, `rounds` rounds of two fresh processes in turn, one per tree (the
base's `iai/` and `configs/` from git, put on PYTHONPATH; this tree's), each training its own
recipe from the recipe's seed. Between the two trees these recipes differ only in comments and
`train.retain_freed_memory`. Now: `train.precision = "auto"` made concrete as `iai train` does
on this machine, and glibc's freed memory kept where the recipe says so; the base had neither
and trained in float32. The first iterations of a process warm up and are not timed; it/s is
one over the median seconds of the timed ones over all rounds. Threads: 1, as the committed
recipes ran and as `iai train` chooses by default now, and 2.
Writes benchmarks/results/throughput/since.md.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from common.command import command, write_markdown

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "throughput" / "since.md"
RECIPES = (  # recipe, timed iterations per process
    ("configs/linreg-d8.toml", 4),
    ("configs/linreg-d8-memory.toml", 4),
    ("configs/linreg-d8-implicit.toml", 4),
    ("configs/linreg-d8-explicit.toml", 4),
    ("configs/linreg-d8-cnp.toml", 4),
    ("configs/generative/gmm-2d.toml", 4),
    ("configs/generative/gmm-2d-explicit.toml", 4),
    ("configs/tabular/regression.toml", 3),
    ("configs/tabular/classification.toml", 2),
)
WARMUP = 2  # untimed iterations first: allocation, packing, kernel choice


def child(recipe: str, timed: int, threads: int, sets: list[str], retain: bool) -> dict:
    """In a fresh process whose `iai` is the tree under test: seconds of each timed iteration."""
    import iai
    from iai.config import load_config
    from iai.experiment import build
    from iai.training.loop import iterations

    torch.set_num_threads(threads)
    if retain:  # only this tree has it
        from iai.training.allocator import retain_freed_memory

        retain_freed_memory()
    cfg = load_config(recipe, [f"train.iterations={WARMUP + timed}", *sets])
    learner, prior = build(cfg)
    stream = iterations(cfg, learner, prior)
    seconds = []
    for i in range(WARMUP + timed):
        clock = time.perf_counter()
        losses = next(stream)
        if i >= WARMUP:
            seconds.append(time.perf_counter() - clock)
    return {"seconds": seconds, "iai": iai.__file__, "loss": float(losses.mean())}


def measure(tree: Path, recipe: str, timed: int, threads: int, sets, retain) -> dict:
    """`child` in a fresh process, in `tree` with its `iai` first on the path."""
    args = [recipe, str(timed), str(threads), json.dumps(sets), str(int(retain))]
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": str(threads)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{tree.name}: {recipe} failed:\n{done.stderr[-2000:]}")
    record = json.loads(done.stdout.splitlines()[-1])
    if not Path(record["iai"]).is_relative_to(tree):
        raise RuntimeError(f"the child imported {record['iai']}, not the tree under test")
    return record


def now_settings(recipe: str) -> tuple[list[str], bool, str]:
    """What `iai train` adds to the recipe here: its concrete precision, and whether it keeps
    freed memory."""
    from iai.config import load_config
    from iai.training.precision import resolved

    cfg = resolved(load_config(ROOT / recipe), torch.device("cpu"))
    precision = cfg.train.precision
    return [f"train.precision={precision}"], cfg.train.retain_freed_memory, precision


def base_tree(rev: str) -> Path:
    """The base's `iai/` and `configs/`, unpacked from git into a temporary folder."""
    tree = Path(tempfile.mkdtemp(prefix=f"iai-{rev}-"))
    archive = subprocess.run(
        ["git", "archive", rev, "iai", "configs"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="ff4b2c8")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    base = base_tree(args.base)
    rows = []
    for threads in (1, 2):
        for recipe, timed in RECIPES:
            sets, retain, precision = now_settings(recipe)
            secs: dict[str, list[float]] = {"base": [], "now": []}
            for _ in range(args.rounds):
                secs["base"] += measure(base, recipe, timed, threads, [], False)["seconds"]
                secs["now"] += measure(ROOT, recipe, timed, threads, sets, retain)["seconds"]
            rate = {k: 1 / statistics.median(v) for k, v in secs.items()}
            rows.append(
                f"| `{recipe}` | {threads} | {rate['base']:.3g} | {rate['now']:.3g} "
                f"| {precision} | {rate['now'] / rate['base']:.2f} |"
            )
            print(rows[-1], flush=True)
    cmd = command()
    text = [
        f"`{cmd}`, {time.strftime('%Y-%m-%d %H:%M')}; torch {torch.__version__}; "
        f"{os.cpu_count()} CPUs. Base: {args.base}, trained in float32. Now: this tree, in the "
        "precision `iai train` chooses here. Per recipe and thread count "
        f"{args.rounds} rounds of a fresh process per tree in turn, {WARMUP} untimed "
        "iterations each; it/s from the median timed iteration.",
        "",
        "| recipe | threads | base it/s | now it/s | now's precision | now / base |",
        "|---|---:|---:|---:|---|---:|",
        *rows,
    ]
    write_markdown(OUT, cmd, f"Training throughput now against {args.base}", text)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        recipe, timed, threads, sets, retain = sys.argv[2:]
        record = child(recipe, int(timed), int(threads), json.loads(sets), retain == "1")
        print(json.dumps(record))
    else:
        main()
