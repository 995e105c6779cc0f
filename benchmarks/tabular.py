"""Real tables: iai.sklearn's estimators against scikit-learn and river, on data that ships offline.

    python benchmarks/tabular.py [all|small|stream|calibration|speed|memory] [--quick]

Every table is bundled with scikit-learn or statsmodels (nothing is downloaded). Each section
writes <section>.md and <section>.json (stream also stream.png) under benchmarks/results/tabular/;
`--quick` shrinks every section to a smoke run and writes under benchmarks/results/tabular/quick/.
Every learner runs on one thread (torch.set_num_threads(1), n_jobs=1, threadpoolctl's limit of
1 for BLAS and OpenMP) so that wall times compare like with like. Memory is read from
/proc/self/status (Linux) in a fresh process per measurement. Needs river and statsmodels
beside the package (`pip install river statsmodels`). Estimated from quick runs on 2 cores, a
full run takes about 17 minutes (small 10, stream 5, each other section a minute or less);
`--quick` takes about 3.
"""

import argparse
import json
import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import river
import sklearn
import statsmodels.api as sm
import torch
from river import evaluate, forest, linear_model, metrics, preprocessing, stream, tree
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
    make_friedman1,
)
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, RidgeCV, SGDClassifier, SGDRegressor
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from iai.sklearn import IAIClassifier, IAIRegressor

RESULTS = Path(__file__).parent / "results" / "tabular"
ALL = "all"  # the training size "all rows but a 20 % test split"
SIZES, SPLITS, TEST_CAP = (16, 32, 64, 128, 256, ALL), 20, 1000
TOL = 0.05  # "near the best baseline": RMSE ≤ 1.05 × best, accuracy ≥ 0.95 × best
BATCH, STREAM_CAP = 32, 20_000  # stream: rows per prequential mini-batch, rows per table
Z90 = 1.645  # mean ± Z90 · std is a central 90 % Gaussian interval
D_SYNTH, CHUNK = 20, 10_000  # speed and memory: features of the synthetic table, partial_fit rows


class Online:
    """A partial_fit model behind its own StandardScaler, each updated by partial_fit before the
    model (sklearn's Pipeline has no partial_fit); regression scales the target the same way."""

    def __init__(self, model: Any, scale_target: bool) -> None:
        self.model, self.x = model, StandardScaler()
        self.y = StandardScaler() if scale_target else None

    def partial_fit(self, X: np.ndarray, y: np.ndarray, **kw: Any) -> "Online":
        self.x.partial_fit(X)
        if self.y is not None:
            y = self.y.partial_fit(y[:, None]).transform(y[:, None])[:, 0]
        self.model.partial_fit(self.x.transform(X), y, **kw)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        pred = self.model.predict(self.x.transform(X))
        return pred if self.y is None else self.y.inverse_transform(pred[:, None])[:, 0]


def _regression_baselines(seed: int) -> dict[str, Any]:
    # The MLP also gets a standardized target, as IAI standardizes its own: with raw-unit targets
    # its default step size and 200 epochs underfit. The other baselines are scale-equivariant.
    mlp = make_pipeline(StandardScaler(), MLPRegressor(random_state=seed))
    return {
        "ridge": make_pipeline(StandardScaler(), RidgeCV()),
        "kNN": make_pipeline(StandardScaler(), KNeighborsRegressor()),
        "random forest": RandomForestRegressor(random_state=seed, n_jobs=1),
        "hist GB": HistGradientBoostingRegressor(random_state=seed),
        "MLP": TransformedTargetRegressor(mlp, transformer=StandardScaler()),
    }


def _classification_baselines(seed: int) -> dict[str, Any]:
    return {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression()),
        "kNN": make_pipeline(StandardScaler(), KNeighborsClassifier()),
        "random forest": RandomForestClassifier(random_state=seed, n_jobs=1),
        "hist GB": HistGradientBoostingClassifier(random_state=seed),
        "MLP": make_pipeline(StandardScaler(), MLPClassifier(random_state=seed)),
    }


