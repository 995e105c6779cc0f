"""Section `memory`: peak memory and time of IAIRegressor.partial_fit over a short and a
10× longer stream."""

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from common.tabular.measure import in_fresh_process, rss, single_thread
from common.tabular.speed import D_SYNTH
from iai.sklearn import IAIRegressor

CHUNK = 10_000  # rows per partial_fit call


@dataclass
class MemoryRun:
    rows: int
    seconds: float  # inside partial_fit only (generating the chunks is not counted)
    start_mib: float  # resident after imports, before the first partial_fit
    peak_mib: float  # peak resident of the process


def _memory_run(rows: int, learner: str | None) -> MemoryRun:
    """IAIRegressor(learner=learner).partial_fit over `rows` synthetic rows, CHUNK at a time,
    in a fresh process."""
    single_thread()
    rng = np.random.default_rng(0)
    w = rng.normal(size=D_SYNTH)
    model, seconds, start = IAIRegressor(learner=learner), 0.0, rss("VmRSS")
    for _ in range(rows // CHUNK):
        X = rng.normal(size=(CHUNK, D_SYNTH))
        y = X @ w + np.sin(3 * X[:, 0]) + 0.1 * rng.normal(size=CHUNK)
        clock = time.perf_counter()
        model.partial_fit(X, y)
        seconds += time.perf_counter() - clock
    return MemoryRun(rows, seconds, start, rss("VmHWM"))


def run(quick: bool, out: Path, learner: str | None = None) -> tuple[str, dict]:
    """Peak memory and time of IAIRegressor.partial_fit over a short and a 10× longer stream
    (`learner`: the estimator's parameter, None for the default)."""
    short, long = (
        in_fresh_process(_memory_run, 10_000 if quick else 100_000, learner),
        in_fresh_process(_memory_run, 100_000 if quick else 1_000_000, learner),
    )
    peak = long.peak_mib / short.peak_mib
    growth = (long.peak_mib - long.start_mib) / max(short.peak_mib - short.start_mib, 1e-9)
    per_row = (long.seconds / long.rows) / (short.seconds / short.rows)
    flat, linear = peak <= 1.10, per_row <= 1.10
    summary = (
        f"peak RSS ratio {peak:.3f} ({'within' if flat else 'beyond'} 10 %), time per row ratio "
        f"{per_row:.3f} ({'linear' if linear else 'slower than linear'} within 10 %)"
    )
    print(summary, file=sys.stderr)
    lines = [
        f"IAIRegressor(learner={learner!r}).partial_fit on a synthetic stream ({D_SYNTH} "
        f"features, y = X·w + sin(3 x₀) + noise, seeded), {CHUNK:,} rows per call. Each "
        "length runs in a fresh process: its peak resident memory (VmHWM) and its time inside "
        "partial_fit.\n",
        f"**Summary: {summary}.**\n",
        "| rows | partial_fit s | µs per row | resident at start MiB | peak MiB | growth MiB |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r.rows:,} | {r.seconds:.1f} | {1e6 * r.seconds / r.rows:.1f} | "
            f"{r.start_mib:.0f} | {r.peak_mib:.0f} | {r.peak_mib - r.start_mib:.0f} |"
            for r in (short, long)
        ),
        f"\nPeak ratio (long / short) {peak:.3f}; growth ratio {growth:.2f}; time per row ratio "
        f"{per_row:.3f}. Goals: peak ratio ≤ 1.10 ({'met' if flat else 'missed'}), time per row "
        f"ratio ≤ 1.10 ({'met' if linear else 'missed'}).",
    ]
    return "\n".join(lines), {
        "runs": [asdict(short), asdict(long)],
        "summary": {
            "peak_ratio": peak,
            "growth_ratio": growth,
            "per_row_ratio": per_row,
            "flat": flat,
            "linear": linear,
        },
    }
