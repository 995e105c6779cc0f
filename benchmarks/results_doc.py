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

from common.results_doc.page import page


def main() -> None:
    Path("docs").mkdir(exist_ok=True)
    Path("docs/results.md").write_text(page())
    print("written: docs/results.md")


if __name__ == "__main__":
    main()
