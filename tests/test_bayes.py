"""The exact posteriors against numpy in float64: linear regression and GP regression."""

import numpy as np
import pytest
import torch

from iai.tasks import TaskConfig, make_prior


def with_one(x: np.ndarray) -> np.ndarray:
    return np.concatenate([x, np.ones((*x.shape[:-1], 1))], -1)


def test_linear_posterior_mean_matches_numpy():
    # Non-default s and β, so a swapped or missing hyper-parameter shows.
    cfg = TaskConfig(name="linear_regression", dim=4, noise=0.3, prior_scale=0.7)
    prior = make_prior(cfg)
    tasks = prior.sample(3, 6, 5, generator=torch.Generator().manual_seed(0))
    got = prior.bayes(tasks.x_train, tasks.y_train, tasks.x_query)
    assert got.shape == (3, 5) and got.dtype == torch.float32
    for t in range(3):
        X = with_one(tasks.x_train[t].double().numpy())  # (N, D + 1)
        y = tasks.y_train[t].double().numpy()
        precision = np.eye(5) / 0.7**2 + X.T @ X / 0.3
        w = np.linalg.solve(precision, X.T @ y / 0.3)
        expected = with_one(tasks.x_query[t].double().numpy()) @ w
        np.testing.assert_allclose(got[t].numpy(), expected, rtol=1e-5, atol=1e-6)


def test_gp_posterior_mean_matches_numpy():
    cfg = TaskConfig(name="gp_regression", dim=3, noise=0.2, lengthscale=0.8, signal_scale=1.3)
    prior = make_prior(cfg)
    tasks = prior.sample(3, 10, 4, generator=torch.Generator().manual_seed(1))
    got = prior.bayes(tasks.x_train, tasks.y_train, tasks.x_query)
    assert got.shape == (3, 4)
    length = 0.8 * np.sqrt(3)

    def kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        sq = ((a[:, None] - b[None]) ** 2).sum(-1)
        return 1.3**2 * np.exp(-sq / (2 * length**2))

    for t in range(3):
        X, Xq = tasks.x_train[t].double().numpy(), tasks.x_query[t].double().numpy()
        y = tasks.y_train[t].double().numpy()
        expected = kernel(Xq, X) @ np.linalg.solve(kernel(X, X) + 0.2 * np.eye(10), y)
        np.testing.assert_allclose(got[t].numpy(), expected, rtol=1e-5, atol=1e-6)


def test_gp_posterior_mean_interpolates_with_little_noise():
    """With β → 0 the posterior mean passes through the training targets."""
    cfg = TaskConfig(name="gp_regression", dim=2, noise=1e-6)
    prior = make_prior(cfg)
    tasks = prior.sample(2, 8, 1, generator=torch.Generator().manual_seed(2))
    got = prior.bayes(tasks.x_train, tasks.y_train, tasks.x_train)
    torch.testing.assert_close(got, tasks.y_train, rtol=0, atol=1e-3)


def test_linear_posterior_recovers_w_from_many_clean_points():
    D = 4
    cfg = TaskConfig(name="linear_regression", dim=D, noise=1e-4)
    prior = make_prior(cfg)
    tasks = prior.sample(3, 2000, 1, generator=torch.Generator().manual_seed(3))
    # Querying at the origin and at each unit vector reads off the bias and each weight.
    probes = torch.cat([torch.zeros(1, D), torch.eye(D)]).expand(3, D + 1, D)
    pred = prior.bayes(tasks.x_train, tasks.y_train, probes)  # (T, D + 1)
    w = torch.cat([pred[:, 1:] - pred[:, :1], pred[:, :1]], 1)  # [weights, bias]
    assert tasks.truth["w"].abs().max() > 0.1
    torch.testing.assert_close(w, tasks.truth["w"], rtol=0, atol=2e-3)


def test_linear_posterior_with_no_data_is_the_prior_mean():
    prior = make_prior(TaskConfig(name="linear_regression", dim=3))
    x_query = torch.randn(2, 5, 3, generator=torch.Generator().manual_seed(4))
    got = prior.bayes(torch.zeros(2, 0, 3), torch.zeros(2, 0), x_query)
    assert torch.equal(got, torch.zeros(2, 5))


@pytest.mark.parametrize("name", ["nonlinear_regression", "linear_classification"])
def test_priors_without_closed_form_say_so(name):
    assert make_prior(TaskConfig(name=name)).bayes is None
