"""The public API: load a trained learner, adapt it to data, predict, stream, train.

Inputs are checked here, at the edge, so errors name the argument and the problem; the math
below assumes clean tensors. Everything here is light to import: training code is imported
only when `train` is called.
"""

import dataclasses
import operator
import os
import warnings
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import torch

from iai.checkpoint import load_weights, read_config
from iai.config import from_dict
from iai.errors import CheckpointError, IAIError, InputWarning, InvalidConfig, InvalidInput
from iai.experiment import build
from iai.learners import Learner, State
from iai.rollout import adapt_stream, minibatches, rollout


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
    if signature is not None and not _is_signature(signature):
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
    try:
        cfg = from_dict(config)
        learner, _ = build(cfg, signature=signature, model=model)
    except InvalidConfig as e:
        raise CheckpointError(
            f"{str(directory / 'config.json')!r} holds an invalid config: {e}"
        ) from e
    load_weights(directory, learner)
    learner.eval()
    return learner


def _is_signature(sig) -> bool:
    """Whether `sig` has the form `iai.experiment.prior_signature` writes."""

    def count(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 1

    return (
        isinstance(sig, dict)
        and isinstance(sig.get("shipped", True), bool)
        and isinstance(sig.get("name", ""), str)
        and (
            sig.get("shipped", True)
            or (
                isinstance(sig.get("kind"), str)
                and count(sig.get("dim"))
                and count(sig.get("out_dim"))
            )
        )
    )


def train(
    config: str | Path | None,
    out: str | Path,
    *,
    prior=None,
    model=None,
    overrides: Sequence[str] = (),
    resume: bool = False,
    progress: bool = True,
) -> Learner:
    """Train the learner a TOML config describes (with `overrides`, the keys of `iai train
    --set`) and save it under `out`; returns it, ready to use.

    `prior`: any object with `kind`, `dim`, `out_dim` and `sample(n_tasks, n_points, n_query,
    generator=...) -> Tasks`; it replaces the config's [task] (its dim, kind and out_dim win).
    `model`: a fixed model f(x; θ) for the parametric learner, any object with an int
    `n_params` and `__call__(theta (P,), x (N, D)) -> (N, out_dim)` for one task (batched by
    torch.func.vmap, so written with torch operations); the config's learner.model becomes
    'custom' and `iai.load(out, model=...)` takes the same object back.
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
        _check_prior(prior)
    if model is not None:
        if cfg.learner.kind != "parametric":
            raise InvalidConfig(
                f"a fixed model f(x; θ) of your own plugs into the parametric learner; this "
                f"config's learner.kind is {cfg.learner.kind!r}"
            )
        cfg = replace(cfg, learner=replace(cfg.learner, model="custom"))
    return run(cfg, Path(out), resume=resume, progress=progress, prior=prior, model=model)


def _check_prior(prior) -> None:
    """InvalidInput unless a small draw from a user prior has the form its signature promises:
    Tasks of finite inputs (T, N, dim) and (T, Q, dim), and targets its objective accepts."""
    from iai.tasks.base import Tasks
    from iai.tasks.objective import objective_of

    objective, D = objective_of(prior), int(prior.dim)
    call = "prior.sample(2, 3, 2, generator=...)"
    try:
        tasks = prior.sample(2, 3, 2, generator=torch.Generator().manual_seed(0))
    except IAIError:
        raise
    except Exception as e:
        raise InvalidInput(f"{call} failed: {type(e).__name__}: {e}") from e
    if not isinstance(tasks, Tasks):
        raise InvalidInput(f"{call} must return iai.tasks.base.Tasks, got {type(tasks).__name__}")
    for name, n in {"x_train": 3, "x_query": 2}.items():
        x = getattr(tasks, name)
        if not x.is_floating_point() or tuple(x.shape) != (2, n, D):
            raise InvalidInput(
                f"{call}.{name} must be floats of shape (2, {n}, {D}) (the prior's dim is "
                f"{D}), got {x.dtype} {tuple(x.shape)}"
            )
        if not torch.isfinite(x).all():
            raise InvalidInput(f"{call}.{name} contains NaN or inf")
    for name, n in {"y_train": 3, "y_query": 2}.items():
        if getattr(tasks, name) is not None:
            objective.targets(f"{call}.{name}", getattr(tasks, name), (2, n))


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
    B = _batch_size(learner, batch_size)
    x_train = _x(learner, "x_train", x_train)
    y_train = _y(learner, "y_train", y_train, x_train)
    _warn_if_unlike_prior(learner, x_train, y_train, stacklevel=3)
    if x_query is None:
        if getattr(learner, "queries_in_state", False):
            raise InvalidInput(
                "this learner (implicit) refines predictions for given queries: pass x_query "
                "to adapt, then predict those same queries"
            )
        x_query = x_train[:, :0]  # a learner that does not read its queries needs only T
    else:
        x_query = _queries(learner, x_query, x_train.shape[0])
    state = adapt_stream(learner, minibatches(x_train, y_train, B), x_query)
    fields = [getattr(state, f.name) for f in dataclasses.fields(state)]
    if not all(torch.isfinite(v).all() for v in fields if isinstance(v, torch.Tensor)):
        _not_finite(
            "the adapted state is", {"x_train": _largest(x_train), "y_train": _largest(y_train)}
        )
    return state


def predict(learner: Learner, state: State, x_query) -> torch.Tensor:
    """Predictions for x_query (T, Q, D) from an adapted state: (T, Q) predictive means for
    regression, (T, Q, C) logits for classification."""
    x_query = _x(learner, "x_query", x_query)
    _check_state(learner, state, x_query)
    with torch.inference_mode():
        out = learner.objective.prediction(learner.predict(state, x_query))
    if not torch.isfinite(out).all():
        _not_finite("the predictions are", {"x_query": _largest(x_query)})
    return out


def _check_state(learner: Learner, state, x_query: torch.Tensor) -> None:
    """InvalidInput unless `state` is one of this learner's states for x_query's tasks."""
    with torch.inference_mode():
        fresh = learner.init(x_query)
    if type(state) is not type(fresh):
        raise InvalidInput(
            f"state must be what iai.adapt returned for this learner (a "
            f"{type(fresh).__name__}), got {type(state).__name__}"
        )
    for f in dataclasses.fields(fresh):
        ours, theirs = getattr(fresh, f.name), getattr(state, f.name)
        if not isinstance(ours, torch.Tensor):
            continue
        if not isinstance(theirs, torch.Tensor) or theirs.shape[:1] != ours.shape[:1]:
            shape = tuple(getattr(theirs, "shape", ()))
            raise InvalidInput(
                f"state holds {shape[0] if shape else 'no'} tasks; x_query has {ours.shape[0]}"
            )
        if not getattr(learner, "queries_in_state", False) and theirs.shape != ours.shape:
            raise InvalidInput(
                f"state.{f.name} has shape {tuple(theirs.shape)}; this learner's is "
                f"{tuple(ours.shape)}: the state comes from another learner"
            )
    held = getattr(state, "x_query", None)
    if getattr(learner, "queries_in_state", False) and isinstance(held, torch.Tensor):
        # its predictions are for the queries given to adapt, whatever x_query says
        if held.shape != x_query.shape or not torch.equal(held, x_query):
            raise InvalidInput(
                "this learner (implicit) predicts only the queries passed to iai.adapt; "
                "x_query differs from them"
            )


def stream(
    learner: Learner, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], x_query
) -> Iterator[torch.Tensor]:
    """Predictions for x_query (T, Q, D) before any batch, then after each (x (T, B, D), y (T, B)).

    Yields (T, Q) predictive means for regression, (T, Q, C) logits for classification. A
    batch is released once its step is taken, so memory does not grow with the stream.
    Batches may differ in size; each is checked as it arrives.
    """
    return _stream(learner, batches, _x(learner, "x_query", x_query), warn=True)


def _stream(
    learner: Learner,
    batches: Iterable,
    x_query: torch.Tensor,
    warn: bool,
    named: dict[str, torch.Tensor] | None = None,
) -> Iterator[torch.Tensor]:
    """`stream` once x_query is checked; `warn`: check the first batch against the prior.
    `named`: the checked inputs the batches are cut from, named as the caller knows them (for
    the message should the outputs overflow); by default the batches' own largest values."""
    T, objective = x_query.shape[0], learner.objective
    try:
        batches = iter(batches)
    except TypeError:
        raise InvalidInput(
            f"batches must be an iterable of (x, y) pairs, got {type(batches).__name__}"
        ) from None
    # name -> largest magnitude, to say how large the inputs were should the outputs overflow
    largest = {name: _largest(v) for name, v in {"x_query": x_query, **(named or {})}.items()}

    def checked() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for k, batch in enumerate(batches):
            try:
                x, y = batch
            except (TypeError, ValueError) as e:
                raise InvalidInput(f"batch {k} is not an (x, y) pair") from e
            x = _x(learner, f"batch {k} x", x)
            if x.shape[0] != T:
                raise InvalidInput(f"batch {k} has {x.shape[0]} tasks; x_query has {T}")
            y = _y(learner, f"batch {k} y", y, x)
            if named is None:
                for name, v in (("batches' x", x), ("batches' y", y)):
                    largest[name] = max(largest.get(name, 0.0), _largest(v))
            if k == 0 and warn:
                # the frames above: checked, rollout and its inference_mode wrapper,
                # _stream, then the caller's loop (a test checks the warning points there)
                _warn_if_unlike_prior(learner, x, y, stacklevel=6)
            yield x, y

    for k, out in enumerate(rollout(learner, checked(), x_query)):
        out = objective.prediction(out)
        if not torch.isfinite(out).all():
            _not_finite(f"the predictions after step {k} are", largest)
        yield out


def _largest(t: torch.Tensor) -> float:
    return t.abs().max().item() if t.is_floating_point() and t.numel() else 0.0


def _not_finite(what: str, largest: dict[str, float]) -> None:
    """InvalidInput for outputs that came out NaN or inf from finite inputs, naming the
    largest magnitude of each input: beyond about 1e15 a learner's float32 arithmetic
    overflows (in squares, norms, softmax) long before the inputs themselves do."""
    sizes = ", ".join(f"{name} up to {v:.3g}" for name, v in largest.items() if v)
    raise InvalidInput(
        f"{what} not finite although the inputs are ({sizes or 'all zero'}): values this "
        "large overflow the learner's float32 arithmetic. Standardize inputs and targets "
        "(README: Preparing your data)."
    )


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
    B = _batch_size(learner, batch_size)
    x_train = _x(learner, "x_train", x_train)
    y_train = _y(learner, "y_train", y_train, x_train)
    x_query = _queries(learner, x_query, x_train.shape[0])
    _warn_if_unlike_prior(learner, x_train, y_train, stacklevel=3)
    named = {"x_train": x_train, "y_train": y_train}
    steps = _stream(learner, minibatches(x_train, y_train, B), x_query, warn=False, named=named)
    return torch.stack(list(steps))


def _batch_size(learner: Learner, batch_size) -> int:
    if batch_size is None:
        config = getattr(learner, "config", None)
        return config.train.batch_size if config is not None else 16
    try:
        if isinstance(batch_size, bool):
            raise TypeError
        batch_size = operator.index(batch_size)  # int, numpy and torch integers
    except TypeError:
        raise InvalidInput(f"batch_size must be an integer ≥ 1, got {batch_size!r}") from None
    if batch_size < 1:
        raise InvalidInput(f"batch_size must be an integer ≥ 1, got {batch_size!r}")
    return batch_size


def _tensor(name: str, x) -> torch.Tensor:
    """`x` as a dense tensor with data, or InvalidInput naming it."""
    try:
        t = torch.as_tensor(x)
    except (TypeError, ValueError, RuntimeError, OverflowError) as e:
        raise InvalidInput(f"{name} cannot be read as a tensor: {e}") from e
    if t.device.type == "meta":
        raise InvalidInput(f"{name} is a meta tensor: it has a shape but no values")
    if t.layout != torch.strided:
        t = t.to_dense()
    return t


def _in_range(name: str, t: torch.Tensor) -> torch.Tensor:
    """InvalidInput if finite floats of a wider type overflow the default dtype."""
    if t.is_floating_point() and t.dtype != torch.get_default_dtype():
        narrow = t.to(torch.get_default_dtype())
        finite = torch.isfinite(t)
        if finite.all() and not torch.isfinite(narrow).all():
            raise InvalidInput(
                f"{name} holds values up to {t.abs().max().item():.3g}, beyond the range of "
                f"{torch.get_default_dtype()} that the learner computes in"
            )
    return t


def _y(learner: Learner, name: str, y, x: torch.Tensor) -> torch.Tensor:
    """Targets for inputs x (T, N, D), checked by the learner's objective."""
    y = _in_range(name, _tensor(name, y))
    return learner.objective.targets(name, y, tuple(x.shape[:2]))


def _x(learner: Learner, name: str, x) -> torch.Tensor:
    t = _tensor(name, x)
    if t.dim() != 3:
        hint = (
            f"; for a single task add the task axis in front ({name}[None], shape "
            f"(1, {t.shape[0]}, {t.shape[1]}))"
            if t.dim() == 2
            else ""
        )
        raise InvalidInput(
            f"{name} must have 3 dimensions (tasks, points, features), got shape "
            f"{tuple(t.shape)}{hint}"
        )
    if t.dtype == torch.bool or t.is_complex():
        raise InvalidInput(f"{name} must hold real numbers, got {t.dtype}")
    t = _in_range(name, t).to(torch.get_default_dtype())
    if not torch.isfinite(t).all():
        raise InvalidInput(f"{name} contains NaN or inf")
    if t.shape[-1] != learner.dim:
        raise InvalidInput(f"{name} has {t.shape[-1]} features; this learner takes {learner.dim}")
    if t.shape[0] == 0:
        raise InvalidInput(f"{name} has no tasks (shape {tuple(t.shape)})")
    if t.shape[1] == 0:
        raise InvalidInput(f"{name} has no points")
    return t


def _queries(learner: Learner, x_query, n_tasks: int) -> torch.Tensor:
    x_query = _x(learner, "x_query", x_query)
    if x_query.shape[0] != n_tasks:
        raise InvalidInput(f"x_query has {x_query.shape[0]} tasks; x_train has {n_tasks}")
    return x_query


# learner -> (x mean (D,), x std (), y mean, y std) of its prior, drawn once per learner
_PRIOR_STATS: "weakref.WeakKeyDictionary[Learner, tuple]" = weakref.WeakKeyDictionary()
FAR = 4.0  # how many times off (in standard deviations, or as a ratio) counts as far


def _prior_stats(learner: Learner) -> tuple | None:
    prior = getattr(learner, "prior", None)
    if prior is None:
        return None
    if learner not in _PRIOR_STATS:
        tasks = prior.sample(64, 64, 1, generator=torch.Generator().manual_seed(0))
        x, y = tasks.x_train.flatten(0, 1), tasks.y_train
        y = y.float() if y is not None and y.is_floating_point() else None
        y_stats = (y.mean(), y.std()) if y is not None else (None, None)
        _PRIOR_STATS[learner] = (x.mean(0), x.std(), *y_stats)
    return _PRIOR_STATS[learner]


def _warn_if_unlike_prior(
    learner: Learner, x: torch.Tensor, y: torch.Tensor, stacklevel: int
) -> None:
    """Warn (InputWarning) when the inputs or real-valued targets sit far outside what the
    learner's prior produces: the learner accepts them, but its predictions extrapolate."""
    stats = _prior_stats(learner)
    if stats is None or x.shape[0] * x.shape[1] < 8:
        return
    x_mean, x_std, y_mean, y_std = stats
    problems = []
    flat = x.flatten(0, 1)
    shift = ((flat.mean(0) - x_mean).abs() / x_std).max().item()
    spread = flat.std().item() / x_std.item()
    if shift > FAR:
        problems.append(f"a feature's mean lies {shift:.1f} prior standard deviations off")
    if not 1 / FAR < spread < FAR:
        problems.append(f"the inputs' spread is {spread:.2g}× the prior's")
    if y_std is not None and y.is_floating_point():
        y_shift = (y.mean() - y_mean).abs().item() / y_std.item()
        y_spread = y.std().item() / y_std.item() if y.numel() > 1 else 1.0
        if y_shift > FAR or not 1 / FAR < y_spread < FAR:
            problems.append(
                f"the targets' mean is {y.mean().item():.3g} and spread {y.std().item():.3g}; "
                f"the prior's are {y_mean.item():.3g} and {y_std.item():.3g}"
            )
    if problems:
        warnings.warn(
            f"data unlike this learner's training prior ({learner.config.task.name}): "
            + "; ".join(problems)
            + ". Predictions will be extrapolations; standardize inputs and targets "
            "(README: Preparing your data).",
            InputWarning,
            stacklevel=stacklevel,
        )
