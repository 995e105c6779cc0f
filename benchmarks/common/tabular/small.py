"""Section `small`: every table at several training sizes, IAI against scikit-learn's
defaults."""

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from common.tabular.learners import TOL, Kind
from common.tabular.measure import mean_or_nan, std_error
from common.tabular.tables import ALL, SIZES, SPLITS, TABLES, TEST_CAP, Table, load, sizes, split


@dataclass
class Cell:
    """One learner at one training size of one table, over the random splits."""

    table: str
    size: int | str
    train: int
    test: int
    learner: str
    mean: float
    se: float
    seconds: float  # mean fit + predict wall time
    splits: int  # splits that scored (a failure is listed, not scored)
    unstratified: int  # classification splits that could not be stratified
    missing_class: int  # splits whose training rows lack some class
    failures: list[str]


@dataclass
class Verdict:
    table: str
    size: int | str
    iai: float
    best_baseline: str
    best: float
    ratio: float  # IAI / best baseline
    beats_all: bool
    near_best: bool


def _cells(table: Table, size: int | str, splits: int) -> list[Cell]:
    """IAI (first) and each baseline over `splits` seeded splits at one training size."""
    kind = table.kind
    names = ["IAI", *kind.baselines(0)]
    scores: dict[str, list[float]] = {n: [] for n in names}
    seconds: dict[str, list[float]] = {n: [] for n in names}
    failures: dict[str, list[str]] = {n: [] for n in names}
    unstratified = missing = 0
    for seed in range(splits):
        X_tr, X_te, y_tr, y_te, stratified = split(table, size, seed)
        if kind.classifies:
            unstratified += not stratified
            missing += len(np.unique(y_tr)) < table.classes
        for name, est in zip(names, [kind.iai(), *kind.baselines(seed).values()], strict=True):
            clock = time.perf_counter()
            try:
                pred = est.fit(X_tr, y_tr).predict(X_te)
            except Exception as e:  # kept in the results and printed, not hidden
                failures[name].append(f"split {seed}: {e!r}")
                print(f"{table.name}, {size} rows, {name}: {e!r}", file=sys.stderr)
                continue
            seconds[name].append(time.perf_counter() - clock)
            scores[name].append(kind.score(y_te, pred))
    return [
        Cell(
            table.name,
            size,
            len(y_tr),
            len(y_te),
            n,
            mean_or_nan(scores[n]),
            std_error(scores[n]),
            mean_or_nan(seconds[n]),
            len(scores[n]),
            unstratified,
            missing,
            failures[n],
        )
        for n in names
    ]


def _verdict(kind: Kind, cells: list[Cell]) -> Verdict:
    iai, baselines = cells[0], cells[1:]
    best = next(c for c in baselines if c.mean == kind.best([c.mean for c in baselines]))
    return Verdict(
        iai.table,
        iai.size,
        iai.mean,
        best.learner,
        best.mean,
        iai.mean / best.mean,
        all(kind.better(iai.mean, c.mean) for c in baselines),
        kind.near(iai.mean, best.mean),
    )


def _table_lines(table: Table, cells: list[Cell], verdicts: list[Verdict]) -> list[str]:
    """One table's section: every size's cells and verdict, then its splits' caveats."""
    yes = {True: "yes", False: "no"}
    lines: list[str] = []
    mine = [c for c in cells if c.table == table.name]
    names = list(dict.fromkeys(c.learner for c in mine))
    lines += [
        f"## {table.name}: {table.describe()}\n",
        f"{table.kind.metric}, mean ± s.e. (fit + predict seconds)\n",
        "| train | test | " + " | ".join(names) + " | beats all | IAI / best | near best |",
        "|---|---|" + "---|" * (len(names) + 3),
    ]
    for v in (v for v in verdicts if v.table == table.name):
        row = [c for c in mine if c.size == v.size]
        text = [f"{c.mean:.4g} ± {c.se:.2g} ({c.seconds:.2g} s)" for c in row]
        lines.append(
            f"| {row[0].train} | {row[0].test} | {' | '.join(text)} | {yes[v.beats_all]} | "
            f"{v.ratio:.3f} | {yes[v.near_best]} |"
        )
    lines.append("")
    lines += [
        f"At {c.size} rows, {c.unstratified} of the splits could not be stratified and "
        f"{c.missing_class} lacked a class in training (all learners saw the same splits)."
        for c in mine
        if c.learner == "IAI" and (c.unstratified or c.missing_class)
    ]
    lines += [f"Failed: {c.learner} at {c.size} rows, {f}" for c in mine for f in c.failures]
    lines.append("")
    return lines


def run(quick: bool, out: Path) -> tuple[str, dict]:
    """Every table at several training sizes: IAI against scikit-learn's usual defaults."""
    wanted, splits = ((16, ALL), 2) if quick else (SIZES, SPLITS)
    tables = [load(name) for name in TABLES]
    cells, verdicts = [], []
    for table in tables:
        for size in sizes(table, wanted):
            here = _cells(table, size, splits)
            cells += here
            verdicts.append(_verdict(table.kind, here))
            print(f"small: {table.name} at {size} rows done", file=sys.stderr)
    few = [v for v in verdicts if v.size != ALL and v.size <= 64]
    tried = {v.table for v in few}
    wins = sum(all(v.beats_all for v in few if v.table == t) for t in tried)
    per_size = {
        s: (sum(v.beats_all for v in few if v.size == s), sum(v.size == s for v in few))
        for s in sorted({v.size for v in few})
    }
    full = [v for v in verdicts if v.size == ALL]
    near = sum(v.near_best for v in full)
    summary = (
        f"IAI beats every baseline at every size ≤ 64 rows on {wins} of {len(tried)} tables "
        "(per size: "
        + ", ".join(f"{s} rows {w} of {n}" for s, (w, n) in per_size.items())
        + f"); with all rows it is near the best baseline on {near} of {len(full)} tables"
    )
    print(summary, file=sys.stderr)
    lines = [
        f"Training sizes: n rows, tested on the rest of the table (at most {TEST_CAP} rows, at "
        f"random), or `all`: an 80 / 20 split; sizes above 80 % of a table are skipped. {splits} "
        "seeded splits each, stratified by class where every class can be. A cell is the mean ± "
        "standard error over the splits, then the mean fit + predict wall time. IAI gets the raw "
        "table (it standardizes itself); ridge, logistic, kNN and MLP sit behind a "
        "StandardScaler and the MLP regressor also standardizes its target; forests and hist GB "
        "take the raw table.\n",
        f"`beats all`: IAI's mean is better than every baseline's. Near the best baseline: RMSE ≤ "
        f"{1 + TOL:.2f} × the best baseline's, or accuracy ≥ {1 - TOL:.2f} × the best's.\n",
        f"**Summary: {summary}.**\n",
    ]
    for table in tables:
        lines += _table_lines(table, cells, verdicts)
    data = {"cells": [asdict(c) for c in cells], "verdicts": [asdict(v) for v in verdicts]}
    data["summary"] = {
        "wins_at_most_64": wins,
        "tables_at_most_64": len(tried),
        "near_all": near,
        "tables_all": len(full),
    }
    return "\n".join(lines), data
