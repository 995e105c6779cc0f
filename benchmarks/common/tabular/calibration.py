"""Section `calibration`: coverage of IAIRegressor's 90 % predictive intervals."""

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from common.tabular.measure import mean_or_nan, std_error
from common.tabular.tables import ALL, SPLITS, TABLES, TEST_CAP, load, sizes, split

Z90 = 1.645  # mean ± Z90 · std is a central 90 % Gaussian interval


@dataclass
class Coverage:
    table: str
    size: int | str
    train: int
    test: int
    mean: float  # share of held-out targets inside mean ± 1.645 std
    se: float
    splits: int
    in_band: bool  # mean within [0.85, 0.95]


def run(quick: bool, out: Path, learner: str | None = None) -> tuple[str, dict]:
    """Coverage of IAIRegressor's 90 % predictive intervals on held-out rows (`learner`: the
    estimator's parameter, None for the default)."""
    splits = 2 if quick else SPLITS
    tables = [load(name) for name, (kind, *_) in TABLES.items() if not kind.classifies]
    rows = []
    for table in tables:
        for size in sizes(table, (64, ALL)):
            cover = []
            for seed in range(splits):
                X_tr, X_te, y_tr, y_te, _ = split(table, size, seed)
                est = table.kind.iai(learner=learner)
                mean, std = est.fit(X_tr, y_tr).predict(X_te, return_std=True)
                cover.append(float(np.mean(np.abs(y_te - mean) <= Z90 * std)))
            c = mean_or_nan(cover)
            rows.append(
                Coverage(
                    table.name,
                    size,
                    len(y_tr),
                    len(y_te),
                    c,
                    std_error(cover),
                    splits,
                    0.85 <= c <= 0.95,
                )
            )
    good = sum(r.in_band for r in rows)
    summary = f"coverage within [0.85, 0.95] for {good} of {len(rows)} table × size pairs (" + (
        ", ".join(
            f"{s} rows: {sum(r.in_band for r in rows if r.size == s)} of "
            f"{sum(r.size == s for r in rows)}"
            for s in (64, ALL)
        )
        + ")"
    )
    print(summary, file=sys.stderr)
    lines = [
        f"Learner: `learner={learner!r}`. "
        "Share of held-out targets inside IAIRegressor's 90 % interval, mean ± 1.645 × std from "
        f"`predict(X, return_std=True)`; mean ± standard error over {splits} seeded splits: 64 "
        f"training rows tested on the rest (at most {TEST_CAP}), or `all`: 80 / 20. Tables "
        "under 80 rows skip 64. Nominal: 0.90.\n",
        f"**Summary: {summary}.**\n",
        "| table | train | test | coverage | in [0.85, 0.95] |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.table} | {r.train} | {r.test} | {r.mean:.3f} ± {r.se:.3f} | "
        f"{'yes' if r.in_band else 'no'} |"
        for r in rows
    ]
    tables_md = "\n".join(f"- {t.name}: {t.describe()}" for t in tables)
    lines += ["", tables_md]
    return "\n".join(lines), {
        "coverage": [asdict(r) for r in rows],
        "summary": {"in_band": good, "pairs": len(rows)},
    }
