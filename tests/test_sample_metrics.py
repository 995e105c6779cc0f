"""Sample metrics against brute-force references and known distances; the EM baseline against
the true mixture it was fitted to."""

import math

import numpy as np
import pytest
import torch

from iai.errors import InvalidInput
from iai.evaluation.em import fit_em
from iai.evaluation.sample_metrics import METRICS, energy_distance, mmd, wasserstein2


def normal(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_energy_matches_brute_force_numpy():
    a, b = normal(1, 5, 3, seed=0), normal(1, 4, 3, seed=1) + 0.5
    x, y = a[0].double().numpy(), b[0].double().numpy()

    def mean_dist(p, q, skip_diagonal):
        pairs = [
            np.linalg.norm(p[i] - q[j])
            for i in range(len(p))
            for j in range(len(q))
            if not (skip_diagonal and i == j)
        ]
        return sum(pairs) / len(pairs)

    ref = 2 * mean_dist(x, y, False) - mean_dist(x, x, True) - mean_dist(y, y, True)
    assert energy_distance(a, b).item() == pytest.approx(ref, rel=1e-5)


def test_mmd_matches_brute_force_numpy():
    a, b = normal(1, 5, 2, seed=2), normal(1, 6, 2, seed=3)
    x, y = a[0].double().numpy(), b[0].double().numpy()
    hs = (0.5, 2.0)

    def k(p, q):
        sq = ((p - q) ** 2).sum()
        return sum(math.exp(-sq / (2 * h * h)) for h in hs)

    def mean_k(p, q, skip_diagonal):
        ks = [
            k(p[i], q[j])
            for i in range(len(p))
            for j in range(len(q))
            if not (skip_diagonal and i == j)
        ]
        return sum(ks) / len(ks)

    ref = mean_k(x, x, True) + mean_k(y, y, True) - 2 * mean_k(x, y, False)
    assert mmd(a, b, bandwidths=hs).item() == pytest.approx(ref, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("name", sorted(METRICS))
def test_batched_equals_per_task_and_shapes(name):
    metric = METRICS[name]
    a, b = normal(3, 20, 2, seed=4), normal(3, 15, 2, seed=5) + 1.0
    batched = metric(a, b)
    assert batched.shape == (3,)
    looped = torch.cat([metric(a[t : t + 1], b[t : t + 1]) for t in range(3)])
    torch.testing.assert_close(batched, looped)


def test_identical_sets():
    a = normal(2, 300, 3, seed=6)
    # a set against itself: the cross term keeps the zero-distance diagonal that the U-statistics
    # drop, so energy = −2·E‖X−X'‖·(1/n) ≈ −0.015 and mmd = −2(k(x,x) − E k)/n ≈ −0.019 here
    assert energy_distance(a, a).abs().max() < 0.03
    assert mmd(a, a).abs().max() < 0.03
    assert (wasserstein2(a, a) == 0).all()


def test_w2_of_a_shift_is_the_shift():
    a = normal(1, 500, 2, seed=7)
    b = normal(1, 500, 2, seed=8) + torch.tensor([2.0, 0.0])
    assert wasserstein2(a, b).item() == pytest.approx(2.0, abs=0.1)


def test_energy_separates_same_from_shifted():
    a, b = normal(1, 400, 2, seed=9), normal(1, 400, 2, seed=10)
    same, shifted = energy_distance(a, b).item(), energy_distance(a, b + 1.0).item()
    assert abs(same) < 0.02
    assert shifted > 20 * abs(same) and shifted > 0.5


def test_metrics_reject_mismatched_shapes():
    with pytest.raises(InvalidInput):
        energy_distance(normal(2, 5, 3, seed=0), normal(2, 5, 2, seed=0))


# a well-separated two-component mixture in 2-d
WEIGHTS = torch.tensor([0.4, 0.6])
MEANS = torch.tensor([[-3.0, 0.0], [3.0, 1.0]])
SCALES = torch.tensor([[[1.0, 0.0], [0.3, 0.8]], [[0.7, 0.0], [-0.2, 1.2]]])  # Cholesky factors


def true_mixture() -> torch.distributions.MixtureSameFamily:
    d = torch.distributions
    comps = d.MultivariateNormal(MEANS, scale_tril=SCALES)
    return d.MixtureSameFamily(d.Categorical(WEIGHTS), comps)


def mixture_tasks(tasks: int, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    which = torch.multinomial(WEIGHTS, tasks * n, replacement=True, generator=g)
    eps = torch.randn(tasks * n, 2, generator=g)
    x = MEANS[which] + (SCALES[which] @ eps[..., None]).squeeze(-1)
    return x.reshape(tasks, n, 2)


def test_em_true_k_fits_the_density():
    x, x_eval = mixture_tasks(2, 400, seed=0), mixture_tasks(2, 2000, seed=1)
    fit = fit_em(x, x_eval, n_samples=50, components=torch.tensor([2, 2]))
    assert fit.log_prob.shape == (2, 2000) and fit.samples.shape == (2, 50, 2)
    assert fit.components.tolist() == [2, 2] and fit.components.dtype == torch.int64
    assert fit.seconds > 0
    gap = fit.log_prob.mean(1) - true_mixture().log_prob(x_eval).mean(1)  # (T,)
    assert gap.abs().max() < 0.1


def test_em_bic_picks_two_and_is_seeded():
    x, x_eval = mixture_tasks(2, 400, seed=2), mixture_tasks(2, 10, seed=3)
    fit = fit_em(x, x_eval, n_samples=30, components="bic", max_components=4, seed=5)
    assert fit.components.tolist() == [2, 2]
    again = fit_em(x, x_eval, n_samples=30, components="bic", max_components=4, seed=5)
    torch.testing.assert_close(fit.samples, again.samples, rtol=0, atol=0)
    other = fit_em(x, x_eval, n_samples=30, components="bic", max_components=4, seed=6)
    assert not torch.equal(fit.samples, other.samples)


@pytest.mark.parametrize(
    "components, x",
    [
        (torch.tensor([5]), torch.zeros(1, 4, 2)),  # fewer points than components
        ("aic", torch.zeros(1, 4, 2)),
        ("bic", torch.zeros(1, 4, 2)),  # max_components = 8 > 4 points
        (torch.tensor([1.0]), torch.zeros(1, 4, 2)),
        (torch.tensor([1, 1]), torch.zeros(1, 4, 2)),
        (torch.tensor([1]), torch.full((1, 4, 2), float("nan"))),
    ],
)
def test_em_rejects_bad_input(components, x):
    with pytest.raises(InvalidInput):
        fit_em(x, torch.zeros(1, 3, 2), n_samples=2, components=components)
