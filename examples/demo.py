"""What iterative amortized inference does, in about a minute on two CPU cores (`make demo`).

1. The committed learner checkpoints/linreg-d8 (linear regression, d = 8, trained on
   mini-batches of B = 16 points for K = 8 steps) adapts to fresh tasks one mini-batch at a
   time, beside the exact Bayes posterior and per-task SGD and Adam with tuned learning rates,
   in distribution and under one input shift: a table, a plot and a JSON file.
2. A short training run of a small learner (configs/demo-quick.toml) prints its loss as it
   falls, then is scored against the exact posterior on the same fresh tasks.

It ends with a summary and the paths of what it wrote. It uses only the public API, finds the
checkpoint and config next to itself, and writes under --out (default: runs/demo, relative to
the working directory), replacing an earlier demo there.

    python examples/demo.py [--out DIR] [--tasks N] [--ood NAME|none] ...

The evaluation is `iai eval`'s, shrunk to fit: 500 tasks, learning rates tuned on 100 tasks,
50 optimizer updates per mini-batch (`iai eval` and `make demo-long`: 1,000, 200 and 100).
"""

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import textwrap
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

import iai
from iai.config import load_config
from iai.evaluation import report
from iai.evaluation.config import EvalConfig
from iai.evaluation.evaluate import evaluate
from iai.evaluation.results import EvalResult

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT = ROOT / "checkpoints" / "linreg-d8"
CONFIG = ROOT / "configs" / "demo-quick.toml"
SHOWN_STEPS = (1, 2, 4, 8, 16)
WIDTH = 88  # of the printed text
# What each input shift changes, for the summary.
SHIFTS = {
    "shift_x": "every input feature shifted by +1",
    "wide_x": "inputs twice as spread out",
    "noisy": "four times the noise variance",
    "wide_prior": "weights twice as large",
}
ROWS = {  # method -> how the summary names it
    "iai": "IAI: one learned update per mini-batch",
    "sgd_online": "SGD: one update per mini-batch",
    "adam_online": "Adam: one update per mini-batch",
    "sgd": "SGD: {iters} updates per mini-batch",
    "adam": "Adam: {iters} updates per mini-batch",
}


