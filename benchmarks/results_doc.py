"""Write docs/results.md from the committed grid and row results: the paper's claims, checked.

Reads benchmarks/results/grid/*/grid.json (`bash benchmarks/grid.sh`; the full grid where it
has been run, else the reduced one) and
benchmarks/results/taxonomy-row/row.md (`python benchmarks/taxonomy_row.py`); every verdict
below is computed from those numbers by the rules stated beside it.

    python benchmarks/results_doc.py     (writes docs/results.md)
"""

import itertools
import json
from pathlib import Path

RESULTS = Path("benchmarks/results")
K = 10  # the trained horizon of every grid cell
BEYOND = 20
ONE_STEP = ("hypernetwork", "icl", "cnp")  # read k·B points in one step: no steps to fall over


def load(name: str) -> list[dict] | None:
    path = RESULTS / "grid" / name / "grid.json"
    return json.loads(path.read_text()) if path.exists() else None


def curve(cell: dict, variant: int = 0) -> tuple[list[float], list[float]]:
    metric = "mse" if "regression" in cell["task"] else "error"
    m = cell["results"][variant]["methods"]["iai"][metric]
    return m["mean"], m["se"]


def at(cells: list[dict], task: str, method: str, sweep: str = "", k: int = K):
    for c in cells:
        if (c["task"], c["method"], c["sweep"]) == (task, method, sweep):
            mean, se = curve(c)
            return mean[k], se[k]
    return None


def falls(cells: list[dict]) -> tuple[str, str]:
    """Claim 1: error at steps 1, 2, 5, 10 non-increasing, and step 10 below step 1."""
    total = ok = beyond_ok = 0
    misses = []
    for c in cells:
        if c["method"] in ONE_STEP:
            continue
        for i, res in enumerate(c["results"]):
            mean, _ = curve(c, i)
            steps = [mean[k] for k in (1, 2, 5, K)]
            good = all(b <= a * 1.02 for a, b in itertools.pairwise(steps)) and steps[-1] < steps[0]
            total += 1
            ok += good
            beyond_ok += mean[BEYOND] <= mean[K] * 1.05
            if not good:
                misses.append(f"{c['task']}/{c['method']}/{res['variant']}")
    text = (
        f"{ok} of {total} (cell, distribution) pairs fall from step 1 to 10 (each of steps "
        f"1, 2, 5, 10 at most 2 % above the one before); at step 20, past the horizon, "
        f"{beyond_ok} of {total} stay within 5 % of step 10"
    )
    if misses:
        text += f". Not falling: {', '.join(misses[:8])}" + (" …" if len(misses) > 8 else "")
    return text, "yes" if ok == total else ("mostly" if ok >= 0.8 * total else "no")


def verdict(wins: int, n: int) -> str:
    if n == 0:
        return "not measured"
    return "yes" if wins == n else ("partly" if wins else "no")


