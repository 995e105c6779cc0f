"""Section `speed`: fit + predict wall time on a synthetic table, IAI against hist GB."""

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sklearn.datasets import (
    make_classification,
    make_friedman1,
)

from common.tabular.learners import CLASSIFICATION, REGRESSION

D_SYNTH = 20  # features of the synthetic table


@dataclass
class Timing:
    task: str
    learner: str
    seconds: list[float]  # fit + predict per round
    median: float
    score: float  # RMSE or accuracy on the held-out rows (last round)


def run(quick: bool, out: Path, learner: str | None = None) -> tuple[str, dict]:
    """fit + predict wall time on a synthetic table: IAI against hist gradient boosting
    (`learner`: the estimators' parameter, "{kind}" filled in, None for the default)."""
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
            iai = kind.iai(learner=learner and learner.format(kind=kind.name))
            for name, est in (("IAI", iai), ("hist GB", kind.baselines(0)["hist GB"])):
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
        f"alternate; IAI `learner={learner!r}`, default parameters otherwise (hist GB seeded). "
        "Data from scikit-learn's generators, "
        "seeded.\n\n"
    )
    return intro + "\n".join(lines), {"timings": [asdict(t) for t in timings]}
