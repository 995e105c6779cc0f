"""Stream far past the trained horizon: MSE after up to 4,096 mini-batches (N = 2¹⁶ points).

The learner reads one mini-batch of 16 points at a time through `iai.stream`; the exact
Bayes-optimal prediction is kept beside it in streaming form too (running XᵀX and Xᵀy), on
the very same points, so neither side ever holds the whole data set.

    python benchmarks/long_stream.py checkpoints/linreg-d8 \
        > benchmarks/results/linreg-d8/long-stream.md
"""

import sys
import time
from pathlib import Path

import torch

import iai
from iai.checkpoint import read_config
from iai.config import from_dict
from iai.tasks import make_prior
from iai.tasks.base import with_bias

TASKS, QUERIES, B, STEPS = 100, 128, 16, 4096


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "checkpoints/linreg-d8"
    learner = iai.load(path)
    cfg = from_dict(read_config(Path(path))[0])
    prior = make_prior(cfg.task)
    gen = torch.Generator().manual_seed(7)
    # One draw of task weights, then points generated batch by batch from it.
    first = prior.sample(TASKS, B, QUERIES, generator=gen)
    w = first.truth["w"]  # (T, D + 1)

    def batch(k: int) -> tuple[torch.Tensor, torch.Tensor]:
        if k == 0:
            return first.x_train, first.y_train
        x = torch.randn(TASKS, B, cfg.task.dim, generator=gen)
        noise = cfg.task.noise**0.5 * torch.randn(TASKS, B, generator=gen)
        return x, torch.einsum("tbd,td->tb", with_bias(x), w) + noise

    D = cfg.task.dim + 1
    xtx = torch.eye(D, dtype=torch.float64).repeat(TASKS, 1, 1) / cfg.task.prior_scale**2
    xty = torch.zeros(TASKS, D, 1, dtype=torch.float64)
    xq = with_bias(first.x_query.double())
    report = {2**i for i in range(13)}
    lines = ["| step | points | IAI MSE | Bayes MSE | IAI / Bayes |", "|---|---|---|---|---|"]

    def batches():
        nonlocal xtx, xty
        for k in range(STEPS):
            x, y = batch(k)
            X = with_bias(x.double())
            xtx = xtx + X.transpose(1, 2) @ X / cfg.task.noise
            xty = xty + X.transpose(1, 2) @ y.double()[..., None] / cfg.task.noise
            yield x, y

    clock = time.perf_counter()
    for k, pred in enumerate(iai.stream(learner, batches(), first.x_query)):
        if k in report:
            mse = (pred - first.y_query).square().mean().item()
            bayes = torch.einsum("tqd,td->tq", xq, torch.linalg.solve(xtx, xty)[..., 0])
            bmse = (bayes - first.y_query.double()).square().mean().item()
            lines.append(f"| {k} | {k * B} | {mse:.4f} | {bmse:.4f} | {mse / bmse:.3f} |")
    seconds = time.perf_counter() - clock
    print(f"# {path}: {STEPS} steps of B = {B} on {TASKS} tasks, {QUERIES} queries each\n")
    print("\n".join(lines))
    print(f"\n{seconds:.1f} s for the whole stream (learner and streaming Bayes reference)")


if __name__ == "__main__":
    main()
