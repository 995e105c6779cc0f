"""The scikit-learn estimators on tables with many classes or many features, beside
`LogisticRegression` and `RidgeClassifier` / `Ridge` (each after a `StandardScaler`, defaults
otherwise), on the same seeded splits.

    python benchmarks/tabular_wide.py [--quick]

Tables (nothing downloaded): `make_classification` with 15 and 40 classes (20 features, 10
informative), binary `make_classification` and `make_regression` with 300 and 1,000 features
(20 informative), and `load_digits` (10 classes, 64 features) as a real anchor. Seed s draws
the synthetic table (random_state=s) and every split (random_state=s). IAI: the default
(`learner=None`), the linear learner and the tokens model by their shipped names, and for
tables wider than the linear learner's 100 features a `SelectKBest(k=100)` in front of it
(what the default does inside); past 10 classes, the default through output codes, not natively.
One thread. Writes benchmarks/results/tabular-tokens/wide.md (--quick: quick/wide.md).
"""

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.feature_selection import SelectKBest, f_classif, f_regression
from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from common.command import command, markdown_header
from iai.learners.tabular import TabularLearner
from iai.sklearn import IAIClassifier, IAIRegressor
from iai.sklearn_learners import LINEAR_COLUMNS, output_codes

OUT = Path(__file__).parent / "results" / "tabular-tokens"
TEST, DIGITS_TEST, CLASS_SEP, NOISE = 1000, 700, 2.0, 10.0
BASELINES = ("logistic", "ridge")


class OutputCodes(IAIClassifier):
    """The default reading more than 10 classes through output codes, as the foundation
    model does, rather than natively (`iai.sklearn_learners.for_classes`)."""

    def _set_classes(self, classes: np.ndarray) -> None:
        super()._set_classes(classes)
        self.codes_ = output_codes(len(classes), self._tabular().objective.out_dim)

    def _reset(self) -> None:
        super()._reset()
        self.learner_ = self._tabular()


def models(classify: bool, features: int, classes: int = 2) -> dict:
    """Name -> a fresh estimator; IAI ones first, then the baselines."""
    est, kind = (IAIClassifier, "classification") if classify else (IAIRegressor, "regression")
    out = {"IAI default": est()}
    if classes > 10:
        out["IAI output codes"] = OutputCodes()
    if features <= LINEAR_COLUMNS:
        out["IAI linear"] = est(learner=f"tabular-{kind}")
    else:
        score = f_classif if classify else f_regression
        out["IAI linear k100"] = make_pipeline(
            SelectKBest(score, k=LINEAR_COLUMNS), est(learner=f"tabular-{kind}")
        )
    out["IAI tokens"] = est(learner=f"tabular-tokens-{kind}")
    if classify:
        out["logistic"] = make_pipeline(StandardScaler(), LogisticRegression())
    out["ridge"] = make_pipeline(StandardScaler(), RidgeClassifier() if classify else Ridge())
    return out


def table(spec: tuple, size: int, seed: int) -> tuple:
    """(Xtr, Xte, ytr, yte) for a setting: ("classes", C) | ("wide-clf", F) | ("wide-reg", F)
    | ("digits", 0)."""
    kind, k = spec
    n, test = size + TEST, TEST
    if kind == "classes":
        X, y = make_classification(
            n, n_features=20, n_informative=10, n_classes=k, n_clusters_per_class=1,
            class_sep=CLASS_SEP, random_state=seed,
        )  # fmt: skip
    elif kind == "wide-clf":
        X, y = make_classification(n, n_features=k, n_informative=20, random_state=seed)
    elif kind == "wide-reg":
        X, y = make_regression(n, n_features=k, n_informative=20, noise=NOISE, random_state=seed)
    else:
        X, y = load_digits(return_X_y=True)
        test = DIGITS_TEST
    strat = y if kind != "wide-reg" else None
    return train_test_split(
        X, y, train_size=size, test_size=test, stratify=strat, random_state=seed
    )


