"""Gaussian processes with an unknown lengthscale: the per-task draw, and the exact Bayes
reference that integrates over ℓ, against a per-task numpy loop over the grid."""

import math
import re

import numpy as np
import pytest
import torch

import iai.tasks.gp as gp
from iai import InvalidConfig
from iai.tasks import TaskConfig, make_prior, shifted

RANGE = dict(min_lengthscale=0.2, max_lengthscale=1.0)  # the prior, log-uniform


def gp_config(**fields) -> TaskConfig:
    return TaskConfig(name="gp_regression", **fields)


def draw(cfg: TaskConfig, seed: int, n_tasks: int, n_train: int, n_query: int):
    g = torch.Generator().manual_seed(seed)
    return make_prior(cfg).sample(n_tasks, n_train, n_query, generator=g)


def old_sample(cfg, n_tasks: int, n_train: int, n_query: int, seed: int):
    """The fixed-ℓ family's draw as it was before the range (a copy of the old formula)."""
    g = torch.Generator().manual_seed(seed)
    n = n_train + n_query
    x = (cfg.x_mean + cfg.x_scale * torch.randn(n_tasks, n, cfg.dim, generator=g)).double()
    length = cfg.lengthscale * cfg.dim**0.5
    cov = cfg.signal_scale**2 * torch.exp(-0.5 * torch.cdist(x, x).square() / length**2)
    chol = torch.linalg.cholesky(cov + 1e-6 * torch.eye(n, dtype=x.dtype))
    z = torch.randn(n_tasks, n, 1, generator=g, dtype=x.dtype)
    f = (chol @ z).squeeze(-1)
    y = (f + cfg.noise**0.5 * torch.randn(f.shape, generator=g, dtype=x.dtype)).float()
    return x.float(), y


def old_bayes(cfg, x_train, y_train, x_query):
    """The fixed-ℓ posterior mean as it was computed before the range (a copy)."""
    X, Xq = x_train.double(), x_query.double()
    length = cfg.lengthscale * cfg.dim**0.5

    def kernel(a, b):
        return cfg.signal_scale**2 * torch.exp(-0.5 * torch.cdist(a, b).square() / length**2)

    gram = kernel(X, X) + cfg.noise * torch.eye(X.shape[1], dtype=X.dtype)
    alpha = torch.cholesky_solve(y_train.double().unsqueeze(-1), torch.linalg.cholesky(gram))
    return (kernel(Xq, X) @ alpha).squeeze(-1).to(x_query.dtype)


def numpy_mixture(cfg, X, y, Xq):
    """One task's grid weights (G,), means and variances (G, Q), looping over the grid in
    float64 numpy: log w ∝ log N(y; 0, K_ℓ + βI), the same midpoints in log ℓ."""
    G = gp.GRID if cfg.max_lengthscale > 0 else 1
    lo, hi = (np.log(cfg.min_lengthscale), np.log(cfg.max_lengthscale)) if G > 1 else (0, 0)
    grid = np.exp(lo + (hi - lo) * (np.arange(G) + 0.5) / G) if G > 1 else [cfg.lengthscale]
    log_like, means, vars_ = [], [], []
    for ell in grid:
        length = ell * np.sqrt(cfg.dim)

        def k(a, b, length=length):
            sq = ((a[:, None] - b[None]) ** 2).sum(-1)
            return cfg.signal_scale**2 * np.exp(-sq / (2 * length**2))

        C = k(X, X) + cfg.noise * np.eye(len(X))
        sign, logdet = np.linalg.slogdet(C)
        assert sign > 0
        log_like.append(-0.5 * (y @ np.linalg.solve(C, y) + logdet + len(X) * np.log(2 * np.pi)))
        Kq = k(Xq, X)
        means.append(Kq @ np.linalg.solve(C, y))
        quad = np.einsum("qn,nq->q", Kq, np.linalg.solve(C, Kq.T))
        vars_.append(cfg.signal_scale**2 - quad + cfg.noise)
    log_like = np.array(log_like)
    w = np.exp(log_like - log_like.max())
    return w / w.sum(), np.array(means), np.array(vars_)


@pytest.mark.parametrize(
    "fields",
    [dict(dim=8), dict(dim=3, noise=0.2, lengthscale=0.8, signal_scale=1.3, x_scale=1.5)],
)
def test_without_a_range_the_family_draws_and_predicts_as_before(fields):
    cfg = gp_config(**fields)
    tasks = draw(cfg, seed=5, n_tasks=6, n_train=30, n_query=7)
    x, y = old_sample(cfg, 6, 30, 7, seed=5)
    assert torch.equal(torch.cat([tasks.x_train, tasks.x_query], 1), x)
    assert torch.equal(torch.cat([tasks.y_train, tasks.y_query], 1), y)
    assert torch.equal(tasks.truth["lengthscale"], torch.full((6,), cfg.lengthscale))
    prior = make_prior(cfg)
    for n in (0, 1, 30):  # and its Bayes reference returns exactly what it returned
        args = tasks.x_train[:, :n], tasks.y_train[:, :n], tasks.x_query
        assert torch.equal(prior.bayes(*args), old_bayes(cfg, *args))


