"""Issue 14's claims: the adaptation memories on the memory grids and the linear-regression
row."""

import json
from dataclasses import dataclass

from common.results_doc.cells import (
    RESULTS,
    K,
    at,
    complements,
    gap,
    load,
    ordered_tasks,
    verdict,
)

NO_MEMORY = "train.iterations=750"
MEMORIES = {  # the memory grids' sweep values -> what they add
    "train.iterations=750;learner.memory=4": "4 memory tokens",
    "train.iterations=750;learner.curvature=true": "the curvature memory",
}


def against(cells, tasks, a: tuple[str, str], b: tuple[str, str]) -> tuple[str, int, list, list]:
    """Step-K errors of cell a = (method, sweep) against b on each task: the listing, the
    number of tasks with both, those where a is lower by more than two s.e. of the
    difference, and those where it is higher by as much."""
    rows, better, worse = [], [], []
    for t in tasks:
        x, y = at(cells, t, *a), at(cells, t, *b)
        if x and y:
            rows.append(f"{t} {x[0]:.3g} vs {y[0]:.3g}")
            sign = gap(x, y)
            (better if sign == 1 else worse if sign == -1 else []).append(t)
    return "; ".join(rows), len(rows), better, worse


def memory_claims() -> list[tuple[str, str, str]]:
    """Issue 14's claims from the memory grids (750 iterations: memory-parametric,
    memory-explicit, memory-curvature) and the linear-regression row
    (benchmarks/memory_row.py)."""
    cells = [
        c
        for name in ("parametric", "explicit", "explicit-signals", "curvature")
        for c in load(f"memory-{name}") or []
    ]
    out = []
    if cells:
        tasks = ordered_tasks(cells)
        learned = ("parametric-grad", NO_MEMORY)
        for regime in ("parametric", "explicit"):
            for sweep, what in MEMORIES.items():
                mine = (f"{regime}-both", sweep)
                if not any(at(cells, t, *mine) for t in tasks):
                    continue
                plain = (f"{regime}-both", NO_MEMORY)
                rows, n, better, worse = against(cells, tasks, mine, plain)
                out.append(
                    (
                        f"{what.capitalize()} lowers {regime} IAI's error (both signals)",
                        f"step {K}, with vs without: {rows}; lower by more than two s.e. of the "
                        f"difference on {len(better)} of {n}, higher by as much on {len(worse)}",
                        "yes" if len(better) == n else ("partly" if better else "no"),
                    )
                )
                rows, n, better, worse = against(cells, tasks, mine, learned)
                out.append(
                    (
                        f"{regime.capitalize()} IAI with {what} (both signals) beats the learned "
                        "optimizer (gradients alone, no memory), on at least four of the five "
                        "tasks",
                        f"step {K}: {rows}; lower by more than two s.e. of the difference on "
                        f"{len(better)} of {n} ({', '.join(better) or 'none'}), higher by as "
                        f"much on {len(worse)}",
                        "yes" if len(better) >= 4 else ("partly" if better else "no"),
                    )
                )
                trios = [
                    [at(cells, t, f"{regime}-{s}", sweep) for s in ("data", "grad", "both")]
                    for t in tasks
                ]
                trios = [trio for trio in trios if None not in trio]
                if trios:
                    wins = complements(trios)
                    out.append(
                        (
                            f"With {what}, data and gradient signals complement each other "
                            f"({regime} IAI)",
                            f"step {K}: `both` at or below the better single signal, each with "
                            f"{what} (within one s.e.), on {wins} of {len(trios)} tasks",
                            verdict(wins, len(trios)),
                        )
                    )
    return out + _row_claims()


@dataclass(frozen=True)
class RowEntry:
    """One learner after one step of the linear-regression row (benchmarks/memory_row.py)."""

    mse: float  # mean over tasks
    se: float
    ratio: float  # mse over exact Bayes's
    # the reference's per-task MSE minus this learner's, mean and s.e., and whether the mean
    # exceeds two s.e.; absent at step 0 and for the reference itself
    diff: float | None = None
    diff_se: float | None = None
    beats_reference: bool | None = None


@dataclass(frozen=True)
class RowStep:
    """Every learner of the row after one step, beside exact Bayes's MSE."""

    step: int
    bayes: float
    learners: dict[str, RowEntry]  # checkpoint path -> its entry

    @staticmethod
    def from_json(data: dict) -> "RowStep":
        learners = {k: RowEntry(**v) for k, v in data.items() if k not in ("step", "bayes")}
        return RowStep(data["step"], data["bayes"], learners)


def _row_claims() -> list[tuple[str, str, str]]:
    """The curvature-memory learner against the learned optimizer, step by step, on the
    linear-regression row (benchmarks/linreg_d8_memory.sh)."""
    out = []
    path = RESULTS / "linreg-d8-memory" / "row" / "row.json"
    if path.exists():
        rows = [RowStep.from_json(r) for r in json.loads(path.read_text())]
        steps = [r for r in rows if 1 <= r.step <= 16]
        mem = "checkpoints/linreg-d8-memory"
        beat = [r.step for r in steps if r.learners[mem].beats_reference]
        missed = [str(r.step) for r in steps if r.step not in beat]
        ratios = "; ".join(f"{r.step}: {r.learners[mem].ratio:.3f}" for r in steps)
        text = f"beats it at {len(beat)} of {len(steps)} steps"
        text += f" (not at {', '.join(missed)})" if missed else ""
        text += f"; MSE / exact Bayes by step: {ratios}"
        out.append(
            (
                f"Linear regression (d = 8): `{mem.split('/')[-1]}` beats the learned "
                "optimizer (linreg-d8-grad) at every step 1–16 (paired, more than two s.e. "
                "of the difference; `bash benchmarks/linreg_d8_memory.sh`)",
                text,
                "yes" if not missed else ("partly" if beat else "no"),
            )
        )
    return out
