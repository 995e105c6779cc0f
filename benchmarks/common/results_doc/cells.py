"""Reading the committed grids: one cell's error at a step (None where it diverged, which
is then listed), and the rules every claim compares cells by."""

import json
from pathlib import Path

from iai.evaluation.results import describe
from iai.grid import Cell

RESULTS = Path("benchmarks/results")
K = 10  # the trained horizon of every grid cell (configs/grid/base.toml: train.steps)
BEYOND = 20
ONE_STEP = ("hypernetwork", "icl", "cnp")  # read k·B points in one step: no steps to fall over
ROW_TRAINED = 8  # steps the linear-regression comparison's learners were trained for


def load(name: str) -> list[Cell] | None:
    path = RESULTS / "grid" / name / "grid.json"
    return [Cell.from_json(c) for c in json.loads(path.read_text())] if path.exists() else None


def ordered_tasks(cells: list[Cell]) -> list[str]:
    return list(dict.fromkeys(c.task for c in cells))


# Cells a comparison left out because their error diverged at the step it reads:
# "task/method[/sweep] at step k" -> the table entry (`describe`); filled by `at`.
LEFT_OUT: dict[str, str] = {}


def at(
    cells: list[Cell], task: str, method: str, sweep: str = "", k: int = K
) -> tuple[float, float] | None:
    """In-distribution error (mean, s.e.) of one cell after k steps; None if not run, or if
    some tasks' error diverged there (then recorded in LEFT_OUT: no claim reads its mean)."""
    for c in cells:
        if (c.task, c.method, c.sweep) == (task, method, sweep):
            curve = c.results[0].curve()
            if not curve.ok(k):
                name = "/".join(filter(None, [task, method, sweep]))
                LEFT_OUT[f"{name} at step {k}"] = describe(curve, k, ".3g")
                return None
            return curve.mean[k], curve.se[k]
    return None


def verdict(wins: int, n: int) -> str:
    if n == 0:
        return "not measured"
    return "yes" if wins == n else ("partly" if wins else "no")


def compare(
    cells: list[Cell], tasks, a: str, b: str, strict: bool = False, sweep: str = ""
) -> tuple[int, int, list[str]]:
    """Tasks where method a's step-10 error is below method b's (`strict`), or at or below it
    within one standard error."""
    wins, n, rows = 0, 0, []
    for task in tasks:
        x, y = at(cells, task, a, sweep), at(cells, task, b, sweep)
        if x is None or y is None:
            continue
        n += 1
        wins += x[0] < y[0] if strict else x[0] <= y[0] + max(x[1], y[1])
        rows.append(f"{task} {x[0]:.3g} vs {y[0]:.3g}")
    return wins, n, rows


def clearly_worse(cells: list[Cell], task: str, a: str, b: str, sweep: str = "") -> bool:
    """Method a's step-10 error above b's by more than two standard errors of the difference."""
    return gap(at(cells, task, a, sweep), at(cells, task, b, sweep)) == -1


def complements(trios: list[list[tuple[float, float]]]) -> int:
    """How many (data, grad, both) error triples have `both` at or below the better single
    signal, within one standard error."""
    wins = 0
    for data, grad, both in trios:
        best = min(data, grad, key=lambda v: v[0])
        wins += both[0] <= best[0] + max(both[1], best[1])
    return wins


def beats(cells: list[Cell], tasks, other: str, sweep: str = "") -> tuple[str, str] | None:
    """Parametric IAI (both) against `other`: tasks where its step-10 mean error is lower, and
    those where it is worse by more than two standard errors of the difference."""
    a, b, rows = compare(cells, tasks, "parametric-both", other, strict=True, sweep=sweep)
    if not b:
        return None
    lost = [t for t in tasks if clearly_worse(cells, t, "parametric-both", other, sweep)]
    return (
        f"step {K}, lower mean error: {a} of {b} tasks ({'; '.join(rows)}); worse by more "
        f"than two s.e. of the difference on {len(lost)} ({', '.join(lost) or 'none'})",
        verdict(a, b),
    )


def gap(x: tuple[float, float] | None, y: tuple[float, float] | None) -> int | None:
    """+1 if error x is below y by more than two standard errors of the difference (taken as
    independent, which overstates the noise of a paired comparison), -1 if above by as much,
    0 between, None if either is missing."""
    if not (x and y):
        return None
    limit = 2 * (x[1] ** 2 + y[1] ** 2) ** 0.5
    return (y[0] - x[0] > limit) - (x[0] - y[0] > limit)


def verdict_all(wins: int, n: int) -> str:
    return "yes" if wins == n else ("mostly" if wins >= 0.8 * n else "partly" if wins else "no")
