"""The token learner's floor for classes (`iai.models.feature_laplace`): online Laplace softmax
regression with Böhning's bounded curvature, checked against what the method promises: the
prior before any point, ridge on the centred code after the first batch, a step that never
raises the batch's Laplace objective at the bound's curvature, prequential evidence, and a long
stream read to its rule."""

import math

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from iai.models.feature_laplace import NOISE, FeatureLaplace
from iai.models.fourier_basis import GAIN


def _floor(dim: int, classes: int, seed: int, noise: float = NOISE) -> FeatureLaplace:
    torch.manual_seed(seed)
    floor = FeatureLaplace(dim, classes, basis=6, banks=3).double()
    with torch.no_grad():  # away from the initial values, so each parameter is exercised
        floor.precision_offset.add_(torch.randn_like(floor.precision_offset) / GAIN)
        floor.noise_offset.fill_((math.log(noise) - floor.noise_init) / GAIN)
        floor.bank_logits.copy_(torch.randn(3) / GAIN)
    return floor


def _data(classes: int, n: int, dim: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, n, dim, generator=g, dtype=torch.float64)
    y = F.one_hot(torch.randint(classes, (2, n), generator=g), classes).double()
    return x, y


def test_before_any_point_every_class_is_equally_likely_and_the_banks_their_prior():
    floor = _floor(2, 4, 0)
    xq = torch.randn(3, 5, 2)
    with torch.no_grad():
        stats = floor.start(3, xq)
        logp = floor.predict(stats, xq)
    torch.testing.assert_close(logp, torch.full((3, 5, 4), -math.log(4)))
    want = floor.log_bank_prior.softmax(0).expand(3, -1)
    torch.testing.assert_close(stats.bank, want.detach())


@settings(max_examples=15, deadline=None)
@given(classes=st.integers(2, 5), n=st.integers(1, 20), seed=st.integers(0, 2**16))
def test_the_first_batch_is_ridge_on_the_centred_code_and_leaves_the_banks_as_they_were(
    classes, n, seed
):
    """From weights 0 every class is 1/C likely, so the first step is Λ⁻¹ Σ φ (y − 1/C), and
    every bank predicted the batch equally well (B log 1/C): the banks keep their prior."""
    floor = _floor(2, classes, seed)
    x, y = _data(classes, n, 2, seed)
    with torch.no_grad():
        stats = floor.add(floor.start(2, x), x, y)
        phi = floor.features(x).permute(0, 2, 1, 3)  # (T, E, N, P)
        precision = torch.diag_embed(floor.log_precision.exp()) + phi.mT @ phi / NOISE
        want = torch.linalg.solve(precision, phi.mT @ (y[:, None] - 1 / classes))
    torch.testing.assert_close(stats.weights, want)
    want = torch.full((2, 3), n * math.log(1 / classes), dtype=torch.float64)
    torch.testing.assert_close(stats.evidence, want)
    torch.testing.assert_close(stats.bank, floor.log_bank_prior.softmax(0).expand(2, -1))


@settings(max_examples=15, deadline=None)
@given(
    classes=st.integers(2, 5), n=st.integers(2, 40), batch=st.integers(1, 9),
    seed=st.integers(0, 2**16),
)  # fmt: skip
def test_at_the_bounds_curvature_no_step_raises_its_batchs_laplace_objective(
    classes, n, batch, seed
):
    """With σ² = 2 the curvature ½ I ⊗ Σ φφᵀ bounds the softmax's Hessian (Böhning), so each
    step is a majorize-minimize step: ½ (w − m)ᵀ Λ (w − m) + the batch's NLL at the new mean is
    at most its value at the old one, for every class count, batching and bank; and the
    weights' classes sum to 0, as every step's gradient y − p does."""
    floor = _floor(2, classes, seed, noise=2.0)
    x, y = _data(classes, n, 2, seed)
    with torch.no_grad():
        stats = floor.start(2, x)
        for rows in torch.arange(n).split(batch):
            xb, yb = x[:, rows], y[:, rows, None]
            phi = floor.features(xb).permute(0, 2, 1, 3)  # (T, E, B, P)
            new = floor.add(stats, xb, yb[:, :, 0])
            before = -(yb.transpose(1, 2) * (phi @ stats.weights).log_softmax(-1)).sum((-2, -1))
            delta = new.weights - stats.weights
            prior = 0.5 * (delta * torch.linalg.solve(stats.covariance, delta)).sum((-2, -1))
            after = prior - (yb.transpose(1, 2) * (phi @ new.weights).log_softmax(-1)).sum((-2, -1))
            assert (after <= before + 1e-9).all()
            stats = new
    torch.testing.assert_close(stats.weights.sum(-1), torch.zeros_like(stats.weights[..., 0]))


def test_the_banks_are_weighed_by_how_well_each_predicted_the_points_before_reading_them():
    """A bank whose prior pins its weights at 0 predicts 1/C forever; beside a bank that learns
    the rule, the stream's evidence moves the mixture to the learner."""
    floor = FeatureLaplace(1, 2, basis=4, banks=2).double()
    with torch.no_grad():
        floor.precision_offset[0] = 30.0 / GAIN  # bank 0: every feature's prior variance e⁻³⁰
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 160, 1, generator=g, dtype=torch.float64)
    y = F.one_hot((x[..., 0] > 0).long(), 2).double()
    with torch.no_grad():
        stats = floor.start(1, x)
        for rows in torch.arange(160).split(16):
            stats = floor.add(stats, x[:, rows], y[:, rows])
    assert stats.bank[0, 1] > 0.99
    assert stats.evidence[0, 0] < stats.evidence[0, 1]


def test_a_long_stream_of_one_rule_is_read_to_it_in_flat_memory():
    """10,000 points of a linear rule over 3 classes in batches of 100: the posterior mean's
    error on fresh points is below 3 %, its sums the same size as after the first batch."""
    floor = FeatureLaplace(2, 3, basis=16, banks=2)
    g = torch.Generator().manual_seed(0)
    rule = torch.randn(2, 3, generator=g)
    stats = floor.start(1, torch.zeros(1))
    with torch.no_grad():
        for _ in range(100):
            x = torch.randn(1, 100, 2, generator=g)
            stats = floor.add(stats, x, F.one_hot((x @ rule).argmax(-1), 3).float())
        xq = torch.randn(1, 2000, 2, generator=g)
        error = (floor.predict(stats, xq).argmax(-1) != (xq @ rule).argmax(-1)).float().mean()
    assert error < 0.03
    assert stats.covariance.shape == (1, 2, 19, 19) and torch.isfinite(stats.weights).all()


def test_read_gives_the_log_probabilities_at_the_batch_before_its_labels():
    floor = _floor(2, 3, 0)
    x, y = _data(3, 12, 2, 0)
    with torch.no_grad():
        stats = floor.add(floor.start(2, x), x[:, :5], y[:, :5])
        logp, after = floor.read(stats, x[:, 5:], y[:, 5:])
        torch.testing.assert_close(logp, floor.predict(stats, x[:, 5:]))
    torch.testing.assert_close(after.weights, floor.add(stats, x[:, 5:], y[:, 5:]).weights)