def _regression_online(seed: int, classes: int) -> dict[str, Any]:
    # PassiveAggressiveRegressor is deprecated in scikit-learn 1.8; this is its stated successor.
    pa = SGDRegressor(
        loss="epsilon_insensitive", penalty=None, learning_rate="pa1", eta0=1.0, random_state=seed
    )
    return {
        "IAI": IAIRegressor(),
        "SGD": Online(SGDRegressor(random_state=seed), True),
        "MLP": Online(MLPRegressor(random_state=seed), True),
        "PA (SGD pa1)": Online(pa, True),
        # river's linear model learns by SGD too, so it gets the same target scaling.
        "river linear": preprocessing.TargetStandardScaler(
            preprocessing.StandardScaler() | linear_model.LinearRegression()
        ),
        "river HAT": tree.HoeffdingAdaptiveTreeRegressor(seed=seed),
        "river ARF": forest.ARFRegressor(seed=seed),
    }


def _classification_online(seed: int, classes: int) -> dict[str, Any]:
    # PassiveAggressiveClassifier is deprecated in scikit-learn 1.8; this is its stated successor.
    pa = SGDClassifier(loss="hinge", penalty=None, learning_rate="pa1", eta0=1.0, random_state=seed)
    linear = linear_model.LogisticRegression() if classes == 2 else linear_model.SoftmaxRegression()
    return {
        "IAI": IAIClassifier(),
        "SGD": Online(SGDClassifier(random_state=seed), False),
        "MLP": Online(MLPClassifier(random_state=seed), False),
        "PA (SGD pa1)": Online(pa, False),
        "river linear": preprocessing.StandardScaler() | linear,
        "river HAT": tree.HoeffdingAdaptiveTreeClassifier(seed=seed),
        "river ARF": forest.ARFClassifier(seed=seed),
    }


@dataclass(frozen=True)
class Kind:
    """What a target asks for: the IAI estimator, the baselines, the online learners, the metric."""

    name: str
    classifies: bool
    iai: Callable[[], Any]
    baselines: Callable[[int], dict[str, Any]]  # seed -> unfitted estimators
    online: Callable[[int, int], dict[str, Any]]  # seed, classes -> partial_fit or river learners

    @property
    def metric(self) -> str:
        return "accuracy" if self.classifies else "RMSE"

    def score(self, y: np.ndarray, pred: np.ndarray) -> float:
        if self.classifies:
            return float(np.mean(pred == y))
        return float(np.sqrt(np.mean((pred - y) ** 2)))

    def better(self, a: float, b: float) -> bool:
        return a > b if self.classifies else a < b

    def best(self, scores: list[float]) -> float:
        return max(scores) if self.classifies else min(scores)

    def near(self, score: float, best: float) -> bool:
        return score >= (1 - TOL) * best if self.classifies else score <= (1 + TOL) * best

    @property
    def error_name(self) -> str:
        return "error rate" if self.classifies else "RMSE"

    def error(self, score: float) -> float:
        """The stream's error: RMSE, or the error rate 1 - accuracy."""
        return 1 - score if self.classifies else score

    def river_metric(self) -> metrics.base.Metric:
        return metrics.Accuracy() if self.classifies else metrics.RMSE()

    def partial_kw(self, y: np.ndarray) -> dict[str, Any]:
        return {"classes": np.unique(y)} if self.classifies else {}


REGRESSION = Kind("regression", False, IAIRegressor, _regression_baselines, _regression_online)
CLASSIFICATION = Kind(
    "classification", True, IAIClassifier, _classification_baselines, _classification_online
)


@dataclass(frozen=True)
class Table:
    name: str
    kind: Kind
    target: str
    X: np.ndarray  # (N, D) float64
    y: np.ndarray  # (N,) float64 targets or int64 labels

    @property
    def classes(self) -> int:
        return len(np.unique(self.y)) if self.kind.classifies else 0

    def describe(self) -> str:
        d, c = self.X.shape[1], f", {self.classes} classes" if self.kind.classifies else ""
        return f"{len(self.y)} rows × {d} feature{'s' * (d > 1)}{c}; target: {self.target}"


def _sklearn(loader: Callable[..., Any], **kw: Any) -> tuple[pd.DataFrame, pd.Series]:
    data = loader(as_frame=True, **kw)
    return data.data, data.target


def _statsmodels(name: str, target: str, drop: tuple[str, ...] = ()) -> tuple[Any, Any]:
    d = getattr(sm.datasets, name).load_pandas().data
    return d.drop(columns=[target, *drop]), d[target]