def _show(path: Path) -> str:
    """`path` relative to the working directory where it lies below it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def _say(text: str) -> None:
    """Print a paragraph wrapped to WIDTH (a leading newline kept)."""
    lead = "\n" if text.startswith("\n") else ""
    print(lead + textwrap.fill(text.lstrip("\n"), WIDTH), flush=True)


def _ratios(result, method: str, steps: list[int]) -> list[float]:
    ours, bayes = result.curve(method).mean, result.curve("bayes").mean
    return [ours[k] / bayes[k] for k in steps]


def _ratio_table(results, steps: list[int], iters: int) -> list[str]:
    head = f"  {'after k mini-batches of ' + str(results[0].batch_size) + ' points:':46}"
    lines = [head + "".join(f"{'k=' + str(k):>8}" for k in steps)]
    for r in results:
        where = (
            "in distribution"
            if r.variant == "id"
            else (f"out of distribution, {r.variant}: {SHIFTS.get(r.variant, r.variant)}")
        )
        lines.append(f"  {where}")
        for method, label in ROWS.items():
            if method in r.methods:
                cells = "".join(f"{v:8.2f}" for v in _ratios(r, method, steps))
                lines.append(f"    {label.format(iters=iters):44}{cells}")
    return lines


def _follow(metrics: Path, total: int, every: int, stop: threading.Event) -> None:
    """Print the training loss from metrics.jsonl as the trainer appends to it."""
    seen = 0
    while True:
        finished = stop.is_set()  # read once more after the trainer is done
        lines = metrics.read_text().splitlines(keepends=True) if metrics.exists() else []
        for line in lines[seen:]:
            if not line.endswith("\n"):
                break  # a line still being written
            seen += 1
            rec = json.loads(line)
            if rec["step"] == 1 or rec["step"] % every == 0 or rec["step"] == total:
                print(
                    f"  iteration {rec['step']:4d}/{total}   loss {rec['loss']:7.3f}   "
                    f"after the last mini-batch {rec['per_step'][-1]:7.3f}",
                    flush=True,
                )
        if finished:
            return
        stop.wait(0.2)


def _evaluated(variant: str, seconds: float) -> None:
    where = "in distribution" if variant == "id" else f"out of distribution, {variant}"
    print(f"  {where}: evaluated in {seconds:.0f} s", flush=True)


def evaluate_committed(args, out: Path) -> list:
    """Part 1: the committed learner beside exact Bayes and tuned SGD / Adam."""
    learner = iai.load(args.checkpoint)
    t = learner.config.train
    variants = ["id"] + ([] if args.ood == "none" else [args.ood])
    cfg = EvalConfig(
        tasks=args.tasks,
        steps=args.steps,
        tune_tasks=args.tune_tasks,
        optimizer_iters=args.optimizer_iters,
        ood=tuple(variants[1:]),
    )
    _say(
        "IAI (iterative amortized inference): a learner that adapts to a new task one "
        "mini-batch at a time, with an update it learned across many tasks."
    )
    _say(
        f"\n1) The trained learner {_show(Path(args.checkpoint))} "
        f"({learner.config.task.name.replace('_', ' ')}, d = {learner.dim}, trained on "
        f"{t.steps} mini-batches of {t.batch_size} points) adapts to {cfg.tasks} fresh tasks, "
        "one mini-batch at a time, beside the exact Bayes posterior and SGD / Adam with "
        f"learning rates tuned on {cfg.tune_tasks} other tasks."
    )
    # one process per distribution where the cores allow (spawned: a fresh torch each), so
    # the two evaluations take the time of one; one core: in turn, with a progress bar
    workers = min(len(variants), len(os.sched_getaffinity(0)) // args.threads)
    results = []
    if workers < 2:
        for variant in variants:
            clock = time.perf_counter()
            results.append(evaluate(learner, cfg, variant, progress=not args.quiet))
            _evaluated(variant, time.perf_counter() - clock)
    else:
        print(f"  evaluating {len(variants)} distributions in {workers} processes", flush=True)
        clock, spawn = time.perf_counter(), multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            workers, spawn, initializer=torch.set_num_threads, initargs=(args.threads,)
        ) as pool:
            jobs = [pool.submit(evaluate, learner, cfg, v, None, False) for v in variants]
            for variant, job in zip(variants, jobs, strict=True):
                results.append(job.result())
                _evaluated(variant, time.perf_counter() - clock)
    report.write(results, out)
    return results


def train_quick(args, out: Path) -> tuple[list[dict], EvalResult, float]:
    """Part 2: a short training run, its loss printed as it falls; returns the metrics, the
    learner scored beside exact Bayes (no optimizers) on the same fresh tasks, and seconds."""
    cfg = load_config(args.config, args.set)  # as iai.train reads it, to say what it trains
    t = cfg.train
    every = max(1, t.iterations // 10)
    _say(
        f"\n2) Training a small learner ({_show(Path(args.config))}: width "
        f"{cfg.learner.width}, {t.iterations} iterations of {t.tasks} fresh tasks each). "
        f"Loss: half the squared error on held-out points, averaged over steps 0 … {t.steps}; "
        f"then after the last of the {t.steps} mini-batches."
    )
    if out.exists():
        shutil.rmtree(out)
    stop = threading.Event()
    follower = threading.Thread(
        target=_follow, args=(out / "metrics.jsonl", t.iterations, every, stop), daemon=True
    )
    follower.start()
    clock = time.perf_counter()
    try:
        learner = iai.train(
            args.config, out, overrides=args.set, progress=False, threads=args.threads
        )
    finally:
        stop.set()
        follower.join()
    seconds = time.perf_counter() - clock
    print(f"  trained in {seconds:.0f} s", flush=True)
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    scored = evaluate(
        learner,
        EvalConfig(tasks=args.tasks, steps=args.steps, baselines=False, ood=()),
        "id",
    )
    return metrics, scored, seconds


def _reading(results, steps: list[int], iters: int) -> list[str]:
    """What the ratio table says, in words, from its own numbers."""
    r = results[0]
    iai_r = dict(zip(steps, _ratios(r, "iai", steps), strict=True))
    close = [k for k in steps if iai_r[k] <= 1.10]
    k = close[0] if close else steps[-1]
    text = (
        f"In distribution, IAI's error is {iai_r[k]:.2f}x the Bayes error after {k} "
        f"mini-batch{'es' if k > 1 else ''} and {iai_r[steps[-1]]:.2f}x after {steps[-1]}."
    )
    if "sgd_online" in r.methods:
        sgd_1, adam_1 = (_ratios(r, m, [k])[0] for m in ("sgd_online", "adam_online"))
        sgd_n, adam_n = (_ratios(r, m, [k])[0] for m in ("sgd", "adam"))
        text += (
            f" With one update per mini-batch, as IAI makes, tuned SGD and Adam are at "
            f"{sgd_1:.2f}x and {adam_1:.2f}x there; with {iters} updates per mini-batch over "
            f"all points seen so far ({iters} times IAI's), at {sgd_n:.2f}x and {adam_n:.2f}x."
        )
    for shifted in results[1:]:
        a, b = _ratios(shifted, "iai", [steps[0], steps[-1]])
        text += (
            f" Under {shifted.variant} ({SHIFTS.get(shifted.variant, shifted.variant)}), which "
            f"the learner never saw in training, IAI is {a:.2f}x Bayes after {steps[0]} "
            f"mini-batch{'es' if steps[0] > 1 else ''} and {b:.2f}x after {steps[-1]}: it "
            "still adapts, less well."
        )
    return textwrap.wrap(text, WIDTH)


def _written(out: Path) -> list[str]:
    files = [
        (out / "eval" / "eval.md", "every method after every mini-batch, mean ± s.e."),
        (out / "eval" / "eval.png", "error against step, and its ratio to Bayes"),
        (out / "eval" / "eval.json", "every number"),
        (out / "train", "the trained learner (iai.load it) and its metrics.jsonl"),
        (out / "summary.txt", "this summary"),
    ]
    width = max(len(_show(path)) for path, _ in files)
    return [f"  {_show(path):{width}}  {what}" for path, what in files]


def summary(args, results, metrics, scored, train_seconds, out: Path) -> str:
    steps = [k for k in SHOWN_STEPS if k <= args.steps]
    r0 = results[0]
    tail = metrics[-max(1, len(metrics) // 10) :]
    end = sum(m["loss"] for m in tail) / len(tail)
    end_last = sum(m["per_step"][-1] for m in tail) / len(tail)
    K = len(metrics[0]["per_step"]) - 1
    ours = _ratios(scored, "iai", steps)
    theirs = _ratios(r0, "iai", steps)
    lines = [
        "",
        "=" * WIDTH,
        "Summary",
        "",
        "Every task is a linear regression y = w·[x, 1] + noise with its own random w. A method",
        f"reads the task's points in mini-batches of {r0.batch_size} and predicts "
        f"{EvalConfig().queries} held-out points.",
        "Error ratio = its mean squared error / the exact Bayes posterior's (1.00 is the best",
        f"possible), mean over {r0.tasks} fresh tasks:",
        "",
        *_ratio_table(results, steps, args.optimizer_iters),
        "",
        *_reading(results, steps, args.optimizer_iters),
        "",
        f"Short training ({_show(Path(args.config))}, {len(metrics)} iterations, "
        f"{train_seconds:.0f} s):",
        f"  {'loss, mean over steps 0 … ' + str(K):32}{metrics[0]['loss']:7.3f} at iteration "
        f"{metrics[0]['step']}  ->  {end:7.3f} (mean of the last {len(tail)})",
        f"  {'loss after all ' + str(K) + ' mini-batches':32}{metrics[0]['per_step'][-1]:7.3f}"
        f"{'':17}->  {end_last:7.3f}",
        f"  {'its error ratio after k = ' + ', '.join(map(str, steps)) + ':':48}"
        + ", ".join(f"{v:.2f}" for v in ours),
        f"  {'the committed learner (trained longer, wider):':48}"
        + ", ".join(f"{v:.2f}" for v in theirs),
        "",
        "Written:",
        *_written(out),
        "Longer: make demo-long (800 training iterations, 1,000-task evaluation, ~5 minutes).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/demo", help="output directory (default: runs/demo)")
    p.add_argument("--checkpoint", default=str(CHECKPOINT), help="the learner to evaluate")
    p.add_argument("--config", default=str(CONFIG), help="the short training run's config")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override for the training config, as in `iai train --set`",
    )
    p.add_argument("--tasks", type=int, default=500, help="fresh evaluation tasks")
    p.add_argument("--steps", type=int, default=16, help="mini-batches read per task")
    p.add_argument("--tune-tasks", type=int, default=100, help="tasks to tune SGD / Adam on")
    p.add_argument(
        "--optimizer-iters",
        type=int,
        default=50,
        help="SGD / Adam updates after each new mini-batch",
    )
    p.add_argument(
        "--ood",
        default="shift_x",
        choices=[*SHIFTS, "none"],
        help="the out-of-distribution variant shown (default: shift_x)",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    # One thread: these tensors are small, and on a shared 2-core machine two threads wait
    # on each other (measured 10x slower under load).
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    started = time.perf_counter()
    try:
        results = evaluate_committed(args, out / "eval")
        metrics, scored, train_seconds = train_quick(args, out / "train")
    except iai.IAIError as e:
        print(f"demo: error: {e}", file=sys.stderr)
        return 2
    text = summary(args, results, metrics, scored, train_seconds, out)
    (out / "summary.txt").write_text(text)
    print(text + f"Demo done in {time.perf_counter() - started:.0f} s.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
