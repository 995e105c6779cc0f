"""Every method of the taxonomy behind one interface: each trains and beats its own prior; the
classical ones equal their textbook definitions."""

import pytest
import torch
from conftest import update_head

import iai
from iai.errors import InvalidConfig, InvalidInput
from iai.evaluation.config import EvalConfig
from iai.evaluation.evaluate import evaluate
from iai.experiment import build
from iai.models.predictors import apply, batch_grad
from iai.rollout import minibatches, rollout
from iai.training.greedy import greedy_losses
from iai.training.loop import train

T, B, K, Q = 16, 8, 4, 12

# One small config per method; each trains in a few seconds.
METHODS = {
    "parametric": ['learner={kind="parametric", width=32, depth=2, signal="both"}'],
    "learned_optimizer": ['learner={kind="parametric", width=32, depth=2, signal="grad"}'],
    "hypernetwork": [
        'learner={kind="parametric", width=32, depth=2, signal="data"}',
        "train.steps=1",
        "train.batch_size=32",
    ],
    "explicit": ['learner={kind="explicit", width=32, depth=2, latent=16}'],
    "cnp": [
        'learner={kind="explicit", width=32, depth=2, latent=16, signal="data"}',
        "train.steps=1",
        "train.batch_size=32",
    ],
    "implicit": ['learner={kind="implicit", width=32, depth=2}'],
    "icl": ['learner={kind="implicit", width=32, depth=2}', "train.steps=1", "train.batch_size=32"],
    "sgd": ['learner={kind="optimizer", method="sgd", lr=0.1}'],
    "adam": ['learner={kind="optimizer", method="adam", lr=0.1}'],
    "maml": ['learner={kind="maml", lr=0.05}', 'train.backprop="full"'],
    "fo_maml": ['learner={kind="maml", lr=0.05, first_order=true}', 'train.backprop="full"'],
    "meta_sgd": [
        'learner={kind="maml", lr=0.05, step_size="per_parameter"}',
        'train.backprop="full"',
    ],
}
SMALL = [
    "task.dim=3",
    "train.iterations=60",
    "train.tasks=32",
    f"train.batch_size={B}",
    f"train.steps={K}",
    "train.queries=16",
    "train.warmup=5",
    "train.lr=3e-3",
    "train.log_every=20",
    "train.checkpoint_every=60",
]


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_trains_and_beats_its_prior(make_cfg, tmp_path, method):
    cfg = make_cfg(*SMALL, *METHODS[method])
    train(cfg, tmp_path / "run", progress=False)
    learner = iai.load(tmp_path / "run")  # through the public API, as a user would
    mode = "context" if cfg.train.steps == 1 else "steps"  # one-step: k·B points at once
    ecfg = EvalConfig(
        tasks=200, steps=K, queries=32, ood=(), baselines=False, mode=mode, batch_size=B
    )
    mse = evaluate(learner, ecfg).curve("iai", "mse").mean
    assert mse[-1] < 0.9 * mse[0], mse  # after K·B points, clearly below the prior


