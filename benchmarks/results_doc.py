"""Write docs/results.md from the committed grid and linear-regression results: the paper's
claims, checked.

Reads benchmarks/results/grid/*/grid.json (`bash benchmarks/grid.sh`; the full grid where it
has been run, else the reduced one) and benchmarks/results/taxonomy-row/row.json
(`python benchmarks/taxonomy_row.py`) as typed results (`iai.grid.Cell`,
`iai.evaluation.results.EvalResult`); every verdict below is computed from those numbers by
the rule stated beside it, and the grid tables are `iai.grid.report` of the same cells.

A cell whose error diverged on some tasks at a step (`iai.evaluation.results.diverged`) has no
meaningful mean there: it is shown as diverged, counts as not falling in the first claim, and
is left out of every comparison that step enters (listed under the claims), so it neither wins
nor loses one by its mean.

    python benchmarks/results_doc.py     (writes docs/results.md)
"""

from pathlib import Path

from common import taxonomy
from common.command import strip_header
from common.results_doc.cells import LEFT_OUT, ONE_STEP, RESULTS, load, ordered_tasks
from common.results_doc.generative_claims import generative_section
from common.results_doc.grid_claims import claims
from common.results_doc.introduction import introduction
from common.results_doc.tables import comparison, one_step_table
from iai.grid import load_grid, report


def main() -> None:
    name = "full" if load("full") else "reduced"
    grid = load(name)
    path = RESULTS / "taxonomy-row" / "row.json"
    row = taxonomy.load(path) if path.exists() else None
    lines = introduction(name, grid, row)
    lines += ["## The claims", "", "| claim | measured | confirmed here |", "|---|---|---|"]
    measured = claims(grid)
    for claim, text, ok in measured:
        lines.append(f"| {claim} | {text} | {ok} |")
    if not measured:
        lines.append("| (no grid results committed yet) | | |")
    lines.append("")
    if LEFT_OUT:
        lines += [
            "Left out of the comparisons above because some tasks' error diverged at the step "
            "compared: " + "; ".join(f"{name}, {what}" for name, what in LEFT_OUT.items()) + ".",
            "",
        ]

    if grid and any(c.method in ONE_STEP for c in grid):
        lines += one_step_table(grid, ordered_tasks(grid))
    lines += generative_section()
    if row:
        lines += comparison(row)
    lines += [
        "## The grid, cell by cell",
        "",
        "Every cell's error after steps 1, 2, 5, 10 and 20, in distribution and under each "
        "shift, with the exact Bayes error beside the learners where the task has one (per "
        "swept value where the sweep changes the task or the mini-batch size). CPU s is the "
        "cell's training plus evaluation.",
        "",
    ]
    extra = [*(RESULTS / "grid").glob("ablation-*"), *(RESULTS / "grid").glob("memory-*")]
    for table in [name, *sorted(p.name for p in extra)]:
        cells = load(table)
        if not cells:
            continue
        cpu = sum(c.train_cpu_s + c.eval_cpu_s for c in cells) / 60
        timing = strip_header((RESULTS / "grid" / table / "time.txt").read_text())
        lines += [
            report(load_grid(f"configs/grid/{table}.toml"), cells),
            f"Cells' CPU time (train + eval), summed: {cpu:.0f} CPU-minutes. Last run of "
            f"`bash benchmarks/grid.sh` on this config (finished cells are kept, so it "
            f"times only the cells it ran): {timing}",
        ]
    Path("docs").mkdir(exist_ok=True)
    Path("docs/results.md").write_text("\n".join(lines))
    print("written: docs/results.md")


if __name__ == "__main__":
    main()