def _fair() -> tuple[pd.DataFrame, pd.Series]:
    """statsmodels' fair, its nominal occupation codes one-hot (the other codes are ordinal)."""
    X, y = _statsmodels("fair", "affairs")
    return pd.get_dummies(X, columns=["occupation", "occupation_husb"], dtype=float), y


def _fair_any() -> tuple[pd.DataFrame, pd.Series]:
    X, y = _fair()
    return X, y > 0


def _star98() -> tuple[pd.DataFrame, pd.Series]:
    X, above = _statsmodels("star98", "NABOVE", ("NBELOW",))
    d = sm.datasets.star98.load_pandas().data
    return X, above / (above + d.NBELOW)


# name -> (kind, what the target is, builder of (features, target))
TABLES: dict[str, tuple[Kind, str, Callable[[], tuple[Any, Any]]]] = {
    "diabetes": (
        REGRESSION,
        "disease progression after a year (sklearn, unscaled features)",
        lambda: _sklearn(load_diabetes, scaled=False),
    ),
    "star98": (REGRESSION, "share of pupils above the national math median", _star98),
    "engel": (
        REGRESSION,
        "household food expenditure from income",
        lambda: _statsmodels("engel", "foodexp"),
    ),
    "ccard": (
        REGRESSION,
        "average monthly credit-card spending (AVGEXP)",
        lambda: _statsmodels("ccard", "AVGEXP"),
    ),
    "fair": (REGRESSION, "time spent in affairs (`affairs`)", _fair),
    "randhie": (
        REGRESSION,
        "outpatient visits (`mdvis`)",
        lambda: _statsmodels("randhie", "mdvis"),
    ),
    "spector": (
        CLASSIFICATION,
        "grade improved (`GRADE`)",
        lambda: _statsmodels("spector", "GRADE"),
    ),
    "iris": (CLASSIFICATION, "species", lambda: _sklearn(load_iris)),
    "wine": (CLASSIFICATION, "cultivar", lambda: _sklearn(load_wine)),
    "breast_cancer": (CLASSIFICATION, "malignant or benign", lambda: _sklearn(load_breast_cancer)),
    "anes96": (
        CLASSIFICATION,
        "1996 vote, Clinton or Dole (`vote`; `logpopul` dropped as a copy of `popul`)",
        lambda: _statsmodels("anes96", "vote", ("logpopul",)),
    ),
    "fair_any": (CLASSIFICATION, "any time in affairs (`affairs` > 0)", _fair_any),
    "digits": (CLASSIFICATION, "digit 0-9 from 8×8 pixels", lambda: _sklearn(load_digits)),
}
STREAM_TABLES = ("diabetes", "fair", "randhie", "breast_cancer", "anes96", "digits", "fair_any")


def load(name: str) -> Table:
    kind, target, build = TABLES[name]
    X, y = build()
    table = Table(
        name,
        kind,
        target,
        np.asarray(X, np.float64),
        np.asarray(y).astype(np.int64 if kind.classifies else np.float64),
    )
    if table.X.shape[1] > 100 or table.classes > 10:
        raise ValueError(f"{name}: {table.describe()} is past IAI's 100 features or 10 classes")
    return table


def split(table: Table, size: int | str, seed: int) -> tuple[Any, ...]:
    """(X_train, X_test, y_train, y_test, stratified): `size` training rows and the rest (at most
    TEST_CAP rows), or ALL: 80 / 20. Classes are stratified where every class can be split."""
    n = len(table.y)
    train, test = (None, 0.2) if size == ALL else (size, min(TEST_CAP, n - size))
    args = dict(train_size=train, test_size=test, random_state=seed)
    if table.kind.classifies:
        try:
            return *train_test_split(table.X, table.y, stratify=table.y, **args), True
        except ValueError:  # some class has too few rows to stratify at this size
            pass
    return *train_test_split(table.X, table.y, **args), False


def sizes(table: Table, wanted: tuple[int | str, ...]) -> list[int | str]:
    """The wanted sizes that leave at least 20 % of the table to test on."""
    return [s for s in wanted if s == ALL or s <= 0.8 * len(table.y)]


def _single_thread() -> None:
    torch.set_num_threads(1)
    threadpool_limits(1)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)


