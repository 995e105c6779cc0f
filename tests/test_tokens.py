"""The token-state learner (issue 21): M latent tokens per task, refined over mini-batches and
read by the queries' attention; flat memory, batched over tasks, order-free, its prior when
untrained, a Gaussian head for regression and the signals' gradient against autograd."""

import json

import pytest
import torch
from conftest import randomize_head

import iai
from iai.config import load_config
from iai.errors import InvalidInput
from iai.experiment import build
from iai.learners.tokens import MIN_VARIANCE, TokensState
from iai.models.feature_bayes import BayesStats
from iai.models.latent_tokens import PooledAttention
from iai.training.loop import train

SMALL = 'learner={kind="tokens", latents=4, width=16, depth=1, decoder_depth=1, heads=2}'


def _learner(make_cfg, *sets):
    learner, prior = build(make_cfg(SMALL, *sets))
    randomize_head(learner, 0)  # a step moves z
    return learner.eval(), prior


CASES = [("data", "false"), ("grad", "false"), ("both", "false"), ("data", "true")]


@pytest.mark.parametrize(("signal", "pooled"), CASES)
def test_state_is_flat_batched_over_tasks_and_order_free(make_cfg, signal, pooled):
    learner, prior = _learner(make_cfg, f"learner.signal={signal!r}", f"learner.pooled={pooled}")
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


def test_the_running_pool_is_the_exact_attention_over_every_point_read_in_any_order():
    g = torch.Generator().manual_seed(7)
    pool = PooledAttention(latents=3, width=8, heads=2)
    points = 4 * torch.randn(2, 40, 8, generator=g)  # large scores: the log-sum-exp at work
    want = []
    for h in range(2):  # each head: softmax attention of its queries over all 40 points
        cols = slice(4 * h, 4 * h + 4)
        keys, values = pool.key(points)[..., cols], pool.value(points)[..., cols]
        scores = torch.einsum("mw,tbw->tmb", pool.query[:, h], keys) / 2
        want.append(torch.einsum("tmb,tbw->tmw", scores.softmax(-1), values))
    want = torch.cat(want, -1)
    for order in (torch.arange(40), torch.randperm(40, generator=g)):
        running = pool.start(2, points)
        for chunk in points[:, order].split(7, dim=1):  # batches of 7, the last of 5
            running = pool.add(running, chunk)
        torch.testing.assert_close(running.read(), want, rtol=1e-5, atol=1e-6)


def test_an_untrained_learner_without_a_floor_is_its_prior(make_cfg):
    learner, prior = build(make_cfg(SMALL, "learner.basis=0"))  # the zero head: Δ = 0
    tasks = prior.sample(2, 48, 6, generator=torch.Generator().manual_seed(1))
    preds = iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query, batch_size=16)
    assert all(torch.equal(preds[k], preds[0]) for k in range(1, 4))


@pytest.mark.parametrize("task", ["linear_regression", "linear_classification"])
def test_an_untrained_learner_with_a_floor_predicts_the_floor_alone(make_cfg, task):
    """The reader's correction starts at 0: before training the prediction is the exact
    floor's (regression: its mean and variance; classes: its log-probabilities)."""
    learner, prior = build(make_cfg(SMALL, f"task.name={task!r}"))
    tasks = prior.sample(2, 48, 6, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        state = iai.adapt(learner, tasks.x_train, tasks.y_train, batch_size=16)
        out = learner.predict(state, tasks.x_query)
        floor = learner.floor.predict(state.stats, tasks.x_query)
        std = None if learner.objective.categorical else learner.predict_std(state, tasks.x_query)
    if learner.objective.categorical:  # log-probabilities, temperature 1
        torch.testing.assert_close(out, learner.log_temperature.exp() * floor)
        torch.testing.assert_close(out.exp().sum(-1), torch.ones(2, 6))
    else:
        torch.testing.assert_close(out, floor[0])
        torch.testing.assert_close(std.square(), floor[1] + MIN_VARIANCE)


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
        stats = BayesStats(**{k: v[t : t + 1] for k, v in vars(state.stats).items()})
        alone = TokensState(z, stats=stats)
        loss = learner.loss(alone, tasks.x_train[t : t + 1], tasks.y_train[t : t + 1])
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


def test_the_flow_tokens_grad_signal_is_each_tasks_mean_flow_matching_loss_gradient():
    flow = ["kind='flow'", "regime='tokens'", "signal='both'", "latents=4", "width=16"]
    flow += ["depth=1", "field_depth=1", "heads=2", "probes=3"]
    task = ["task.name='gaussian_mixtures'", "task.dim=2"]
    learner, prior = build(load_config(None, [*task, *(f"learner.{s}" for s in flow)]))
    x = prior.sample(3, 8, 2, generator=torch.Generator().manual_seed(6)).x_train  # (3, 8, 2)
    state = learner.init(x)
    got = learner._latent_grad(state, x)
    x0, t = learner.probe_x0.expand(8, -1, -1), learner.probe_t.expand(8, -1, -1)  # (8, 3, ·)
    for k in range(3):  # the flow-matching loss at every (sample, probe) row, by autograd
        rows = torch.cat([x[k][:, None].expand(-1, 3, -1), x0, t], -1).reshape(1, 24, 5)
        z = state.z[k : k + 1].detach().requires_grad_(True)
        (want,) = torch.autograd.grad(learner.loss(TokensState(z), rows), z)
        torch.testing.assert_close(got[k : k + 1], want, rtol=1e-4, atol=1e-6)
