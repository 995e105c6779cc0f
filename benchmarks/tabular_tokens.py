"""The tabular foundation model (`learner="tabular-tokens-…"`) beside the linear learner and the
batch baselines, on the small-data benchmark's 13 bundled tables.

    python benchmarks/tabular_tokens.py [--kind classification|regression|all] [--splits 5]

Same tables, splits and baselines as `benchmarks/tabular.py small` (common/tabular), at 32 and
64 training rows and with all rows (80 / 20), fewer splits (default 5) to fit a session. One
thread per learner. Writes benchmarks/results/tabular-tokens/small-<kind>.md; with --learner DIR,
that checkpoint too ("IAI candidate", e.g. a GPU-trained model: benchmarks/tabular_gpu.sh),
into --out.
"""

import argparse
import time
from pathlib import Path

import numpy as np

from common.tabular.measure import single_thread
from common.tabular.tables import ALL, TABLES, load, sizes, split
from iai.sklearn import IAIClassifier, IAIRegressor

OUT = Path(__file__).parent / "results" / "tabular-tokens"


def models(table, seed: int, candidate: str | None = None) -> dict:
    est = IAIClassifier if table.kind.classifies else IAIRegressor
    kind = "classification" if table.kind.classifies else "regression"
    extra = {"IAI candidate": est(learner=candidate)} if candidate else {}
    return {
        "IAI linear": est(),
        "IAI tokens": est(learner=f"tabular-tokens-{kind}"),
        **extra,
        **table.kind.baselines(seed),
    }


def run(kind: str, n_splits: int, candidate: str | None = None) -> str:
    rows, wins, near, linear, summary, labels, picked = [], {}, {}, {}, [], [], {}
    for name in TABLES:
        table = load(name)
        if table.kind.classifies != (kind == "classification"):
            continue
        for size in sizes(table, (32, 64, ALL)):
            scores: dict[str, list[float]] = {}
            for seed in range(n_splits):
                Xtr, Xte, ytr, yte, _ = split(table, size, seed)
                for label, model in models(table, seed, candidate).items():
                    pred = model.fit(Xtr, ytr).predict(Xte)
                    scores.setdefault(label, []).append(table.kind.score(yte, pred))
            mean = {k: float(np.mean(v)) for k, v in scores.items()}
            base = [v for k, v in mean.items() if not k.startswith("IAI")]
            best = table.kind.best(base)
            tok, lin = mean["IAI tokens"], mean["IAI linear"]
            if candidate:
                won = all(table.kind.better(mean["IAI candidate"], b) for b in base)
                rival = table.kind.better(mean["IAI candidate"], tok)
                picked.setdefault(size, []).append((won, rival))
            beats = all(table.kind.better(tok, b) for b in base)
            linear.setdefault(size, []).append(all(table.kind.better(lin, b) for b in base))
            labels = list(mean)
            wins.setdefault(size, []).append(beats)
            near.setdefault(size, []).append(table.kind.near(tok, best))
            cells = " | ".join(f"{v:.4g}" for v in mean.values())
            rows.append(
                f"| {name} | {size} | {cells} | {'yes' if beats else 'no'} | "
                f"{'yes' if table.kind.better(tok, lin) else 'no'} |"
            )
            print(rows[-1], flush=True)
    verdicts = "tokens beats all baselines | tokens beats linear"
    head = f"| table | train | {' | '.join(labels)} | {verdicts} |"
    sep = "|---|---|" + "---|" * (len(labels) + 2)
    for size in wins:
        summary.append(
            f"- {size} rows: tokens beats every baseline on {sum(wins[size])} of "
            f"{len(wins[size])} tables (the linear learner: {sum(linear[size])}); within 5 % of "
            f"the best baseline on {sum(near[size])}."
        )
    for size, pairs in picked.items():
        summary.append(
            f"- {size} rows, IAI candidate (`{candidate}`): beats every baseline on "
            f"{sum(w for w, _ in pairs)} of {len(pairs)} tables; beats IAI tokens on "
            f"{sum(r for _, r in pairs)}."
        )
    metric = "accuracy" if kind == "classification" else "RMSE"
    return "\n".join(
        [f"{metric}, mean over {n_splits} seeded splits.\n", *summary, "", head, sep, *rows]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", default="all", choices=["classification", "regression", "all"])
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--learner", help="a checkpoint to measure beside the shipped models")
    parser.add_argument("--out", type=Path, default=OUT, help="where small-<kind>.md goes")
    args = parser.parse_args()
    single_thread()
    args.out.mkdir(parents=True, exist_ok=True)
    for kind in ("classification", "regression") if args.kind == "all" else (args.kind,):
        clock = time.perf_counter()
        body = run(kind, args.splits, args.learner)
        cmd = f"python benchmarks/tabular_tokens.py --kind {kind} --splits {args.splits}"
        cmd += f" --learner {args.learner} --out {args.out}" if args.learner else ""
        text = (
            f"<!-- {cmd} -->\n# The tabular foundation model on the small-data tables: {kind}\n\n"
            f"`{cmd}`, {time.strftime('%Y-%m-%d %H:%M')}, "
            f"{time.perf_counter() - clock:.0f} s.\n\n{body}\n"
        )
        (args.out / f"small-{kind}.md").write_text(text)
        print(text)


if __name__ == "__main__":
    main()
