"""What one step of the curvature memory adds, per fixed model of the grid: the mini-batch's
Gauss–Newton matrix (`batch_ggn`) and the P × P solve, for 64 tasks of 16 points (the grid's
training batch), one CPU thread, median of 5 after a warm-up call. The last column multiplies
by the 10 steps and 750 iterations of a memory-grid cell: a lower bound on what the curvature
adds to its training (the backward pass through the solve is not counted).

    python benchmarks/curvature_cost.py > benchmarks/results/curvature-cost/curvature-cost.md
"""

import statistics
import time

import torch

from common.command import markdown_header
from iai.models.predictors import batch_ggn, make_model
from iai.tasks.objective import make_objective

T, B, STEPS, ITERATIONS = 64, 16, 10, 750
MODELS = {  # grid task -> (model, input dim, outputs, kind)
    "linear_regression": ("linear", 8, 1, "regression"),
    "linear_classification": ("linear", 8, 2, "classification"),
    "nonlinear_regression": ("mlp", 8, 1, "regression"),
    "nonlinear_classification": ("mlp", 8, 2, "classification"),
    "digits": ("linear", 64, 5, "classification"),
}


def seconds(fn, *args) -> float:
    fn(*args)
    times = []
    for _ in range(5):
        clock = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - clock)
    return statistics.median(times)


def main() -> None:
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    print(markdown_header())
    print(f"# The curvature memory's cost per step: {T} tasks, {B} points, one thread\n")
    print("| task | P | Gauss–Newton s | solve s | per cell, lower bound (CPU-minutes) |")
    print("|---|---|---|---|---|")
    for task, (name, dim, out, kind) in MODELS.items():
        model, objective = make_model(name, dim, out, 32, "tanh"), make_objective(kind, out)
        P = model.n_params
        theta, x = torch.randn(T, P, generator=g) / dim**0.5, torch.randn(T, B, dim, generator=g)
        y = torch.randn(T, B, generator=g) if out == 1 else torch.randint(0, out, (T, B))
        with torch.no_grad():
            a = batch_ggn(model, objective, theta, x, y) + 0.01 * torch.eye(P)
            d = torch.randn(T, P, generator=g)
            s_ggn = seconds(batch_ggn, model, objective, theta, x, y)
            s_solve = seconds(torch.linalg.solve, a, d)
        cell = (s_ggn + s_solve) * STEPS * ITERATIONS / 60
        print(f"| {task} | {P} | {s_ggn:.4f} | {s_solve:.4f} | {cell:.1f} |")


if __name__ == "__main__":
    main()
