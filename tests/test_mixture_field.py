"""The exact flow-matching field of a Gaussian mixture, and the token flow built on it."""

import pytest
import torch
from conftest import randomize_head

import iai
from iai.config import load_config
from iai.errors import InvalidConfig, InvalidInput
from iai.experiment import build
from iai.models.flow_ode import Solver, log_prob, transport
from iai.models.mixture_field import mixture_velocity
from iai.tasks.mixtures import sample_mixture


def mixtures(T=2, K=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = 0.4 * torch.randn(T, K, 2, 2, generator=g)
    tril = torch.linalg.cholesky(a @ a.mT + 0.05 * torch.eye(2))
    return torch.randn(T, K, generator=g), 2 * torch.randn(T, K, 2, generator=g), tril


def field(logits, means, tril):
    return lambda x, t: mixture_velocity(logits, means, tril, x, t.expand(*x.shape[:-1], 1))


def test_the_field_carries_noise_to_the_mixture_it_describes():
    logits, means, tril = mixtures()
    x0 = torch.randn(2, 20_000, 2, generator=torch.Generator().manual_seed(1))
    x = transport(field(logits, means, tril), x0, Solver("midpoint", 16))
    w = logits.softmax(-1)[..., None]
    mean = (w * means).sum(1)
    second = (w[..., None] * (tril @ tril.mT + means[..., :, None] * means[..., None, :])).sum(1)
    cov = second - mean[..., :, None] * mean[..., None, :]
    centred = x - x.mean(1, keepdim=True)
    assert torch.allclose(x.mean(1), mean, atol=0.05)
    assert torch.allclose(centred.mT @ centred / x.shape[1], cov, atol=0.1)


def test_one_time_per_task_gives_each_point_the_field_at_that_time():
    """An ODE solver's (T, 1, 1) time, broadcast, is the same field as the time per point."""
    logits, means, tril = mixtures()
    x = torch.randn(2, 7, 2, generator=torch.Generator().manual_seed(2))
    for t in (0.0, 0.3, 1.0):
        one = torch.full((2, 1, 1), t)
        want = mixture_velocity(logits, means, tril, x, one.expand(2, 7, 1))
        torch.testing.assert_close(mixture_velocity(logits, means, tril, x, one), want)


def test_the_ode_density_of_the_field_is_the_mixtures():
    logits, means, tril = mixtures(seed=2)
    mix = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=logits[:, None]),
        torch.distributions.MultivariateNormal(means[:, None], scale_tril=tril[:, None]),
    )
    g = torch.Generator().manual_seed(3)
    pts = sample_mixture(logits.softmax(-1), means, tril, 50, generator=g)  # (2, 50, 2)
    lp = log_prob(field(logits, means, tril), pts, Solver("rk4", 32))
    assert torch.allclose(lp, mix.log_prob(pts), atol=0.02)


def test_an_untrained_floored_flow_has_its_mixtures_density():
    ov = ["task.name='gaussian_mixtures'", "task.dim=2", "learner.kind='flow'"]
    ov += ["learner.regime='tokens'", "learner.floor=3", "learner.width=16", "learner.depth=1"]
    ov += ["learner.heads=2", "learner.latents=4", "learner.solver='rk4'", "learner.ode_steps=16"]
    learner, prior = build(load_config(None, ov))
    randomize_head(
        learner, 0
    )  # steps move the tokens and the mixture; the field's correction stays 0
    x = prior.sample(2, 40, 5, generator=torch.Generator().manual_seed(0)).x_train
    lp = iai.log_prob_steps(learner.eval(), x, x, batch_size=20, steps=[0, 2])
    exact = learner.floor.distribution(learner.floor.theta0.expand(2, -1, -1)).log_prob(x)
    assert torch.allclose(
        lp[0], exact, atol=0.02, rtol=2e-3
    )  # the field's correction starts at zero
    assert not torch.allclose(lp[1], lp[0], atol=0.02)  # the mixture moves with the data


def test_a_floor_is_refused_outside_the_token_flow_and_out_of_range():
    with pytest.raises(InvalidConfig, match="learner.floor = 2 needs learner.regime = 'tokens'"):
        load_config(None, ["learner.kind='flow'", "learner.regime='explicit'", "learner.floor=2"])
    with pytest.raises(InvalidConfig, match="learner.floor = -1"):
        load_config(None, ["learner.kind='flow'", "learner.regime='tokens'", "learner.floor=-1"])


def test_a_floor_that_overflows_is_named_not_a_linear_algebra_error():
    ov = ["task.name='gaussian_mixtures'", "task.dim=2", "learner.kind='flow'"]
    ov += ["learner.regime='tokens'", "learner.floor=2", "learner.width=16", "learner.depth=1"]
    learner, prior = build(load_config(None, [*ov, "learner.heads=2", "learner.latents=4"]))
    randomize_head(learner, 0)
    x = prior.sample(2, 40, 5, generator=torch.Generator().manual_seed(0)).x_train
    with pytest.warns(UserWarning), pytest.raises(InvalidInput, match="x_context"):
        iai.sample_steps(learner.eval(), x * 1e30, 5)
