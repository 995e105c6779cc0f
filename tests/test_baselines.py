"""The optimizer baselines: one batched run over T tasks equals T separate torch.optim runs."""

import pytest
import torch

from iai.evaluation.baselines import OptimizerRun, optimizer_outputs, tune
from iai.models.predictors import init_theta, make_model
from iai.tasks import Tasks
from iai.tasks.objective import make_objective

T, B, K, Q, D, C = 3, 4, 3, 5, 3, 3
ITERS = 5  # not a multiple of any k > 1, so the order within a cycle matters


def batch_at(k: int, i: int) -> int:
    """The batch update i uses at step k, as the docstring promises: the newest batch first,
    then back through the older ones, cycling."""
    return (k - 1 - i) % k


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("model_name,task", [("linear", "regression"), ("mlp", "classification")])
def test_batched_run_equals_one_optimizer_per_task(kind, model_name, task):
    out_dim = 1 if task == "regression" else C
    model = make_model(model_name, D, out_dim, hidden=6, activation="tanh")
    lik = make_objective(task, out_dim)
    g = torch.Generator().manual_seed(0)
    x, xq = torch.randn(T, K * B, D, generator=g), torch.randn(T, Q, D, generator=g)
    if task == "regression":
        y = torch.randn(T, K * B, generator=g)
    else:
        y = torch.randint(0, C, (T, K * B), generator=g)
    lr = 0.05

    run = OptimizerRun(kind, lr, ITERS, model, lik)
    tasks = Tasks(x, y, xq, None)
    got = optimizer_outputs(run, tasks, B, init_theta(model, T, torch.Generator().manual_seed(1)))
    assert got.shape == (K + 1, T, Q, out_dim)

    start = init_theta(model, T, torch.Generator().manual_seed(1))
    if model_name == "linear":
        assert torch.equal(start, torch.zeros(T, model.n_params))
    optimizer = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[kind]
    for t in range(T):
        theta = start[t].clone().requires_grad_()
        opt = optimizer([theta], lr=lr)
        expected = [model(theta, xq[t]).detach()]
        for k in range(1, K + 1):
            for i in range(ITERS):
                j = batch_at(k, i)
                xb, yb = x[t, j * B : (j + 1) * B], y[t, j * B : (j + 1) * B]
                opt.zero_grad()
                lik.loss(model(theta, xb), yb).mean().backward()
                opt.step()
            expected.append(model(theta, xq[t]).detach())
        torch.testing.assert_close(got[:, t], torch.stack(expected), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(got[-1], got[0])


def test_tune_picks_the_best_rate_per_step_and_never_a_diverged_one():
    errors = {
        0.1: torch.tensor([1.0, 5.0, float("nan")]),
        0.3: torch.tensor([2.0, 3.0, 9.0]),
        1.0: torch.tensor([float("nan"), 4.0, 8.0]),
    }
    assert tune(errors) == [0.1, 0.3, 1.0]
