"""Section `stream`: prequential (test-then-train) error over one pass of each larger table."""

import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from river import evaluate, stream

from common.tabular.learners import Kind
from common.tabular.measure import in_fresh_process, rss, single_thread
from common.tabular.tables import STREAM_TABLES, Table, load

BATCH, STREAM_CAP = 32, 20_000  # stream: rows per prequential mini-batch, rows per table


@dataclass
class StreamRun:
    table: str
    learner: str
    rows: list[int]  # rows scored so far at each checkpoint (the first BATCH rows are not scored)
    error: list[float]  # cumulative RMSE or error rate there
    seconds: float  # wall time of the whole pass, predictions and updates
    start_mib: float  # resident memory after imports and loading the table
    peak_mib: float  # peak resident memory of the process


def _batch_prequential(model: Any, X: np.ndarray, y: np.ndarray, kind: Kind, every: int):
    """Predict each BATCH rows, then partial_fit on them; the first batch only trains."""
    kw = kind.partial_kw(y)
    model.partial_fit(X[:BATCH], y[:BATCH], **kw)
    preds, rows, scores = [], [], []
    for start in range(BATCH, len(y), BATCH):
        xb, yb = X[start : start + BATCH], y[start : start + BATCH]
        preds.append(model.predict(xb))
        model.partial_fit(xb, yb, **kw)
        seen = start + len(yb) - BATCH
        if seen % every == 0 or seen == len(y) - BATCH:
            rows.append(seen)
            scores.append(kind.score(y[BATCH : BATCH + seen], np.concatenate(preds)))
    return rows, scores


def _river_prequential(model: Any, X: np.ndarray, y: np.ndarray, kind: Kind, every: int):
    """river's own progressive validation, one row at a time, after the first batch only trains."""
    for x_i, y_i in stream.iter_array(X[:BATCH], y[:BATCH]):
        model.learn_one(x_i, y_i)
    metric = kind.river_metric()
    steps = evaluate.iter_progressive_val_score(
        stream.iter_array(X[BATCH:], y[BATCH:]), model, metric, step=every
    )
    rows, scores = [], []
    for report in steps:  # `metric` is updated in place: read it at each checkpoint
        rows.append(report["Step"])
        scores.append(metric.get())
    return rows, scores


