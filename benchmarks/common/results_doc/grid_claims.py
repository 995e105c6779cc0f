"""The paper's claims on the experiment grid and its ablations, each a (claim, measured,
verdict) row of docs/results.md's table."""

import itertools

from common.results_doc.cells import (
    BEYOND,
    ONE_STEP,
    K,
    at,
    beats,
    compare,
    complements,
    load,
    ordered_tasks,
    verdict,
)
from common.results_doc.generative_claims import generative_claims
from common.results_doc.memory_claims import memory_claims
from common.results_doc.order_claims import order_claims
from common.results_doc.tokens_claims import generative_tokens_claims, tokens_claims
from iai.grid import Cell


def falls(cells: list[Cell]) -> tuple[str, str]:
    """Claim 1: error at steps 1, 2, 5, 10 non-increasing, and step 10 below step 1. A pair
    whose error diverged on some tasks at one of those steps does not fall (nor stay within
    5 % at step 20 if it diverged at 10 or 20), whatever its mean over the other tasks."""
    total = ok = beyond_ok = 0
    misses, diverged = [], []
    for c in cells:
        if c.method in ONE_STEP:
            continue
        for res in c.results:
            curve = res.curve()
            mean = curve.mean
            total += 1
            name = f"{c.task}/{c.method}/{res.variant}"
            if not all(curve.ok(k) for k in (1, 2, 5, K)):
                diverged.append(name)
                continue
            steps = [mean[k] for k in (1, 2, 5, K)]
            good = all(b <= a * 1.02 for a, b in itertools.pairwise(steps)) and steps[-1] < steps[0]
            ok += good
            beyond_ok += curve.ok(BEYOND) and mean[BEYOND] <= mean[K] * 1.05
            if not good:
                misses.append(name)
    text = (
        f"{ok} of {total} (cell, distribution) pairs fall from step 1 to 10 (each of steps "
        f"1, 2, 5, 10 at most 2 % above the one before); at step 20, past the trained "
        f"horizon, {beyond_ok} of {total} stay within 5 % of step 10"
    )
    if misses:
        text += f". Not falling: {', '.join(misses[:8])}" + (" …" if len(misses) > 8 else "")
    if diverged:
        text += (
            f"{';' if misses else '.'} diverged on some tasks by step {K}, so counted as not "
            f"falling: {', '.join(diverged)}"
        )
    return text, "yes" if ok == total else ("mostly" if ok >= 0.8 * total else "no")


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
        if any(v is None for row in vals for v in row.values()):
            continue  # a cell not run, or diverged (listed under the claims)
        text = "; ".join(
            f"{what}={sw.split('=')[1]}: " + ", ".join(f"{s} {v[0]:.3g}" for s, v in row.items())
            for sw, row in zip(sweeps, vals, strict=True)
        )
        grad_hi = vals[high]["grad"][0] < vals[high]["data"][0]
        if what == "d":
            data_lo = vals[low]["data"][0] <= vals[low]["grad"][0] + vals[low]["data"][1]
            claim = (
                "Observations (data) give the lower error at low dimension, gradients at high "
                "dimension"
            )
            ok = "yes" if data_lo and grad_hi else ("partly" if data_lo or grad_hi else "no")
        else:
            claim = "Gradients give the lower error with few observations per mini-batch"
            ok = "yes" if grad_hi else "no"
        both = sum(
            row["both"][0] <= min(row["data"][0], row["grad"][0]) + row["both"][1] for row in vals
        )
        out.append(
            (
                claim,
                f"linear regression, step {K} MSE: {text}; `both` has the lowest error (within "
                f"one s.e.) at {both} of {len(vals)} sizes",
                ok,
            )
        )
    return out


