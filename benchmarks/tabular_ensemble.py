"""Does the `n_estimators` ensemble help? The default estimator with n_estimators = E: E
orderings of the columns read as E tasks of one batch, their predictions averaged (class
probabilities, or the Gaussians' mixture), beside one fit and the batch baselines, on the
small-data benchmark's 13 tables (`iai.sklearn_ensemble`).

    python benchmarks/tabular_ensemble.py [--splits 5]

The linear learner draws its random Fourier features from the first d columns of a fixed ω, so
each column order is a different draw of features over the same linear part. Order 0 is the
table's own; order e > 0 a permutation seeded by e (tests/test_sklearn_ensemble.py: the same
numbers as E separate fits on the permuted columns). Same tables, splits
and baselines as `benchmarks/tabular_tokens.py`; one thread. Writes
benchmarks/results/tabular-tokens/ensemble.md.
"""

import argparse
import time
from pathlib import Path

import numpy as np

from common.command import write_markdown
from common.tabular.measure import single_thread
from common.tabular.tables import ALL, TABLES, load, sizes, split
from iai.sklearn import IAIClassifier, IAIRegressor

OUT = Path(__file__).parent / "results" / "tabular-tokens"
SIZES = (32, 64, ALL)
ENSEMBLES = (1, 4, 8)


def run(n_splits: int) -> list[str]:
    names = [f"IAI E={e}" for e in ENSEMBLES]
    rows, wins, change, secs, labels = [], {}, {}, {}, []
    for table_name in TABLES:
        table = load(table_name)
        est = IAIClassifier if table.kind.classifies else IAIRegressor
        for size in sizes(table, SIZES):
            scores: dict[str, list[float]] = {}
            for seed in range(n_splits):
                Xtr, Xte, ytr, yte, _ = split(table, size, seed)
                models = {n: est(n_estimators=e) for n, e in zip(names, ENSEMBLES, strict=True)}
                for label, model in {**models, **table.kind.baselines(seed)}.items():
                    clock = time.perf_counter()
                    pred = model.fit(Xtr, ytr).predict(Xte)
                    secs.setdefault(label, []).append(time.perf_counter() - clock)
                    scores.setdefault(label, []).append(table.kind.score(yte, pred))
            mean = {k: float(np.mean(v)) for k, v in scores.items()}
            base = [v for k, v in mean.items() if not k.startswith("IAI")]
            verdict = []
            for n in names:
                beats = all(table.kind.better(mean[n], b) for b in base)
                wins.setdefault((size, n), []).append(beats)
                # relative change from one fit, signed so that > 0 is better
                sign = 1 if table.kind.classifies else -1
                change.setdefault(n, []).append(sign * (mean[n] / mean[names[0]] - 1))
                verdict.append("yes" if beats else "no")
            labels = list(mean)
            cells = " | ".join(f"{v:.4g}" for v in mean.values())
            rows.append(f"| {table_name} | {size} | {cells} | {' / '.join(verdict)} |")
            print(rows[-1], flush=True)
    summary = [
        f"- {size} rows: beats every baseline on "
        + ", ".join(f"{sum(wins[(size, n)])} of {len(wins[(size, n)])} ({n})" for n in names)
        + "."
        for size in SIZES
    ]
    summary += [
        f"- {n}: mean change from one fit {100 * np.mean(change[n]):+.2f} % (> 0 better; "
        f"worst table {100 * min(change[n]):+.2f} %, best {100 * max(change[n]):+.2f} %), "
        f"{np.mean(secs[n]):.2f} s per fit + predict."
        for n in names[1:]
    ]
    head = f"| table | train | {' | '.join(labels)} | beats all ({' / '.join(names)}) |"
    sep = "|---|---|" + "---|" * (len(labels) + 1)
    metric = "accuracy (classification) or RMSE (regression)"
    return [f"{metric}, mean over {n_splits} seeded splits.", "", *summary, "", head, sep, *rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--splits", type=int, default=5)
    args = parser.parse_args()
    single_thread()
    clock = time.perf_counter()
    body = run(args.splits)
    cmd = f"python benchmarks/tabular_ensemble.py --splits {args.splits}"
    text = [
        f"`{cmd}`, {time.strftime('%Y-%m-%d %H:%M')}, {time.perf_counter() - clock:.0f} s; "
        "IAI E=k: the default estimator with n_estimators=k (k column orders, averaged).",
        "",
        *body,
    ]
    write_markdown(
        OUT / "ensemble.md", cmd, "Ensembles over column orders on the small-data tables", text
    )


if __name__ == "__main__":
    main()
