"""What an order learner reads of a mini-batch: statistics that follow the variables when they
are permuted, and DirectLiNGAM's pairwise measure pointing from cause to effect whatever the
sign of the noise's kurtosis."""

import pytest
import torch

from iai.models.node_stats import NODE_FEATURES, PAIR_FEATURES, batch_statistics, pair_entropy


def test_statistics_follow_a_permutation_of_the_variables():
    x = torch.randn(3, 64, 5, generator=torch.Generator().manual_seed(0)) @ torch.randn(5, 5)
    node, pair = batch_statistics(x)
    assert node.shape == (3, 5, NODE_FEATURES) and pair.shape == (3, 5, 5, PAIR_FEATURES)
    perm = torch.tensor([3, 0, 4, 1, 2])
    node_p, pair_p = batch_statistics(x[..., perm])
    torch.testing.assert_close(node_p, node[:, perm], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(pair_p, pair[:, perm][:, :, perm], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("noise", ["uniform", "laplace"])
def test_pairwise_entropy_points_from_cause_to_effect_for_either_kurtosis(noise):
    g = torch.Generator().manual_seed(1)
    u = torch.rand(2, 20_000, 2, generator=g)
    if noise == "uniform":
        e = (2 * u - 1) * 3**0.5
    else:
        e = torch.where(u < 0.5, -1.0, 1.0) * -torch.rand(u.shape, generator=g).log() / 2**0.5
    x = torch.stack([e[..., 0], 0.8 * e[..., 0] + 0.6 * e[..., 1]], -1)  # 0 → 1
    z = (x - x.mean(1, keepdim=True)) / x.std(1, unbiased=False, keepdim=True)
    measure, negentropy = pair_entropy(z, z.transpose(1, 2) @ z / z.shape[1])
    assert (measure[:, 1, 0] > 0).all()  # [j, i] positive where i causes j
    torch.testing.assert_close(measure, -measure.transpose(1, 2))
    assert (negentropy > 0).all()
