"""Probe the surfaces issue 24 names as a careful user or an attacker would, and count what
comes back: right answers and named refusals, against wrong answers, foreign exceptions and
hangs (`common/probe/harness.py`). Targeted cases reproduce each finding; hypothesis draws
(derandomized: the same cases every run) go beyond them.

    OMP_NUM_THREADS=1 python benchmarks/untrusted_probe.py > benchmarks/results/untrusted/probe.md

`--surface NAME` runs one (estimators, generative, load, training); `--examples N` scales the
hypothesis draws (default 1: 80 tables, 240 generative calls, 80 crafted checkpoints). Exit
status 1 if anything is wrong, foreign or hung.
"""

import argparse
import resource
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

from common.command import ROOT, markdown_header
from common.probe import checkpoints, estimators, generative, training
from common.probe.harness import Outcome, run

KINDS = ("right", "refused", "wrong", "foreign", "hang")


def surfaces(tmp: Path, scale: float) -> dict:
    return {
        "estimators": lambda: estimators.targeted() + estimators.drawn(round(80 * scale)),
        "generative": lambda: (
            generative.targeted(ROOT) + generative.drawn(ROOT, round(240 * scale))
        ),
        "load": lambda: (
            checkpoints.targeted(ROOT, tmp) + checkpoints.drawn(ROOT, tmp, round(80 * scale))
        ),
        "training": lambda: training.cases(ROOT, tmp),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--surface", action="append", choices=["estimators", "generative", "load",
                                                          "training"])  # fmt: skip
    p.add_argument("--examples", type=float, default=1.0)
    args = p.parse_args()
    warnings.simplefilter("ignore")  # InputWarning on odd data is expected here, not counted
    rows, bad = [], []
    with tempfile.TemporaryDirectory() as tmp:
        every = surfaces(Path(tmp), args.examples)
        for name in args.surface or list(every):
            start, rss = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            outcomes: list[Outcome] = [run(case) for case in every[name]()]
            grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
            count = Counter(o.kind for o in outcomes)
            surface = outcomes[0].case.surface
            seconds = time.perf_counter() - start
            rows.append((surface, len(outcomes), *(count[k] for k in KINDS), seconds, grown))
            bad += [o for o in outcomes if o.kind in ("wrong", "foreign", "hang")]
            print(f"{surface}: {dict(count)} in {seconds:.0f} s", file=sys.stderr, flush=True)
    print(markdown_header())
    print("\n# Untrusted input: a probe of issue 24's surfaces\n")
    print("| surface | calls | right | refused | wrong | foreign | hang | s | RSS growth MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for surface, n, *counts, seconds, grown in rows:
        print(
            f"| {surface} | {n} | "
            + " | ".join(map(str, counts))
            + f" | {seconds:.0f} | {grown:.0f} |"
        )
    total = [sum(r[i] for r in rows) for i in range(1, 7)]
    print("| **all** | " + " | ".join(map(str, total)) + " | | |")
    print(
        "\nA call is *right* when its oracle accepts the answer, *refused by name* when it raises"
    )
    print("an iai error (scikit-learn's ValueError / TypeError for the estimators); *wrong* when")
    print("it answers where it must refuse, refuses where it must answer, or answers what the")
    print("oracle rejects; *foreign* for any other exception; *hang* past the harness's alarm.")
    print("Peak RSS growth: the process's high-water mark before and after the surface.\n")
    print("## Every case that is not right or refused\n")
    if not bad:
        print("None.")
    for o in bad:
        print(f"- {o.case.surface} · {o.case.name}: **{o.kind}**, {o.detail}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
