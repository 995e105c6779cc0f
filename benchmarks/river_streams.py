"""IAIRiverClassifier against river's own learners on river's streams, one row at a time.

Prequential (test-then-train) accuracy with `river.evaluate.progressive_val_score` and
`river.metrics.Accuracy`, every learner on the very same rows (each stream is drawn once,
seeded, and kept as a list). Streams: river's bundled Phishing, Bananas and ImageSegments,
whole, and four seeded synthetic drift streams. Baselines: river's ARF, SRP and AMF (seeded,
defaults otherwise) and, on binary streams, StandardScaler | LogisticRegression. IAI: the
default linear learner and the tabular foundation model ("tabular-tokens-classification"),
`IAIRiverClassifier(max_classes=<the stream's class count>)`, and the linear learner with
`window=500` and `window=1000` (it forgets: iai.sklearn) and with `n_estimators=4` (four
column orders averaged: iai.sklearn_ensemble). One thread throughout.

    python benchmarks/river_streams.py            (writes results/river-streams/river-streams.md)
    python benchmarks/river_streams.py --quick    (500 rows a stream, under .../quick/)
"""

import argparse
import datetime
import itertools
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import river
import torch
from river import datasets, ensemble, evaluate, forest, linear_model, metrics, preprocessing
from river.datasets import synth
from threadpoolctl import threadpool_limits

from common.command import ROOT, command, markdown_header
from iai.river import IAIRiverClassifier

SEED = 42
TOKENS = "tabular-tokens-classification"
SYNTH_ROWS, QUICK_ROWS, WIDTH = 4000, 500, 1000
# river's documentation, Benchmarks pages (docs/benchmarks/, "Binary classification" and
# "Multiclass classification" tables; river's own benchmark configuration, not ours)
PUBLISHED = {
    "Phishing": {"ARF": 0.907926, "SRP": 0.913531, "AMF": 0.904724, "LogReg": 0.8872},
    "Bananas": {"ARF": 0.88696, "SRP": 0.871674, "AMF": 0.889413, "LogReg": 0.543208},
    "ImageSegments": {"ARF": 0.818536, "SRP": 0.766999, "AMF": 0.901689},
}
RIVER = ["ARF", "SRP", "AMF", "LogReg"]
IAI = ["IAI linear", "IAI linear w500", "IAI linear w1000", "IAI linear E4", "IAI tokens"]
WINDOWS = {"IAI linear w500": 500, "IAI linear w1000": 1000}
DRIFT = ("SEA drift", "Agrawal drift", "RandomRBFDrift", "Hyperplane drift")


