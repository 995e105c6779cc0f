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

import itertools
import json
from pathlib import Path

import generative
import taxonomy_row

from iai.evaluation import sampling
from iai.evaluation.results import DIVERGENCE_FACTOR, describe
from iai.grid import Cell, load_grid, report

RESULTS = Path("benchmarks/results")
K = 10  # the trained horizon of every grid cell (configs/grid/base.toml: train.steps)
BEYOND = 20
ONE_STEP = ("hypernetwork", "icl", "cnp")  # read k·B points in one step: no steps to fall over
ROW_TRAINED = 8  # steps the linear-regression comparison's learners were trained for
# What each out-of-distribution variant changes (iai.tasks.config.OOD), for a reader
SHIFTS = {
    "shift_x": "the inputs' mean moved by +1",
    "wide_x": "the inputs' spread doubled",
    "noisy": "the noise variance ×4, or the label temperature ×2 for classification",
    "wide_prior": "the prior over each task's function twice as wide",
    "new_classes": "digits held out of training",
    "permuted": "the pixels in a fixed random order",
    "inverted": "the pixel values inverted",
}
METHODS = {  # grid method name -> what it is
    "parametric-data / -grad / -both": "parametric IAI, whose state is the fixed model's "
    "weights θ, updated from the mini-batch's data, the loss gradient, or both",
    "explicit-data / -grad / -both": "explicit IAI, whose state is a learned latent z read by "
    "a learned decoder",
    "implicit": "implicit IAI, whose state is the queries' predictions",
    "maml, meta-sgd": "MAML and Meta-SGD, gradient steps from a learned initialization (with, "
    "for Meta-SGD, learned per-parameter step sizes)",
    "learned optimizer": "parametric IAI with the gradient signal alone (parametric-grad)",
    "sweep `learner.memory=4` / `learner.curvature=true`": "the same learner with an "
    "adaptation memory beside θ or z (the memory grids, trained for 750 iterations): 4 learned "
    "tokens written as a running mean over mini-batches, or the curvature memory, the running "
    "Gauss–Newton matrix of the points seen, which preconditions a damped Gauss–Newton step "
    "that h_φ corrects, with a learned damping",
    "hypernetwork, icl, cnp": "the one-step learners, a hypernetwork (parametric, data), "
    "in-context learning (implicit) and a conditional neural process (explicit, data), each "
    "reading all 16·k points in one step",
}


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
    return out + memory_claims() + generative_claims()


NO_MEMORY = "train.iterations=750"
MEMORIES = {  # the memory grids' sweep values -> what they add
    "train.iterations=750;learner.memory=4": "4 memory tokens",
    "train.iterations=750;learner.curvature=true": "the curvature memory",
}


def gap(x: tuple[float, float] | None, y: tuple[float, float] | None) -> int | None:
    """+1 if error x is below y by more than two standard errors of the difference (taken as
    independent, which overstates the noise of a paired comparison), -1 if above by as much,
    0 between, None if either is missing."""
    if not (x and y):
        return None
    limit = 2 * (x[1] ** 2 + y[1] ** 2) ** 0.5
    return (y[0] - x[0] > limit) - (x[0] - y[0] > limit)


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
    path = RESULTS / "linreg-d8-memory" / "row" / "row.json"
    if path.exists():
        rows = json.loads(path.read_text())
        steps = [r for r in rows if 1 <= r["step"] <= 16]
        mem = "checkpoints/linreg-d8-memory"
        beat = [r["step"] for r in steps if r[mem]["beats_reference"]]
        missed = [str(r["step"]) for r in steps if r["step"] not in beat]
        ratios = "; ".join(f"{r['step']}: {r[mem]['ratio']:.3f}" for r in steps)
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


GENERATIVE = RESULTS / "generative"
IAI_GENERATIVE = ("gmm-2d", "gmm-2d-explicit", "gmm-2d-parametric", "letters", "letters-explicit")


def _read(name: str) -> dict | None:
    path = GENERATIVE / name
    return json.loads(path.read_text()) if path.exists() else None


def _at(curve: dict, k: int) -> tuple[float, float]:
    i = curve["steps"].index(k)
    return curve["mean"][i], curve["se"][i]


