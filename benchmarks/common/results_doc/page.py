"""docs/results.md from its sections, in order."""

from common import taxonomy
from common.command import strip_header
from common.results_doc import cells as cell_rules
from common.results_doc.cells import ONE_STEP, RESULTS, load, ordered_tasks
from common.results_doc.generative_claims import generative_section
from common.results_doc.grid_claims import claims
from common.results_doc.introduction import introduction
from common.results_doc.tables import comparison, one_step_table
from iai.grid import load_grid, report


def page() -> str:
    """docs/results.md's text, from the results committed under benchmarks/results/ (paths
    relative to the repository root)."""
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
    if cell_rules.LEFT_OUT:
        lines += [
            "Left out of the comparisons above because some tasks' error diverged at the step "
            "compared: "
            + "; ".join(f"{name}, {what}" for name, what in cell_rules.LEFT_OUT.items())
            + ".",
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
    patterns = ("ablation-*", "memory-*", "tokens*")
    extra = [p for pattern in patterns for p in (RESULTS / "grid").glob(pattern)]
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
    return "\n".join(lines)
