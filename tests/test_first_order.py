"""`learner.first_order`: the explicit learners' ∇z signal a constant to training. The step's
values stay the same; only the path from the signal back to the learned decoder (or field)
goes, so the weights a recipe trains differ but every committed checkpoint evaluates as it
did. And the decoder, called on a batch of tasks, equals itself task by task."""

import pytest
import torch
from conftest import randomize_head
from torch.func import vmap

from iai.config import load_config
from iai.errors import InvalidConfig
from iai.experiment import build
from iai.models.decoder import LatentDecoder

FLOW = [
    "task.name='gaussian_mixtures'",
    "task.dim=2",
    "learner.kind='flow'",
    "learner.regime='explicit'",
    "learner.signal='both'",
    "learner.width=16",
    "learner.depth=1",
    "learner.heads=2",
    "learner.latent=8",
    "learner.field_hidden=16",
    "learner.probes=2",
]
# the gradient alone: the update reads nothing else of the decoder
EXPLICIT = [
    "task.dim=3",
    "learner.kind='explicit'",
    "learner.signal='grad'",
    "learner.latent=8",
    "learner.width=16",
    "learner.depth=1",
    "learner.heads=2",
    "learner.chunk=8",
    "learner.decoder_hidden=16",
]


def built(base: list[str], first_order: bool):
    overrides = [*base, f"learner.first_order={str(first_order).lower()}"]
    learner, prior = build(load_config(None, overrides))
    randomize_head(learner, 0)
    return learner, prior


def next_state(learner, prior):
    """The state after one batch from z⁽⁰⁾."""
    tasks = prior.sample(3, 6, 4, generator=torch.Generator().manual_seed(1))
    return learner.step(learner.init(tasks.x_query), tasks.x_train, tasks.y_train)


@pytest.mark.parametrize("kind", ["flow", "explicit"])
def test_first_order_keeps_the_step_and_cuts_the_path_to_the_decoder(kind):
    z = {}
    for first_order in (False, True):
        if kind == "flow":
            learner, prior = built(FLOW, first_order)
            params = list(learner.field.parameters())
            z[first_order] = next_state(learner, prior).z  # (T, L)
        else:
            learner, prior = built(EXPLICIT, first_order)
            params = list(learner.decoder.parameters())
            z[first_order] = next_state(learner, prior).theta  # z, (T, L)
        grads = torch.autograd.grad(z[first_order].square().sum(), params, allow_unused=True)
        reached = any(g is not None and g.abs().sum() > 0 for g in grads)
        assert reached is not first_order  # second order: through ∇z into the decoder
    torch.testing.assert_close(z[True], z[False], rtol=0, atol=0)


def test_first_order_without_a_gradient_signal_is_refused():
    with pytest.raises(InvalidConfig, match="no gradient to hold constant"):
        load_config(None, [*EXPLICIT, "learner.signal='data'", "learner.first_order=true"])
    with pytest.raises(InvalidConfig, match="first_order = true needs learner.regime"):
        load_config(None, [*FLOW[:4], "learner.regime='implicit'", "learner.first_order=true"])


def test_the_decoder_on_a_batch_of_tasks_equals_it_task_by_task():
    g = torch.Generator().manual_seed(0)
    decoder = LatentDecoder(dim=3, latent=5, out_dim=2, hidden=16, depth=2)
    z, x = torch.randn(4, 5, generator=g), torch.randn(4, 7, 3, generator=g)
    torch.testing.assert_close(decoder(z, x), vmap(decoder)(z, x))