def _below(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """a lower than b by more than two standard errors of the difference (taken as
    independent: the tasks are the same, so this is the stricter test)."""
    return b[0] - a[0] > 2 * (a[1] ** 2 + b[1] ** 2) ** 0.5


def generative_claims() -> list[tuple[str, str, str]]:
    """Issue 11's claims from benchmarks/generative.py's results."""
    quality, em, cost = generative.read_quality(GENERATIVE), _read("em.json"), _read("cost.json")
    out = []
    if quality:
        falls, stays, missed, rose = 0, 0, [], []
        triples = [
            (name, variant, metric, curve)
            for name in IAI_GENERATIVE
            for variant, r in quality.get(name, {}).items()
            for metric, curve in r.items()
            if isinstance(curve, dict) and "mean" in curve and metric != "recognized"
        ]
        for name, variant, metric, curve in triples:
            if _below(_at(curve, generative.K), _at(curve, 1)):
                falls += 1
            else:
                missed.append(f"{name}/{variant}/{metric}")
            if 40 in curve["steps"]:
                if not _below(_at(curve, generative.K), _at(curve, 40)):
                    stays += 1
                else:
                    rose.append(f"{name}/{variant}/{metric}")
        n, n40 = len(triples), sum(40 in c["steps"] for *_, c in triples)
        out.append(
            (
                "Generative IAI (paper Fig. 2): sample quality improves from step 1 to 10 in every "
                "family and regime, in and out of distribution, and does not worsen by step 40",
                f"{falls} of {n} (learner, distribution, metric) triples lower at step 10 than at "
                f"step 1 by more than two s.e.; not: {', '.join(missed) or 'none'}. At step 40, "
                f"{stays} of {n40} not higher than at step 10 by more than two s.e.; higher: "
                f"{', '.join(rose) or 'none'} (`python benchmarks/generative.py quality`)",
                verdict_all(falls + stays, n + n40),
            )
        )
        one, iai_ = quality.get("gmm-2d-onestep"), quality.get("gmm-2d")
        if one and iai_:
            rows, wins, losses = [], 0, 0
            for variant in iai_:
                for metric in ("energy", "excess_nll"):
                    k = generative.K
                    a, b = _at(iai_[variant][metric], k), _at(one[variant][metric], k)
                    wins, losses = wins + _below(a, b), losses + _below(b, a)
                    rows.append(f"{variant} {metric} {a[0]:.4f} vs {b[0]:.4f}")
            out.append(
                (
                    "Implicit generative IAI after 10 steps of 32 samples beats the one-step "
                    "model reading all 320 at once",
                    f"step 10, IAI vs one-step: {'; '.join(rows)}; IAI lower by more than two "
                    f"s.e. on {wins} of {len(rows)}, higher by as much on {losses}",
                    verdict(wins, len(rows)),
                )
            )
        letters = (_read("letters.json") or {}).get("letters")
        if letters:
            rec = {v: letters[v]["recognized"] for v in letters}
            at10 = {v: _at(r, generative.K)[0] for v, r in rec.items()}
            at1 = {v: _at(r, 1)[0] for v, r in rec.items()}
            ok = at10["id"] >= 0.9 and at10.get("held_out_letters", 0) >= 0.7
            ok &= all(at1[v] < at10[v] for v in rec)
            out.append(
                (
                    "Letters: a classifier trained on true clouds recognizes ≥ 90 % of "
                    "generated A–T clouds and ≥ 70 % of held-out U–Z at step 10, fewer at step 1",
                    "; ".join(
                        f"{v}: step 1 {100 * at1[v]:.1f} %, step 10 {100 * at10[v]:.1f} %"
                        for v in rec
                    )
                    + " (implicit, `letters`; letters.md has the explicit learner beside it)",
                    "yes" if ok else "no",
                )
            )
    if em:
        m = em["methods"]
        iai_m, bic = m["IAI parametric (10 steps)"], m["EM, K by BIC (1 … 8)"]
        ok = iai_m["nll"] <= bic["nll"] and iai_m["seconds"] < bic["seconds"]
        out.append(
            (
                "Gaussian mixtures, 320 points: the parametric learner's held-out NLL is at or "
                "below EM's with the BIC-chosen number of components, in less wall time",
                f"NLL {iai_m['nll']:.4f} vs {bic['nll']:.4f} "
                f"({iai_m['nll'] - bic['nll']:+.4f} nats) "
                f"(true K: {m['EM, true K']['nll']:.4f}; "
                f"the truth {em['true_nll']:.4f}); {iai_m['seconds']:.2f} s vs "
                f"{bic['seconds']:.2f} s for {em['tasks']} tasks, ratio "
                f"{bic['seconds'] / iai_m['seconds']:.0f}× (`python benchmarks/generative.py em`)",
                "yes" if ok else "no",
            )
        )
        flows = {
            n: v for n, v in em["flows_energy_step10"].items() if n in ("gmm-2d", "gmm-2d-explicit")
        }
        ratios = {n: v / bic["energy"][0] for n, v in flows.items()}
        out.append(
            (
                "The flows' energy distance at step 10 is within 1.5× that of samples from the "
                "EM (BIC) fit on the same 320 points",
                "; ".join(f"{n}: {flows[n]:.4f} ({r:.2f}×)" for n, r in ratios.items())
                + f"; EM (BIC) {bic['energy'][0]:.4f}",
                verdict(sum(r <= 1.5 for r in ratios.values()), len(ratios)),
            )
        )
    if cost:
        text = "; ".join(
            f"N = {n}: implicit {t['gmm-2d']:.2f} s, explicit {t['gmm-2d-explicit']:.2f} s "
            f"({t['gmm-2d'] / t['gmm-2d-explicit']:.1f}×)"
            for n, t in cost.items()
        )
        out.append(
            (
                "Sampling cost: the implicit flow, which re-reads its context at every evaluation "
                "of the field, against the explicit one, whose cost after adapting does not "
                "depend on the context size",
                text + " (`python benchmarks/generative.py cost`: adapting to the N samples "
                "and drawing 64 for 4 tasks, the explicit flow's time being mostly its "
                "adaptation at N = 10,240)",
                "measured",
            )
        )
    return out


def generative_section() -> list[str]:
    """Issue 11's tables: sample quality per step for every generative learner, the letters
    a classifier recognizes, EM and the sampling cost, as benchmarks/generative.py wrote them."""
    quality = generative.read_quality(GENERATIVE)
    if not quality:
        return []
    lines = [
        "## Generative IAI: samples refined mini-batch by mini-batch",
        "",
        "2-D Gaussian mixtures (1–5 components; out of distribution: 6–8 components, "
        "`many_components`, or means twice as spread, `wide_prior`) and letters (A–T in DejaVu "
        "Sans Bold; out: held-out U–Z, `held_out_letters`, and DejaVu Serif Bold, `serif`). "
        "Each learner reads the same context points of 200 fresh tasks per distribution, 32 per "
        "step (trained on 10 steps; step 40 is four times that), and its 64 samples per task "
        "are compared with 64 fresh samples of the true distribution; mean ± s.e. over tasks, "
        "lower is better (`python benchmarks/generative.py quality`). The metrics "
        "(`iai.evaluation.sample_metrics`): **energy**, the energy distance "
        "2 E‖X−Y‖ − E‖X−X'‖ − E‖Y−Y'‖ (unbiased within-set terms, so it can dip just below 0 "
        "when the distributions agree); **mmd**, squared MMD with the sum of Gaussian kernels "
        "at bandwidths 0.1, 0.3 and 1 (unbiased); **w2**, the exact 2-Wasserstein distance "
        "between the two sample sets (POT); **excess_nll**, the mean over fresh true samples of "
        "log p_true − log p_learner in nats (a KL divergence estimate; mixtures only, through "
        "the ODE for flows). The learners: **gmm-2d** / **letters** implicit flow matching (the "
        "paper's), **-explicit** a latent z and a learned field, **gmm-2d-parametric** a "
        "mixture of 8 Gaussians refined by h_φ, **gmm-2d-onestep** the implicit flow trained "
        "to read all 320 points in one step (at step k it reads the first 32·k at once).",
        "",
    ]
    for name, variants in quality.items():
        rows = {v: {m: c for m, c in r.items() if m in METRIC_ROWS} for v, r in variants.items()}
        lines += [f"### {name}", "", sampling.table(rows).replace("### ", "#### "), ""]
    for extra in ("letters.md", "em.md", "cost.md"):
        path = GENERATIVE / extra
        if path.exists():
            text = path.read_text().replace("# ", "### ", 1)
            lines += [text, ""]
    return lines


METRIC_ROWS = ("energy", "mmd", "w2", "excess_nll")


def verdict_all(wins: int, n: int) -> str:
    return "yes" if wins == n else ("mostly" if wins >= 0.8 * n else "partly" if wins else "no")


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


def comparison(entries: dict[str, taxonomy_row.Entry]) -> list[str]:
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
        *taxonomy_row.tables(entries, title=lambda v: f"### {where(v)}"),
    ]


