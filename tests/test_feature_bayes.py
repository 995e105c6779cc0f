"""The token learner's exact floor (`iai.models.feature_bayes`): Bayesian linear regression on
learned Fourier features in banks mixed by their evidence, checked against the same model
written in function space (a Gaussian process with the banks' kernels and an exact marginal
likelihood per bank), for any batching and order of the points."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from iai.models.feature_bayes import GAIN, SCALES, FeatureBayes


def _floor(dim: int, outputs: int, seed: int) -> FeatureBayes:
    torch.manual_seed(seed)
    floor = FeatureBayes(dim, outputs, basis=6, banks=3).double()
    with torch.no_grad():  # away from the initial values, so each parameter is exercised
        floor.precision_offset.add_(torch.randn_like(floor.precision_offset) / GAIN)
        floor.noise_offset.fill_(-0.1)
        floor.bank_logits.copy_(torch.randn(3) / GAIN)
        floor.scale_logits.copy_(torch.randn(len(SCALES)) / GAIN)
    return floor


def _function_space(floor: FeatureBayes, x, y, xq):
    """Per task, the GP predictive mixture over banks e and scales a (mean (Q, C),
    moment-matched variance (Q,) of output 0), each from the kernel a φ Λₑ⁻¹ φᵀ with noise
    a σ² and weighed by its prior times N(y; 0, K + a σ² I) for every output."""
    noise = floor.log_noise.exp()
    prior_var = (-floor.log_precision).exp()  # (E, P)
    phi, phq = floor.features(x[None])[0], floor.features(xq[None])[0]  # (N, E, P), (Q, E, P)
    log_prior = floor.log_bank_prior.log_softmax(0)[:, None] + floor.log_scale_prior.log_softmax(0)
    means, variances, logp = [], [], []
    for e in range(prior_var.shape[0]):
        for i, a in enumerate(SCALES.tolist()):
            eye = torch.eye(len(x), dtype=x.dtype)
            k = a * (phi[:, e] * prior_var[e] @ phi[:, e].T + noise * eye)
            kq = a * phq[:, e] * prior_var[e] @ phi[:, e].T
            kqq = a * (phq[:, e] * prior_var[e] * phq[:, e]).sum(-1)
            means.append(kq @ torch.linalg.solve(k, y))
            variances.append(kqq - (kq * torch.linalg.solve(k, kq.T).T).sum(-1) + a * noise)
            normal = torch.distributions.MultivariateNormal(torch.zeros(len(x), dtype=x.dtype), k)
            lp = sum(normal.log_prob(y[:, c]) for c in range(y.shape[1]))
            logp.append(lp + log_prior[e, i])
    p = torch.stack(logp).softmax(0)  # (E · A,)
    means, variances = torch.stack(means, 1), torch.stack(variances, 1)  # (Q, E·A, C), (Q, E·A)
    mean = (p[:, None] * means).sum(1)
    second = (p * (variances + means[..., 0].square())).sum(1)
    return mean, second - mean[:, 0].square()


@settings(max_examples=15, deadline=None)
@given(
    dim=st.integers(1, 3), outputs=st.sampled_from([1, 3]), n=st.integers(1, 30),
    batch=st.integers(1, 9), seed=st.integers(0, 2**16),
)  # fmt: skip
def test_the_floor_is_its_function_space_gp_mixture_for_any_batching_and_order(
    dim, outputs, n, batch, seed
):
    floor = _floor(dim, outputs, seed)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, n, dim, generator=g, dtype=torch.float64)
    y = torch.randn(2, n, outputs, generator=g, dtype=torch.float64)
    xq = torch.randn(2, 5, dim, generator=g, dtype=torch.float64)
    order = torch.randperm(n, generator=g)
    with torch.no_grad():
        stats = floor.start(2, x)
        for rows in order.split(batch):
            stats = floor.add(stats, x[:, rows], y[:, rows])
        mean, var = floor.predict(stats, xq.float())
        for t in range(2):
            want_mean, want_var = _function_space(floor, x[t], y[t], xq[t].float().double())
            torch.testing.assert_close(mean[t].double(), want_mean, rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(var[t].double(), want_var, rtol=1e-4, atol=1e-5)


def test_before_any_point_the_floor_is_its_prior_and_the_banks_their_prior_weights():
    """Its mean is 0, its banks and scales weighed as before any data."""
    floor = _floor(2, 1, 0)
    xq = torch.randn(3, 4, 2)
    with torch.no_grad():
        stats = floor.start(3, xq)
        mean, _ = floor.predict(stats, xq)
    assert torch.equal(mean, torch.zeros_like(mean))
    want = floor.log_bank_prior.softmax(0).expand(3, -1).double()
    torch.testing.assert_close(stats.bank, want.detach())
    scale = (floor.log_scale_prior.softmax(0).double() * SCALES).sum()
    torch.testing.assert_close(stats.scale, scale.detach().expand(3, 3))


@pytest.mark.parametrize("n", [10_000, 200_000])
def test_a_long_stream_of_one_function_is_read_to_its_noise(n):
    """The sums are float64: after n points of y = sin(2x) + noise the posterior mean is
    close to the function, with no loss of positive-definiteness."""
    floor = FeatureBayes(1, 1, basis=32, banks=2)
    g = torch.Generator().manual_seed(0)
    stats = floor.start(1, torch.zeros(1))
    with torch.no_grad():
        for _ in range(n // 10_000):
            x = torch.randn(1, 10_000, 1, generator=g)
            y = torch.sin(2 * x) + 0.3 * torch.randn(1, 10_000, 1, generator=g)
            stats = floor.add(stats, x, y)
        xq = torch.linspace(-1.5, 1.5, 50).reshape(1, 50, 1)
        mean, var = floor.predict(stats, xq)
    assert (mean[0, :, 0] - torch.sin(2 * xq[0, :, 0])).abs().max() < 0.05
    assert torch.isfinite(var).all() and (var > 0).all()


def test_the_hyperparameters_start_at_their_documented_values_and_move_by_gain():
    """Noise 0.1, cos features' precision basis / 2, linear and constant ones 1, uniform
    priors; a change of the stored offset moves the log value GAIN times as far."""
    floor = FeatureBayes(2, 1, basis=8, banks=3)
    assert floor.log_noise.exp().item() == pytest.approx(0.1)
    torch.testing.assert_close(floor.log_precision[:, :8].exp(), torch.full((3, 8), 4.0))
    torch.testing.assert_close(floor.log_precision[:, 8:].exp(), torch.ones(3, 3))
    assert torch.equal(floor.log_bank_prior, torch.zeros(3))
    with torch.no_grad():
        floor.noise_offset.add_(0.1)
    assert floor.log_noise.item() == pytest.approx(math.log(0.1) + 0.1 * GAIN)


def test_the_covariance_carried_over_a_long_stream_is_the_inverse_of_its_sums():
    """Woodbury's updates over 50,000 points in batches of 16 (3,125 of them) leave the
    covariance and log det Λ within 1e-6 of the direct inverse of Λ₀ + Σ φφᵀ / σ²."""
    floor = FeatureBayes(1, 1, basis=32, banks=2)
    g = torch.Generator().manual_seed(0)
    stats = floor.start(1, torch.zeros(1))
    gram = torch.zeros(1, 2, 34, 34, dtype=torch.float64)
    with torch.no_grad():
        for _ in range(50_000 // 16):
            x = torch.randn(1, 16, 1, generator=g)
            stats = floor.add(stats, x, torch.sin(2 * x) + 0.3 * torch.randn(x.shape, generator=g))
            phi = floor.features(x).transpose(1, 2)
            gram += phi.mT @ phi
        prior = torch.diag_embed(floor.log_precision.double().exp())
        precision = gram / floor.log_noise.double().exp() + prior
        want = torch.linalg.inv(precision)
    assert (stats.covariance - want).abs().max() / want.abs().max() < 1e-6
    torch.testing.assert_close(stats.logdet, torch.linalg.slogdet(precision)[1], rtol=1e-6, atol=0)


def test_read_gives_the_prediction_at_the_batch_before_its_targets_and_adds_them():
    floor = _floor(2, 1, 0)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(3, 12, 2, generator=g), torch.randn(3, 12, 1, generator=g)
    with torch.no_grad():
        stats = floor.add(floor.start(3, x), x[:, :5], y[:, :5])
        (mean, var), after = floor.read(stats, x[:, 5:], y[:, 5:])
        want_mean, want_var = floor.predict(stats, x[:, 5:])
        torch.testing.assert_close(mean, want_mean)
        torch.testing.assert_close(var, want_var)
        direct = floor.add(floor.start(3, x), x, y)
    torch.testing.assert_close(after.weights, direct.weights)
    torch.testing.assert_close(after.logdet, direct.logdet)