def score(classify: bool, y, pred) -> float:
    return float(np.mean(y == pred)) if classify else float(np.sqrt(np.mean((y - pred) ** 2)))


def picked(model) -> str:
    return "linear" if isinstance(model.learner_, TabularLearner) else "tokens"


def setting(spec: tuple, size: int, seeds: int, notes: dict) -> dict:
    """Per model: scores and seconds over the seeds; plus which learner the default picked."""
    classify = spec[0] != "wide-reg"
    res: dict = {"scores": {}, "secs": {}, "picked": set(), "ystd": []}
    for seed in range(seeds):
        Xtr, Xte, ytr, yte = table(spec, size, seed)
        res["ystd"].append(float(np.std(yte)))
        preds = {}
        candidates = models(classify, Xtr.shape[1], len(np.unique(ytr)) if classify else 2)
        default = candidates["IAI default"]
        for name, model in candidates.items():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                clock = time.perf_counter()
                preds[name] = model.fit(Xtr, ytr).predict(Xte)
                secs = time.perf_counter() - clock
            for w in caught:
                what = f"{w.category.__name__}: {str(w.message).splitlines()[0][:100]}"
                notes.setdefault((f"{spec[0]} {spec[1]}, {size} rows", what), []).append(name)
            res["scores"].setdefault(name, []).append(score(classify, yte, preds[name]))
            res["secs"].setdefault(name, []).append(secs)
        pick = picked(default)
        res["picked"].add(pick)
        same = "IAI tokens" if pick == "tokens" else "IAI linear"
        same = same if same in preds else "IAI linear k100"  # wider than 100: it selects
        if not np.array_equal(preds["IAI default"], preds[same]):
            what = f"IAI default's predictions differ from {same}'s"
            notes.setdefault((f"{spec[0]} {spec[1]}, {size} rows", what), []).append("check")
    return res


def fmt(values: list[float], classify: bool) -> str:
    digits = 3 if classify else 1
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def run(quick: bool) -> tuple[list[str], float]:
    seeds = 2 if quick else 5
    sizes = (64, 256) if quick else (64, 256, 1024)
    groups = [
        ("Many classes (`make_classification`, 20 features, 10 informative, class_sep "
         f"{CLASS_SEP}), accuracy", [("classes", c) for c in ((15,) if quick else (15, 40))]),
        ("Many features, binary (`make_classification`, 20 informative), accuracy",
         [("wide-clf", f) for f in ((300,) if quick else (300, 1000))]),
        (f"Many features, regression (`make_regression`, 20 informative, noise {NOISE}), RMSE",
         [("wide-reg", f) for f in ((300,) if quick else (300, 1000))]),
        ("Real anchor: `load_digits` (1,797 rows, 64 features, 10 classes, test "
         f"{DIGITS_TEST} rows), accuracy", [("digits", 0)]),
    ]  # fmt: skip
    lines, notes, beats, total = [], {}, {}, 0
    clock = time.perf_counter()
    for title, specs in groups:
        classify = specs[0][0] != "wide-reg"
        wide, many = specs[0][0].startswith("wide"), specs[0][0] == "classes"
        names = list(models(classify, specs[0][1] if wide else 20, 11 if many else 2))
        lines += [f"## {title}", "", f"| table | train | {' | '.join(names)} | best | "
                  "default picks |", "|---|---|" + "---|" * (len(names) + 2)]  # fmt: skip
        times = [f"| table | train | {' | '.join(names)} |", "|---|---|" + "---|" * len(names)]
        for spec in specs:
            label = {"classes": f"{spec[1]} classes", "digits": "digits"}.get(
                spec[0], f"{spec[1]} features"
            )
            for size in sizes:
                res = setting(spec, size, seeds, notes)
                mean = {k: float(np.mean(v)) for k, v in res["scores"].items()}
                best = (max if classify else min)(mean, key=mean.get)
                base = [mean[b] for b in BASELINES if b in mean]
                for name in names:
                    if name.startswith("IAI"):
                        better = [(mean[name] > b) if classify else (mean[name] < b) for b in base]
                        beats.setdefault(name, []).append(all(better))
                total += 1
                cells = " | ".join(fmt(res["scores"][k], classify) for k in names)
                extra = "" if classify else f" (y std {np.mean(res['ystd']):.0f})"
                row = (f"| {label}{extra} | {size} | {cells} | {best} | "
                       f"{', '.join(sorted(res['picked']))} |")  # fmt: skip
                lines.append(row)
                print(row, flush=True)
                secs = " | ".join(f"{np.mean(res['secs'][k]):.2f}" for k in names)
                times.append(f"| {label} | {size} | {secs} |")
        lines += ["", "Fit + predict seconds (mean over seeds):", "", *times, ""]
    summary = [
        f"- {name}: beats every baseline on {sum(v)} of {len(v)} settings where it runs."
        for name, v in beats.items()
    ]
    counts = f"{total} settings × {seeds} seeds"
    head = [f"Mean ± std over {seeds} seeds; {counts}. Best: the best mean of all columns.", ""]
    warned = ["## Warnings and checks", ""] + [
        f"- {where}: {what} ({len(who)} fits: {', '.join(sorted(set(who)))})"
        for (where, what), who in notes.items()
    ]
    if not any("differ" in what for _, what in notes):
        warned.append("- Check: in every fit the default's predictions equal its learner's.")
    return [*head, "## Summary", "", *summary, "", *lines, *warned], time.perf_counter() - clock


