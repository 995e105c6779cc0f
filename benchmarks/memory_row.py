"""The linear-regression row with an adaptation memory: every learner on the very same tasks.

Each checkpoint reads the same fresh tasks (d = 8, B = 16) to step 64 through
`iai.predict_steps`; the exact posterior predictive mean is computed on the same points at
every step. Per step: MSE (mean ± s.e. over tasks), its ratio to the Bayes-optimal MSE, and
each learner's paired difference to the reference learner (by default the learned optimizer,
`linreg-d8-grad`): mean ± s.e. of the per-task difference, and whether the learner is better
by more than two standard errors of it.

    python benchmarks/memory_row.py --out benchmarks/results/linreg-d8-memory/row
    python benchmarks/memory_row.py runs/ablation/m0 runs/ablation/m4 --reference runs/ablation/m0
"""

import argparse
import json
import math
from pathlib import Path

import torch

import iai
from common.command import markdown_header

DEFAULT = [
    "checkpoints/linreg-d8-grad",
    "checkpoints/linreg-d8",
    "checkpoints/linreg-d8-memory",
]
SHOWN = [*range(1, 17), 24, 32, 48, 64]  # every step to 16: the claim is read at each


def per_task_mse(learner, x, y, xq, yq, batch_size: int) -> torch.Tensor:
    """(K + 1, T) query MSE after each step, tasks in chunks of 250 to bound memory."""
    out = []
    for s in range(0, x.shape[0], 250):
        c = slice(s, s + 250)
        with torch.inference_mode():
            pred = iai.predict_steps(learner, x[c], y[c], xq[c], batch_size=batch_size)
        out.append((pred.double() - yq[c].double()).square().mean(-1))
    return torch.cat(out, 1)


def bayes_mse(prior, x, y, xq, yq, batch_size: int, steps: int) -> torch.Tensor:
    """(K + 1, T) MSE of the exact posterior predictive mean, updated batch by batch."""
    posterior, out = prior.posterior(x.shape[0]), []
    for k in range(steps + 1):
        out.append((posterior.predict(xq) - yq.double()).square().mean(-1))
        b = slice(k * batch_size, (k + 1) * batch_size)
        posterior = posterior.update(x[:, b], y[:, b])
    return torch.stack(out)


def mean_se(v: torch.Tensor) -> tuple[float, float]:
    return v.mean().item(), (v.std() / v.numel() ** 0.5).item()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoints", nargs="*", default=DEFAULT)
    parser.add_argument("--reference", default=None, help="the learner differences are to")
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--out", type=Path, default=None, help="writes row.md and row.json")
    return parser.parse_args()


def _learned_damping(learners: dict, prior, B: int) -> list[str]:
    """What each curvature-memory learner learned for its damping, beside exact Bayes's."""
    lines = []
    for path, learner in learners.items():
        if getattr(learner.cfg, "curvature", False):  # what it learned, against exact Bayes
            c = prior.cfg
            a, b = learner.damping.weight.item(), learner.damping.bias.item()
            exact = math.log(c.noise / (c.prior_scale**2 * B))
            lines.append(
                f"\n`{path}`: learned damping λ(ρ) = e^b ρ^a with a = {a:.3f}, b = {b:.3f} "
                f"(exact Bayes: a = 1, b = log(σ² / (s² B)) = {exact:.3f}); largest weight of "
                f"the correction head Δ_φ: {learner.head.weight.abs().max().item():.4f}"
            )
    return lines


def _heading(args: argparse.Namespace, dim: int, B: int, paths: list[str]) -> list[str]:
    """The page's title, what it shows, and the MSE table's header."""
    return [
        f"# The linear-regression row on the same {args.tasks} fresh tasks (d = {dim}, "
        f"B = {B}, seed {args.seed})\n",
        "MSE on 64 noisy queries per task, mean ± s.e. over tasks, and its ratio to the exact "
        "posterior's on the same points.\n",
        "| step | points | Bayes | " + " | ".join(f"`{p}`" for p in paths) + " |",
        "|---|---|---|" + "---|" * len(paths),
    ]


def main() -> None:
    args = _arguments()
    torch.manual_seed(0)
    learners = {path: iai.load(path) for path in args.checkpoints}
    reference = args.reference or args.checkpoints[0]
    first = next(iter(learners.values()))
    prior, B = first.prior, first.config.train.batch_size
    tasks = prior.sample(
        args.tasks, B * args.steps, 64, generator=torch.Generator().manual_seed(args.seed)
    )
    data = (tasks.x_train, tasks.y_train, tasks.x_query, tasks.y_query)
    bayes = bayes_mse(prior, *data, B, args.steps)
    mse = {path: per_task_mse(learner, *data, B) for path, learner in learners.items()}

    shown = [k for k in SHOWN if k <= args.steps]
    lines = _heading(args, prior.dim, B, list(mse))
    rows = []
    for k in [0, *shown]:
        b, _ = mean_se(bayes[k])
        cells, row = [], {"step": k, "bayes": b}
        for path, m in mse.items():
            mu, se = mean_se(m[k])
            cells.append(f"{mu:.4f} ± {se:.4f} ({mu / b:.3f}×)")
            row[path] = {"mse": mu, "se": se, "ratio": mu / b}
        lines.append(f"| {k} | {k * B} | {b:.4f} | " + " | ".join(cells) + " |")
        rows.append(row)

    others = [p for p in mse if p != reference]
    lines += [
        f"\n## Paired differences to `{reference}` (its MSE minus the learner's: > 0 is better)\n",
        "A learner beats the reference at a step when the mean difference exceeds two standard "
        "errors of the per-task difference.\n",
        "| step | " + " | ".join(f"`{p}`" for p in others) + " |",
        "|---|" + "---|" * len(others),
    ]

    def difference(path: str, k: int) -> tuple[float, float, bool]:
        mu, se = mean_se(mse[reference][k] - mse[path][k])
        return mu, se, mu > 2 * se

    for row, k in zip(rows[1:], shown, strict=True):
        cells = []
        for path in others:
            mu, se, beats = difference(path, k)
            cells.append(f"{mu:+.4f} ± {se:.4f} ({'beats' if beats else 'no'})")
            row[path].update(diff=mu, diff_se=se, beats_reference=beats)
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    for path in others:
        every = all(difference(path, k)[2] for k in range(1, min(16, args.steps) + 1))
        lines.append(f"\n`{path}` beats `{reference}` at every step 1–16: **{every}**")
    lines += _learned_damping(learners, prior, B)
    text = "\n".join([markdown_header(), *lines])
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "row.md").write_text(text + "\n")
        (args.out / "row.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
