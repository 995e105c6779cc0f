"""Training in bfloat16 (`train.precision`): every kind of learner trains under autocast, its
first loss is float32's up to bfloat16's rounding, and what must stay float32 does
(`iai.models.precision`): gradient signals, curvature and its solve, attention on the CPU."""

import pytest
import torch
from conftest import DEMO, TINY

from iai.config import load_config
from iai.experiment import build
from iai.models.predictors import per_example_grads
from iai.models.set_transformer import attention
from iai.training.loop import iterations

BF16 = torch.autocast("cpu", dtype=torch.bfloat16)
GMM = ["task.name='gaussian_mixtures'", "task.dim=2", "train.tasks=4", "train.steps=2"]
CASES = {
    "parametric with curvature": ['learner={kind="parametric", width=16, depth=1, curvature=true}'],
    "explicit, both signals": ['learner={kind="explicit", width=16, depth=1, latent=8}'],
    "implicit": ['learner={kind="implicit", width=16, depth=1}'],
    "tokens, both signals": [
        'learner={kind="tokens", width=16, depth=1, latents=4, heads=2, signal="both"}'
    ],
    "explicit flow": [*GMM, "learner={kind='flow', regime='explicit', latent=8, probes=2}"],
    "token flow": [*GMM, "learner={kind='flow', regime='tokens', latents=4, probes=2}"],
}


def two_runs(overrides: list[str]):
    """Both precisions' first three training iterations of the same config and seed."""
    out = {}
    for precision in ("float32", "bfloat16"):
        cfg = load_config(DEMO, [*TINY, *overrides, f"train.precision={precision}"])
        learner, prior = build(cfg)
        out[precision] = [next(it) for it in [iterations(cfg, learner, prior)] for _ in range(3)]
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_every_kind_trains_in_bfloat16_near_its_float32_losses(case):
    losses = two_runs(CASES[case])
    for a, b in zip(losses["float32"], losses["bfloat16"], strict=True):
        assert b.dtype == torch.float32 and torch.isfinite(b).all()
        # bfloat16 keeps 8 bits of mantissa: a forward pass moves by about 2⁻⁸ relatively
        assert torch.allclose(a, b, rtol=0.05, atol=0.05), (a, b)


def test_a_precision_outside_the_two_is_refused():
    with pytest.raises(ValueError, match="precision"):
        load_config(DEMO, [*TINY, "train.precision='float16'"])


def test_gradient_signals_stay_float32_under_autocast():
    cfg = load_config(DEMO, [*TINY, 'learner={kind="parametric", width=16, depth=1}'])
    learner, _ = build(cfg)
    theta = torch.randn(2, learner.model.n_params)
    x, y = torch.randn(2, 5, 3), torch.randn(2, 5)
    with BF16:
        grads = per_example_grads(learner.model, learner.objective, theta, x, y)
    assert grads.dtype == torch.float32
    assert torch.allclose(grads, per_example_grads(learner.model, learner.objective, theta, x, y))


def test_attention_under_cpu_autocast_takes_its_softmax_in_float32():
    """Its products in bfloat16, its softmax in float32: float32 attention's result up to
    bfloat16's rounding of the scores and of the output."""
    q, k, v = (torch.randn(2, 2, 5, 4).bfloat16() for _ in range(3))
    with BF16:
        a = attention(q, k, v)
    want = torch.nn.functional.scaled_dot_product_attention(q.float(), k.float(), v.float())
    torch.testing.assert_close(a.float(), want, rtol=0.03, atol=0.03)
    assert attention(q, k, v).dtype == torch.bfloat16  # outside autocast: as given


def test_the_running_curvature_and_the_state_stay_float32_under_autocast():
    """Recursive least squares is exact only in full precision: S and θ stay float32."""
    cfg = load_config(DEMO, [*TINY, CASES["parametric with curvature"][0]])
    learner, _ = build(cfg)
    x, y = torch.randn(2, 4, 3), torch.randn(2, 4)
    with BF16:
        state = learner.step(learner.init(x), x, y)
    assert state.theta.dtype == torch.float32 and state.curvature.dtype == torch.float32
    assert state.curvature.abs().sum() > 0
