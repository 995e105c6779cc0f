"""The public API: load a trained learner, adapt it to data, predict, stream, train.

Inputs are checked at this edge (`iai.inputs`), so errors name the argument and the problem;
the math below assumes clean tensors. Everything here is light to import: training code is
imported only when `train` is called.
"""

import dataclasses
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import torch

import iai.inputs as inputs
from iai.checkpoint import load_weights, read_config
from iai.checkpoint.read import check_weights
from iai.config import from_dict
from iai.errors import CheckpointError, InvalidConfig, InvalidInput
from iai.experiment import build, is_signature
from iai.learners import Learner, State
from iai.rollout import adapt_stream, minibatches, rollout

# The package's own checkpoints, trusted as its code is. iai.load skips the meta-device check
# for them: arithmetic on meta tensors makes torch import torch._dynamo, about a second the
# first time in a process, which every iai.sklearn estimator's first fit paid.
PACKAGED = Path(__file__).resolve().parent / "pretrained"


def load(directory: str | Path, *, model=None) -> Learner:
    """The trained learner in a checkpoint directory (config.json + model.safetensors).

    It carries `config` (the experiment it was trained by: its prior, batch size, steps) and
    `prior` (None for a learner trained on a prior defined outside the package). `model`:
    the fixed model f(x; θ) defined in Python that the learner was trained with, if any.
    """
    if not isinstance(directory, str | os.PathLike):
        raise InvalidInput(
            f"directory must be a path (str or pathlib.Path), got {type(directory).__name__}"
        )
    directory = Path(directory)
    config, _, signature = read_config(directory)
    table = config.get("learner") if isinstance(config, dict) else None
    custom = isinstance(table, dict) and table.get("model") == "custom"
    if signature is not None and not is_signature(signature):
        raise CheckpointError(
            f"{str(directory / 'config.json')!r} is corrupt: its prior signature "
            f"{signature!r} is not a table of kind (str), dim and out_dim (ints ≥ 1), shipped "
            "(bool)"
        )
    if custom and model is None:
        raise CheckpointError(
            f"{str(directory)!r} holds a learner trained with a fixed model f(x; θ) defined in "
            "Python, which a checkpoint does not store: pass it as iai.load(directory, model=...)"
        )
    if model is not None and not custom:
        raise InvalidInput(
            f"model= is for learners trained with a model of your own; {str(directory)!r} "
            "uses a shipped one (its learner.model is not 'custom')"
        )
    checked = directory.resolve().parent != PACKAGED
    try:
        cfg = from_dict(config)
        if checked:
            shape, _ = build(cfg, signature=signature, model=model, meta=True)
    except InvalidConfig as e:
        raise CheckpointError(
            f"{str(directory / 'config.json')!r} holds an invalid config: {e}"
        ) from e
    if checked:
        # The weights' header against the learner on the meta device: a config that asks for
        # more than the file holds is refused before anything is allocated (iai.checkpoint.read).
        check_weights(directory, shape)
    learner, _ = build(cfg, signature=signature, model=model)
    load_weights(directory, learner)
    learner.eval()
    return learner


