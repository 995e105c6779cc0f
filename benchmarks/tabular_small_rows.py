"""The shipped classifier on 1 … 16 rows against scikit-learn's logistic regression (issue 24).

    python benchmarks/tabular_small_rows.py > benchmarks/results/untrusted/small-rows.txt

Two kinds of table. Separable: C classes 6 standard deviations apart along feature 0 (class
c's mean 6 c), the other features noise N(0, 1), the rows' labels in turn (0, 1, …), so
every class has an example from C rows on; 300 test rows of every class; 20 seeds. Prior:
tables of the classifier's own training prior (`iai.tasks.tabular`, at most 20 features and
4 classes), 100 per size, those whose rows hold fewer than two classes redrawn. Logistic
regression twice: on the raw features (`raw`) and behind a StandardScaler (`scaled`, the
baseline of benchmarks/tabular.py), both scikit-learn's defaults; it needs two classes, so
it has no cell at one row. `unseen`: the test predictions of a class with no training
example (a share of all), where a class with one was available. One thread throughout.
"""

import sys
import warnings

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from iai.sklearn import IAIClassifier
from iai.tasks import TaskConfig
from iai.tasks.tabular import Tabular

SIZES = list(range(1, 17))
SEPARABLE = [(2, 1), (2, 2), (2, 5), (3, 1), (3, 3)]  # (classes, features)
SEEDS = 20
PRIOR_SIZES = [2, 4, 8, 16]
PRIOR_TABLES = 100


def separable(n: int, classes: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, n, classes, d])
    y = np.arange(n) % classes
    X = rng.normal(size=(n, d))
    X[:, 0] += 6.0 * y
    return X, y


def logistic(X, y, X_test, scaled: bool) -> np.ndarray | None:
    if len(np.unique(y)) < 2:
        return None
    model = (
        make_pipeline(StandardScaler(), LogisticRegression()) if scaled else LogisticRegression()
    )
    return model.fit(X, y).predict(X_test)


def scores(X, y, X_test, y_test) -> dict[str, float]:
    """Accuracy of each learner on one table, IAI's training accuracy and unseen share."""
    iai = IAIClassifier().fit(X, y)
    predicted = iai.predict(X_test)
    out = {
        "IAI train": float(np.mean(iai.predict(X) == y)),
        "IAI": float(np.mean(predicted == y_test)),
        "unseen": float(np.mean(~np.isin(predicted, y))),
    }
    for name, scaled in (("raw", False), ("scaled", True)):
        p = logistic(X, y, X_test, scaled)
        out[f"logistic {name}"] = np.nan if p is None else float(np.mean(p == y_test))
    return out


def row(n: int, cells: list[dict[str, float]]) -> str:
    keys = ["IAI train", "IAI", "logistic raw", "logistic scaled", "unseen"]
    with warnings.catch_warnings():  # the mean of no logistic cells (one row) is NaN, shown —
        warnings.simplefilter("ignore", RuntimeWarning)
        means = [np.nanmean([c[k] for c in cells]) for k in keys]
    text = ["—" if np.isnan(m) else f"{m:.3f}" for m in means]
    return f"| {n} | " + " | ".join(text) + " |"


HEAD = (
    "| rows | IAI train | IAI test | logistic raw | logistic scaled | unseen |\n"
    "|---|---|---|---|---|---|"
)


def main() -> None:
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")  # LogisticRegression's convergence notes on 2 rows
    print("Command: " + " ".join(["python", "benchmarks/tabular_small_rows.py", *sys.argv[1:]]))
    print(__doc__.split("\n\n", 2)[2].strip(), "\n")
    for classes, d in SEPARABLE:
        print(f"## separable: {classes} classes, {d} feature{'s' * (d > 1)}\n\n{HEAD}")
        for n in SIZES:
            cells = []
            for seed in range(SEEDS):
                X, y = separable(n, classes, d, seed)
                X_test, y_test = separable(300, classes, d, 1000 + seed)
                cells.append(scores(X, y, X_test, y_test))
            print(row(n, cells), flush=True)
        print()
    prior = Tabular(TaskConfig(name="tabular_classification", dim=20, classes=4))
    print(f"## the training prior: {PRIOR_TABLES} tables per size, 200 test rows each\n\n{HEAD}")
    for n in PRIOR_SIZES:
        g, cells = torch.Generator().manual_seed(n), []
        while len(cells) < PRIOR_TABLES:
            t = prior.sample(1, n, 200, generator=g)
            X, y, X_test, y_test = (
                a[0].double().numpy() for a in (t.x_train, t.y_train, t.x_query, t.y_query)
            )
            if len(np.unique(y)) >= 2:
                cells.append(scores(X, y.astype(int), X_test, y_test.astype(int)))
        print(row(n, cells), flush=True)


if __name__ == "__main__":
    main()
