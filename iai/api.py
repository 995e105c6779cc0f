"""The public API: load a trained learner, adapt it to tasks, stream mini-batches through it.

Inputs are checked here, at the edge, so errors name the argument and the problem; the math
below assumes clean tensors.
"""

from collections.abc import Iterable, Iterator
from pathlib import Path

import torch

from iai.checkpoint import load_weights, read_config
from iai.config import from_dict
from iai.errors import CheckpointError, InvalidConfig, InvalidInput
from iai.learners import Learner
from iai.rollout import rollout
from iai.train import build


def load(directory: str | Path) -> Learner:
    """The trained learner in a checkpoint directory (config.json + model.safetensors)."""
    directory = Path(directory)
    config, _ = read_config(directory)
    try:
        cfg = from_dict(config)
    except InvalidConfig as e:
        raise CheckpointError(
            f"{str(directory / 'config.json')!r} holds an invalid config: {e}"
        ) from e
    learner, _ = build(cfg)
    load_weights(directory, learner)
    learner.eval()
    return learner


def _tensor(name: str, value, ndim: int, dtype: torch.dtype | None = None) -> torch.Tensor:
    try:
        t = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as e:
        raise InvalidInput(f"{name} cannot be read as a tensor: {e}") from e
    if t.dim() != ndim:
        raise InvalidInput(f"{name} must have {ndim} dimensions, got shape {tuple(t.shape)}")
    if dtype is not None:
        t = t.to(dtype)
    if t.is_floating_point() and not torch.isfinite(t).all():
        raise InvalidInput(f"{name} contains NaN or inf")
    return t


def _x(learner: Learner, name: str, x) -> torch.Tensor:
    x = _tensor(name, x, 3, torch.get_default_dtype())
    if x.shape[-1] != learner.dim:
        raise InvalidInput(f"{name} has {x.shape[-1]} features; this learner takes {learner.dim}")
    if x.shape[1] == 0:
        raise InvalidInput(f"{name} has no points")
    return x


def _y(learner: Learner, name: str, y, shape: tuple[int, int]) -> torch.Tensor:
    lik = learner.likelihood
    if lik.kind == "regression":
        y = _tensor(name, y, 2, torch.get_default_dtype())
    else:
        y = _tensor(name, y, 2)
        if y.is_floating_point() or y.dtype == torch.bool:
            raise InvalidInput(f"{name} must hold integer class labels, got {y.dtype}")
        if y.numel() and (y.min() < 0 or y.max() >= lik.out_dim):
            raise InvalidInput(f"{name} holds labels outside [0, {lik.out_dim})")
        y = y.long()
    if tuple(y.shape) != shape:
        raise InvalidInput(f"{name} has shape {tuple(y.shape)}; the inputs imply {shape}")
    return y


def stream(
    learner: Learner, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], x_query: torch.Tensor
) -> Iterator[torch.Tensor]:
    """Predictions for x_query (T, Q, D) before any batch, then after each (x (T, B, D), y (T, B)).

    Yields (T, Q) predictive means for regression, (T, Q, C) logits for classification. A
    batch is released once its step is taken, so memory does not grow with the stream.
    Batches may differ in size; each is checked as it arrives.
    """
    x_query = _x(learner, "x_query", x_query)
    T = x_query.shape[0]

    def checked() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for k, batch in enumerate(batches):
            try:
                x, y = batch
            except (TypeError, ValueError) as e:
                raise InvalidInput(f"batch {k} is not an (x, y) pair") from e
            x = _x(learner, f"batch {k} x", x)
            if x.shape[0] != T:
                raise InvalidInput(f"batch {k} has {x.shape[0]} tasks; x_query has {T}")
            yield x, _y(learner, f"batch {k} y", y, tuple(x.shape[:2]))

    for out in rollout(learner, checked(), x_query):
        yield learner.likelihood.mean(out)


def predict_steps(
    learner: Learner,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_query: torch.Tensor,
    batch_size: int = 16,
) -> torch.Tensor:
    """Predictions for the queries after each step, step 0 (the prior) first.

    x_train (T, N, D), y_train (T, N) floats or int64 labels, x_query (T, Q, D) ->
    (K + 1, T, Q) predictive means or (K + 1, T, Q, C) logits. The points are read in order,
    batch_size at a time: K = N // batch_size when it divides N; otherwise the remaining
    N mod batch_size points form one last, smaller step (K = ⌈N / batch_size⌉), so no point
    is dropped.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInput(f"batch_size must be an integer ≥ 1, got {batch_size!r}")
    x_train = _x(learner, "x_train", x_train)
    y_train = _y(learner, "y_train", y_train, tuple(x_train.shape[:2]))
    x_query = _x(learner, "x_query", x_query)
    if x_query.shape[0] != x_train.shape[0]:
        raise InvalidInput(f"x_query has {x_query.shape[0]} tasks; x_train has {x_train.shape[0]}")
    B, N = batch_size, x_train.shape[1]
    batches = ((x_train[:, i : i + B], y_train[:, i : i + B]) for i in range(0, N, B))
    return torch.stack(list(stream(learner, batches, x_query)))
