"""What a classification floor could reach on the grid's linear classification task (issue 21):
the token learner's floor regresses the one-hot code by least squares, and on this task (D = 8,
2 classes, labels from softmax(W [x, 1] / 0.1), nearly deterministic) it stays above the
learned optimizer. Here, on the same prior at step 10 (160 points), side by side on the same
tasks: least squares on the code (ridge), logistic regression fit to convergence on all points
(not flat in memory), and one pass of online Laplace updates over mini-batches of 16 (a Newton
step per batch in information form: flat memory, the form a logistic floor could take), with
the prior's own variance. Then the token learner's two floors as they start (untrained
features, the grid's floor of 4 banks of 32), on all three classification tasks of the grid:
least squares on the code and the online Laplace floor (`iai.models.feature_laplace`) at
several inverse curvatures σ², which is how its initial σ² was chosen.

    OMP_NUM_THREADS=1 python benchmarks/classification_floor.py \
        > benchmarks/results/grid/classification-floor.md
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression, RidgeClassifier

from common.command import markdown_header
from iai.models.feature_bayes import FeatureBayes
from iai.models.feature_laplace import FeatureLaplace
from iai.models.fourier_basis import GAIN
from iai.tasks import DigitsConfig, NonlinearClassificationConfig, variant_prior
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


TASKS_CONFIGS = {  # the grid's (iai/grid.py)
    "linear classification": LinearClassificationConfig(dim=8, classes=2),
    "nonlinear classification": NonlinearClassificationConfig(dim=8, classes=2),
    "digits": DigitsConfig(dim=64, classes=5),
}
NOISES = (2.0, 4.0, 10.0, 20.0)


def floors_as_they_start(cfg) -> dict[str, float]:
    """Error % at 160 points of each floor as it starts, on 500 tasks of `cfg`'s prior."""
    tasks = variant_prior(cfg, "id").sample(
        TASKS, POINTS, QUERIES, generator=torch.Generator().manual_seed(0)
    )
    code = F.one_hot(tasks.y_train, cfg.classes).float()
    torch.manual_seed(0)  # the same features for every floor
    floors = {"least squares on the code": FeatureBayes(cfg.dim, cfg.classes, 32, 4)}
    for noise in NOISES:
        torch.manual_seed(0)
        floor = FeatureLaplace(cfg.dim, cfg.classes, 32, 4)
        with torch.no_grad():
            floor.noise_offset.fill_((np.log(noise) - floor.noise_init) / GAIN)
        floors[f"online Laplace, σ² = {noise:g}"] = floor
    errors = {}
    for name, floor in floors.items():
        with torch.no_grad():
            stats = floor.start(TASKS, tasks.x_train)
            for rows in torch.arange(POINTS).split(B):
                stats = floor.add(stats, tasks.x_train[:, rows], code[:, rows])
            out = floor.predict(stats, tasks.x_query)
        out = out[0] if isinstance(out, tuple) else out
        errors[name] = 100 * (out.argmax(-1) != tasks.y_query).float().mean().item()
    return errors


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
    print("\n## The token learner's floors as they start, error % at 160 points\n")
    table = {task: floors_as_they_start(cfg) for task, cfg in TASKS_CONFIGS.items()}
    print("| floor | " + " | ".join(table) + " |")
    print("|---" * (len(table) + 1) + "|")
    for name in next(iter(table.values())):
        print(f"| {name} | " + " | ".join(f"{t[name]:.2f}" for t in table.values()) + " |")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
