"""Variants of one workload timed in turn, round by round in one process, so that a noisy
machine slows them alike: what the benchmarks that set a tree against an earlier commit's share
(tabular_step.py, floor_step.py)."""

import statistics
from collections.abc import Callable


def interleaved(
    variants: dict[str, Callable[[], tuple[float, object]]],
    rounds: int,
    difference: Callable[[object, object], float],
) -> tuple[dict[str, float], float]:
    """Each variant's median seconds over `rounds` rounds after one warm-up round (each call
    returns its seconds and its result), and the largest `difference` between the first two
    variants' results over all rounds."""
    secs: dict[str, list[float]] = {label: [] for label in variants}
    apart = 0.0
    for r in range(rounds + 1):  # round 0 warms up
        results = []
        for label, run in variants.items():
            seconds, result = run()
            results.append(result)
            if r:
                secs[label].append(seconds)
        apart = max(apart, difference(results[0], results[1]))
    return {label: statistics.median(s) for label, s in secs.items()}, apart
