"""What the token state costs (issue 21, item 5): seconds per step and peak memory of the
token-state learner (M = 16 latents, width 128) against checkpoints/linreg-d8 (parametric
IAI, width 128) and the one-step ICL learner at the same width, side by side in one run.

Each (learner, N) is one fresh process of `benchmarks/scaling.py --child` (linear regression,
d = 8, 16 tasks, 128 queries, B = 16, one CPU thread; the iterative learners read the points
as a stream of mini-batches, the one-step model holds all N at once), the learners
alternating, REPEATS times each; the median is reported. The token learner and ICL are built
untrained: time and memory do not depend on the weights. ICL, whose attention over all N
points grows as N², is measured once per size up to ICL_MAX points: at 2¹⁴ it takes about two
minutes and holds gigabytes, at 2¹⁶ it would take sixteen times as long.

    python benchmarks/tokens_cost.py > benchmarks/results/tokens-cost/cost.md
"""

import statistics
import sys

from common.command import markdown_header
from common.scaling_child import measure

NAMES = {  # name in benchmarks/scaling.py -> the label here; the first is the reference
    "parametric IAI": "linreg-d8 (parametric IAI)",
    "tokens, width 128 (untrained: cost only)": "tokens",
    "ICL / PFN, width 128 (untrained: cost only)": "ICL, one step",
}
SIZES, REPEATS, B, ICL_MAX = [2**10, 2**12, 2**14, 2**16], 3, 16, 2**14


def main() -> None:
    runs: dict[tuple[str, int], list[dict]] = {}
    for repeat in range(REPEATS):
        for n in SIZES:
            for name in NAMES:
                if "ICL" in name and (n > ICL_MAX or repeat > 0):
                    continue
                runs.setdefault((name, n), []).append(measure(name, n))
                print(name, n, runs[name, n][-1]["seconds"], file=sys.stderr, flush=True)
    med = {
        key: {k: statistics.median(r[k] for r in rows) for k in ("seconds", "peak_mb")}
        for key, rows in runs.items()
    }
    print(markdown_header())
    print("# The token state's cost beside linreg-d8 and one-step ICL (width 128)\n")
    print(f"`python benchmarks/tokens_cost.py`: median of {REPEATS} alternating fresh processes")
    print("per cell (ICL: one), 16 tasks, one CPU thread (see benchmarks/scaling.py for what is")
    print("timed).\n")
    print("| N | learner | seconds | ms per step of 16 | peak MB above start |")
    print("|---|---|---|---|---|")
    for n in SIZES:
        for name, label in NAMES.items():
            if (name, n) in med:
                m = med[name, n]
                per = 1e3 * m["seconds"] / (n // B)
                print(f"| {n} | {label} | {m['seconds']:.3f} | {per:.3f} | {m['peak_mb']:.2f} |")
    print()
    ref, tokens, icl = NAMES
    for n in SIZES:
        t = med[tokens, n]["seconds"]
        line = f"- N = {n}: tokens / linreg-d8 time {t / med[ref, n]['seconds']:.2f}×"
        if (icl, n) in med:
            line += f"; ICL / tokens time {med[icl, n]['seconds'] / t:.2f}×"
        print(line)
    for name, label in NAMES.items():
        peaks = [f"{med[name, n]['peak_mb']:.2f}" for n in SIZES if (name, n) in med]
        print(f"- {label}: peak MB above start at N = 2¹⁰ … : {', '.join(peaks)}")


if __name__ == "__main__":
    main()
