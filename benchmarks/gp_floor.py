"""What limits the token learner on GPs (issue 21): its exact floor, Bayesian linear regression
on random Fourier features, set by hand to the task's own prior (banks at lengthscales
log-spaced over [0.2, 1], noise 0.05, amplitude 1, no linear features) and untrained, beside
checkpoints/gp-tokens as trained and its floor alone (the reader's correction set to 0), on
the tasks and exact Bayes answers of benchmarks/gp_tokens.py (steps 1–8, in distribution).

    OMP_NUM_THREADS=1 python benchmarks/gp_floor.py > benchmarks/results/gp-tokens/floor.md

Random frequencies are N(0, 1/ℓ²) draws; "quasi" ones the normal quantiles (k + ½)/F, a
deterministic quadrature of the RBF kernel's spectral density (one input dimension only).
"""

import json
import math
from pathlib import Path

import torch

import iai
from common.command import markdown_header
from iai.models.feature_bayes import GAIN, SCALES, FeatureBayes
from iai.tasks import variant_prior

ROOT = Path(__file__).resolve().parents[1]
SCORES = ROOT / "benchmarks" / "results" / "gp-tokens" / "scores.json"
B, TASKS, QUERIES, STEPS = 16, 100, 32, 8  # as gp_tokens.py draws them (its first 8 steps)
CASES = [(48, 8, False), (48, 8, True), (96, 8, False), (256, 8, False), (256, 16, True)]


def oracle(features: int, banks: int, quasi: bool) -> FeatureBayes:
    torch.manual_seed(0)
    floor = FeatureBayes(1, 1, features, banks)
    scales = torch.logspace(math.log10(0.2), math.log10(1.0), banks)
    with torch.no_grad():
        if quasi:
            q = (torch.arange(features) + 0.5) / features
            freq = torch.distributions.Normal(0.0, 1.0).icdf(q).expand(banks, 1, -1)
        else:
            freq = torch.randn(banks, 1, features)
        floor.freq.copy_(freq / scales[:, None, None])
        # the hyperparameters are offsets from their initial values over GAIN
        floor.precision_offset[:, features:] = 30.0 / GAIN  # linear and constant features off
        floor.noise_offset.fill_((math.log(0.05) - floor.log_noise.item()) / GAIN)
        floor.scale_logits.fill_(-30.0 / GAIN)
        floor.scale_logits[int((SCALES == 1).nonzero())] = 0.0  # amplitude 1, as the prior
    return floor


def floor_mse(floor: FeatureBayes, tasks) -> list[float]:
    out, stats = [], floor.start(TASKS, tasks.x_train)
    with torch.no_grad():
        for k in range(STEPS):
            rows = slice(B * k, B * (k + 1))
            stats = floor.add(stats, tasks.x_train[:, rows], tasks.y_train[:, rows, None])
            mean, _ = floor.predict(stats, tasks.x_query)
            out.append((mean[..., 0] - tasks.y_query).square().mean().item())
    return out


def learner_mse(learner, tasks) -> list[float]:
    with torch.no_grad():
        x, y = tasks.x_train[:, : B * STEPS], tasks.y_train[:, : B * STEPS]
        preds = iai.predict_steps(learner, x, y, tasks.x_query, batch_size=B)
    return (preds[1:] - tasks.y_query).square().mean((1, 2)).tolist()


def main() -> None:
    bayes = json.loads(SCORES.read_text())["id"]["exact Bayes"]["mse"][:STEPS]
    learner = iai.load(ROOT / "checkpoints" / "gp-tokens")
    prior = variant_prior(learner.config.task, "id")
    g = torch.Generator().manual_seed(2026)  # gp_tokens.py's tasks: 64 steps drawn, 8 read
    tasks = prior.sample(TASKS, 64 * B, QUERIES, generator=g)
    floor = learner.floor
    lin, const = floor.log_precision.detach()[:, -2:].unbind(1)  # (E,) each, 1-D inputs
    (lin_lo, lin_hi), (const_lo, const_hi) = lin.aminmax(), const.aminmax()
    learned = (
        f"checkpoints/gp-tokens' floor as trained: noise {floor.log_noise.exp().item():.3f}; "
        f"log prior precision of the linear feature {lin_lo:.2f} … {lin_hi:.2f}, of the "
        f"constant {const_lo:.2f} … {const_hi:.2f} over the banks (0 at first); "
        "prior of the scales 4⁻³ … 4³: "
        + ", ".join(f"{p:.2f}" for p in floor.log_scale_prior.softmax(0).tolist())
    )
    rows = {"checkpoints/gp-tokens": learner_mse(learner, tasks)}
    with torch.no_grad():
        learner.reader.out.weight.zero_()
        learner.reader.out.bias.zero_()
    rows["checkpoints/gp-tokens, its floor alone"] = learner_mse(learner, tasks)
    for features, banks, quasi in CASES:
        kind = "quasi" if quasi else "random"
        name = f"floor by hand: {features} {kind} features, {banks} banks"
        rows[name] = floor_mse(oracle(features, banks, quasi), tasks)
    print(markdown_header())
    print("# The exact floor set to the GP prior by hand, beside the trained learner\n")
    print(__doc__.split("\n\n", 2)[2].strip() + "\n")
    print(f"MSE over the exact Bayes predictive mean's, {TASKS} fresh tasks, {QUERIES} queries.\n")
    print(learned + ".\n")
    print("| learner | " + " | ".join(f"k={k}" for k in range(1, STEPS + 1)) + " |")
    print("|---|" + "---|" * STEPS)
    for name, mse in rows.items():
        print(
            f"| {name} | "
            + " | ".join(f"{m / b:.3f}" for m, b in zip(mse, bayes, strict=True))
            + " |"
        )


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
