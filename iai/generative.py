"""The public API of generative learners: samples and densities after chosen steps.

A generative learner reads a task's samples x_context (T, N, D) batch_size at a time, like any
learner, and after step k answers with samples (`sample_steps`) or log densities
(`log_prob_steps`) of the distribution it has inferred. The context is read once, in order,
in the mini-batches of `iai.rollout.minibatches` (the last one smaller if B does not divide
N); only the current state is held, so the explicit and parametric learners adapt in flat
memory whatever N (the implicit flow's state is the context it has read: see
`iai.learners.flow`).
"""

from collections.abc import Sequence

import torch

import iai.inputs as inputs
from iai.errors import InvalidInput
from iai.learners import GenerativeLearner, Learner
from iai.rollout import minibatches

# the most samples (tasks × n_samples) one call draws a step: the flows' working memory is
# about 3 kB a sample (peak RSS at 2¹⁶ and 2¹⁸ samples of checkpoints/gmm-2d and letters),
# so this bounds it near 3 GB
MAX_SAMPLES = 2**20


def sample_steps(
    learner: Learner,
    x_context,
    n_samples: int,
    *,
    batch_size: int | None = None,
    steps: Sequence[int] | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Samples after k mini-batches for each k in `steps`: x_context (T, N, D) ->
    (len(steps), T, n_samples, D).

    `steps` defaults to every k from 0 (the learner's prior, before any sample) to
    K = ⌈N / batch_size⌉, and must lie in that range; batch_size defaults to the trained one.
    `generator` (a CPU one; torch's global one if None) draws the noise the samples start
    from, fresh for each step in the order of `steps`: the same call gives the same samples,
    and a step's samples depend on which steps are asked before it."""
    _generative(learner, "iai.sample_steps")
    n = inputs.positive_int("n_samples", n_samples)
    if generator is not None and (
        not isinstance(generator, torch.Generator) or generator.device.type != "cpu"
    ):
        raise InvalidInput(f"generator must be a CPU torch.Generator, got {generator!r}")
    x = inputs.features(learner, "x_context", x_context)
    if x.shape[0] * n > MAX_SAMPLES:
        raise InvalidInput(
            f"{x.shape[0]} tasks × n_samples = {n} is {x.shape[0] * n:,} samples a step, beyond "
            f"the {MAX_SAMPLES:,} one call draws (the flow's working memory grows with them): "
            "draw them in several calls, each with its own generator state"
        )
    inputs.warn_if_unlike_samples(learner, x, stacklevel=3)
    states = _states(learner, x, batch_size, steps)
    with torch.no_grad():
        out = torch.stack([learner.sample(s, n, generator) for s in states])
    if not torch.isfinite(out).all():
        inputs.refuse_non_finite("the samples are", {"x_context": inputs.largest(x)})
    return out


def log_prob_steps(
    learner: Learner,
    x_context,
    x_eval,
    *,
    batch_size: int | None = None,
    steps: Sequence[int] | None = None,
) -> torch.Tensor:
    """Log densities at x_eval (T, M, D) after k mini-batches of x_context (T, N, D), for each
    k in `steps` (as in `sample_steps`): -> (len(steps), T, M). Exact for the mixture learner;
    for flows, through the ODE's instantaneous change of variables."""
    _generative(learner, "iai.log_prob_steps")
    x = inputs.features(learner, "x_context", x_context)
    inputs.warn_if_unlike_samples(learner, x, stacklevel=3)
    x_eval = inputs.features(learner, "x_eval", x_eval)
    states = _states(learner, x, batch_size, steps, n_tasks=x_eval.shape[0])
    with torch.no_grad():  # a flow's divergence turns autograd on for itself alone
        out = torch.stack([learner.log_prob(s, x_eval) for s in states])
    if not torch.isfinite(out).all():
        largest = {"x_context": inputs.largest(x), "x_eval": inputs.largest(x_eval)}
        inputs.refuse_non_finite("the log densities are", largest)
    return out


def _generative(learner: Learner, call: str) -> None:
    """InvalidInput unless `learner` is a generative learner; a predictive one is pointed to
    predict_steps."""
    inputs.loaded(learner, call)
    if not isinstance(learner, GenerativeLearner):
        raise InvalidInput(
            "sample_steps and log_prob_steps are for generative learners (trained on a density "
            "task: learner.kind 'flow' or 'mixture'); this one predicts targets: use "
            "iai.predict_steps"
        )


def _states(
    learner: Learner,
    x: torch.Tensor,
    batch_size: int | None,
    steps: Sequence[int] | None,
    n_tasks: int | None = None,
) -> list:
    """The learner's state after each of `steps` mini-batches of the checked context x
    (T, N, D), in the order of `steps`, from one pass that stops at the last step asked."""
    B = inputs.batch_size_of(learner, batch_size)
    if n_tasks is not None and x.shape[0] != n_tasks:
        raise InvalidInput(f"x_eval has {n_tasks} tasks; x_context has {x.shape[0]}")
    K = -(-x.shape[1] // B)
    wanted = list(range(K + 1)) if steps is None else inputs.steps_within(steps, K, B, x.shape[1])
    with torch.no_grad():
        # no queries to refine: the state is what the learner keeps of the samples read
        state = learner.init(x.new_zeros(x.shape[0], 0, 2 * learner.dim + 1))
        at = {0: state}
        for k, (xb, _) in enumerate(minibatches(x, None, B), 1):
            if k > max(wanted):
                break
            state = learner.step(state, xb)
            if k in wanted:
                at[k] = state
    return [at[k] for k in wanted]
