"""The parametric learner: shapes, batching, permutation invariance, the greedy boundary."""

import pytest
import torch

import iai
from iai.experiment import build
from iai.models.predictors import apply
from iai.rollout import minibatches, rollout
from iai.training.greedy import greedy_losses

T, B, Q = 4, 6, 5
CLASSIFY = ("task.name=linear_classification", "task.classes=3")


def data(prior, seed: int, n_tasks: int = T, steps: int = 3):
    """Tasks with `steps` mini-batches of B points and Q queries."""
    g = torch.Generator().manual_seed(seed)
    return prior.sample(n_tasks, steps * B, Q, generator=g)


@pytest.mark.parametrize("history", [1, 3])
@pytest.mark.parametrize("signal", ["data", "grad", "both"])
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_state_and_prediction_shapes(make_learner, task, signal, history):
    extra = CLASSIFY if task == "classification" else ()
    learner, prior = make_learner(f"learner.signal={signal}", f"learner.history={history}", *extra)
    tasks = data(prior, seed=0)
    P, out = learner.model.n_params, prior.out_dim
    state = learner.init(tasks.x_query)
    assert state.theta.shape == (T, P) and state.past.shape == (T, history - 1, P)
    assert (state.seen, state.steps) == (0, 0)
    for k, (x, y) in enumerate(minibatches(tasks.x_train, tasks.y_train, B), 1):
        state = learner.step(state, x, y)
        assert state.theta.shape == (T, P) and state.past.shape == (T, history - 1, P)
        assert (state.seen, state.steps) == (k * B, k)
        assert learner.predict(state, tasks.x_query).shape == (T, Q, out)


@pytest.mark.parametrize(
    "overrides",
    [
        ("learner.signal=data",),
        ("learner.signal=grad", "learner.history=3"),
        ("learner.signal=both", "learner.history=2", *CLASSIFY),
        ("learner.model=mlp", "learner.hidden=5", "task.name=nonlinear_regression"),
    ],
)
def test_batched_over_tasks_equals_each_task_alone(make_learner, overrides):
    learner, prior = make_learner(*overrides)
    tasks = data(prior, seed=1)
    batches = list(minibatches(tasks.x_train, tasks.y_train, B))
    together = torch.stack(list(rollout(learner, batches, tasks.x_query)))  # (K + 1, T, Q, out)
    assert not torch.allclose(together[-1], together[0])  # the steps do move θ
    for t in range(T):
        alone = [(x[t : t + 1], y[t : t + 1]) for x, y in batches]
        single = torch.stack(list(rollout(learner, alone, tasks.x_query[t : t + 1])))
        torch.testing.assert_close(single[:, 0], together[:, t], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("history", [1, 3])
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_order_of_points_in_a_batch_does_not_matter(make_learner, task, history):
    extra = CLASSIFY if task == "classification" else ()
    learner, prior = make_learner(f"learner.history={history}", *extra)
    tasks = data(prior, seed=2, steps=2)
    g = torch.Generator().manual_seed(3)
    state, shuffled = learner.init(tasks.x_query), learner.init(tasks.x_query)
    for x, y in minibatches(tasks.x_train, tasks.y_train, B):
        perm = torch.stack([torch.randperm(B, generator=g) for _ in range(T)])  # per task
        assert not torch.equal(perm, torch.arange(B).expand(T, B))
        x_p, y_p = x.gather(1, perm[..., None].expand_as(x)), y.gather(1, perm)
        state, shuffled = learner.step(state, x, y), learner.step(shuffled, x_p, y_p)
        torch.testing.assert_close(shuffled.theta, state.theta, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(state.theta, learner.init(tasks.x_query).theta)


@pytest.mark.parametrize("history", [1, 3])
def test_detached_state_stops_the_gradient_to_theta0(make_learner, history):
    learner, prior = make_learner(f"learner.history={history}")
    tasks = data(prior, seed=4, steps=2)
    (x1, y1), (x2, y2) = minibatches(tasks.x_train, tasks.y_train, B)
    lik, xq, yq = learner.objective, tasks.x_query, tasks.y_query

    def theta0_grad(detach: bool, steps: int) -> torch.Tensor | None:
        learner.zero_grad(set_to_none=True)
        state = learner.step(learner.init(xq), x1, y1)
        if steps == 2:
            state = learner.step(state.detach() if detach else state, x2, y2)
        lik.loss(learner.predict(state, xq), yq).mean().backward()
        return learner.theta0.grad

    after_one = theta0_grad(detach=True, steps=1)
    assert after_one is not None and after_one.abs().sum() > 0
    after_two = theta0_grad(detach=True, steps=2)
    assert after_two is None or torch.all(after_two == 0)
    # The control: without the detach the same loss does reach θ⁽⁰⁾.
    through = theta0_grad(detach=False, steps=2)
    assert through is not None and through.abs().sum() > 0
    # and the update network still learns from the detached step
    assert (
        learner.update.head.weight.grad is not None
        and learner.update.head.weight.grad.abs().sum() > 0
    )


@pytest.mark.parametrize("history", [1, 3])
def test_greedy_losses_train_each_step_on_its_own(make_learner, history):
    """Only step 0's loss reaches θ⁽⁰⁾; the later ones train the update network alone."""
    learner, prior = make_learner(f"learner.history={history}")
    losses = greedy_losses(learner, data(prior, seed=10), B, 3)
    assert losses.shape == (4,)
    losses[1:].sum().backward(retain_graph=True)
    grad = learner.theta0.grad
    assert grad is None or torch.all(grad == 0)
    assert learner.update.head.weight.grad.abs().sum() > 0
    learner.zero_grad(set_to_none=True)
    losses[0].backward()
    assert learner.theta0.grad.abs().sum() > 0
    grad = learner.update.head.weight.grad  # step 0 is the prior: no update was made
    assert grad is None or torch.all(grad == 0)


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_greedy_losses_in_eval_equal_the_rollout(make_learner, task):
    extra = CLASSIFY if task == "classification" else ()
    learner, prior = make_learner("learner.history=2", *extra)
    tasks = data(prior, seed=5)
    learner.eval()
    with torch.no_grad():
        got = greedy_losses(learner, tasks, B, 3)
    outs = rollout(learner, minibatches(tasks.x_train, tasks.y_train, B), tasks.x_query)
    expected = torch.stack([learner.objective.loss(o, tasks.y_query).mean() for o in outs])
    assert got.shape == (4,)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)
    assert not torch.allclose(got[1:], got[:1].expand(3))


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_untrained_learner_predicts_its_prior_at_every_step(make_cfg, task):
    learner, prior = build(make_cfg(*(CLASSIFY if task == "classification" else ())))
    tasks = data(prior, seed=6)
    preds = iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query, batch_size=B)
    theta0 = learner.theta0.detach().expand(T, -1)
    prior_pred = learner.objective.prediction(apply(learner.model, theta0, tasks.x_query))
    assert preds.shape[0] == 4
    for k in range(4):
        assert torch.equal(preds[k], prior_pred), k