def introduction(
    grid_name: str, grid: list[Cell] | None, row: dict[str, taxonomy_row.Entry] | None
) -> list[str]:
    r = grid[0].results[0] if grid else None
    row_r = next(iter(row.values())).results[0] if row else None
    sizes = (
        f"{r.tasks} fresh tasks per cell, evaluated for {r.steps} steps of {r.batch_size} points"
        if r
        else "fresh tasks"
    )
    # the families that are shifted out of distribution in this grid, in the order they appear
    variants = dict.fromkeys(v for c in grid or [] for v in (x.variant for x in c.results))
    variants.pop("id", None)
    exact = [
        t
        for t in ordered_tasks(grid or [])
        if any("bayes" in c.results[0].methods for c in grid if c.task == t)
    ] or ["linear_regression"]
    return [
        "# Results: the paper's claims, measured",
        "",
        "Generated by `python benchmarks/results_doc.py` from the results committed under "
        f"`benchmarks/results/`: the experiment grid (the {grid_name} grid: every method on "
        "every task) and its ablations, run by `bash benchmarks/grid.sh` on one CPU thread, "
        "and the comparison of every kind of learner on linear regression, run by "
        "`python benchmarks/taxonomy_row.py`. Every verdict is computed from those numbers by "
        "the rule stated beside it.",
        "",
        "How to read the numbers:",
        "",
        "- Error is MSE for regression and error % for classification; lower is better. Each "
        "number is a mean over fresh tasks ± its standard error.",
        "- Step k: the learner has read k mini-batches of 16 points, one step each (16·k "
        "points). The one-step learners (hypernetwork, ICL, CNP) instead take one step over "
        "the first 16·k points at once.",
        f"- The grid (the claims, the one-step comparison and the grid tables): {sizes}; every "
        f"cell was trained for K = {K} steps, so steps {K + 1}–{BEYOND} are past the horizon it "
        "was trained on. Grid cells are small (width 32, depth 2, 250 iterations of 64 tasks), "
        "so absolute errors are far from converged; the grid compares methods at one equal "
        "budget.",
        *(
            [
                f"- The linear-regression comparison: {row_r.tasks:,} fresh tasks, evaluated for "
                f"{row_r.steps} steps of {row_r.batch_size} points, larger learners trained for "
                f"{ROW_TRAINED} steps."
            ]
            if row_r
            else []
        ),
        "- **diverged (f % of tasks)**: on that share of the tasks the error was not finite or "
        f"above {DIVERGENCE_FACTOR:,.0f} × the prior predictor's mean error over the tasks (its "
        "error before reading anything; a healthy learner's worst task stays within about 6 × "
        "it). Such an error is an update that blew up, not a number to average: the mean ± "
        "s.e. after it, shown while at most half diverged, is over the other tasks; a diverged "
        "cell counts as not falling in the first claim and is left out of the comparisons.",
        "- **id** means in distribution: fresh tasks from the same prior the learner was "
        "trained on. Every other distribution changes one thing about that prior: "
        + "; ".join(f"**{v}**, {SHIFTS.get(v, 'shifted')}" for v in variants)
        + ".",
        "- **exact Bayes** is the Bayes-optimal prediction from the same points, computed "
        f"exactly; of the grid's tasks only {', '.join(exact)} has one, and the "
        "linear-regression comparison shows it too. No learner can have a lower expected error.",
        "- The methods, all reading the same mini-batches of the same tasks:",
        *(f"  - **{name}**: {what}" for name, what in METHODS.items()),
        "",
    ]


def main() -> None:
    name = "full" if load("full") else "reduced"
    grid = load(name)
    path = RESULTS / "taxonomy-row" / "row.json"
    row = taxonomy_row.load(path) if path.exists() else None
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
        timing = (RESULTS / "grid" / table / "time.txt").read_text()
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
