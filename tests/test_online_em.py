"""The token flow's online-EM mixture floor (`iai.models.online_em`)."""

import pytest
import torch

import iai
from iai.config import load_config
from iai.errors import InvalidConfig
from iai.experiment import build
from iai.models.online_em import OnlineEM, farthest_points
from iai.tasks.mixtures import sample_mixture
from iai.tasks.objective import Density

FLOW = ["task.name='gaussian_mixtures'", "task.dim=2", "learner.kind='flow'"]
FLOW += ["learner.regime='tokens'", "learner.floor=3", "learner.floor_update='em'"]
FLOW += ["learner.width=16", "learner.depth=1", "learner.heads=2", "learner.latents=4"]


def clusters(shift: float, scale: float, seed: int = 0):
    """Two tasks of 3 well-separated clusters, 96 points each, moved and scaled."""
    g = torch.Generator().manual_seed(seed)
    means = torch.tensor([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]]).expand(2, 3, 2)
    tril = 0.3 * torch.eye(2).expand(2, 3, 2, 2)
    x = sample_mixture(torch.full((2, 3), 1 / 3), means, tril, 96, generator=g)
    return scale * x + shift, scale * means + shift


def read(floor: OnlineEM, x: torch.Tensor, batch: int = 32):
    with torch.no_grad():
        stats = floor.init(x)
        for part in x.split(batch, 1):
            stats = floor.step(stats, part)
    return stats


@pytest.mark.parametrize("shift,scale", [(0.0, 1.0), (100.0, 1.0), (-3.0, 20.0)])
def test_it_finds_separated_clusters_wherever_they_lie_and_at_any_scale(shift, scale):
    """Unlike a learned update, EM has no training range: the clusters' means are found to a
    few hundredths of their spacing wherever they are, and each weight is its cluster's share
    of the samples (with the Dirichlet prior's pseudo-count of 1)."""
    x, means = clusters(shift, scale)
    stats = read(OnlineEM(3, 2, Density(2)), x)
    found = torch.cdist(means, stats.means.float())  # (T, 3 true, 3 found)
    assert (found.amin(2) < 0.05 * 6 * scale).all(), found
    counts = torch.cdist(x, means).argmin(-1)  # (T, 96): each sample's cluster
    share = torch.stack([(counts == k).sum(1) for k in range(3)], 1)  # (T, 3 true)
    weight = stats.logits.exp().float().gather(1, found.argmin(2))  # (T, 3 true)
    torch.testing.assert_close(weight, (share + 1) / 99, atol=0.01, rtol=0)


def test_its_sums_are_every_sample_read_and_its_density_normalized():
    x, _ = clusters(0.0, 1.0)
    stats = read(OnlineEM(4, 2, Density(2)), x)
    torch.testing.assert_close(stats.weight.sum(-1), torch.full((2,), 96.0, dtype=torch.float64))
    torch.testing.assert_close(stats.first.sum(1), x.double().sum(1))
    grid = torch.linspace(-4, 10, 141)
    cell = (grid[1] - grid[0]) ** 2
    pts = torch.cartesian_prod(grid, grid).expand(2, -1, -1)
    mass = OnlineEM(4, 2, Density(2)).log_prob(stats, pts).exp().sum(-1) * cell
    torch.testing.assert_close(mass, torch.ones(2), atol=0.01, rtol=0)


def test_its_prior_is_trained_by_the_held_out_likelihood():
    """ν and ψ move the fit: the NLL of held-out samples has a gradient in both."""
    x, _ = clusters(0.0, 1.0)
    floor = OnlineEM(3, 2, Density(2))
    stats = floor.init(x)
    for part in x.split(32, 1):
        stats = floor.step(stats, part)
    rows = torch.cat([x[:, :16], torch.randn(2, 16, 2), torch.rand(2, 16, 1)], -1)
    floor.loss(stats, rows).backward()
    assert floor.samples_offset.grad.abs() > 0 and floor.scale_offset.grad.abs() > 0


def test_a_first_batch_smaller_than_the_mixture_leaves_components_alike_but_finite():
    x, _ = clusters(0.0, 1.0)
    stats = read(OnlineEM(8, 2, Density(2)), x[:, :5], batch=5)
    assert torch.isfinite(stats.scale_tril).all() and torch.isfinite(stats.means).all()
    assert torch.equal(farthest_points(x[:, :2], 3)[:, 2], x[:, 0])  # none further: the first again
    one = read(OnlineEM(3, 2, Density(2)), x[:, :40], batch=1)  # a stream of single samples
    assert torch.isfinite(one.scale_tril).all() and torch.isfinite(one.logits).all()


def test_an_untrained_em_floored_flow_samples_its_mixture():
    learner, prior = build(load_config(None, FLOW))
    x, _ = clusters(50.0, 1.0)  # far outside the prior: EM does not care
    samples = iai.sample_steps(learner.eval(), x, 3000, batch_size=32, steps=[3],
                               generator=torch.Generator().manual_seed(0))[0]  # fmt: skip
    stats = read(learner.floor, x)
    parts = stats.logits.exp().float(), stats.means.float(), stats.scale_tril.float()
    want = sample_mixture(*parts, 3000, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(samples.mean(1), want.mean(1), atol=0.15, rtol=0)
    torch.testing.assert_close(samples.std(1), want.std(1), atol=0.15, rtol=0)


def test_floor_update_is_validated():
    with pytest.raises(InvalidConfig, match="learner.floor_update = 'exact'; allowed"):
        load_config(None, [*FLOW[:-3], "learner.floor_update='exact'"])


def test_an_em_update_without_a_floor_is_refused():
    with pytest.raises(InvalidConfig, match="floor_update = 'em' needs a floor"):
        load_config(None, [*FLOW, "learner.floor=0"])