def header(cmd: str, elapsed: float) -> list[str]:
    import importlib.metadata as md

    versions = ", ".join(
        f"{k} {v}"
        for k, v in [("python", platform.python_version()), ("iai", md.version("iai")),
                     ("torch", torch.__version__), ("scikit-learn", sklearn.__version__),
                     ("numpy", np.__version__)]
    )  # fmt: skip
    machine = f"{platform.processor() or platform.machine()}, os.cpu_count() = {os.cpu_count()}"
    return [
        markdown_header(cmd),
        "# The estimators on tables with many classes or many features",
        "",
        f"`{cmd}`, {time.strftime('%Y-%m-%d %H:%M')}, {elapsed:.0f} s (after loading the "
        f"learners); {versions}; {machine}; "
        "one thread (torch.set_num_threads(1), threadpool_limits(1)).",
        "",
        'IAI default: `learner=None`; IAI linear: `learner="tabular-classification"` / '
        '`"tabular-regression"`; IAI linear k100: `SelectKBest(k=100)` (f_classif / '
        "f_regression) then the linear learner, on tables wider than its 100 features; IAI "
        'tokens: `learner="tabular-tokens-…"`. More than 10 classes: the linear learner '
        "natively, the tokens model by output codes (`iai.sklearn_learners`); IAI output codes: "
        "the default through output codes. "
        "logistic: `StandardScaler` + `LogisticRegression()`; ridge: `StandardScaler` + "
        "`RidgeClassifier()` / `Ridge()` (alpha 1). Each synthetic table: train rows as given, "
        f"test {TEST} rows, stratified for classes. Seconds exclude loading the learners "
        "(done once before).",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (quick/wide.md)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    threadpool_limits(1)
    rng = np.random.default_rng(0)
    for est, kind in ((IAIClassifier, "classification"), (IAIRegressor, "regression")):
        for learner in (f"tabular-{kind}", f"tabular-tokens-{kind}"):  # load once, untimed
            est(learner=learner).fit(rng.normal(size=(40, 3)), np.arange(40) % 2)
    body, elapsed = run(args.quick)
    out = OUT / "quick" if args.quick else OUT
    out.mkdir(parents=True, exist_ok=True)
    text = "\n".join([*header(command(), elapsed), *body]) + "\n"
    (out / "wide.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
