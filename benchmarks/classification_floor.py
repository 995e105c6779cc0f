"""What a classification floor could reach on the grid's linear classification task (issue 21):
the token learner's floor regresses the one-hot code by least squares, and on this task (D = 8,
2 classes, labels from softmax(W [x, 1] / 0.1), nearly deterministic) it stays above the
learned optimizer. Here, on the same prior at step 10 (160 points), side by side on the same
tasks: least squares on the code (ridge), logistic regression fit to convergence on all points
(not flat in memory), and one pass of online Laplace updates over mini-batches of 16 (a Newton
step per batch in information form: flat memory, the form a logistic floor could take), with
the prior's own variance.

    OMP_NUM_THREADS=1 python benchmarks/classification_floor.py \
        > benchmarks/results/grid/classification-floor.md
"""

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression, RidgeClassifier

from common.command import markdown_header
from iai.tasks import variant_prior
from iai.tasks.mlp import LinearClassificationConfig

TASKS, POINTS, QUERIES, B = 500, 160, 64, 16
PRIOR_VAR = 2 / 0.1**2  # of the logit difference's weights: two N(0, 1) rows over 0.1


def online_laplace(x: np.ndarray, y: np.ndarray, passes: int) -> np.ndarray:
    """Weights of the logit after `passes` over x (N, P) in batches of B, each batch one Newton
    step from the current mean with the precision accumulated so far (a Laplace update)."""
    mean, precision = np.zeros(x.shape[1]), np.eye(x.shape[1]) / PRIOR_VAR
    for _ in range(passes):
        for b in range(0, len(x), B):
            xb, yb = x[b : b + B], y[b : b + B]
            p = 1 / (1 + np.exp(-xb @ mean))
            precision = precision + (xb.T * (p * (1 - p))) @ xb
            mean = mean + np.linalg.solve(precision, xb.T @ (yb - p))
    return mean


def main() -> None:
    prior = variant_prior(LinearClassificationConfig(dim=8, classes=2), "id")
    tasks = prior.sample(TASKS, POINTS, QUERIES, generator=torch.Generator().manual_seed(0))
    methods = {
        "least squares on the one-hot code (ridge, alpha 1)": [],
        "logistic regression to convergence (C = 100)": [],
        "online Laplace, one pass (flat memory)": [],
        "online Laplace, two passes (reads the points twice: not a stream)": [],
    }
    for t in range(TASKS):
        x, y = tasks.x_train[t].numpy(), tasks.y_train[t].numpy().astype(int)
        xq, yq = tasks.x_query[t].numpy(), tasks.y_query[t].numpy().astype(int)
        if len(set(y)) < 2:  # one class seen: every method predicts it
            for errs in methods.values():
                errs.append((yq != y[0]).mean())
            continue
        one, oneq = np.c_[x, np.ones(len(x))], np.c_[xq, np.ones(len(xq))]
        fits = [
            RidgeClassifier(alpha=1.0).fit(x, y).predict(xq),
            LogisticRegression(C=100.0, max_iter=5000).fit(x, y).predict(xq),
            (oneq @ online_laplace(one, y, 1) > 0).astype(int),
            (oneq @ online_laplace(one, y, 2) > 0).astype(int),
        ]
        for errs, pred in zip(methods.values(), fits, strict=True):
            errs.append((pred != yq).mean())
    print(markdown_header())
    print("# A classification floor on the grid's linear classification task, step 10\n")
    print(__doc__.split("\n\n")[0].replace("\n", " ") + "\n")
    print(f"{TASKS} tasks, {POINTS} points, {QUERIES} queries each.\n")
    print("| method | error % | s.e. |\n|---|---|---|")
    for name, errs in methods.items():
        e = 100 * np.array(errs)
        print(f"| {name} | {e.mean():.2f} | {e.std(ddof=1) / np.sqrt(len(e)):.2f} |")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
