"""The adaptation memory: state beside θ, written as a running mean, trained through the steps
it informs, bounded and flat however long the stream; size 0 is the learner without one."""

import math
from dataclasses import replace

import pytest
import torch

import iai
from iai.errors import InvalidConfig
from iai.experiment import build
from iai.rollout import minibatches, rollout
from iai.training.greedy import greedy_losses

T, B, Q, M = 4, 6, 5, 3
LEARNER = {  # the whole learner table, so no key of the demo's parametric learner is left over
    "parametric": f'learner={{kind="parametric", width=16, depth=1, heads=2, chunk=8, memory={M}}}',
    "explicit": f'learner={{kind="explicit", width=16, depth=1, heads=2, latent=4, memory={M}}}',
}


def data(prior, seed: int, steps: int = 3):
    return prior.sample(T, steps * B, Q, generator=torch.Generator().manual_seed(seed))


def randomize(module: torch.nn.Module, seed: int) -> None:
    """Small random weights for the memory's write head, so the memory moves and matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.3, generator=g)


@pytest.mark.parametrize("kind", ["parametric", "explicit"])
def test_memory_rides_in_the_state_with_a_fixed_shape(make_learner, kind):
    learner, prior = make_learner(LEARNER[kind])
    randomize(learner.update.memory_head, 0)
    tasks = data(prior, seed=0)
    state = learner.init(tasks.x_query)
    W = learner.cfg.width
    assert state.memory.shape == (T, M, W)
    for x, y in minibatches(tasks.x_train, tasks.y_train, B):
        before = state.memory.clone()
        after = learner.step(state, x, y)
        assert after.memory.shape == (T, M, W)
        assert torch.equal(state.memory, before)  # a state is a value
        assert not torch.allclose(after.memory, before)
        state = after


def test_memory_is_read_by_the_update(make_learner):
    """Nudging the memory changes the next θ: h_φ reads it. (A random direction: a constant
    shift of a token would vanish in its LayerNorm.)"""
    learner, prior = make_learner(f"learner.memory={M}")
    tasks = data(prior, seed=1)
    (x, y), *_ = minibatches(tasks.x_train, tasks.y_train, B)
    state = learner.init(tasks.x_query)
    nudge = torch.randn(state.memory.shape, generator=torch.Generator().manual_seed(1))
    nudged = replace(state, memory=state.memory + nudge)
    with torch.no_grad():
        assert not torch.allclose(learner.step(state, x, y).theta, learner.step(nudged, x, y).theta)


def test_memory_is_the_running_mean_of_what_each_step_writes(make_learner):
    """With equal batches, m⁽ᵏ⁾ is the plain mean of the k values written so far: a write head
    with zero weights writes its bias, whatever it reads."""
    learner, prior = make_learner(f"learner.memory={M}")
    tasks = data(prior, seed=2)
    head = learner.update.memory_head
    g = torch.Generator().manual_seed(2)
    writes = [torch.randn(learner.cfg.width, generator=g) for _ in range(3)]
    state = learner.init(tasks.x_query)
    with torch.no_grad():
        head.weight.zero_()
        for k, (x, y) in enumerate(minibatches(tasks.x_train, tasks.y_train, B)):
            head.bias.copy_(writes[k])
            state = learner.step(state, x, y)
            expected = torch.stack(writes[: k + 1]).mean(0).expand(T, M, -1)
            torch.testing.assert_close(state.memory, expected)


def test_later_losses_train_the_memory_and_its_own_step_does_not(make_learner):
    """Greedy training cuts θ between steps, not the memory: step k's write is scored only by
    the losses after it. Without that path the memory would never be trained."""
    learner, prior = make_learner(f"learner.memory={M}")
    losses = greedy_losses(learner, data(prior, seed=3), B, 3)
    losses[1].backward(retain_graph=True)
    grad = learner.update.memory_head.weight.grad
    assert grad is None or torch.all(grad == 0)
    assert learner.update.head.weight.grad.abs().sum() > 0
    learner.zero_grad(set_to_none=True)
    losses[2].backward(retain_graph=True)
    assert learner.update.memory_head.weight.grad.abs().sum() > 0
    assert learner.update.memory0.grad.abs().sum() > 0


def test_memory_stays_bounded_far_past_the_trained_horizon(make_learner):
    """500 steps with large random write weights: each memory is a convex combination of the
    values written to it, so its norm never exceeds the largest written one; nothing grows
    with the number of steps."""
    learner, prior = make_learner(f"learner.memory={M}")
    randomize(learner.update.memory_head, 4)
    written = []
    learner.update.memory_head.register_forward_hook(
        lambda module, args, out: written.append(out.norm(dim=-1).max().item())
    )
    tasks = data(prior, seed=4, steps=1)
    x, y = tasks.x_train, tasks.y_train
    g = torch.Generator().manual_seed(5)
    state, norms = learner.init(tasks.x_query), []
    with torch.inference_mode():
        for _ in range(500):
            state = learner.step(state, x + 0.3 * torch.randn(x.shape, generator=g), y)
            norms.append(state.memory.norm(dim=-1).max().item())
    assert state.steps == 500 and torch.isfinite(state.theta).all()
    assert len(written) == 500 and max(norms) <= max(written) * (1 + 1e-5)


@pytest.mark.parametrize("kind", ["parametric", "explicit"])
def test_batched_over_tasks_and_order_free_with_memory(make_learner, kind):
    learner, prior = make_learner(LEARNER[kind])
    randomize(learner.update.memory_head, 6)
    tasks = data(prior, seed=6)
    batches = list(minibatches(tasks.x_train, tasks.y_train, B))
    together = torch.stack(list(rollout(learner, batches, tasks.x_query)))
    for t in range(T):
        alone = [(x[t : t + 1], y[t : t + 1]) for x, y in batches]
        single = torch.stack(list(rollout(learner, alone, tasks.x_query[t : t + 1])))
        torch.testing.assert_close(single[:, 0], together[:, t], rtol=1e-5, atol=1e-5)
    reversed_points = [(x.flip(1), y.flip(1)) for x, y in batches]
    flipped = torch.stack(list(rollout(learner, reversed_points, tasks.x_query)))
    torch.testing.assert_close(flipped, together, rtol=1e-5, atol=1e-5)


def test_memory_size_zero_is_the_learner_without_memory(make_cfg):
    """Same parameters, same names, same numbers: a checkpoint saved before the memory existed
    loads into memory = 0."""
    plain, _ = build(make_cfg())
    zero, _ = build(make_cfg("learner.memory=0"))
    assert plain.state_dict().keys() == zero.state_dict().keys()
    assert not any("memory" in name for name in zero.state_dict())
    with_memory, _ = build(make_cfg(f"learner.memory={M}"))
    extra = set(with_memory.state_dict()) - set(zero.state_dict())
    assert extra == {
        f"update.{k}" for k in ("memory0", "memory_pos", "memory_head.weight", "memory_head.bias")
    }


@pytest.mark.parametrize("kind", ["parametric", "explicit"])
def test_negative_memory_is_refused_by_name(make_cfg, kind):
    with pytest.raises(InvalidConfig, match="learner.memory = -1"):
        make_cfg(LEARNER[kind].replace(f"memory={M}", "memory=-1"))


def test_memory_without_a_later_step_to_train_it_is_refused(make_cfg):
    with pytest.raises(InvalidConfig, match="learner.memory = 3 needs train.steps ≥ 2"):
        make_cfg(f"learner.memory={M}", "train.steps=1")


def test_a_trained_memory_learner_saves_loads_and_streams(make_cfg, tmp_path):
    from iai.training.loop import train

    learner = train(make_cfg(f"learner.memory={M}"), tmp_path / "run", progress=False)
    loaded = iai.load(tmp_path / "run")
    assert loaded.cfg.memory == M
    tasks = data(loaded.prior, seed=7)
    args = (tasks.x_train, tasks.y_train, tasks.x_query)
    torch.testing.assert_close(
        iai.predict_steps(loaded, *args, batch_size=B),
        iai.predict_steps(learner.eval(), *args, batch_size=B),
    )
    batches = list(minibatches(tasks.x_train, tasks.y_train, B))
    streamed = list(iai.stream(loaded, iter(batches), tasks.x_query))
    torch.testing.assert_close(streamed[-1], iai.predict_steps(loaded, *args, batch_size=B)[-1])


# The curvature memory -------------------------------------------------------------------------

CURVATURE = 'learner={kind="parametric", width=16, depth=1, heads=2, chunk=8, curvature=true}'


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_gauss_newton_is_the_hessian_of_a_linear_model(kind):
    """For a model linear in θ the generalized Gauss–Newton matrix is the loss's Hessian,
    computed here independently by torch.autograd.functional.hessian."""
    from iai.models.predictors import batch_ggn, make_model
    from iai.tasks.objective import make_objective

    out = 1 if kind == "regression" else 3
    objective, model = make_objective(kind, out), make_model("linear", 4, out, 8, "tanh")
    g = torch.Generator().manual_seed(11)
    theta, x = torch.randn(T, model.n_params, generator=g), torch.randn(T, B, 4, generator=g)
    y = torch.randn(T, B, generator=g) if out == 1 else torch.randint(0, 3, (T, B), generator=g)
    ggn = batch_ggn(model, objective, theta, x, y)
    for t in range(T):
        hessian = torch.autograd.functional.hessian(
            lambda th, t=t: objective.loss(model(th, x[t]), y[t]).mean(), theta[t]
        )
        torch.testing.assert_close(ggn[t], hessian, rtol=1e-5, atol=1e-6)


def test_curvature_learner_with_the_bayes_damping_is_exact_bayes(make_cfg):
    """Untrained (Δ_φ = 0), from θ⁽⁰⁾ = 0 and with λ(ρ) = ρ σ² / (s² B), the curvature
    learner is recursive least squares: the exact posterior mean at every step."""
    learner, prior = build(make_cfg(CURVATURE))
    c = prior.cfg
    with torch.no_grad():
        learner.theta0.zero_()
        learner.update.damping.weight.fill_(1.0)
        learner.update.damping.bias.fill_(math.log(c.noise / (c.prior_scale**2 * B)))
    tasks = data(prior, seed=12, steps=4)
    preds = iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query, batch_size=B)
    for k in range(5):
        exact = prior.bayes(tasks.x_train[:, : k * B], tasks.y_train[:, : k * B], tasks.x_query)
        torch.testing.assert_close(preds[k], exact, rtol=1e-4, atol=1e-4, msg=f"step {k}")


def test_curvature_state_is_the_mean_gauss_newton_of_every_point_seen(make_cfg):
    """Least squares on a linear model: S after k steps is XᵀX / n over all n points read
    (X with its bias column), batches of unequal size included."""
    learner, prior = build(make_cfg(CURVATURE))
    tasks = data(prior, seed=13, steps=3)
    state, n = learner.init(tasks.x_query), 0
    for size in (B, 2, B + 3):
        x, y = tasks.x_train[:, n : n + size], tasks.y_train[:, n : n + size]
        state, n = learner.step(state, x, y), n + size
        X = torch.cat([tasks.x_train[:, :n], torch.ones(T, n, 1)], -1)
        P = learner.model.n_params
        assert state.curvature.shape == (T, P, P)
        torch.testing.assert_close(state.curvature, X.transpose(1, 2) @ X / n)


@pytest.mark.parametrize("kind", ["parametric", "explicit"])
def test_curvature_learner_is_batched_over_tasks_and_trains(make_cfg, tmp_path, kind):
    from iai.training.loop import train

    table = LEARNER[kind].replace(f"memory={M}", "curvature=true")
    learner = train(make_cfg(table), tmp_path / "run", progress=False)
    loaded = iai.load(tmp_path / "run")
    tasks = data(loaded.prior, seed=14)
    batches = list(minibatches(tasks.x_train, tasks.y_train, B))
    together = torch.stack(list(rollout(loaded, batches, tasks.x_query)))
    assert torch.isfinite(together).all() and not torch.allclose(together[-1], together[0])
    for t in range(T):
        alone = [(x[t : t + 1], y[t : t + 1]) for x, y in batches]
        single = torch.stack(list(rollout(loaded, alone, tasks.x_query[t : t + 1])))
        torch.testing.assert_close(single[:, 0], together[:, t], rtol=1e-4, atol=1e-5)
    args = (tasks.x_train, tasks.y_train, tasks.x_query)
    torch.testing.assert_close(
        iai.predict_steps(loaded, *args, batch_size=B),
        iai.predict_steps(learner.eval(), *args, batch_size=B),
    )