def streams(quick: bool) -> list[tuple[str, str, list]]:
    """(name, how it is made, its rows), each drawn once so every learner reads the same."""
    n = QUICK_ROWS if quick else SYNTH_ROWS
    width = min(WIDTH, n // 5)

    def drift(a, b, seed: int):
        return synth.ConceptDriftStream(a, b, seed=seed, position=n // 2, width=width)

    made = [
        ("Phishing", "river.datasets.Phishing()", datasets.Phishing()),
        ("Bananas", "river.datasets.Bananas()", datasets.Bananas()),
        ("ImageSegments", "river.datasets.ImageSegments()", datasets.ImageSegments()),
        (
            "SEA drift",
            f"ConceptDriftStream(SEA(variant=0) → SEA(variant=2), position={n // 2}, "
            f"width={width})",
            drift(synth.SEA(variant=0, seed=SEED), synth.SEA(variant=2, seed=SEED + 1), 1),
        ),
        (
            "Agrawal drift",
            f"ConceptDriftStream(Agrawal(classification_function=0) → (…=4), "
            f"position={n // 2}, width={width})",
            drift(
                synth.Agrawal(classification_function=0, seed=SEED),
                synth.Agrawal(classification_function=4, seed=SEED + 1),
                2,
            ),
        ),
        (
            "RandomRBFDrift",
            "RandomRBFDrift(n_classes=4, n_features=10, n_centroids=50, change_speed=0.001, "
            "n_drift_centroids=50)",
            synth.RandomRBFDrift(
                seed_model=SEED,
                seed_sample=SEED,
                n_classes=4,
                n_features=10,
                n_centroids=50,
                change_speed=0.001,
                n_drift_centroids=50,
            ),
        ),
        (
            "Hyperplane drift",
            "Hyperplane(n_features=10, n_drift_features=5, mag_change=0.001, sigma=0.1, "
            "noise_percentage=0.05)",
            synth.Hyperplane(
                seed=SEED, n_features=10, n_drift_features=5, mag_change=0.001, sigma=0.1
            ),
        ),
    ]
    bundled = ("Phishing", "Bananas", "ImageSegments")
    take = {name: (QUICK_ROWS if quick else None) if name in bundled else n for name, *_ in made}
    return [(name, how, list(itertools.islice(s, take[name]))) for name, how, s in made]


def learners(classes: int) -> dict:
    """Fresh learners for a stream with `classes` classes (LogReg only for two)."""
    made = {
        "ARF": forest.ARFClassifier(seed=SEED),
        "SRP": ensemble.SRPClassifier(seed=SEED),
        "AMF": forest.AMFClassifier(seed=SEED),
        "LogReg": preprocessing.StandardScaler() | linear_model.LogisticRegression(),
        "IAI linear": IAIRiverClassifier(max_classes=classes),
        **{k: IAIRiverClassifier(max_classes=classes, window=w) for k, w in WINDOWS.items()},
        "IAI linear E4": IAIRiverClassifier(max_classes=classes, n_estimators=4),
        "IAI tokens": IAIRiverClassifier(max_classes=classes, learner=TOKENS),
    }
    if classes != 2:
        del made["LogReg"]
    return made


def run(rows: list, model) -> tuple[float, float]:
    """Prequential accuracy and wall seconds of `model` over `rows`."""
    torch.manual_seed(SEED)
    clock = time.perf_counter()
    metric = evaluate.progressive_val_score(rows, model, metrics.Accuracy())
    return metric.get(), time.perf_counter() - clock


def machine() -> str:
    cpu = platform.processor() or "(platform.processor() is empty)"
    try:
        names = [ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln]
        cpu += f"; {names[0].split(':', 1)[1].strip()}" if names else ""
    except OSError:
        pass
    return f"{cpu}, os.cpu_count() = {os.cpu_count()}, {platform.system()} {platform.release()}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS} rows a stream")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start, began = time.perf_counter(), datetime.datetime.now()
    out_dir = ROOT / "benchmarks/results/river-streams" / ("quick" if args.quick else "")
    results, shapes, check = {}, [], {}
    with threadpool_limits(1):
        for name, how, rows in streams(args.quick):
            classes = len({y for _, y in rows})
            shapes.append((name, how, len(rows), len(rows[0][0]), classes))
            results[name] = {}
            for label, model in learners(classes).items():
                results[name][label] = run(rows, model)
                acc, sec = results[name][label]
                print(f"{name}: {label} {acc:.4f} in {sec:.1f} s", file=sys.stderr, flush=True)
            if name == "Phishing":  # the scaler check: the same rows behind StandardScaler
                for label, learner in (("IAI linear", None), ("IAI tokens", TOKENS)):
                    scaled = IAIRiverClassifier(max_classes=classes, learner=learner)
                    check[label] = run(rows, preprocessing.StandardScaler() | scaled)
    total = time.perf_counter() - start

    def cell(stream: str, label: str, what: int) -> str:
        if label not in results[stream]:
            return "–"
        value = results[stream][label][what]
        return f"{value:.4f}" if what == 0 else f"{value:.2f}"

    names = [s[0] for s in shapes]
    best = {s: max(v[0] for k, v in results[s].items() if k in RIVER) for s in names}
    wins = {label: [s for s in names if results[s][label][0] > best[s]] for label in IAI}
    drift = [s for s in names if s in DRIFT]
    lines = [
        markdown_header(),
        "# IAIRiverClassifier against river's learners on river's streams, prequential",
        "",
        f"`{command()}`, {began:%Y-%m-%d %H:%M}, {total:.0f} s in all.",
        "",
        f"river {river.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
        f"python {platform.python_version()}; {machine()}. One thread: "
        "`torch.set_num_threads(1)` and threadpoolctl `threadpool_limits(1)`.",
        "",
        "Each learner reads each stream one row at a time, test-then-train, with "
        "`river.evaluate.progressive_val_score` and `river.metrics.Accuracy`, on the very "
        "same rows (each stream drawn once, seeded). River baselines: `forest.ARFClassifier`, "
        "`ensemble.SRPClassifier`, `forest.AMFClassifier`, all `seed=42` and river's defaults "
        "otherwise, and on two-class streams `preprocessing.StandardScaler() | "
        "linear_model.LogisticRegression()` (LogReg). IAI: `IAIRiverClassifier(max_classes="
        "<classes>)` (IAI linear: the default linear learner) and the same with "
        f'`learner="{TOKENS}"` (IAI tokens), defaults otherwise (batch_size 32); IAI linear wW: '
        "the linear learner with `window=W`, forgetting; IAI linear E4: with `n_estimators=4`, "
        "four column orders averaged. Rule for all "
        "streams: IAI reads the raw features, no river StandardScaler in front (the adapter "
        "standardizes by its first 256 rows itself); the check behind that rule is below.",
        "",
        "## Streams",
        "",
        *table(
            ["stream", "rows", "features", "classes", "made by"],
            [[n, f"{r:,}", str(f), str(c), h] for n, h, r, f, c in shapes],
        ),
        "",
        "## Final prequential accuracy",
        "",
        *table(
            ["stream", *RIVER, *IAI, "best river"],
            [[s, *(cell(s, k, 0) for k in RIVER + IAI), f"{best[s]:.4f}"] for s in names],
        ),
        "",
        "## Wall seconds per learner (whole stream; ms per row in brackets)",
        "",
        *table(
            ["stream", *RIVER, *IAI],
            [
                [
                    s,
                    *(
                        f"{cell(s, k, 1)} ({1000 * results[s][k][1] / r:.2f})"
                        if k in results[s]
                        else "–"
                        for k in RIVER + IAI
                    ),
                ]
                for s, _, r, _, _ in shapes
            ],
        ),
        "",
        "## Published accuracies beside our runs (river's bundled datasets)",
        "",
        '"published": river\'s own documentation, its Benchmarks pages (the Binary and the '
        "Multiclass classification tables), river's benchmark configuration of each model, "
        'which need not be the defaults used here; "ours": this run, same model family, '
        "on the rows above"
        + (" (--quick: only the first 500 rows, so not comparable)." if args.quick else "."),
        "",
        *table(
            ["stream", "model", "published", "ours", *IAI],
            [
                [s, m, f"{p:.4f}", cell(s, m, 0), *(cell(s, k, 0) for k in IAI)]
                for s, pub in PUBLISHED.items()
                for m, p in pub.items()
            ],
        ),
        "",
        "Best published: Phishing 0.9135 (SRP), Bananas 0.8894 (AMF), ImageSegments 0.9017 (AMF).",
        "",
        f"## Scaler check (Phishing, {'first 500 rows' if args.quick else 'whole'}): "
        "IAI with and without river's StandardScaler",
        "",
        *table(
            ["learner", "raw features (the rule)", "StandardScaler() \\| IAI"],
            [[k, cell("Phishing", k, 0), f"{check[k][0]:.4f}"] for k in check],
        ),
        "",
        "## Summary",
        "",
        *(
            f"- {label} beats every river baseline on {len(wins[label])} of {len(names)} "
            f"streams{': ' + ', '.join(wins[label]) if wins[label] else ''}."
            for label in reversed(IAI)
        ),
        *(
            f"- {label} above both ARF and SRP on {len(d)} of {len(drift)} drift streams"
            f"{': ' + ', '.join(d) if d else ''}."
            for label in IAI
            for d in [
                [
                    s
                    for s in drift
                    if results[s][label][0] > max(results[s]["ARF"][0], results[s]["SRP"][0])
                ]
            ]
        ),
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "river-streams.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