def compare(
    cells, tasks, a: str, b: str, strict: bool = False, sweep: str = ""
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


def clearly_worse(cells, task: str, a: str, b: str, sweep: str = "") -> bool:
    """Method a's step-10 error above b's by more than two standard errors of the difference
    (the two taken as independent, which overstates the noise of a paired comparison)."""
    x, y = at(cells, task, a, sweep), at(cells, task, b, sweep)
    return bool(x and y) and x[0] - y[0] > 2 * (x[1] ** 2 + y[1] ** 2) ** 0.5


def budget_claim(cells: list[dict]) -> tuple[str, str, str]:
    """Parametric IAI (both) against the learned optimizer at the longer budget."""
    sweep, a, b = "train.iterations=750", "parametric-both", "parametric-grad"
    tasks = sorted({c["task"] for c in cells}, key=[c["task"] for c in cells].index)
    wins, n, rows = compare(cells, tasks, a, b, strict=True, sweep=sweep)
    lost = [t for t in tasks if clearly_worse(cells, t, a, b, sweep)]
    return (
        "… and at three times the training budget (750 iterations)",
        f"step {K}, lower mean error: {wins} of {n} tasks ({'; '.join(rows)}); worse "
        f"by more than two s.e. of the difference on {len(lost)} ({', '.join(lost) or 'none'})",
        verdict(wins, n),
    )


def signal_claims() -> list[tuple[str, str, str]]:
    """The paper's signal ablation: observations win at low dimension, gradients at high
    dimension or with few observations (step K, within one s.e. counts as a tie)."""
    out = []
    for name, sweeps, low, high, what in (
        ("ablation-signal-dim", [f"task.dim={d}" for d in (2, 8, 32)], 0, 2, "d"),
        ("ablation-signal-batch", [f"train.batch_size={b}" for b in (16, 8, 4)], 0, 2, "B"),
    ):
        cells = load(name)
        if not cells:
            continue
        vals = [
            {
                s: at(cells, "linear_regression", f"parametric-{s}", sw)
                for s in ("data", "grad", "both")
            }
            for sw in sweeps
        ]
        text = "; ".join(
            f"{what}={sw.split('=')[1]}: " + ", ".join(f"{s} {v[0]:.3g}" for s, v in row.items())
            for sw, row in zip(sweeps, vals, strict=True)
        )
        grad_hi = vals[high]["grad"][0] < vals[high]["data"][0]
        if what == "d":
            data_lo = vals[low]["data"][0] <= vals[low]["grad"][0] + vals[low]["data"][1]
            claim = "Observations win at low dimension, gradients at high dimension"
            ok = "yes" if data_lo and grad_hi else ("partly" if data_lo or grad_hi else "no")
        else:
            claim = "Gradients are the more reliable signal with few observations"
            ok = "yes" if grad_hi else "no"
        both = sum(
            row["both"][0] <= min(row["data"][0], row["grad"][0]) + row["both"][1] for row in vals
        )
        out.append(
            (
                claim,
                f"linear regression, step {K} MSE: {text}; `both` best (within one s.e.) at "
                f"{both} of {len(vals)} sizes",
                ok,
            )
        )
    return out


def one_step_table(cells: list[dict], tasks: list[str]) -> list[str]:
    """IAI after k steps of B points beside the one-step learners reading the same k·B points
    at once (k = K, the trained horizon, and 2K, past it), with each cell's CPU cost."""
    methods = ["parametric-both", "explicit-both", "implicit", *ONE_STEP]
    lines = [
        "## IAI after k steps of 16 points against one-step learners reading all 16·k at once",
        "",
        f"Step-{K} and step-{BEYOND} error (MSE or error %) from the full grid; the one-step "
        f"learners were trained on {K}·16 = {K * 16} points in one step. CPU seconds are the "
        "cell's training plus evaluation (all variants).",
        "",
        "| task | " + " | ".join(methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    for task in tasks:
        row = [task]
        for m in methods:
            c = next((c for c in cells if (c["task"], c["method"]) == (task, m)), None)
            if c is None:
                row.append("-")
                continue
            mean, se = curve(c)
            cpu = c["train_cpu_s"] + c["eval_cpu_s"]
            row.append(f"{mean[K]:.3g} ± {se[K]:.2g} / {mean[BEYOND]:.3g} ({cpu:.0f} s)")
        lines.append("| " + " | ".join(row) + " |")
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


def main() -> None:
    name = "full" if load("full") else "reduced"
    grid = load(name)
    lines = [
        "# Results: the paper's claims, measured",
        "",
        "Generated by `python benchmarks/results_doc.py` from the committed outputs of "
        f"`bash benchmarks/grid.sh` (the {name} grid and the ablations, one CPU thread) and "
        "`python benchmarks/taxonomy_row.py`. Error is MSE for regression and error % for "
        "classification, on 500 fresh tasks per cell (1,000 in the row), mean ± standard error; "
        "step k = after k mini-batches of 16 points (one-step learners: one step over the "
        "first 16·k points). Grid cells are small (width 32, depth 2, 250 iterations of 64 "
        "tasks, trained for K = 10 steps), so absolute numbers are far from converged; they "
        "compare methods at one equal budget.",
        "",
        "## The claims",
        "",
        "| claim | measured | confirmed here |",
        "|---|---|---|",
    ]
    claims = []
    if grid:
        tasks = sorted({c["task"] for c in grid}, key=[c["task"] for c in grid].index)
        claims.append(("Error falls with every step, in every regime, ID and OoD", *falls(grid)))
        both_rows, wins, n = [], 0, 0
        for regime in ("parametric", "explicit"):
            for task in tasks:
                trio = [at(grid, task, f"{regime}-{s}") for s in ("data", "grad", "both")]
                if None in trio:
                    continue
                n += 1
                best = min(trio[:2], key=lambda v: v[0])
                wins += trio[2][0] <= best[0] + max(trio[2][1], best[1])
                both_rows.append(f"{regime}/{task}")
        claims.append(
            (
                "Data and gradient signals complement each other (both ≤ the better of the two)",
                f"step {K}: `both` at or below the better single signal (within one s.e.) in "
                f"{wins} of {n} regime × task cells",
                verdict(wins, n),
            )
        )
        w, n, rows = 0, 0, []
        for s in ("data", "grad", "both"):
            a, b, r = compare(grid, tasks, f"parametric-{s}", f"explicit-{s}")
            w, n, rows = w + a, n + b, rows + r
        claims.append(
            (
                "Parametric ≥ explicit at equal budget",
                f"step {K}: parametric at or below explicit (within one s.e.) in {w} of {n} "
                "task × signal cells (same width, iterations and tasks)",
                verdict(w, n),
            )
        )
        baselines = (
            ("maml", "MAML"),
            ("meta-sgd", "Meta-SGD"),
            ("parametric-grad", "the learned optimizer"),
        )
        for other, label in baselines:
            a, b, rows = compare(grid, tasks, "parametric-both", other, strict=True)
            if not b:
                continue
            lost = [t for t in tasks if clearly_worse(grid, t, "parametric-both", other)]
            claims.append(
                (
                    f"IAI (parametric, both) beats {label} given the same {K} mini-batches",
                    f"step {K}, lower mean error: {a} of {b} tasks ({'; '.join(rows)}); "
                    f"worse by more than two s.e. of the difference on {len(lost)} "
                    f"({', '.join(lost) or 'none'})",
                    verdict(a, b),
                )
            )
    budget = load("ablation-budget")
    if budget:
        claims.append(budget_claim(budget))
    hist = load("ablation-history")
    if hist:
        rows = []
        for task in sorted({c["task"] for c in hist}):
            base = at(hist, task, "parametric-both", "learner.history=1")
            for h in (3, 5):
                v = at(hist, task, "parametric-both", f"learner.history={h}")
                if base and v:
                    rows.append(f"{task} H={h}: {100 * (v[0] / base[0] - 1):+.1f} %")
        small = all(abs(float(r.split(": ")[1][:-2])) < 10 for r in rows)
        claims.append(
            (
                "A history of past states adds little",
                f"step {K} error against H = 1: {'; '.join(rows)}",
                "yes (all within 10 %)" if small else "no",
            )
        )
    else:
        claims.append(
            (
                "A history of past states adds little",
                "not run yet: `bash benchmarks/grid.sh configs/grid/ablation-history.toml`",
                "not measured",
            )
        )
    claims += signal_claims()
    state = load("ablation-implicit-state")
    if not state:
        claims.append(
            (
                "Logits are the best implicit state",
                "not run yet: `bash benchmarks/grid.sh configs/grid/ablation-implicit-state.toml`",
                "not measured",
            )
        )
    if state:
        rows, best = [], 0
        state_tasks = sorted({c["task"] for c in state})
        for task in state_tasks:
            vals = {
                s: at(state, task, "implicit", f'learner.state="{s}"')
                for s in ("logits", "probs", "latent")
            }
            vals = {s: v for s, v in vals.items() if v}
            rows.append(f"{task}: " + ", ".join(f"{s} {v[0]:.2f}" for s, v in vals.items()))
            lo = min(v[0] for v in vals.values())
            best += vals["logits"][0] <= lo + vals["logits"][1]
        claims.append(
            (
                "Logits are the best implicit state",
                f"step {K} error %: {'; '.join(rows)}",
                verdict(best, len(tasks)),
            )
        )
    for claim, text, ok in claims:
        lines.append(f"| {claim} | {text} | {ok} |")
    if not claims:
        lines.append("| (no grid results committed yet) | | |")
    lines.append("")

    if grid and any(c["method"] in ONE_STEP for c in grid):
        lines += one_step_table(grid, tasks)
    row = RESULTS / "taxonomy-row" / "row.md"
    if row.exists():
        lines += ["## Every method on one row: linear regression, d = 8", ""]
        lines += row.read_text().split("\n", 2)[2:]  # the table without its title
        lines.append("")
    for table in [name, *sorted(p.name for p in (RESULTS / "grid").glob("ablation-*"))]:
        path = RESULTS / "grid" / table
        if (path / "grid.md").exists():
            cpu = sum(c["train_cpu_s"] + c["eval_cpu_s"] for c in load(table)) / 60
            lines += [
                (path / "grid.md").read_text(),
                f"Cells' CPU time (train + eval), summed: {cpu:.0f} CPU-minutes. Last run of "
                f"`bash benchmarks/grid.sh` on this config (finished cells are kept, so it "
                f"times only the cells it ran): {(path / 'time.txt').read_text()}",
            ]
    Path("docs").mkdir(exist_ok=True)
    Path("docs/results.md").write_text("\n".join(lines))
    print("written: docs/results.md")


if __name__ == "__main__":
    main()