def history_claim(hist: list[Cell] | None) -> tuple[str, str, str]:
    claim = "A history of past states adds little"
    if not hist:
        run = "`bash benchmarks/grid.sh configs/grid/ablation-history.toml`"
        return claim, f"not run yet: {run}", "not measured"
    rows, changes = [], []
    for task in sorted({c.task for c in hist}):
        base = at(hist, task, "parametric-both", "learner.history=1")
        for h in (3, 5):
            v = at(hist, task, "parametric-both", f"learner.history={h}")
            if base and v:
                change = 100 * (v[0] / base[0] - 1)
                changes.append(change)
                rows.append(f"{task} H={h}: {change:+.1f} %")
    small = all(abs(c) < 10 for c in changes)
    return (
        claim,
        f"step {K} error against H = 1 (the current state alone): {'; '.join(rows)}",
        "yes (all within 10 %)" if small else "no",
    )


def implicit_state_claim(state: list[Cell] | None) -> tuple[str, str, str]:
    claim = "Logits are the best state for implicit IAI"
    if not state:
        run = "`bash benchmarks/grid.sh configs/grid/ablation-implicit-state.toml`"
        return claim, f"not run yet: {run}", "not measured"
    rows, best = [], 0
    state_tasks = sorted({c.task for c in state})
    for task in state_tasks:
        vals = {
            s: at(state, task, "implicit", f'learner.state="{s}"')
            for s in ("logits", "probs", "latent")
        }
        vals = {s: v for s, v in vals.items() if v}
        if "logits" not in vals:
            continue
        rows.append(f"{task}: " + ", ".join(f"{s} {v[0]:.2f}" for s, v in vals.items()))
        lo = min(v[0] for v in vals.values())
        best += vals["logits"][0] <= lo + vals["logits"][1]
    text = f"step {K} error %: {'; '.join(rows)}; logits lowest (within one s.e.) on {best}"
    return claim, f"{text} of {len(state_tasks)} tasks", verdict(best, len(state_tasks))


def claims(grid: list[Cell] | None) -> list[tuple[str, str, str]]:
    out = []
    if grid:
        tasks = ordered_tasks(grid)
        out.append(
            ("Error falls with every step, for every learner, in and out of distribution",)
            + falls(grid)
        )
        trios = [
            [at(grid, task, f"{regime}-{s}") for s in ("data", "grad", "both")]
            for regime in ("parametric", "explicit")
            for task in tasks
        ]
        trios = [trio for trio in trios if None not in trio]
        wins, n = complements(trios), len(trios)
        out.append(
            (
                "Data and gradient signals complement each other: both together have an error "
                "no higher than the better one alone",
                f"step {K}: `both` at or below the better single signal (within one s.e.) in "
                f"{wins} of {n} (learner kind, task) cells",
                verdict(wins, n),
            )
        )
        w, n = 0, 0
        for s in ("data", "grad", "both"):
            a, b, _ = compare(grid, tasks, f"parametric-{s}", f"explicit-{s}")
            w, n = w + a, n + b
        out.append(
            (
                "Parametric IAI has lower error than explicit IAI at an equal budget",
                f"step {K}: parametric at or below explicit (within one s.e.) in {w} of {n} "
                "(task, signal) cells (same width, iterations and tasks)",
                verdict(w, n),
            )
        )
        for other, label in (
            ("maml", "MAML"),
            ("meta-sgd", "Meta-SGD"),
            ("parametric-grad", "the learned optimizer"),
        ):
            measured = beats(grid, tasks, other)
            if measured:
                out.append(
                    (
                        f"IAI (parametric, both) has lower error than {label} after the same "
                        f"{K} mini-batches",
                        *measured,
                    )
                )
    budget = load("ablation-budget")
    if budget:
        measured = beats(budget, ordered_tasks(budget), "parametric-grad", "train.iterations=750")
        if measured:
            claim = "… and than the learned optimizer at three times the training budget"
            out.append((f"{claim} (750 iterations)", *measured))
    out.append(history_claim(load("ablation-history")))
    out += signal_claims()
    out.append(implicit_state_claim(load("ablation-implicit-state")))
    out += memory_claims() + tokens_claims()
    return out + generative_claims() + generative_tokens_claims() + order_claims()
