"""How close to Bayes can a learner get whose state is θ alone? An analytic reference.

Exact Bayesian updating in linear regression needs the posterior precision P (a D × D matrix)
besides θ. A learner that carries only θ (the parametric IAI state) must stand in for the
precision of the points it saw before. This script runs a strong recursion of that kind (a
reference, not a proven bound): an exact solve with the new batch's own curvature plus the
*expected* precision of the n points seen before,
θ ← θ + ((1/s² + n/β) I + XᵦᵀXᵦ/β)⁻¹ Xᵦᵀ(yᵦ − Xᵦθ)/β, on the very tasks
and mini-batches `iai eval` uses, and prints its MSE over the Bayes-optimal MSE per step.

    python benchmarks/theta_only_recursion.py > benchmarks/results/theta-only-recursion.md
"""

import torch
from iai.evaluate import EvalConfig

from iai.tasks import TaskConfig, make_prior
from iai.tasks.base import with_bias

cfg, task = EvalConfig(steps=64), TaskConfig()
B, K = 16, cfg.steps
prior = make_prior(task)
tasks = prior.sample(
    cfg.tasks, K * B, cfg.queries, generator=torch.Generator().manual_seed(cfg.seed)
)
X, y = with_bias(tasks.x_train.double()), tasks.y_train.double()
Xq, yq = with_bias(tasks.x_query.double()), tasks.y_query.double()
beta, D = task.noise, X.shape[-1]
theta = torch.zeros(X.shape[0], D, dtype=torch.float64)
print("| step | points | Bayes MSE | θ-only recursion MSE | ratio |")
print("|---|---|---|---|---|")
for k in range(1, K + 1):
    Xb, yb, n = X[:, (k - 1) * B : k * B], y[:, (k - 1) * B : k * B], (k - 1) * B
    resid = yb - torch.einsum("tbd,td->tb", Xb, theta)
    precision = (1 / task.prior_scale**2 + n / beta) * torch.eye(D, dtype=X.dtype)
    precision = precision + Xb.transpose(1, 2) @ Xb / beta
    theta = (
        theta
        + torch.linalg.solve(precision, (Xb.transpose(1, 2) @ resid[..., None]) / beta)[..., 0]
    )
    mse = (torch.einsum("tqd,td->tq", Xq, theta) - yq).square().mean().item()
    bayes = prior.bayes(tasks.x_train[:, : k * B], tasks.y_train[:, : k * B], tasks.x_query)
    bayes_mse = (bayes.double() - yq).square().mean().item()
    if k in (1, 2, 3, 4, 5, 6, 8, 12, 16, 32, 64):
        print(f"| {k} | {k * B} | {bayes_mse:.4f} | {mse:.4f} | {mse / bayes_mse:.3f} |")
