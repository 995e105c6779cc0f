"""Fixed models f(x; θ) and likelihoods: batched math against per-task and per-point loops."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from iai import InvalidConfig
from iai.models.decoder import LatentDecoder
from iai.models.predictors import (
    LinearModel,
    MLPModel,
    apply,
    make_model,
    outputs_and_grads,
    per_example_grads,
)
from iai.tasks import TaskConfig
from iai.tasks.mlp import mlp_outputs
from iai.tasks.objective import make_objective

T, B, D, C = 3, 5, 4, 3

CASES = [
    ("linear", "regression"),
    ("linear", "classification"),
    ("mlp", "regression"),
    ("mlp", "classification"),
]


def random_case(model_name: str, kind: str, seed: int):
    out_dim = 1 if kind == "regression" else C
    model = make_model(model_name, D, out_dim, hidden=6, activation="tanh")
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(T, model.n_params, generator=g)
    x = torch.randn(T, B, D, generator=g)
    if kind == "regression":
        y = torch.randn(T, B, generator=g)
    else:
        y = torch.randint(0, C, (T, B), generator=g)
    return model, make_objective(kind, out_dim), theta, x, y


@pytest.mark.parametrize("model_name,kind", CASES)
def test_per_example_grads_equal_a_loop_of_autograd(model_name, kind):
    model, lik, theta, x, y = random_case(model_name, kind, seed=0)
    got = per_example_grads(model, lik, theta, x, y)
    assert got.shape == (T, B, model.n_params)
    for t in range(T):
        for i in range(B):
            th = theta[t].clone().requires_grad_()
            loss = lik.loss(model(th, x[t, i : i + 1]), y[t, i : i + 1]).sum()
            (expected,) = torch.autograd.grad(loss, th)
            torch.testing.assert_close(got[t, i], expected, rtol=1e-5, atol=1e-6)
    assert got.abs().sum() > 0


def test_one_pass_gives_the_outputs_and_gradients_of_two_and_backpropagates_alike():
    """The `both` signal's single pass through a learned decoder: the same outputs, per-example
    gradients, and gradients of the decoder's own weights through both, as apply and
    per_example_grads give them separately."""
    objective = make_objective("classification", C)
    decoder = LatentDecoder(D, 6, C, 8, 2, True)
    g = torch.Generator().manual_seed(4)
    z, x = torch.randn(T, 6, generator=g), torch.randn(T, B, D, generator=g)
    y = torch.randint(0, C, (T, B), generator=g)
    weights = list(decoder.parameters())
    out, grads = outputs_and_grads(decoder, objective, z, x, y)
    one = torch.autograd.grad((out.square().sum() + grads.square().sum()), weights)
    out2, grads2 = apply(decoder, z, x), per_example_grads(decoder, objective, z, x, y)
    two = torch.autograd.grad((out2.square().sum() + grads2.square().sum()), weights)
    torch.testing.assert_close(out, out2)
    torch.testing.assert_close(grads, grads2)
    for a, b in zip(one, two, strict=True):
        torch.testing.assert_close(a, b)
    assert all(a.abs().sum() > 0 for a in one)


@pytest.mark.parametrize("model_name,kind", CASES)
def test_apply_equals_per_task_calls(model_name, kind):
    model, _, theta, x, _ = random_case(model_name, kind, seed=1)
    got = apply(model, theta, x)
    assert got.shape == (T, B, model.out_dim)
    for t in range(T):
        torch.testing.assert_close(got[t], model(theta[t], x[t]), rtol=1e-6, atol=1e-6)


def test_linear_model_is_x_w_plus_bias():
    model = LinearModel(D, C)
    g = torch.Generator().manual_seed(2)
    theta, x = torch.randn(model.n_params, generator=g), torch.randn(B, D, generator=g)
    w = theta.double().numpy().reshape(D + 1, C)
    expected = np.concatenate([x.double().numpy(), np.ones((B, 1))], 1) @ w
    np.testing.assert_allclose(model(theta, x).numpy(), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_mlp_model_is_the_family_of_the_nonlinear_priors(activation):
    """θ = [vec W₁, vec W₂] of a prior network gives the prior's own f(x)."""
    cfg = TaskConfig(name="nonlinear_regression", dim=D, hidden=6, activation=activation)
    g = torch.Generator().manual_seed(3)
    w = {"W1": torch.randn(T, D + 1, 6, generator=g), "W2": torch.randn(T, 6, C, generator=g)}
    x = torch.randn(T, B, D, generator=g)
    model = MLPModel(D, C, hidden=6, activation=activation)
    theta = torch.cat([w["W1"].flatten(1), w["W2"].flatten(1)], 1)
    assert theta.shape == (T, model.n_params)
    torch.testing.assert_close(apply(model, theta, x), mlp_outputs(cfg, w, x))


def test_objective_losses_are_half_squared_error_and_cross_entropy():
    g = torch.Generator().manual_seed(4)
    out, y = torch.randn(T, B, 1, generator=g), torch.randn(T, B, generator=g)
    reg = make_objective("regression", 1)
    torch.testing.assert_close(reg.loss(out, y), 0.5 * (out[..., 0] - y) ** 2)
    torch.testing.assert_close(reg.residual(out, y), y[..., None] - out)

    logits, labels = torch.randn(T, B, C, generator=g), torch.randint(0, C, (T, B), generator=g)
    cls = make_objective("classification", C)
    expected = -logits.log_softmax(-1).gather(-1, labels[..., None])[..., 0]
    torch.testing.assert_close(cls.loss(logits, labels), expected)
    onehot = F.one_hot(labels, C).float()
    torch.testing.assert_close(cls.target_features(labels), onehot)
    torch.testing.assert_close(cls.residual(logits, labels), onehot - logits.softmax(-1))
    assert torch.equal(cls.prediction(logits), logits) and torch.equal(
        reg.prediction(out), out[..., 0]
    )


def test_unknown_model_is_named():
    with pytest.raises(InvalidConfig, match="unknown model 'cnn'"):
        make_model("cnn", D, 1, hidden=4, activation="tanh")


def _reference_blocks(net, h, allowed):
    """The set transformer written out with a dense attention mask (True: may attend)."""
    for block in net.blocks:
        T, S, W = h.shape
        qkv = block.qkv(block.norm1(h)).view(T, S, 3, block.heads, W // block.heads)
        q, k, v = (t.transpose(1, 2) for t in qkv.unbind(2))
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        h = h + block.proj(a.transpose(1, 2).reshape(T, S, W))
        h = h + block.mlp(block.norm2(h))
    return net.norm(h)


def test_set_transformer_keys_and_read_equal_a_masked_full_pass():
    from iai.models.set_transformer import SetTransformer

    torch.manual_seed(0)
    net = SetTransformer(16, depth=3, heads=2)
    h = torch.randn(3, 9, 16)
    full = _reference_blocks(net, h, None)
    torch.testing.assert_close(net(h), full, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(net(h, read=slice(0, 2)), full[:, :2], rtol=1e-5, atol=1e-5)
    # keys=4: every token attends to the first four only
    allowed = torch.zeros(9, 9, dtype=torch.bool)
    allowed[:, :4] = True
    masked = _reference_blocks(net, h, allowed)
    got = net(h, keys=4, read=slice(4, None))
    torch.testing.assert_close(got, masked[:, 4:], rtol=1e-5, atol=1e-5)