def test_step_leaves_its_input_state_unchanged(make_learner):
    learner, prior = make_learner("learner.history=3")
    tasks = data(prior, seed=7)
    (x, y), *_ = minibatches(tasks.x_train, tasks.y_train, B)
    state = learner.step(learner.init(tasks.x_query), x, y)
    theta, past = state.theta.clone(), state.past.clone()
    after = learner.step(state, x, y)
    assert torch.equal(state.theta, theta) and torch.equal(state.past, past)
    assert state.steps == 1 and after.steps == 2
    assert torch.equal(after.past[:, 0], theta)  # the most recent earlier state comes first


def test_a_past_state_is_flagged_present_once_it_exists(make_learner):
    """With history H, lag i holds θ⁽ᵏ⁻ⁱ⁾ after k steps; it exists (θ⁽⁰⁾ included) once i ≤ k.
    A lag's 'present' code may change the next step exactly when that lag is flagged."""
    learner, prior = make_learner("learner.history=3")
    tasks = data(prior, seed=8)
    batches = list(minibatches(tasks.x_train, tasks.y_train, B))
    states = [learner.init(tasks.x_query)]
    for x, y in batches[:2]:
        states.append(learner.step(states[-1], x, y))

    # A random direction: a constant shift of a token would vanish in its LayerNorm.
    nudge = torch.randn(learner.cfg.width, generator=torch.Generator().manual_seed(9))

    def flagged_present(state, lag: int) -> bool:
        x, y = batches[2]
        with torch.no_grad():
            base = learner.step(state, x, y).theta
            learner.update.lag[lag, 1] += nudge
            moved = learner.step(state, x, y).theta
            learner.update.lag[lag, 1] -= nudge
        return not torch.allclose(base, moved, rtol=0, atol=1e-6)

    for k, state in enumerate(states):
        assert [flagged_present(state, i) for i in (1, 2)] == [1 <= k, 2 <= k], k