def train(
    config: str | Path | None,
    out: str | Path,
    *,
    prior=None,
    model=None,
    overrides: Sequence[str] = (),
    resume: bool = False,
    progress: bool = True,
    threads: int | None = None,
) -> Learner:
    """Train the learner a TOML config describes (with `overrides`, the keys of `iai train
    --set`) and save it under `out`; returns it, ready to use.

    `prior`: any object with `kind`, `dim`, `out_dim` and `sample(n_tasks, n_points, n_query,
    generator=...) -> Tasks`; it replaces the config's [task] (its dim, kind and out_dim win).
    `model`: a fixed model f(x; θ) for the parametric learner, any object with an int
    `n_params` and `__call__(theta (P,), x (N, D)) -> (N, out_dim)` for one task (batched by
    torch.func.vmap, so written with torch operations); the config's learner.model becomes
    'custom' and `iai.load(out, model=...)` takes the same object back.
    `threads`: torch's CPU threads while it trains (default: OMP_NUM_THREADS if set, else the
    CPUs it may use less one, at most 4 and at most torch's count; see
    `iai.training.threads`); the caller's count comes back afterwards.
    The run owns `out` while it trains (`iai.checkpoint.lock`): another run on it is refused with
    CheckpointError naming the holder, as is an `out` that cannot be written (a file, a full or
    read-only disk), with the path and the reason; the last complete checkpoint stays.
    """
    from iai.config import load_config
    from iai.experiment import with_prior
    from iai.training.loop import train as run

    if not isinstance(out, str | os.PathLike):
        raise InvalidInput(f"out must be a directory path, got {type(out).__name__}")
    if isinstance(overrides, str | bytes):
        raise InvalidConfig(f"overrides must be a list of 'key=value' strings, got {overrides!r}")
    try:
        overrides = list(overrides)
    except TypeError:
        raise InvalidConfig(
            f"overrides must be a list of 'key=value' strings, got {type(overrides).__name__}"
        ) from None
    cfg = load_config(config, overrides)
    if prior is not None:
        cfg = with_prior(cfg, prior)
        inputs.check_prior(prior)
    if model is not None:
        if cfg.learner.kind != "parametric":
            raise InvalidConfig(
                f"a fixed model f(x; θ) of your own plugs into the parametric learner; this "
                f"config's learner.kind is {cfg.learner.kind!r}"
            )
        cfg = replace(cfg, learner=replace(cfg.learner, model="custom"))
    return run(
        cfg, Path(out), resume=resume, progress=progress, prior=prior, model=model, threads=threads
    )


def adapt(
    learner: Learner,
    x_train,
    y_train,
    *,
    x_query=None,
    batch_size: int | None = None,
) -> State:
    """The learner's state after reading a task's points, batch_size at a time.

    x_train (T, N, D), y_train (T, N). The state (θ, z, or the queries' predictions) is a
    value: `predict(learner, state, x_query)` then answers any queries (parametric,
    explicit and classical learners). An implicit learner refines predictions for fixed
    queries, so it needs `x_query` here and predicts those queries only. batch_size
    defaults to the one the learner was trained with.
    """
    inputs.predictive(learner, "iai.adapt")
    B = inputs.batch_size_of(learner, batch_size)
    x_train = inputs.features(learner, "x_train", x_train)
    y_train = inputs.targets(learner, "y_train", y_train, x_train)
    inputs.warn_if_unlike_prior(learner, x_train, y_train, stacklevel=3)
    if x_query is None:
        if learner.queries_in_state:
            raise InvalidInput(
                "this learner (implicit) refines predictions for given queries: pass x_query "
                "to adapt, then predict those same queries"
            )
        x_query = x_train[:, :0]  # a learner that does not read its queries needs only T
    else:
        x_query = inputs.queries(learner, x_query, x_train.shape[0])
    state = adapt_stream(learner, minibatches(x_train, y_train, B), x_query)
    fields = [getattr(state, f.name) for f in dataclasses.fields(state)]
    if not all(torch.isfinite(v).all() for v in fields if isinstance(v, torch.Tensor)):
        inputs.refuse_non_finite(
            "the adapted state is",
            {"x_train": inputs.largest(x_train), "y_train": inputs.largest(y_train)},
        )
    return state


def predict(learner: Learner, state: State, x_query) -> torch.Tensor:
    """Predictions for x_query (T, Q, D) from an adapted state: (T, Q) predictive means for
    regression, (T, Q, C) logits for classification."""
    inputs.predictive(learner, "iai.predict")
    x_query = inputs.features(learner, "x_query", x_query)
    inputs.check_state(learner, state, x_query)
    with torch.inference_mode():
        out = learner.objective.prediction(learner.predict(state, x_query))
    if not torch.isfinite(out).all():
        inputs.refuse_non_finite("the predictions are", {"x_query": inputs.largest(x_query)})
    return out


