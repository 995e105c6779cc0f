"""Checks at the edge of the public API: user tensors, batch sizes, states, user-defined
priors, and the warning for data unlike a learner's prior.

Each check returns a clean value or raises an iai error that names the argument and the
problem, so the math behind the API can assume clean tensors.
"""

import dataclasses
import operator
import os
import warnings
import weakref

import torch

from iai.errors import IAIError, InputWarning, InvalidInput
from iai.learners import GenerativeLearner, Learner, PredictiveLearner
from iai.learners.order import OrderLearner


def check_prior(prior) -> None:
    """InvalidInput unless a small draw from a user prior has the form its signature promises
    (`checked_draw`), with finite values: caught when the prior is passed, before any training."""
    checked_draw(prior, 2, 3, 2, torch.Generator().manual_seed(0), "the first check", finite=True)


def checked_draw(
    prior, T: int, N: int, Q: int, generator: torch.Generator, when: str, finite: bool = False
):
    """`prior.sample(T, N, Q, generator=generator)` as Tasks of float inputs (T, N, dim) and
    (T, Q, dim) and targets its objective accepts, in the default dtype, or InvalidInput
    naming the draw (`when`: e.g. "training iteration 12").

    Why every draw and not the first: a user prior may change its output later (another
    feature count, float64, a missing target), and the loop behind would fail with a foreign
    error far from the cause. The check is a few reductions over tensors the step reads anyway.
    NaN or inf is refused only with `finite`: in a later draw it is a poisoned batch, which
    the trainer skips and counts (`train.max_skips`), not a prior of the wrong form.
    """
    from iai.tasks.base import Tasks
    from iai.tasks.objective import objective_of

    objective, D = objective_of(prior), int(prior.dim)
    call = f"prior.sample({T}, {N}, {Q}, generator=...) at {when}"
    try:
        tasks = prior.sample(T, N, Q, generator=generator)
    except IAIError:
        raise
    except Exception as e:
        raise InvalidInput(f"{call} failed: {type(e).__name__}: {e}") from e
    if not isinstance(tasks, Tasks):
        raise InvalidInput(f"{call} must return iai.tasks.base.Tasks, got {type(tasks).__name__}")
    data = {}
    for name, n in {"x_train": N, "x_query": Q}.items():
        x = getattr(tasks, name)
        if not isinstance(x, torch.Tensor):
            raise InvalidInput(f"{call}.{name} must be a tensor, got {type(x).__name__}")
        if not x.is_floating_point() or tuple(x.shape) != (T, n, D):
            raise InvalidInput(
                f"{call}.{name} must be floats of shape ({T}, {n}, {D}) (the prior's dim is "
                f"{D}), got {x.dtype} {tuple(x.shape)}"
            )
        x = in_range(f"{call}.{name}", x).to(torch.get_default_dtype())
        if finite and not torch.isfinite(x).all():
            raise InvalidInput(f"{call}.{name} contains NaN or inf")
        data[name] = x
    for name, n in {"y_train": N, "y_query": Q}.items():
        y = getattr(tasks, name)
        if objective.generative:
            if y is not None:
                raise InvalidInput(f"{call}.{name} must be None: a density prior has no targets")
            data[name] = None
        elif y is None:
            raise InvalidInput(f"{call}.{name} is None: a {objective.kind} prior has targets")
        else:
            y = in_range(f"{call}.{name}", y)
            poisoned = not finite and y.is_floating_point()  # checked with NaN and inf read as 0
            checked = objective.targets(f"{call}.{name}", y.nan_to_num() if poisoned else y, (T, n))
            data[name] = y.to(checked.dtype) if poisoned else checked
    return Tasks(**data, truth=tasks.truth)


def check_state(learner: Learner, state, x_query: torch.Tensor) -> None:
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
        if not learner.queries_in_state and theirs.shape != ours.shape:
            raise InvalidInput(
                f"state.{f.name} has shape {tuple(theirs.shape)}; this learner's is "
                f"{tuple(ours.shape)}: the state comes from another learner"
            )
    if learner.queries_in_state:
        # its predictions are for the queries given to adapt (the state's x_query), whatever
        # x_query says
        held = state.x_query
        if held.shape != x_query.shape or not torch.equal(held, x_query):
            raise InvalidInput(
                "this learner (implicit) predicts only the queries passed to iai.adapt; "
                "x_query differs from them"
            )


def largest(t: torch.Tensor) -> float:
    return t.abs().max().item() if t.is_floating_point() and t.numel() else 0.0


def refuse_non_finite(what: str, largest: dict[str, float]) -> None:
    """InvalidInput for outputs that came out NaN or inf from finite inputs, naming the
    largest magnitude of each input: beyond about 1e15 a learner's float32 arithmetic
    overflows (in squares, norms, softmax) long before the inputs themselves do."""
    sizes = ", ".join(f"{name} up to {v:.3g}" for name, v in largest.items() if v)
    raise InvalidInput(
        f"{what} not finite although the inputs are ({sizes or 'all zero'}): values this "
        "large overflow the learner's float32 arithmetic. Standardize inputs and targets "
        "(docs/api.md: Preparing your data)."
    )


