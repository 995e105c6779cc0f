"""What the curvature memory costs: adaptation seconds per step and peak memory of
linreg-d8-memory (width 64) against linreg-d8 (width 128) and the learned optimizer
linreg-d8-grad (width 64, the same budget), side by side in one run.

Each (learner, N) is one fresh process of `benchmarks/scaling.py --child` (16 tasks, 128
queries, B = 16, one CPU thread: points streamed batch by batch, timed under inference mode,
peak resident memory above the loaded learner), the two learners alternating, REPEATS times
each; the median is reported. Flat memory: the peak at N = 2¹⁶ (4,096 steps) against 2⁸.

    python benchmarks/memory_cost.py > benchmarks/results/memory-cost/cost.md
"""

import statistics

from common.command import markdown_header
from common.scaling_child import measure

NAMES = {  # checkpoint -> its name in benchmarks/scaling.py; the first is the reference
    "linreg-d8": "parametric IAI",
    "linreg-d8-grad": "learned optimizer",
    "linreg-d8-memory": "parametric IAI, curvature memory",
}
SIZES, REPEATS, B = [2**8, 2**12, 2**16], 3, 16


def main() -> None:
    runs = {(c, n): [] for c in NAMES for n in SIZES}
    for _ in range(REPEATS):
        for n in SIZES:
            for checkpoint, name in NAMES.items():
                runs[checkpoint, n].append(measure(name, n))
    med = {
        key: {k: statistics.median(r[k] for r in rows) for k in ("seconds", "peak_mb", "mse")}
        for key, rows in runs.items()
    }
    print(markdown_header())
    print("# The adaptation memory's cost\n")
    print(f"`python benchmarks/memory_cost.py`: median of {REPEATS} alternating fresh processes")
    print("per cell, 16 tasks, one CPU thread (see benchmarks/scaling.py for what is timed).\n")
    print("| N | steps | learner | seconds | ms per step | peak MB above start | MSE |")
    print("|---|---|---|---|---|---|---|")
    for n in SIZES:
        for c in NAMES:
            m = med[c, n]
            print(
                f"| {n} | {n // B} | {c} | {m['seconds']:.3f} | {1e3 * m['seconds'] / (n // B):.3f}"
                f" | {m['peak_mb']:.2f} | {m['mse']:.4f} |"
            )
    print()
    for n in SIZES:
        ratios = ", ".join(
            f"{c} {med[c, n]['seconds'] / med['linreg-d8', n]['seconds']:.2f}×"
            for c in list(NAMES)[1:]
        )
        print(f"- N = {n}: time per step against linreg-d8: {ratios}")
    for c in NAMES:
        lo, hi = med[c, SIZES[0]]["peak_mb"], med[c, SIZES[-1]]["peak_mb"]
        print(f"- {c}: peak MB above start {lo:.2f} at N = {SIZES[0]}, {hi:.2f} at N = {SIZES[-1]}")


if __name__ == "__main__":
    main()