def stream(
    learner: Learner, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], x_query
) -> Iterator[torch.Tensor]:
    """Predictions for x_query (T, Q, D) before any batch, then after each (x (T, B, D), y (T, B)).

    Yields (T, Q) predictive means for regression, (T, Q, C) logits for classification. A
    batch is released once its step is taken, so memory does not grow with the stream.
    Batches may differ in size; each is checked as it arrives.
    """
    inputs.predictive(learner, "iai.stream")
    x_query = inputs.features(learner, "x_query", x_query)
    largest = {"x_query": inputs.largest(x_query)}
    return _predictions(
        learner, _checked(learner, batches, x_query.shape[0], largest), x_query, largest
    )


def _checked(
    learner: Learner, batches: Iterable, n_tasks: int, largest: dict[str, float]
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Each of a stream's batches checked as it arrives, the first against the prior; the
    largest magnitudes seen go into `largest` (for the message should the outputs overflow)."""
    try:
        batches = iter(batches)
    except TypeError:
        raise InvalidInput(
            f"batches must be an iterable of (x, y) pairs, got {type(batches).__name__}"
        ) from None
    for k, batch in enumerate(batches):
        try:
            x, y = batch
        except (TypeError, ValueError) as e:
            raise InvalidInput(f"batch {k} is not an (x, y) pair") from e
        x = inputs.features(learner, f"batch {k} x", x)
        if x.shape[0] != n_tasks:
            raise InvalidInput(f"batch {k} has {x.shape[0]} tasks; x_query has {n_tasks}")
        y = inputs.targets(learner, f"batch {k} y", y, x)
        for name, v in (("batches' x", x), ("batches' y", y)):
            largest[name] = max(largest.get(name, 0.0), inputs.largest(v))
        if k == 0:
            # the frames above: this, rollout and its inference_mode wrapper, _predictions,
            # then the caller's loop (a test checks the warning points there)
            inputs.warn_if_unlike_prior(learner, x, y, stacklevel=6)
        yield x, y


def _predictions(
    learner: Learner, batches: Iterable, x_query: torch.Tensor, largest: dict[str, float]
) -> Iterator[torch.Tensor]:
    """The public predictions before any batch and after each of checked `batches`; outputs
    that overflow are refused, naming the inputs' `largest` magnitudes."""
    for k, out in enumerate(rollout(learner, batches, x_query)):
        out = learner.objective.prediction(out)
        if not torch.isfinite(out).all():
            inputs.refuse_non_finite(f"the predictions after step {k} are", largest)
        yield out


def predict_steps(
    learner: Learner, x_train, y_train, x_query, batch_size: int | None = None
) -> torch.Tensor:
    """Predictions for the queries after each step, step 0 (the prior) first.

    x_train (T, N, D), y_train (T, N) floats or int64 labels, x_query (T, Q, D) ->
    (K + 1, T, Q) predictive means or (K + 1, T, Q, C) logits, K = ⌈N / batch_size⌉: the
    points are read in order, batch_size at a time, and a remainder forms one last, smaller
    step (`iai.rollout.minibatches`). batch_size defaults to the one the learner was trained
    with.

    Inputs without tasks, points or queries, with NaN or inf, or so large that the
    predictions overflow (the message gives each input's largest magnitude) raise
    InvalidInput: never an empty or non-finite result.
    """
    inputs.predictive(learner, "iai.predict_steps")
    B = inputs.batch_size_of(learner, batch_size)
    x_train = inputs.features(learner, "x_train", x_train)
    y_train = inputs.targets(learner, "y_train", y_train, x_train)
    x_query = inputs.queries(learner, x_query, x_train.shape[0])
    inputs.warn_if_unlike_prior(learner, x_train, y_train, stacklevel=3)
    named = {"x_query": x_query, "x_train": x_train, "y_train": y_train}
    largest = {name: inputs.largest(v) for name, v in named.items()}
    steps = _predictions(learner, minibatches(x_train, y_train, B), x_query, largest)
    return torch.stack(list(steps))