def batch_size_of(learner: Learner, batch_size) -> int:
    if batch_size is None:
        trained = learner.trained_batch_size
        return trained if trained is not None else 16
    return positive_int("batch_size", batch_size)


def positive_int(name: str, value) -> int:
    """`value` as an int ≥ 1 (int, numpy and torch integers), or InvalidInput naming it."""
    try:
        if isinstance(value, bool):
            raise TypeError
        value = operator.index(value)
    except TypeError:
        raise InvalidInput(f"{name} must be an integer ≥ 1, got {value!r}") from None
    if value < 1:
        raise InvalidInput(f"{name} must be an integer ≥ 1, got {value!r}")
    return value


def loaded(learner, call: str) -> None:
    """InvalidInput unless `learner` is a learner object (a path or None is not one)."""
    if not isinstance(learner, Learner):
        hint = (
            f": load it first, iai.load({str(learner)!r})"
            if isinstance(learner, str | os.PathLike)
            else ""
        )
        raise InvalidInput(
            f"{call} takes a learner (what iai.load or iai.train returns), got "
            f"{type(learner).__name__}{hint}"
        )


def predictive(learner: Learner, call: str) -> None:
    """InvalidInput unless `learner` is a learner that predicts: a generative one has samples
    to give, not predictions."""
    loaded(learner, call)
    if isinstance(learner, OrderLearner):  # its outputs are leaf logits, not predictions
        raise InvalidInput(
            f"{call} is for learners that predict targets; this one orders a causal model's "
            "variables: use iai.order_steps"
        )
    if not isinstance(learner, PredictiveLearner):
        raise InvalidInput(
            f"{call} is for learners that predict targets; this one was trained on a density "
            "task and generates samples: use iai.sample_steps or iai.log_prob_steps"
        )


def as_tensor(name: str, x) -> torch.Tensor:
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


def in_range(name: str, t: torch.Tensor) -> torch.Tensor:
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


def targets(learner: Learner, name: str, y, x: torch.Tensor) -> torch.Tensor:
    """Targets for inputs x (T, N, D), checked by the learner's objective."""
    y = in_range(name, as_tensor(name, y))
    return learner.objective.targets(name, y, tuple(x.shape[:2]))


def real_sets(
    name: str, x, axes: tuple[str, str, str] = ("tasks", "points", "features"), hint: str = ""
):
    """`x` as a finite tensor (T, N, ·) of the default dtype with T, N ≥ 1, or InvalidInput
    naming the problem: what every call that reads sets of points (features, samples) checks.
    `hint`: what to say to 2-dimensional input (default: add the task axis)."""
    t = as_tensor(name, x)
    if t.dim() != 3:
        if t.dim() == 2:
            hint = hint or (
                f"; for a single task add the task axis in front ({name}[None], shape "
                f"(1, {t.shape[0]}, {t.shape[1]}))"
            )
        else:
            hint = ""
        raise InvalidInput(
            f"{name} must have 3 dimensions ({', '.join(axes)}), got shape {tuple(t.shape)}{hint}"
        )
    if t.dtype == torch.bool or t.is_complex():
        raise InvalidInput(f"{name} must hold real numbers, got {t.dtype}")
    t = in_range(name, t).to(torch.get_default_dtype())
    if not torch.isfinite(t).all():
        raise InvalidInput(f"{name} contains NaN or inf")
    if t.shape[0] == 0:
        raise InvalidInput(f"{name} has no {axes[0]} (shape {tuple(t.shape)})")
    if t.shape[1] == 0:
        raise InvalidInput(f"{name} has no {axes[1]} (shape {tuple(t.shape)})")
    return t


def features(learner: Learner, name: str, x) -> torch.Tensor:
    """`real_sets` of as many features as the learner takes."""
    t = real_sets(name, x)
    if learner.variable_dim:  # any width up to dim (the tabular learner)
        if not 1 <= t.shape[-1] <= learner.dim:
            raise InvalidInput(
                f"{name} has {t.shape[-1]} features; this learner takes 1 to {learner.dim}"
            )
    elif t.shape[-1] != learner.dim:
        raise InvalidInput(f"{name} has {t.shape[-1]} features; this learner takes {learner.dim}")
    return t


def queries(learner: Learner, x_query, n_tasks: int) -> torch.Tensor:
    x_query = features(learner, "x_query", x_query)
    if x_query.shape[0] != n_tasks:
        raise InvalidInput(f"x_query has {x_query.shape[0]} tasks; x_train has {n_tasks}")
    return x_query


# learner -> (x mean (D,), x std (), y mean, y std) of its prior, drawn once per learner
_PRIOR_STATS: "weakref.WeakKeyDictionary[Learner, tuple]" = weakref.WeakKeyDictionary()


FAR = 4.0  # how many times off (in standard deviations, or as a ratio) counts as far


