"""IAIClassifier's fit with and without its last stage, the posterior mode
(`iai.learners.tabular_mode`), on the same seeded splits: the learned pass alone
(`refine=False`) against the pass and then the mode (`refine=True`, the default), beside a
`LogisticRegression` after a `StandardScaler` as a reference.

    python benchmarks/tabular_mode.py [--quick]

Tables: the small-data benchmark's classification tables (benchmarks/tabular.py small: its
tables and splits, 20 splits at 16 … 128 rows), and synthetic ones from scikit-learn's
`make_classification` (seed s draws the table and the split; 5 seeds, 2,000 rows tested):
20 features, 10 informative, 2, 3 and 10 classes (two clusters a class, the generator's
default) at 256, 1,024 and 4,096 rows; 15 and 40 classes (one cluster a class, class_sep 2,
as benchmarks/tabular_wide.py) at 64, 256 and 1,024 rows; binary with 300 and 1,000 features
(20 informative; the default reads its 100 most informative) at 64, 256 and 1,024 rows.
One thread. Writes benchmarks/results/tabular-mode/mode.md (--quick: quick/mode.md).
"""

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from common.command import command, write_markdown
from common.tabular.tables import load, split
from iai.sklearn import IAIClassifier

OUT = Path(__file__).parent / "results" / "tabular-mode"
TABLES = ("spector", "iris", "wine", "breast_cancer", "anes96", "fair_any", "digits")
SIZES, SPLITS, SEEDS, TEST = (16, 32, 64, 128), 20, 5, 2000
SYNTHETIC = [  # (name, make_classification keywords, training sizes)
    *((f"{k} classes, 2 clusters each", {"n_classes": k}, (256, 1024, 4096)) for k in (2, 3, 10)),
    *(
        (
            f"{k} classes",
            {"n_classes": k, "n_clusters_per_class": 1, "class_sep": 2.0},
            (64, 256, 1024),
        )
        for k in (15, 40)
    ),
    *(
        (f"{f} features, binary", {"n_features": f, "n_informative": 20}, (64, 256, 1024))
        for f in (300, 1000)
    ),
]
LEARNERS = {
    "pass": lambda: IAIClassifier(refine=False),
    "pass + mode": IAIClassifier,
    "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression()),
}


def score(splits: list[tuple]) -> dict[str, tuple[float, float]]:
    """Learner -> (mean accuracy, mean fit + predict seconds) over the splits."""
    out = {}
    for name, make in LEARNERS.items():
        accuracy, seconds = [], []
        for X_tr, X_te, y_tr, y_te in splits:
            clock = time.perf_counter()
            predicted = make().fit(X_tr, y_tr).predict(X_te)
            seconds.append(time.perf_counter() - clock)
            accuracy.append(float(np.mean(predicted == y_te)))
        out[name] = (float(np.mean(accuracy)), float(np.mean(seconds)))
    return out


def synthetic(keywords: dict, size: int, seed: int) -> tuple:
    spec = {"n_features": 20, "n_informative": 10} | keywords
    X, y = make_classification(size + TEST, random_state=seed, **spec)
    return train_test_split(X, y, train_size=size, test_size=TEST, stratify=y, random_state=seed)


def row(name: str, size: int, cells: dict) -> tuple[str, int]:
    """A table row and the sign of mode - pass (1, 0, -1)."""
    (a, ta), (b, tb), (c, _) = cells["pass"], cells["pass + mode"], cells["logistic"]
    sign = int(np.sign(round(b - a, 4)))
    line = f"| {name} | {size} | {a:.4f} | {b:.4f} | {b - a:+.4f} | {c:.4f} | {ta:.3f} | {tb:.3f} |"
    return line, sign


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 splits, the smallest sizes")
    quick = parser.parse_args().quick
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="The number of unique classes")
    begin = time.time()
    head = (
        "| table | train | pass | pass + mode | mode - pass | logistic | pass s | pass + mode s |"
    )
    rule = "|---|---|---|---|---|---|---|---|"
    sections, signs = [], []
    with threadpool_limits(1):
        lines = [head, rule]
        for name in TABLES:
            table = load(name)
            for size in SIZES[:1] if quick else SIZES:
                if size > 0.8 * len(table.y):
                    continue
                splits = [split(table, size, s)[:4] for s in range(2 if quick else SPLITS)]
                line, sign = row(name, size, score(splits))
                lines.append(line), signs.append(sign)
                print(line, flush=True)
        sections.append(("Small-data tables (mean over 20 splits)", lines))
        lines = [head, rule]
        for name, keywords, sizes in SYNTHETIC:
            for size in sizes[:1] if quick else sizes:
                splits = [synthetic(keywords, size, s) for s in range(2 if quick else SEEDS)]
                line, sign = row(name, size, score(splits))
                lines.append(line), signs.append(sign)
                print(line, flush=True)
        sections.append(("Synthetic tables (mean over 5 seeds)", lines))
    better, worse = signs.count(1), signs.count(-1)
    body = [
        f"`{command()}`, {time.strftime('%Y-%m-%d %H:%M')}, {time.time() - begin:.0f} s; "
        "torch.set_num_threads(1), threadpool_limits(1).",
        "",
        "Accuracy; seconds: mean fit + predict wall time. pass: `IAIClassifier(refine=False)`, "
        "the learned update's one pass over the rows; pass + mode: the default, which then "
        "solves for the posterior mode (`iai.learners.tabular_mode`, up to 4,096 rows).",
        "",
        f"**Summary: the mode reads better than the pass alone on {better} of {len(signs)} "
        f"settings, worse on {worse}, the same (to 4 decimals) on {len(signs) - better - worse}.**",
    ]
    for title, lines in sections:
        body += ["", f"## {title}", "", *lines]
    cmd = command()
    write_markdown(OUT / ("quick" if quick else "") / "mode.md", cmd, "The posterior mode", body)


if __name__ == "__main__":
    main()