def test_a_range_draws_each_task_a_lengthscale_log_uniformly_and_reproducibly():
    cfg = gp_config(dim=1, noise=0.05, **RANGE)
    tasks = draw(cfg, seed=0, n_tasks=4000, n_train=2, n_query=1)
    ell = tasks.truth["lengthscale"].double()
    assert ell.shape == (4000,) and ell.min() >= 0.2 and ell.max() <= 1.0
    u = (ell.log() - math.log(0.2)) / math.log(5.0)  # U[0, 1] if log ℓ is uniform
    counts = torch.histc(u, bins=10, min=0.0, max=1.0)
    assert counts.min() > 330 and counts.max() < 470  # 400 expected per bin, sd 19
    again = draw(cfg, seed=0, n_tasks=4000, n_train=2, n_query=1)
    assert torch.equal(again.y_train, tasks.y_train) and torch.equal(
        again.truth["lengthscale"], ell.float()
    )


def test_each_task_follows_the_covariance_of_its_own_lengthscale():
    """y ~ N(0, s² k_ℓ(X, X) + β I) with the task's ℓ: whitened by it, y is N(0, I); whitened
    by one ℓ for all tasks (the range's geometric middle), it is not."""
    cfg = gp_config(dim=2, noise=0.05, signal_scale=1.2, **RANGE)
    tasks = draw(cfg, seed=3, n_tasks=300, n_train=24, n_query=1)
    x, y = tasks.x_train.double().numpy(), tasks.y_train.double().numpy()
    sq = ((x[:, :, None] - x[:, None]) ** 2).sum(-1)

    def whitened(ell: np.ndarray) -> np.ndarray:
        length = ell[:, None, None] * np.sqrt(2)
        cov = 1.44 * np.exp(-sq / (2 * length**2)) + (0.05 + 1e-6) * np.eye(24)
        return np.linalg.solve(np.linalg.cholesky(cov), y[..., None])[..., 0]

    z = whitened(tasks.truth["lengthscale"].double().numpy())
    assert z.mean() == pytest.approx(0.0, abs=0.03) and z.var() == pytest.approx(1.0, rel=0.05)
    assert whitened(np.full(300, math.sqrt(0.2))).var() > 1.2  # 1.34 measured


