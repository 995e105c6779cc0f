"""The one-step comparison from the grid, and the linear-regression row of every learner."""

from common import taxonomy
from common.results_doc.cells import BEYOND, ONE_STEP, ROW_TRAINED, K, at
from common.results_doc.introduction import SHIFTS
from iai.evaluation.results import describe
from iai.grid import Cell


def one_step_table(cells: list[Cell], tasks: list[str]) -> list[str]:
    """IAI after k steps of B points beside the one-step learners reading the same k·B points
    at once (k = K, the trained horizon, and 2K, past it), with each cell's CPU cost, and the
    exact Bayes error where the family has one."""
    methods = ["parametric-both", "explicit-both", "implicit", *ONE_STEP]
    lines = [
        "## IAI after k steps of 16 points against one-step learners reading all 16·k at once",
        "",
        f"From the full grid: in-distribution error (MSE or error %) after step {K} and step "
        f"{BEYOND}; the IAI learners were trained for {K} steps of 16 points, the one-step "
        f"learners on {K}·16 = {K * 16} points in one step, so step {BEYOND} is past what "
        "either saw in training. CPU seconds are the cell's training plus its evaluation "
        "(every distribution).",
        "",
        "| task | " + " | ".join(methods) + " | exact Bayes |",
        "|---|" + "---|" * (len(methods) + 1),
    ]
    for task in tasks:
        row, bayes = [task], "-"
        for m in methods:
            c = next((c for c in cells if (c.task, c.method) == (task, m)), None)
            if c is None:
                row.append("-")
                continue
            curve = c.results[0].curve()
            cpu = c.train_cpu_s + c.eval_cpu_s
            beyond = f"{curve.mean[BEYOND]:.3g}" if curve.ok(BEYOND) else "diverged"
            row.append(f"{describe(curve, K, '.3g')} / {beyond} ({cpu:.0f} s)")
            if "bayes" in c.results[0].methods:
                ref = c.results[0].curve("bayes")
                bayes = f"{ref.mean[K]:.3g} ± {ref.se[K]:.2g} / {ref.mean[BEYOND]:.3g}"
        lines.append("| " + " | ".join(row + [bayes]) + " |")
    wins = n = 0
    for task in tasks:
        iai = at(cells, task, "parametric-both")
        for m in ONE_STEP:
            other = at(cells, task, m)
            if iai and other:
                n += 1
                wins += iai[0] < other[0]
    lines += [
        "",
        f"Each entry: step {K} ± s.e. / step {BEYOND} (CPU s). Parametric IAI (both) has the "
        f"lower step-{K} error in {wins} of {n} (task, one-step learner) pairs.",
        "",
    ]
    return lines


def where(variant: str) -> str:
    if variant == "id":
        return "In distribution (id)"
    return f"Out of distribution: {variant} ({SHIFTS.get(variant, 'shifted')})"


def comparison(entries: dict[str, taxonomy.Entry]) -> list[str]:
    """The linear-regression comparison: every committed learner on the same tasks."""
    r0 = next(iter(entries.values())).results[0]
    return [
        "## Every kind of learner on linear regression (d = 8)",
        "",
        f"Each committed `checkpoints/linreg-d8*` learner on the same {r0.tasks:,} fresh tasks "
        f"and mini-batches of {r0.batch_size} points, evaluated for {r0.steps} steps; the "
        f"learners were trained for {ROW_TRAINED} steps ({ROW_TRAINED * r0.batch_size} "
        "points), the one-step learners on those points in one step, so steps past "
        f"{ROW_TRAINED} are past their training. MSE, mean ± s.e.; step k = after k "
        f"mini-batches, or one step over the first {r0.batch_size}·k points for the one-step "
        "learners. The exact Bayes-optimal MSE on the same points comes first; adapt s is the "
        f"seconds a learner takes to read all {r0.steps} mini-batches of every task on one "
        "CPU thread. These learners are larger and trained longer than the grid's (width 64 "
        "to 128, about 1,000 iterations). `python benchmarks/taxonomy_row.py`",
        "",
        *taxonomy.tables(entries, title=lambda v: f"### {where(v)}"),
    ]