def _stream_run(name: str, learner: str, cap: int, iai: str | None) -> StreamRun:
    """One learner's prequential pass over a shuffled table; run in a fresh process (`iai`:
    the IAI estimators' `learner`)."""
    single_thread()
    table = load(name)
    order = np.random.default_rng(0).permutation(len(table.y))[:cap]
    X, y = table.X[order], table.y[order]
    model = table.kind.online(0, table.classes, iai)[learner]
    every = BATCH * max(1, len(y) // (BATCH * 100))  # about 100 checkpoints
    run = _river_prequential if hasattr(model, "learn_one") else _batch_prequential
    start, clock = rss("VmRSS"), time.perf_counter()
    rows, scores = run(model, X, y, table.kind, every)
    seconds = time.perf_counter() - clock
    errors = [table.kind.error(s) for s in scores]
    return StreamRun(name, learner, rows, errors, seconds, start, rss("VmHWM"))


def run(quick: bool, out: Path, learner: str | None = None) -> tuple[str, dict]:
    """Prequential (test-then-train) error over one pass of each larger table (`learner`: the
    IAI estimators' parameter, "{kind}" filled in, None for the default)."""
    names, cap = (
        (("diabetes", "breast_cancer", "digits"), 640) if quick else (STREAM_TABLES, STREAM_CAP)
    )
    tables = [load(name) for name in names]
    runs = []
    for table in tables:
        iai = learner and learner.format(kind=table.kind.name)
        for name in table.kind.online(0, table.classes):
            runs.append(in_fresh_process(_stream_run, table.name, name, cap, iai))
            print(f"stream: {table.name} {name} {runs[-1].seconds:.1f} s", file=sys.stderr)
    png = "stream.png" if learner is None else "stream-tokens.png"  # as tabular.py names the .md
    _plot_stream(tables, runs, out / png)
    wins = 0
    lines = [
        "Prequential evaluation: each table shuffled once (seed 0), capped at "
        f"{cap:,} rows, read once in that order. The first {BATCH} rows only train every learner "
        "and are scored by none; after them, IAI and the scikit-learn learners predict each "
        f"batch of {BATCH} rows and then partial_fit on it, while river's learners go one row at "
        "a time through `evaluate.iter_progressive_val_score` (that is how river learns), so "
        "they update after every row. Error: cumulative RMSE (target units) or error rate "
        "(1 − accuracy) over every row scored so far. The scikit-learn learners sit behind "
        "StandardScalers updated by their own partial_fit (target too for regression); river's "
        "linear models behind river's StandardScaler (and TargetStandardScaler); "
        "PassiveAggressive is deprecated in scikit-learn 1.8, so PA is SGD with its stated "
        "replacement (learning_rate='pa1'). Each learner × table runs in a fresh process: peak "
        "is that process's VmHWM, growth is the peak above its resident memory once the "
        f"libraries and the table were loaded. IAI: `learner={learner!r}`.\n",
        f"![cumulative error against rows seen]({png})\n",
    ]
    for table in tables:
        mine = [r for r in runs if r.table == table.name]
        iai = next(r for r in mine if r.learner == "IAI")
        best = all(iai.error[-1] < r.error[-1] for r in mine if r is not iai)
        wins += best
        lines += [
            f"## {table.name}: {table.describe()}\n",
            f"IAI's final error below every other learner's: {'yes' if best else 'no'}\n",
            f"| learner | final {table.kind.error_name} | seconds | peak MiB | growth MiB |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {r.learner} | {r.error[-1]:.4g} | {r.seconds:.3g} | {r.peak_mib:.0f} | "
            f"{r.peak_mib - r.start_mib:.0f} |"
            for r in mine
        ]
        lines.append("")
    summary = f"IAI's final cumulative error is below every other online learner's on {wins} of "
    summary += f"{len(tables)} tables"
    print(summary, file=sys.stderr)
    lines.insert(1, f"**Summary: {summary}.**\n")
    return "\n".join(lines), {
        "runs": [asdict(r) for r in runs],
        "summary": {"iai_best": wins, "tables": len(tables)},
    }


def _plot_stream(tables: list[Table], runs: list[StreamRun], path: Path) -> None:
    cols = min(4, len(tables))
    fig, axes = plt.subplots(
        math.ceil(len(tables) / cols),
        cols,
        figsize=(4 * cols, 3.3 * math.ceil(len(tables) / cols)),
        squeeze=False,
    )
    for ax, table in zip(axes.flat, tables, strict=False):
        mine = [r for r in runs if r.table == table.name]
        # a learner that diverges (river's linear regression on fair) would flatten the rest:
        # the axis stops at twice the largest error IAI shows, and says so
        top = 2 * max(max(r.error) for r in mine if r.learner == "IAI")
        clipped = [r.learner for r in mine if max(r.error) > top]
        for r in mine:
            ax.plot(
                np.add(r.rows, BATCH),
                r.error,
                label=r.learner,
                lw=2.5 if r.learner == "IAI" else 1.2,
            )
        ax.set_ylim(0.9 * min(min(r.error) for r in mine), top)
        ax.set(
            title=f"{table.name} ({len(table.y):,} rows)"
            + (f"\n(axis cut: {', '.join(clipped)} above)" if clipped else ""),
            xscale="log",
            xlabel="rows seen",
            ylabel=f"cumulative {table.kind.error_name}",
        )
        ax.tick_params(axis="x", which="minor", labelbottom=False)
    for ax in axes.flat[len(tables) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels))
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
