"""The token-state learner (issue 21): M latent tokens per task, refined over mini-batches and
read by the queries' attention; flat memory, batched over tasks, order-free, its prior when
untrained, a Gaussian head for regression and the signals' gradient against autograd."""

import json

import pytest
import torch
from conftest import randomize_head

import iai
from iai.errors import InvalidInput
from iai.experiment import build
from iai.learners.tokens import TokensState
from iai.training.loop import train

SMALL = 'learner={kind="tokens", latents=4, width=16, depth=1, decoder_depth=1, heads=2}'


def _learner(make_cfg, *sets):
    learner, prior = build(make_cfg(SMALL, *sets))
    randomize_head(learner, 0)  # a step moves z
    return learner.eval(), prior


@pytest.mark.parametrize("signal", ["data", "grad", "both"])
def test_state_is_flat_batched_over_tasks_and_order_free(make_cfg, signal):
    learner, prior = _learner(make_cfg, f"learner.signal={signal!r}")
    tasks = prior.sample(3, 64, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        state = learner.init(tasks.x_query)
        for k in range(4):
            xb, yb = (
                tasks.x_train[:, 16 * k : 16 * (k + 1)],
                tasks.y_train[:, 16 * k : 16 * (k + 1)],
            )
            state = learner.step(state, xb, yb)
            assert state.z.shape == (3, 4, 16) and state.seen == 16 * (k + 1)
        batched = learner.predict(state, tasks.x_query)
        for t in range(3):  # each task alone, its points in another order
            one = learner.init(tasks.x_query[t : t + 1])
            order = torch.randperm(16, generator=torch.Generator().manual_seed(t))
            for k in range(4):
                rows = 16 * k + order
                one = learner.step(
                    one, tasks.x_train[t : t + 1, rows], tasks.y_train[t : t + 1, rows]
                )
            alone = learner.predict(one, tasks.x_query[t : t + 1])
            torch.testing.assert_close(alone, batched[t : t + 1], rtol=1e-4, atol=1e-5)


def test_an_untrained_learner_is_its_prior(make_cfg):
    learner, prior = build(make_cfg(SMALL))  # the zero-initialised head: Δ = 0
    tasks = prior.sample(2, 48, 6, generator=torch.Generator().manual_seed(1))
    preds = iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query, batch_size=16)
    assert all(torch.equal(preds[k], preds[0]) for k in range(1, 4))


def test_regression_has_a_gaussian_head_and_classification_logits(make_cfg):
    learner, prior = _learner(make_cfg)
    tasks = prior.sample(2, 16, 7, generator=torch.Generator().manual_seed(2))
    state = learner.step(learner.init(tasks.x_query), tasks.x_train, tasks.y_train)
    std = learner.predict_std(state, tasks.x_query)
    assert std.shape == (2, 7) and (std > 0).all()
    mean, var = learner.predict(state, tasks.x_query).squeeze(-1), std.square()
    nll = 0.5 * (
        var.log() + (tasks.y_query - mean).square() / var + torch.log(torch.tensor(2 * torch.pi))
    )
    torch.testing.assert_close(learner.loss(state, tasks.x_query, tasks.y_query), nll.mean())
    cls, prior = _learner(make_cfg, "task.name=linear_classification")
    tasks = prior.sample(2, 16, 7, generator=torch.Generator().manual_seed(3))
    state = cls.step(cls.init(tasks.x_query), tasks.x_train, tasks.y_train)
    assert cls.predict(state, tasks.x_query).shape == (2, 7, 2)
    with pytest.raises(InvalidInput, match="logits, not a spread"):
        cls.predict_std(state, tasks.x_query)


def test_the_grad_signal_is_each_tasks_mean_loss_gradient(make_cfg):
    learner, prior = _learner(make_cfg, "learner.signal='grad'")
    tasks = prior.sample(3, 16, 4, generator=torch.Generator().manual_seed(4))
    state = learner.init(tasks.x_query)
    got = learner._latent_grad(state, tasks.x_train, tasks.y_train)
    for t in range(3):  # a task's own mean loss, by autograd
        z = state.z[t : t + 1].detach().requires_grad_(True)
        loss = learner.loss(TokensState(z), tasks.x_train[t : t + 1], tasks.y_train[t : t + 1])
        (want,) = torch.autograd.grad(loss, z)
        torch.testing.assert_close(got[t : t + 1], want, rtol=1e-4, atol=1e-6)


def test_trains_saves_loads_and_streams(make_cfg, tmp_path):
    trained = train(
        make_cfg(SMALL, "train.iterations=30", "train.lr=3e-3"), tmp_path, progress=False
    )
    losses = [json.loads(line)["loss"] for line in (tmp_path / "metrics.jsonl").open()]
    assert losses[-1] < losses[0]
    loaded = iai.load(tmp_path)
    tasks = loaded.prior.sample(2, 32, 5, generator=torch.Generator().manual_seed(5))
    args = (tasks.x_train, tasks.y_train, tasks.x_query)
    steps = iai.predict_steps(loaded, *args, batch_size=16)
    assert torch.equal(steps, iai.predict_steps(trained, *args, batch_size=16))
    halves = (slice(0, 16), slice(16, 32))
    batches = [(tasks.x_train[:, h], tasks.y_train[:, h]) for h in halves]
    streamed = torch.stack(list(iai.stream(loaded, batches, tasks.x_query)))
    torch.testing.assert_close(streamed, steps)