def _rss(field: str) -> float:
    """This process's VmRSS (resident now) or VmHWM (peak resident) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _fresh(fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args) in a newly spawned process, so that its peak memory is its own."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def _se(values: list[float]) -> float:
    return float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan


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
            _mean(scores[n]),
            _se(scores[n]),
            _mean(seconds[n]),
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


def small(quick: bool, out: Path) -> tuple[str, dict]:
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
    yes = {True: "yes", False: "no"}
    for table in tables:
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
    data = {"cells": [asdict(c) for c in cells], "verdicts": [asdict(v) for v in verdicts]}
    data["summary"] = {
        "wins_at_most_64": wins,
        "tables_at_most_64": len(tried),
        "near_all": near,
        "tables_all": len(full),
    }
    return "\n".join(lines), data


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


def _stream_run(name: str, learner: str, cap: int) -> StreamRun:
    """One learner's prequential pass over a shuffled table; run in a fresh process."""
    _single_thread()
    table = load(name)
    order = np.random.default_rng(0).permutation(len(table.y))[:cap]
    X, y = table.X[order], table.y[order]
    model = table.kind.online(0, table.classes)[learner]
    every = BATCH * max(1, len(y) // (BATCH * 100))  # about 100 checkpoints
    run = _river_prequential if hasattr(model, "learn_one") else _batch_prequential
    start, clock = _rss("VmRSS"), time.perf_counter()
    rows, scores = run(model, X, y, table.kind, every)
    seconds = time.perf_counter() - clock
    errors = [table.kind.error(s) for s in scores]
    return StreamRun(name, learner, rows, errors, seconds, start, _rss("VmHWM"))


def stream_section(quick: bool, out: Path) -> tuple[str, dict]:
    """Prequential (test-then-train) error over one pass of each larger table."""
    names, cap = (
        (("diabetes", "breast_cancer", "digits"), 640) if quick else (STREAM_TABLES, STREAM_CAP)
    )
    tables = [load(name) for name in names]
    runs = []
    for table in tables:
        for learner in table.kind.online(0, table.classes):
            runs.append(_fresh(_stream_run, table.name, learner, cap))
            print(f"stream: {table.name} {learner} {runs[-1].seconds:.1f} s", file=sys.stderr)
    _plot_stream(tables, runs, out / "stream.png")
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
        "libraries and the table were loaded.\n",
        "![cumulative error against rows seen](stream.png)\n",
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


@dataclass
class Coverage:
    table: str
    size: int | str
    train: int
    test: int
    mean: float  # share of held-out targets inside mean ± 1.645 std
    se: float
    splits: int
    in_band: bool  # mean within [0.85, 0.95]


def calibration(quick: bool, out: Path) -> tuple[str, dict]:
    """Coverage of IAIRegressor's 90 % predictive intervals on held-out rows."""
    splits = 2 if quick else SPLITS
    tables = [load(name) for name, (kind, *_) in TABLES.items() if not kind.classifies]
    rows = []
    for table in tables:
        for size in sizes(table, (64, ALL)):
            cover = []
            for seed in range(splits):
                X_tr, X_te, y_tr, y_te, _ = split(table, size, seed)
                mean, std = table.kind.iai().fit(X_tr, y_tr).predict(X_te, return_std=True)
                cover.append(float(np.mean(np.abs(y_te - mean) <= Z90 * std)))
            c = _mean(cover)
            rows.append(
                Coverage(
                    table.name, size, len(y_tr), len(y_te), c, _se(cover), splits, 0.85 <= c <= 0.95
                )
            )
    good = sum(r.in_band for r in rows)
    summary = f"coverage within [0.85, 0.95] for {good} of {len(rows)} table × size pairs (" + (
        ", ".join(
            f"{s} rows: {sum(r.in_band for r in rows if r.size == s)} of "
            f"{sum(r.size == s for r in rows)}"
            for s in (64, ALL)
        )
        + ")"
    )
    print(summary, file=sys.stderr)
    lines = [
        "Share of held-out targets inside IAIRegressor's 90 % interval, mean ± 1.645 × std from "
        f"`predict(X, return_std=True)`; mean ± standard error over {splits} seeded splits: 64 "
        f"training rows tested on the rest (at most {TEST_CAP}), or `all`: 80 / 20. Tables "
        "under 80 rows skip 64. Nominal: 0.90.\n",
        f"**Summary: {summary}.**\n",
        "| table | train | test | coverage | in [0.85, 0.95] |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.table} | {r.train} | {r.test} | {r.mean:.3f} ± {r.se:.3f} | "
        f"{'yes' if r.in_band else 'no'} |"
        for r in rows
    ]
    tables_md = "\n".join(f"- {t.name}: {t.describe()}" for t in tables)
    lines += ["", tables_md]
    return "\n".join(lines), {
        "coverage": [asdict(r) for r in rows],
        "summary": {"in_band": good, "pairs": len(rows)},
    }


@dataclass
class Timing:
    task: str
    learner: str
    seconds: list[float]  # fit + predict per round
    median: float
    score: float  # RMSE or accuracy on the held-out rows (last round)


def speed(quick: bool, out: Path) -> tuple[str, dict]:
    """fit + predict wall time on a synthetic table: IAI against hist gradient boosting."""
    n, rounds = (2_000, 2) if quick else (10_000, 5)
    synthetic = [
        (
            REGRESSION,
            "Friedman #1",
            make_friedman1(2 * n, n_features=D_SYNTH, noise=1.0, random_state=0),
        ),
        (
            CLASSIFICATION,
            "3 classes, 10 informative features",
            make_classification(
                2 * n, n_features=D_SYNTH, n_informative=10, n_classes=3, random_state=0
            ),
        ),
    ]
    timings, lines = [], []
    for kind, what, (X, y) in synthetic:
        seconds: dict[str, list[float]] = {"IAI": [], "hist GB": []}
        scores = {}
        for _ in range(rounds):  # alternate, so drifts in machine load reach both alike
            for name, est in (("IAI", kind.iai()), ("hist GB", kind.baselines(0)["hist GB"])):
                clock = time.perf_counter()
                pred = est.fit(X[:n], y[:n]).predict(X[n:])
                seconds[name].append(time.perf_counter() - clock)
                scores[name] = kind.score(y[n:], pred)
        pair = [Timing(kind.name, k, v, float(np.median(v)), scores[k]) for k, v in seconds.items()]
        timings += pair
        ratio = pair[0].median / pair[1].median
        print(f"speed, {kind.name}: IAI / hist GB = {ratio:.2f}", file=sys.stderr)
        lines += [
            f"## {kind.name}: {what}, {n:,} × {D_SYNTH} to fit, {n:,} rows to predict\n",
            f"| learner | median s | rounds (s) | {kind.metric} |",
            "|---|---|---|---|",
            *(
                f"| {t.learner} | {t.median:.3g} | {', '.join(f'{s:.3g}' for s in t.seconds)} | "
                f"{t.score:.4g} |"
                for t in pair
            ),
            f"\n**IAI / hist GB, median fit + predict time: {ratio:.2f}**\n",
        ]
    intro = (
        f"fit + predict wall time, median of {rounds} rounds in which the two learners "
        "alternate; default parameters (hist GB seeded). Data from scikit-learn's generators, "
        "seeded.\n\n"
    )
    return intro + "\n".join(lines), {"timings": [asdict(t) for t in timings]}


@dataclass
class MemoryRun:
    rows: int
    seconds: float  # inside partial_fit only (generating the chunks is not counted)
    start_mib: float  # resident after imports, before the first partial_fit
    peak_mib: float  # peak resident of the process


def _memory_run(rows: int) -> MemoryRun:
    """IAIRegressor.partial_fit over `rows` synthetic rows, CHUNK at a time, in a fresh process."""
    _single_thread()
    rng = np.random.default_rng(0)
    w = rng.normal(size=D_SYNTH)
    model, seconds, start = IAIRegressor(), 0.0, _rss("VmRSS")
    for _ in range(rows // CHUNK):
        X = rng.normal(size=(CHUNK, D_SYNTH))
        y = X @ w + np.sin(3 * X[:, 0]) + 0.1 * rng.normal(size=CHUNK)
        clock = time.perf_counter()
        model.partial_fit(X, y)
        seconds += time.perf_counter() - clock
    return MemoryRun(rows, seconds, start, _rss("VmHWM"))


def memory(quick: bool, out: Path) -> tuple[str, dict]:
    """Peak memory and time of IAIRegressor.partial_fit over a short and a 10× longer stream."""
    short, long = (
        _fresh(_memory_run, 10_000 if quick else 100_000),
        _fresh(_memory_run, 100_000 if quick else 1_000_000),
    )
    peak = long.peak_mib / short.peak_mib
    growth = (long.peak_mib - long.start_mib) / max(short.peak_mib - short.start_mib, 1e-9)
    per_row = (long.seconds / long.rows) / (short.seconds / short.rows)
    flat, linear = peak <= 1.10, per_row <= 1.10
    summary = (
        f"peak RSS ratio {peak:.3f} ({'within' if flat else 'beyond'} 10 %), time per row ratio "
        f"{per_row:.3f} ({'linear' if linear else 'slower than linear'} within 10 %)"
    )
    print(summary, file=sys.stderr)
    lines = [
        f"IAIRegressor().partial_fit on a synthetic stream ({D_SYNTH} features, y = X·w + "
        f"sin(3 x₀) + noise, seeded), {CHUNK:,} rows per call. Each length runs in a fresh "
        "process: its peak resident memory (VmHWM) and its time inside partial_fit.\n",
        f"**Summary: {summary}.**\n",
        "| rows | partial_fit s | µs per row | resident at start MiB | peak MiB | growth MiB |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r.rows:,} | {r.seconds:.1f} | {1e6 * r.seconds / r.rows:.1f} | "
            f"{r.start_mib:.0f} | {r.peak_mib:.0f} | {r.peak_mib - r.start_mib:.0f} |"
            for r in (short, long)
        ),
        f"\nPeak ratio (long / short) {peak:.3f}; growth ratio {growth:.2f}; time per row ratio "
        f"{per_row:.3f}. Goals: peak ratio ≤ 1.10 ({'met' if flat else 'missed'}), time per row "
        f"ratio ≤ 1.10 ({'met' if linear else 'missed'}).",
    ]
    return "\n".join(lines), {
        "runs": [asdict(short), asdict(long)],
        "summary": {
            "peak_ratio": peak,
            "growth_ratio": growth,
            "per_row_ratio": per_row,
            "flat": flat,
            "linear": linear,
        },
    }


SECTIONS = {
    "small": ("Small data: IAI against scikit-learn defaults on bundled tables", small),
    "stream": ("Streams: prequential error against online learners", stream_section),
    "calibration": ("Calibration of IAIRegressor's 90 % predictive intervals", calibration),
    "speed": ("Speed: fit + predict on 10,000 synthetic rows", speed),
    "memory": ("Memory: partial_fit over a long stream", memory),
}


def _meta(section: str, quick: bool) -> dict[str, Any]:
    return {
        "command": f"python benchmarks/tabular.py {section}" + (" --quick" if quick else ""),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "versions": {
            "scikit-learn": sklearn.__version__,
            "river": river.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "machine": f"{platform.machine()}, os.cpu_count() = {os.cpu_count()}",
        "threads": "1 per learner: torch.set_num_threads(1) for IAI, n_jobs=1 and threadpoolctl's "
        "limit of 1 (BLAS, OpenMP) for scikit-learn and river",
        "quick": quick,
    }


def header(title: str, meta: dict[str, Any]) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    return (
        f"# {title}{' (--quick smoke run, not results)' if meta['quick'] else ''}\n\n"
        f"`{meta['command']}`, {meta['date']}; {versions}; {meta['machine']}. Threads: "
        f"{meta['threads']}, so wall times compare like with like. Seeded throughout.\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("section", nargs="?", default="all", choices=[*SECTIONS, "all"])
    parser.add_argument("--quick", action="store_true", help="a smoke run of each section")
    args = parser.parse_args(argv)
    _single_thread()
    out = RESULTS / "quick" if args.quick else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    for name in SECTIONS if args.section == "all" else [args.section]:
        title, run = SECTIONS[name]
        meta, clock = _meta(name, args.quick), time.perf_counter()
        body, data = run(args.quick, out)
        meta["seconds"] = round(time.perf_counter() - clock, 1)
        md = f"{header(title, meta)}\n{body}\n\n{meta['seconds']:.0f} s for this section.\n"
        (out / f"{name}.md").write_text(md)
        (out / f"{name}.json").write_text(json.dumps({**meta, **data}, indent=1) + "\n")
        print(md)


if __name__ == "__main__":
    main()
