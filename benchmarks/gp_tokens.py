"""The token-state learner on GPs with an unknown lengthscale, beside the exact Bayes answer and
the other learners trained at the same budget (issue 21, item 2), on the same fresh tasks.

    OMP_NUM_THREADS=1 python benchmarks/gp_tokens.py > benchmarks/results/gp-tokens/gp-tokens.md

Every learner reads each task's points in mini-batches of 16 (the one-step learners the first
k·16 points at once), to 64 steps (1,024 points, 8 × the trained horizon), in distribution and
out (inputs twice as wide; a lengthscale of 0.12, outside the prior). Reported per step: each
learner's MSE over the exact Bayes predictive mean's (which integrates over ℓ), and for the
tokens learners their Gaussian NLL per target minus the exact Bayes log predictive density's.
"""

import sys
from pathlib import Path

import torch

import iai
from iai.tasks import variant_prior

ROOT = Path(__file__).resolve().parents[1]
B, STEPS, TASKS, QUERIES = 16, (1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64), 200, 32
LEARNERS = {  # name -> (checkpoint, reads k batches in one step)
    "tokens": ("gp-tokens", False),
    "tokens, pooled attention": ("gp-tokens-pooled", False),
    "tokens, 3 × the budget": ("gp-tokens-3x", False),
    "tokens, one step": ("gp-tokens-onestep", True),
    "parametric IAI (MLP f, both)": ("gp-parametric", False),
    "learned optimizer (MLP f, grad)": ("gp-optimizer", False),
    "ICL (one step)": ("gp-icl", True),
}
VARIANTS = ("id", "wide_x", "short_lengthscale")


def adapted(learner, tasks, k: int, one_step: bool):
    """The learner's state after k mini-batches (or one step over k·B points)."""
    x, y = tasks.x_train[:, : k * B], tasks.y_train[:, : k * B]
    return iai.adapt(learner, x, y, x_query=tasks.x_query, batch_size=k * B if one_step else B)


def scores(learner, tasks, one_step: bool, bayes: dict) -> dict[int, tuple[float, float | None]]:
    """Step -> (MSE / Bayes MSE, NLL − Bayes NLL per target, or None without a spread)."""
    out = {}
    for k in STEPS:
        state = adapted(learner, tasks, k, one_step)
        mean = iai.predict(learner, state, tasks.x_query)
        mse = (mean - tasks.y_query).square().mean().item()
        gap = None
        if learner.predicts_std and not learner.objective.categorical:
            std = learner.predict_std(state, tasks.x_query)
            nll = 0.5 * ((2 * torch.pi * std.square()).log() + ((tasks.y_query - mean) / std) ** 2)
            gap = nll.mean().item() - bayes[k][1]
        out[k] = (mse / bayes[k][0], gap)
    return out


def exact(prior, tasks) -> dict[int, tuple[float, float]]:
    """Step -> (Bayes MSE, Bayes NLL per target) on these tasks."""
    out = {}
    for k in STEPS:
        x, y = tasks.x_train[:, : k * B], tasks.y_train[:, : k * B]
        mean = prior.bayes(x, y, tasks.x_query)
        lp = prior.log_predictive(x, y, tasks.x_query, tasks.y_query)
        out[k] = ((mean - tasks.y_query).square().mean().item(), -lp.mean().item())
    return out


def main() -> None:
    loaded = {
        name: (iai.load(ROOT / "checkpoints" / d), one)
        for name, (d, one) in LEARNERS.items()
        if (ROOT / "checkpoints" / d).exists()
    }
    cfg = next(iter(loaded.values()))[0].config
    print(f"<!-- OMP_NUM_THREADS=1 python benchmarks/gp_tokens.py  ({' '.join(sys.argv[1:])}) -->")
    print("# Token-state learner on GPs with an unknown lengthscale\n")
    print(__doc__.split("\n\n", 2)[2].strip() + "\n")
    print(f"{TASKS} fresh tasks per distribution, {QUERIES} queries each; trained on K = 8.\n")
    for variant in VARIANTS:
        prior = variant_prior(cfg.task, variant)
        g = torch.Generator().manual_seed(2026)
        tasks = prior.sample(TASKS, max(STEPS) * B, QUERIES, generator=g)
        bayes = exact(prior, tasks)
        print(f"## {variant}\n")
        head = ["learner", *(f"k={k}" for k in STEPS)]
        print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
        bayes_row = [f"{bayes[k][0]:.4f}" for k in STEPS]
        print("| exact Bayes MSE | " + " | ".join(bayes_row) + " |")
        nll_rows = []
        for name, (learner, one_step) in loaded.items():
            with torch.no_grad():
                s = scores(learner, tasks, one_step, bayes)
            print(f"| {name}: MSE / Bayes | " + " | ".join(f"{s[k][0]:.3f}" for k in STEPS) + " |")
            if s[STEPS[0]][1] is not None:
                nll_rows.append(
                    f"| {name}: NLL − Bayes | "
                    + " | ".join(f"{s[k][1]:+.3f}" for k in STEPS)
                    + " |"
                )
        bayes_nll = [f"{bayes[k][1]:.3f}" for k in STEPS]
        print("| exact Bayes NLL per target | " + " | ".join(bayes_nll) + " |")
        print("\n".join(nll_rows) + "\n")


if __name__ == "__main__":
    main()
