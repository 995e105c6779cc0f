"""How iai.sklearn batches a large call: in batch_size rows per step (32, what the shipped
learners were trained on), or in max_steps = 32 equal steps once a call has more rows than
32 × 32. Same tables, same splits, both ways side by side.

    python benchmarks/tabular_batching.py   # -> benchmarks/results/tabular-batching/batching.md

The update is recursive least squares with a learned prior, so the answer should barely
depend on the batching once the prior's weight is small next to the data's; fewer steps
then only save time. The classifier runs with `refine=False`: its fit's posterior mode
(`iai.learners.tabular_mode`) would take both batchings to the same point, and what is
measured here is the pass.
"""

import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification, make_friedman1
from sklearn.model_selection import train_test_split

from common.command import markdown_header
from common.tabular.tables import load  # the tabular benchmark's bundled tables
from iai.sklearn import IAIClassifier, IAIRegressor

OUT = Path("benchmarks/results/tabular-batching/batching.md")
TABLES = ("diabetes", "fair", "randhie", "breast_cancer", "anes96", "digits", "fair_any")
SPLITS = 5


def score(regression: bool, model, X, y) -> float:
    p = model.predict(X)
    return float(np.sqrt(np.mean((p - y) ** 2)) if regression else np.mean(p == y))


def compare(name: str, X, y, regression: bool, splits: int) -> str:
    cells = {}
    for s in range(splits):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=s)
        for label, steps in (("32 rows a step", 10**9), ("at most 32 steps", 32)):
            est = (
                IAIRegressor(max_steps=steps)
                if regression
                else IAIClassifier(max_steps=steps, refine=False)
            )
            start = time.perf_counter()
            est.fit(Xtr, ytr)
            v = score(regression, est, Xte, yte)
            cells.setdefault(label, []).append((v, time.perf_counter() - start))
    metric = "RMSE" if regression else "accuracy"
    row = [f"| {name} | {len(X):,} | {metric} |"]
    for label in ("32 rows a step", "at most 32 steps"):
        v = np.array(cells[label])
        se = v[:, 0].std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else 0.0
        row.append(f" {v[:, 0].mean():.4g} ± {se:.2g} ({v[:, 1].mean():.3f} s) |")
    return "".join(row)


def main() -> None:
    torch.set_num_threads(1)
    lines = [
        markdown_header(),
        "# Batching a large call: 32 rows a step, or at most 32 steps\n",
        __doc__.split("\n\n")[0].replace("\n", " "),
        f"\n80 / 20 splits, {SPLITS} seeds; mean ± s.e. over splits (fit + predict seconds, one "
        "thread). Tables of benchmarks/tabular.py, and the speed section's synthetic ones.\n",
        "| table | rows | metric | 32 rows a step | at most 32 steps |",
        "|---|---|---|---|---|",
    ]
    for name in TABLES:
        t = load(name)
        X, y = np.asarray(t.X, dtype=float), np.asarray(t.y)
        lines.append(compare(name, X, y, t.kind.name == "regression", SPLITS))
        print(lines[-1], flush=True)
    X, y = make_friedman1(12_500, 20, noise=1.0, random_state=0)
    lines.append(compare("Friedman #1 (synthetic)", X, y, True, 1))
    X, y = make_classification(12_500, 20, n_informative=10, n_classes=3, random_state=0)
    lines.append(compare("3 classes (synthetic)", X, y, False, 1))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
