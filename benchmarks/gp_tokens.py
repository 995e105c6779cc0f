"""The token-state learner on GPs with an unknown lengthscale, beside the exact Bayes answer and
the other learners trained at the same budget (issue 21, item 2), on the same fresh tasks.

    OMP_NUM_THREADS=1 python benchmarks/gp_tokens.py > benchmarks/results/gp-tokens/gp-tokens.md
    OMP_NUM_THREADS=1 python benchmarks/gp_tokens.py "tokens, 3 × the budget" > …  (measures the
        named learners again; the others' scores, and exact Bayes, are kept in scores.json)

Every learner reads each task's points in mini-batches of 16 (the one-step learners the first
k·16 points at once), to 64 steps (1,024 points, 8 × the trained horizon), in distribution and
out (inputs twice as wide; a lengthscale of 0.12, outside the prior). Reported per step: each
learner's MSE over the exact Bayes predictive mean's (which integrates over ℓ), and for the
tokens learners their Gaussian NLL per target minus the exact Bayes log predictive density's.
"""

import json
import sys
from pathlib import Path

import torch

import iai
from common.command import markdown_header, with_command, without_command
from iai.tasks import variant_prior
from iai.tasks.gp import mixture_log_density, mixture_mean

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "gp-tokens"
B, STEPS, TASKS, QUERIES = 16, (1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64), 100, 32
LEARNERS = {  # name -> (checkpoint, reads k batches in one step)
    "tokens": ("gp-tokens", False),
    "tokens, one step": ("gp-tokens-onestep", True),
    "tokens, no floor": ("gp-tokens-nofloor", False),
    "tokens, no floor, pooled attention": ("gp-tokens-pooled", False),
    "tokens, no floor, 3 × the budget": ("gp-tokens-3x", False),
    "tokens, no floor, 64 latents": ("gp-tokens-m64", False),
    "tokens, no floor, one step": ("gp-tokens-onestep-nofloor", True),
    "parametric IAI (MLP f, both)": ("gp-parametric", False),
    "learned optimizer (MLP f, grad)": ("gp-optimizer", False),
    "ICL (one step)": ("gp-icl", True),
}
VARIANTS = ("id", "wide_x", "short_lengthscale")


def adapted(learner, tasks, k: int, one_step: bool):
    """The learner's state after k mini-batches (or one step over k·B points)."""
    x, y = tasks.x_train[:, : k * B], tasks.y_train[:, : k * B]
    return iai.adapt(learner, x, y, x_query=tasks.x_query, batch_size=k * B if one_step else B)


def scores(learner, tasks, one_step: bool) -> dict[str, list[float | None]]:
    """Per step: the learner's MSE and, where it has a spread, its Gaussian NLL per target."""
    out = {"mse": [], "nll": []}
    for k in STEPS:
        state = adapted(learner, tasks, k, one_step)
        mean = iai.predict(learner, state, tasks.x_query)
        out["mse"].append((mean - tasks.y_query).square().mean().item())
        nll = None
        if learner.predicts_std and not learner.objective.categorical:
            std = learner.predict_std(state, tasks.x_query)
            nll = 0.5 * ((2 * torch.pi * std.square()).log() + ((tasks.y_query - mean) / std) ** 2)
            nll = nll.mean().item()
        out["nll"].append(nll)
    return out


def exact(prior, tasks) -> dict[str, list[float]]:
    """Per step: the Bayes MSE and NLL per target on these tasks, from one posterior over ℓ."""
    out = {"mse": [], "nll": []}
    y = tasks.y_query.double()
    for k in STEPS:
        x_train, y_train = tasks.x_train[:, : k * B], tasks.y_train[:, : k * B]
        log_w, mean, var = prior.posterior(x_train, y_train, tasks.x_query)  # (T, G, Q) each
        lp = mixture_log_density(log_w, mean, var, y)
        out["mse"].append((mixture_mean(log_w, mean) - y).square().mean().item())
        out["nll"].append(-lp.mean().item())
    return out


def measure(names: list[str]) -> dict:
    """scores.json, with the named learners measured (where none is named: those not measured
    yet), the others' kept, and exact Bayes computed once per distribution."""
    path = OUT / "scores.json"
    saved = without_command(json.loads(path.read_text())) if path.exists() else {}
    task = iai.load(ROOT / "checkpoints" / LEARNERS["tokens"][0]).config.task
    for variant in VARIANTS:
        rows = saved.setdefault(variant, {})
        wanted = [n for n in LEARNERS if (n in names if names else n not in rows)]
        wanted = [n for n in wanted if (ROOT / "checkpoints" / LEARNERS[n][0]).exists()]
        if not wanted and "exact Bayes" in rows:
            continue
        prior = variant_prior(task, variant)
        tasks = prior.sample(
            TASKS, max(STEPS) * B, QUERIES, generator=torch.Generator().manual_seed(2026)
        )
        if "exact Bayes" not in rows:
            rows["exact Bayes"] = exact(prior, tasks)
        for name in wanted:
            checkpoint, one_step = LEARNERS[name]
            with torch.no_grad():
                learner = iai.load(ROOT / "checkpoints" / checkpoint)
                rows[name] = scores(learner, tasks, one_step)
            print(f"{variant} {name}", file=sys.stderr, flush=True)
        path.write_text(json.dumps(with_command(saved), indent=1))
    return saved


def main() -> None:
    results = measure(sys.argv[1:])
    print(markdown_header())
    print("# Token-state learner on GPs with an unknown lengthscale\n")
    print(__doc__.split("\n\n", 2)[2].strip() + "\n")
    print(f"{TASKS} fresh tasks per distribution, {QUERIES} queries each; trained on K = 8.\n")
    for variant, rows in results.items():
        bayes = rows["exact Bayes"]
        print(f"## {variant}\n")
        head = ["learner", *(f"k={k}" for k in STEPS), "falls at every step 1–8"]
        print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
        print("| exact Bayes MSE | " + " | ".join(f"{m:.4f}" for m in bayes["mse"]) + " | |")
        nll_rows = []
        for name in (n for n in LEARNERS if n in rows):
            mse, nll = rows[name]["mse"], rows[name]["nll"]
            ratio = " | ".join(f"{m / b:.3f}" for m, b in zip(mse, bayes["mse"], strict=True))
            falls = all(a > b for a, b in zip(mse[:7], mse[1:8], strict=True))
            print(f"| {name}: MSE / Bayes | {ratio} | {'yes' if falls else 'no'} |")
            if nll[0] is not None:
                gaps = " | ".join(f"{a - b:+.3f}" for a, b in zip(nll, bayes["nll"], strict=True))
                nll_rows.append(f"| {name}: NLL − Bayes | {gaps} | |")
        bayes_nll = " | ".join(f"{v:.3f}" for v in bayes["nll"])
        print(f"| exact Bayes NLL per target | {bayes_nll} | |")
        print("\n".join(nll_rows) + "\n")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
