"""Issue 21's claims on the grid: the token-state learner beside the learned optimizer and
parametric IAI (both signals), at the grid's budget and at three times it, on the same configs
and seeds."""

import json

from common import generative
from common.command import without_command
from common.results_doc.cells import RESULTS, K, load, ordered_tasks, verdict
from common.results_doc.memory_claims import against

# the token grid -> (which learner, its sweep, the grid holding the comparisons at that budget,
# their sweep)
BUDGETS = {
    "tokens": ("tokens learner", "", "full", ""),
    "tokens-750": (
        "tokens learner",
        "train.iterations=750",
        "memory-parametric",
        "train.iterations=750",
    ),  # fmt: skip
    "tokens-nofloor": ("tokens learner without its floor", "", "full", ""),
    "tokens-nofloor-750": (
        "tokens learner without its floor",
        "train.iterations=750",
        "memory-parametric",
        "train.iterations=750",
    ),  # fmt: skip
}
HARD = ("nonlinear_regression", "nonlinear_classification", "digits")


def tokens_claims() -> list[tuple[str, str, str]]:
    out = []
    for grid, (learner, sweep, other, other_sweep) in BUDGETS.items():
        mine, theirs = load(grid), load(other)
        if not mine or not theirs:
            continue
        cells, tasks = mine + theirs, ordered_tasks(mine)
        iterations = "750 iterations" if sweep else "the grid's 250 iterations"
        for signal in ("data", "grad", "both"):
            a = (f"tokens-{signal}", sweep)
            rows, n, better, worse = against(cells, tasks, a, ("parametric-grad", other_sweep))
            if n == 0:  # this signal was not run at this budget
                continue
            out.append(
                (
                    f"The {learner} ({signal}) beats the learned optimizer on at least four "
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
                    f"The {learner} ({signal}) beats parametric IAI (both) on nonlinear "
                    f"regression, nonlinear classification and digits, at {iterations}",
                    f"step {K}: {rows}; lower by more than two s.e. of the difference on "
                    f"{len(better)} of {n}, higher by as much on {len(worse)}",
                    "yes" if len(better) == len(HARD) else ("partly" if better else "no"),
                )
            )
    return out


def generative_tokens_claims() -> list[tuple[str, str, str]]:
    """The explicit flow with a token state against EM (benchmarks/generative_tokens.py) and
    the letter classifier (`generative.py letters`)."""
    out = []
    path = RESULTS / "generative-tokens" / "gmm.json"
    if path.exists():
        data = without_command(json.loads(path.read_text()))
        claims = {  # label in gmm.json -> (checkpoint, what is beside it: label -> as named)
            "flow, token state, online-EM floor": ("gmm-2d-tokens", {
                "flow, token state, online-EM floor: its floor alone": "its floor alone",
                "flow, token state, learned floor": "with the learned floor",
                "flow, token state, no floor": "without a floor",
                "flow, explicit (one latent)": "the one-latent explicit flow",
                "mixture learner": "the mixture learner",
            }),
            "flow, token state, learned floor": ("gmm-2d-tokens-learned", {
                "flow, token state, learned floor: its floor alone": "its floor alone",
            }),
        }  # fmt: skip
        for label, (name, beside) in claims.items():
            if label not in data["id"]:
                continue
            rows = {v: r[label]["ratio"] for v, r in data.items()}
            others = {
                v: ", ".join(f"{n} {r[k]['ratio'][0]:.2f}×" for k, n in beside.items() if k in r)
                for v, r in data.items()
            }
            within = [v for v, (ratio, _) in rows.items() if ratio <= 1.5]
            whose = name + ("'" if name.endswith("s") else "'s")
            said = "; ".join(f"{v}: {r:.2f} ± {s:.2f}× ({others[v]})" for v, (r, s) in rows.items())
            out.append(
                (
                    f"Mixtures, 320 context points: {whose} energy distance at step 10 within "
                    "1.5× that of samples from EM (BIC), in distribution and out",
                    said + " (`python benchmarks/generative_tokens.py`, 1,024 samples per task)",
                    verdict(len(within), len(rows)),
                )
            )
    recognized = generative.letters(RESULTS / "generative")
    rec = recognized.get("letters-tokens")
    beside = {  # learner in letters.json -> as the claim names it
        "letters-tokens-nofloor": "without the floor",
        "letters-tokens: floor alone": "its floor alone",
    }
    if rec:
        at = {v: (r.curve.mean[0], r.curve.mean[-1]) for v, r in rec.items()}  # steps 1, 10
        text = "; ".join(
            f"{v}: step 1 {100 * a:.1f} %, step 10 {100 * b:.1f} %" for v, (a, b) in at.items()
        )
        for name, said in beside.items():
            if name in recognized:
                text += f"; {said}, step 10: " + ", ".join(
                    f"{v} {100 * r.curve.mean[-1]:.1f} %" for v, r in recognized[name].items()
                )
        ok = at["id"][1] >= 0.9 and at["held_out_letters"][1] >= 0.8
        ok &= all(first < last for first, last in at.values())
        out.append(
            (
                "letters-tokens recognized ≥ 90 % on A–T and ≥ 80 % on held-out U–Z at step 10, "
                "and fewer at step 1",
                text + " (`python benchmarks/generative.py letters letters-tokens`)",
                "yes" if ok else "no",
            )
        )
    return out
