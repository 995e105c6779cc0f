"""How close to Bayes can a learner get whose state is θ alone? An analytic reference.

Exact Bayesian updating in linear regression needs the posterior precision P (a D × D matrix)
besides θ. A learner that carries only θ (the parametric IAI state) must stand in for the
precision of the points it saw before. This script runs a strong recursion of that kind (a
reference, not a proven bound): an exact solve with the new batch's own curvature plus the
*expected* precision of the n points seen before,
θ ← θ + ((1/s² + n/β) I + XᵦᵀXᵦ/β)⁻¹ Xᵦᵀ(yᵦ − Xᵦθ)/β, on the very tasks
and mini-batches `iai eval` uses, and prints its MSE over the Bayes-optimal MSE per step.
The recursion is written as a learner (init / step / predict) and read through
`iai.rollout`, as every learner is.

    python benchmarks/theta_only_recursion.py \
        > benchmarks/results/theta-only-recursion/theta-only-recursion.md
"""

from dataclasses import dataclass

import torch

from common.command import markdown_header
from iai.evaluation.config import EvalConfig
from iai.rollout import minibatches, rollout
from iai.tasks import TaskConfig, make_prior, objective_of
from iai.tasks.base import with_bias

B, SHOW = 16, (1, 2, 3, 4, 5, 6, 8, 12, 16, 32, 64)


@dataclass(frozen=True)
class Theta:
    theta: torch.Tensor  # (T, D + 1), float64
    seen: int

    def detach(self) -> "Theta":
        return self


class ThetaOnlyRecursion:
    """The recursion above for the prior of `task`; outputs (T, Q, 1) like a regression learner."""

    def __init__(self, task: TaskConfig) -> None:
        self.task, self.dim = task, task.dim

    def init(self, x_query: torch.Tensor) -> Theta:
        return Theta(torch.zeros(x_query.shape[0], self.dim + 1, dtype=torch.float64), 0)

    def step(self, state: Theta, x: torch.Tensor, y: torch.Tensor) -> Theta:
        beta, X = self.task.noise, with_bias(x.double())
        D = X.shape[-1]
        resid = y.double() - torch.einsum("tbd,td->tb", X, state.theta)
        precision = (1 / self.task.prior_scale**2 + state.seen / beta) * torch.eye(D, dtype=X.dtype)
        precision = precision + X.transpose(1, 2) @ X / beta
        rhs = (X.transpose(1, 2) @ resid[..., None]) / beta
        return Theta(
            state.theta + torch.linalg.solve(precision, rhs)[..., 0], state.seen + x.shape[1]
        )

    def predict(self, state: Theta, x_query: torch.Tensor) -> torch.Tensor:
        return torch.einsum("tqd,td->tq", with_bias(x_query.double()), state.theta)[..., None]


def table(task: TaskConfig, cfg: EvalConfig) -> str:
    """Bayes MSE and the recursion's MSE after each SHOW step ≤ cfg.steps, on cfg's tasks."""
    prior = make_prior(task)
    objective, K = objective_of(prior), cfg.steps
    tasks = prior.sample(
        cfg.tasks, K * B, cfg.queries, generator=torch.Generator().manual_seed(cfg.seed)
    )
    batches = minibatches(tasks.x_train, tasks.y_train, B)
    outs = torch.stack(list(rollout(ThetaOnlyRecursion(task), batches, tasks.x_query)))
    yq = tasks.y_query.double()
    mse = objective.task_metrics(outs, yq)["mse"].mean(-1)  # (K + 1,)
    lines = [
        "| step | points | Bayes MSE | θ-only recursion MSE | ratio |",
        "|---|---|---|---|---|",
    ]
    for k in (k for k in SHOW if k <= K):
        bayes = objective.reference(
            tasks.x_train[:, : k * B], tasks.y_train[:, : k * B], tasks.x_query
        )
        bayes_mse = objective.task_metrics(objective.outputs(bayes.double()), yq)["mse"].mean()
        m, b = mse[k].item(), bayes_mse.item()
        lines.append(f"| {k} | {k * B} | {b:.4f} | {m:.4f} | {m / b:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_header())
    print(table(TaskConfig(), EvalConfig(steps=64)))