@pytest.mark.parametrize("n", [0, 1, 9])
def test_the_mixture_matches_a_numpy_loop_over_the_grid(n):
    cfg = gp_config(dim=2, noise=0.1, signal_scale=0.9, **RANGE)
    prior = make_prior(cfg)
    tasks = draw(cfg, seed=2, n_tasks=3, n_train=9, n_query=5)
    args = tasks.x_train[:, :n], tasks.y_train[:, :n], tasks.x_query
    mean, var = prior.predictive(*args)
    log_p = prior.log_predictive(*args, tasks.y_query)
    assert mean.shape == var.shape == log_p.shape == (3, 5)
    torch.testing.assert_close(prior.bayes(*args), mean, rtol=0, atol=0)
    for t in range(3):
        X, y = args[0][t].double().numpy(), args[1][t].double().numpy()
        Xq, yq = tasks.x_query[t].double().numpy(), tasks.y_query[t].double().numpy()
        w, mu, s2 = numpy_mixture(cfg, X, y, Xq)
        m = w @ mu
        np.testing.assert_allclose(mean[t].numpy(), m, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(var[t].numpy(), w @ (s2 + mu**2) - m**2, rtol=1e-5)
        dens = w @ (np.exp(-0.5 * (yq - mu) ** 2 / s2) / np.sqrt(2 * np.pi * s2))
        np.testing.assert_allclose(log_p[t].numpy(), np.log(dens), rtol=1e-5, atol=1e-6)


def test_with_no_points_it_is_the_prior_predictive():
    cfg = gp_config(dim=3, noise=0.3, signal_scale=1.5, **RANGE)
    prior = make_prior(cfg)
    tasks = draw(cfg, seed=4, n_tasks=2, n_train=0, n_query=6)
    empty = tasks.x_train, tasks.y_train, tasks.x_query
    mean, var = prior.predictive(*empty)
    assert torch.equal(mean, torch.zeros(2, 6)) and torch.equal(prior.bayes(*empty), mean)
    torch.testing.assert_close(var, torch.full((2, 6), 1.5**2 + 0.3))
    normal = torch.distributions.Normal(0.0, math.sqrt(1.5**2 + 0.3))
    expected = normal.log_prob(tasks.y_query)
    torch.testing.assert_close(prior.log_predictive(*empty, tasks.y_query), expected)


def test_a_range_of_one_point_is_the_fixed_lengthscale():
    fixed = gp_config(dim=2, noise=0.2, lengthscale=0.6)
    point = gp_config(dim=2, noise=0.2, min_lengthscale=0.6, max_lengthscale=0.6)
    tasks = draw(fixed, seed=6, n_tasks=4, n_train=20, n_query=5)
    args = tasks.x_train, tasks.y_train, tasks.x_query
    torch.testing.assert_close(make_prior(point).bayes(*args), make_prior(fixed).bayes(*args))
    (m1, v1), (m2, v2) = make_prior(point).predictive(*args), make_prior(fixed).predictive(*args)
    torch.testing.assert_close((m1, v1), (m2, v2))
    assert draw(point, seed=6, n_tasks=4, n_train=1, n_query=1).truth["lengthscale"].eq(0.6).all()


def test_many_points_concentrate_the_posterior_on_the_true_lengthscale():
    cfg = gp_config(dim=1, noise=0.05, **RANGE)
    prior = make_prior(cfg)
    tasks = draw(cfg, seed=0, n_tasks=32, n_train=256, n_query=1)
    truth, grid = tasks.truth["lengthscale"].double().log(), prior.grid().log()
    spread = {}
    for n in (16, 256):
        log_w, _, _ = prior.posterior(tasks.x_train[:, :n], tasks.y_train[:, :n], tasks.x_query)
        w = log_w.exp()
        mean = (w * grid).sum(1)
        spread[n] = (w * (grid - mean[:, None]).square()).sum(1).sqrt()  # sd of log ℓ
        assert ((mean - truth).abs() < 3 * spread[n]).all()  # the truth is credible
    step = math.log(5.0) / gp.GRID
    mode = grid[log_w.argmax(1)]
    assert ((mode - truth).abs() <= 2 * step).float().mean() > 0.6  # 23 of 32 measured
    # the prior's sd of log ℓ is log 5 / √12 = 0.46; 256 points narrow it below 0.2 everywhere
    assert spread[256].max() < 0.2 and spread[256].mean() < 0.5 * spread[16].mean()


def test_chunks_of_tasks_give_the_same_posterior(monkeypatch):
    cfg = gp_config(dim=2, noise=0.1, **RANGE)
    prior = make_prior(cfg)
    tasks = draw(cfg, seed=8, n_tasks=5, n_train=12, n_query=3)
    args = tasks.x_train, tasks.y_train, tasks.x_query
    whole = prior.posterior(*args)
    monkeypatch.setattr(gp, "CHUNK", 2 * gp.GRID * 12 * 12)  # two tasks a chunk: 2, 2, 1
    torch.testing.assert_close(prior.posterior(*args), whole, rtol=1e-12, atol=1e-12)


def test_invalid_ranges_are_refused_naming_the_key():
    cases = [
        (dict(min_lengthscale=0.2), "task.max_lengthscale = 0.0; must be > 0"),
        (dict(max_lengthscale=1.0), "task.min_lengthscale = 0.0; must be > 0"),
        (dict(min_lengthscale=-0.2, max_lengthscale=1.0), "task.min_lengthscale = -0.2"),
        (
            dict(min_lengthscale=1.0, max_lengthscale=0.5),
            "task.max_lengthscale = 0.5; must be ≥ task.min_lengthscale = 1.0",
        ),
    ]
    for fields, message in cases:
        with pytest.raises(InvalidConfig, match=re.escape(message)):
            gp_config(**fields)


def test_the_short_lengthscale_variant_leaves_the_prior_and_the_others_keep_the_range():
    cfg = gp_config(dim=1, noise=0.05, **RANGE)
    short = shifted(cfg, "short_lengthscale")
    assert (short.lengthscale, short.min_lengthscale, short.max_lengthscale) == (0.12, 0.0, 0.0)
    ell = draw(short, seed=1, n_tasks=3, n_train=4, n_query=1).truth["lengthscale"]
    assert ell.eq(torch.tensor(0.12)).all()
    assert make_prior(short).grid().tolist() == [0.12]
    for variant in ("shift_x", "wide_x", "noisy", "wide_prior"):
        moved = shifted(cfg, variant)
        assert (moved.min_lengthscale, moved.max_lengthscale) == (0.2, 1.0)
