"""Issue 21's claims on the grid: the token-state learner beside the learned optimizer and
parametric IAI (both signals), at the grid's budget and at three times it, on the same configs
and seeds."""

from common.results_doc.cells import K, load, ordered_tasks
from common.results_doc.memory_claims import against

# the token grid -> (its sweep, the grid holding the comparisons at that budget, their sweep)
BUDGETS = {
    "tokens": ("", "full", ""),
    "tokens-750": ("train.iterations=750", "memory-parametric", "train.iterations=750"),
}
HARD = ("nonlinear_regression", "nonlinear_classification", "digits")


def tokens_claims() -> list[tuple[str, str, str]]:
    out = []
    for grid, (sweep, other, other_sweep) in BUDGETS.items():
        mine, theirs = load(grid), load(other)
        if not mine or not theirs:
            continue
        cells, tasks = mine + theirs, ordered_tasks(mine)
        iterations = "750 iterations" if sweep else "the grid's 250 iterations"
        for signal in ("data", "grad", "both"):
            a = (f"tokens-{signal}", sweep)
            rows, n, better, worse = against(cells, tasks, a, ("parametric-grad", other_sweep))
            out.append(
                (
                    f"The tokens learner ({signal}) beats the learned optimizer on at least four "
                    f"of the five tasks, at {iterations}",
                    f"step {K}: {rows}; lower by more than two s.e. of the difference on "
                    f"{len(better)} of {n} ({', '.join(better) or 'none'}), higher by as much "
                    f"on {len(worse)}",
                    "yes" if len(better) >= 4 else ("partly" if better else "no"),
                )
            )
            hard = [t for t in tasks if t in HARD]
            rows, n, better, worse = against(cells, hard, a, ("parametric-both", other_sweep))
            out.append(
                (
                    f"The tokens learner ({signal}) beats parametric IAI (both) on nonlinear "
                    f"regression, nonlinear classification and digits, at {iterations}",
                    f"step {K}: {rows}; lower by more than two s.e. of the difference on "
                    f"{len(better)} of {n}, higher by as much on {len(worse)}",
                    "yes" if len(better) == len(HARD) else ("partly" if better else "no"),
                )
            )
    return out