def test_sgd_learner_equals_torch_optim_sgd(make_cfg):
    learner, prior = build(make_cfg('learner={kind="optimizer", method="sgd", lr=0.3}'))
    tasks = prior.sample(T, K * B, Q, generator=torch.Generator().manual_seed(0))
    theta = torch.zeros(T, learner.model.n_params, requires_grad=True)
    opt = torch.optim.SGD([theta], lr=0.3)
    state = learner.init(tasks.x_query)
    for x, y in minibatches(tasks.x_train, tasks.y_train, B):
        # sum over tasks of each task's mean loss: T independent per-task SGD runs
        loss = learner.objective.loss(apply(learner.model, theta, x), y).mean(1).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        state = learner.step(state, x, y)
        torch.testing.assert_close(state.theta, theta.detach(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("model", ["linear", "mlp"])
def test_adam_learner_equals_torch_optim_adam(make_cfg, model):
    over = f'learner={{kind="optimizer", method="adam", lr=0.05, updates=2, model="{model}"}}'
    learner, prior = build(make_cfg(over, "task.name=nonlinear_regression"))
    tasks = prior.sample(T, K * B, Q, generator=torch.Generator().manual_seed(1))
    state = learner.init(tasks.x_query)
    theta = state.theta.clone().requires_grad_()
    opt = torch.optim.Adam([theta], lr=0.05)
    for x, y in minibatches(tasks.x_train, tasks.y_train, B):
        for _ in range(2):
            loss = learner.objective.loss(apply(learner.model, theta, x), y).mean(1).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        state = learner.step(state, x, y)
        torch.testing.assert_close(state.theta, theta.detach(), rtol=1e-4, atol=1e-5)


def test_maml_meta_gradient_is_second_order_unless_first_order(make_cfg):
    """One inner step θ₁ = θ₀ - α∇L_B(θ₀): the meta-gradient of the query loss at θ₁ wrt θ₀
    equals autograd's with create_graph (second order) and drops the Hessian term when
    first_order."""
    over = 'learner={kind="maml", lr=0.2, model="mlp", hidden=5}'
    learner, prior = build(make_cfg(over, "task.name=nonlinear_regression"))
    tasks = prior.sample(T, B, Q, generator=torch.Generator().manual_seed(2))
    lik, model = learner.objective, learner.model

    def query_loss(theta1):
        return lik.loss(apply(model, theta1, tasks.x_query), tasks.y_query).mean()

    state = learner.step(learner.init(tasks.x_query), tasks.x_train, tasks.y_train)
    (got,) = torch.autograd.grad(query_loss(state.theta), learner.theta0)

    theta0 = learner.theta0.detach().clone().requires_grad_()
    start = theta0.expand(T, -1)  # each task's own inner gradient, (T, P)
    per_task = lik.loss(apply(model, start, tasks.x_train), tasks.y_train)
    (g,) = torch.autograd.grad(per_task.mean(1).sum(), start, create_graph=True)
    (want,) = torch.autograd.grad(query_loss(start - 0.2 * g), theta0)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)

    fo, _ = build(make_cfg(over[:-1] + ", first_order=true}", "task.name=nonlinear_regression"))
    fo.load_state_dict(learner.state_dict())
    state = fo.step(fo.init(tasks.x_query), tasks.x_train, tasks.y_train)
    (fo_grad,) = torch.autograd.grad(query_loss(state.theta), fo.theta0)
    (want_fo,) = torch.autograd.grad(query_loss(start - 0.2 * g.detach()), theta0)
    torch.testing.assert_close(fo_grad, want_fo, rtol=1e-4, atol=1e-6)
    assert not torch.allclose(fo_grad, got, rtol=1e-3)


def test_batch_grad_is_each_tasks_mean_gradient(make_cfg):
    learner, prior = build(make_cfg('learner={kind="maml"}'))
    tasks = prior.sample(T, B, Q, generator=torch.Generator().manual_seed(3))
    theta = torch.randn(T, learner.model.n_params, generator=torch.Generator().manual_seed(4))
    got = batch_grad(learner.model, learner.objective, theta, tasks.x_train, tasks.y_train)
    th = theta.clone().requires_grad_()
    loss = learner.objective.loss(apply(learner.model, th, tasks.x_train), tasks.y_train)
    (want,) = torch.autograd.grad(loss.mean(1).sum(), th)
    torch.testing.assert_close(got, want)


def _random_head(learner, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in update_head(learner).parameters():
            p.normal_(0, 0.1, generator=g)


@pytest.mark.parametrize("state", ["logits", "probs", "latent"])
def test_implicit_queries_do_not_read_each_other(make_cfg, state):
    over = f'learner={{kind="implicit", width=16, depth=2, heads=2, state="{state}"}}'
    learner, prior = build(make_cfg(over, "task.name=linear_classification", "task.classes=3"))
    _random_head(learner, 0)
    tasks = prior.sample(T, K * B, Q, generator=torch.Generator().manual_seed(5))
    batches = list(minibatches(tasks.x_train, tasks.y_train, B))
    together = torch.stack(list(rollout(learner, batches, tasks.x_query)))  # (K+1, T, Q, C)
    assert together.shape == (K + 1, T, Q, 3)
    assert not torch.allclose(together[-1], together[0])
    alone = torch.stack(list(rollout(learner, batches, tasks.x_query[:, :3])))
    torch.testing.assert_close(alone, together[:, :, :3], rtol=1e-5, atol=1e-5)
    # and the order of points inside a mini-batch does not matter
    perm = torch.randperm(B, generator=torch.Generator().manual_seed(6))
    shuffled = [(x[:, perm], y[:, perm]) for x, y in batches]
    again = torch.stack(list(rollout(learner, shuffled, tasks.x_query)))
    torch.testing.assert_close(again, together, rtol=1e-5, atol=1e-5)


def test_implicit_predicts_only_its_own_queries(make_cfg):
    learner, prior = build(make_cfg('learner={kind="implicit", width=16, depth=1, heads=2}'))
    tasks = prior.sample(T, B, Q, generator=torch.Generator().manual_seed(7))
    state = learner.init(tasks.x_query)
    with pytest.raises(InvalidInput, match="initialized with"):
        learner.predict(state, tasks.x_query[:, :2])


def test_implicit_probs_state_needs_classification(make_cfg):
    with pytest.raises(InvalidConfig, match="probs"):
        build(make_cfg('learner={kind="implicit", state="probs"}'))


def test_unknown_learner_kind_is_named(make_cfg):
    with pytest.raises(InvalidConfig, match="learner.kind = 'bogus'"):
        make_cfg('learner={kind="bogus"}')


def test_explicit_decoder_is_trained_jointly_with_the_update(make_cfg):
    learner, prior = build(make_cfg('learner={kind="explicit", width=16, depth=1, latent=8}'))
    _random_head(learner, 1)
    tasks = prior.sample(T, K * B, Q, generator=torch.Generator().manual_seed(8))
    greedy_losses(learner, tasks, B, K).sum().backward()
    decoder = [p.grad for p in learner.decoder.parameters()]
    update = [p.grad for p in learner.update.net.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in decoder + update)


def test_explicit_decoder_reads_z_at_unit_scale_from_the_start(make_cfg):
    """At initialization a unit change of z moves the prediction about as much as a unit change
    of a linear model's weight (|xⱼ| ≈ 0.8), so update and decoder do not start on a plateau."""
    learner, _ = build(make_cfg('learner={kind="explicit", width=16, depth=1, latent=16}'))
    x = torch.randn(256, 3, generator=torch.Generator().manual_seed(10))
    jac = torch.func.jacrev(lambda z: learner.decoder(z, x))(learner.z0.detach())
    assert 0.3 < jac.abs().mean() < 3


def test_full_backprop_reaches_the_initial_state_through_the_steps(make_cfg):
    """Greedy: θ⁽⁰⁾ is trained by the prior's loss alone; full: also through every step."""
    learner, prior = build(make_cfg('learner={kind="maml", lr=0.1}'))
    tasks = prior.sample(T, K * B, Q, generator=torch.Generator().manual_seed(9))
    grads = {}
    for greedy in (True, False):
        losses = greedy_losses(learner, tasks, B, K, greedy)
        (grads[greedy],) = torch.autograd.grad(losses[1:].sum(), learner.theta0)
    assert grads[True].abs().sum() == 0 and grads[False].abs().sum() > 0