def _prior_stats(learner: Learner) -> tuple | None:
    prior = learner.prior
    if prior is None:
        return None
    if learner not in _PRIOR_STATS:
        tasks = prior.sample(64, 64, 1, generator=torch.Generator().manual_seed(0))
        x, y = tasks.x_train.flatten(0, 1), tasks.y_train
        y = y.float() if y is not None and y.is_floating_point() else None
        y_stats = (y.mean(), y.std()) if y is not None else (None, None)
        # a table prior draws missing cells (NaN): the statistics are those of the cells present
        _PRIOR_STATS[learner] = (x.nanmean(0), x[~x.isnan()].std(), *y_stats)
    return _PRIOR_STATS[learner]


# learner -> {n: per-task, per-coordinate means and stds (T, D) of n samples of its prior}
_SAMPLE_STATS: "weakref.WeakKeyDictionary[Learner, dict]" = weakref.WeakKeyDictionary()
REFERENCE_POINTS = 256  # at most this many per reference task (more data: a wider range)
SPREAD_MARGIN = 1.25  # a task's spread counts as unlike the prior's this far beyond their range
MEAN_MARGIN = 0.25  # … and its mean this many typical within-task stds beyond theirs


def warn_if_unlike_samples(learner: GenerativeLearner, x: torch.Tensor, stacklevel: int) -> None:
    """Warn (InputWarning) when a task's samples x (T, N, D) have a coordinate whose mean or
    spread lies outside the range the learner's prior gives its tasks' samples.

    Why per task and against the range, not pooled and 4 × off as for predictions: a
    generative learner reads a point cloud's shape at the scale its prior draws them, and
    some priors draw them at one scale (letters are standardized): make_moons as it comes
    (spreads 0.87 and 0.49) is sampled by checkpoints/letters as a blob, with 70 × the
    energy distance of the same points standardized and mapped back (docs/api.md)."""
    prior = learner.prior
    if prior is None or x.shape[1] < 8:
        return
    # the prior's tasks with as many samples as the data (up to REFERENCE_POINTS): the spread
    # of a few samples varies more. Many tasks: a fresh task of the prior falls outside the
    # range of n others with probability about 4 D / n before the margins; with 1,024, 2 to 3
    # of 1,000 fresh tasks of 32 or 320 samples warn for checkpoints/gmm-2d, none for letters
    n = min(x.shape[1], REFERENCE_POINTS)
    cache = _SAMPLE_STATS.setdefault(learner, {})
    if n not in cache:
        t = prior.sample(1024, n, 1, generator=torch.Generator().manual_seed(0)).x_train
        cache[n] = (t.mean(1), t.std(1))
    means, stds = cache[n]
    margin = MEAN_MARGIN * stds.median()
    low, high = means.min(0).values - margin, means.max(0).values + margin
    mean, std = x.mean(1), x.std(1)  # (T, D)
    problems = []
    if ((mean < low) | (mean > high)).any():
        problems.append(
            f"a coordinate's mean (up to {mean.abs().max().item():.3g} in size) lies outside "
            f"{_span(low, high)}, the prior's range"
        )
    s_low, s_high = stds.min(0).values / SPREAD_MARGIN, stds.max(0).values * SPREAD_MARGIN
    if ((std < s_low) | (std > s_high)).any():
        problems.append(
            f"a coordinate's spread ({std.min().item():.3g} … {std.max().item():.3g}) lies "
            f"outside {_span(s_low, s_high)}, the prior's range"
        )
    if problems:
        warnings.warn(
            f"samples unlike this learner's training prior ({learner.config.task.name}): "
            + "; ".join(problems)
            + ". Its samples will be extrapolations; standardize the point cloud and map the "
            "samples back (docs/api.md: Preparing your data).",
            InputWarning,
            stacklevel=stacklevel,
        )


def _span(low: torch.Tensor, high: torch.Tensor) -> str:
    pairs = zip(low.tolist(), high.tolist(), strict=True)
    return ", ".join(f"[{a:.3g}, {b:.3g}]" for a, b in pairs)


def warn_if_unlike_prior(
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
    # a prior of varying width compares the features' means as a whole, not one by one
    ref = x_mean.mean() if learner.variable_dim else x_mean
    shift = ((flat.mean(0) - ref).abs() / x_std).max().item()
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
            "(docs/api.md: Preparing your data).",
            InputWarning,
            stacklevel=stacklevel,
        )


def steps_within(steps, K: int, B: int, N: int) -> list[int]:
    """`steps` as a non-empty list of ints in 0 … K (K mini-batches of B from N points)."""
    try:
        wanted = [operator.index(k) for k in steps]
    except TypeError:
        raise InvalidInput(f"steps must be a list of integers, got {steps!r}") from None
    if not wanted:
        raise InvalidInput("steps is empty: name at least one step")
    bad = [k for k in wanted if not 0 <= k <= K]
    if bad:
        raise InvalidInput(
            f"steps {bad} lie outside 0 … {K}: {N} samples in mini-batches of {B} make {K} steps"
        )
    return wanted
