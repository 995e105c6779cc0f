"""Property-based tests of every public entry point: each input either works (and equals a
reference where one exists) or raises an `iai.IAIError` subclass naming the problem; nothing
else escapes, nothing hangs, no number comes back silently non-finite.

Entry points: iai.load, iai.predict_steps, iai.stream, iai.adapt, iai.predict, iai.train
(prior=, overrides=), the CLI (iai train, eval, grid via iai.cli.main), the TOML config loader
(iai.config.load_config) and its --set overrides.

Strategies (hypothesis):
- `learners`: small learners of every kind that the API serves differently: the tiny demo
  config (conftest.TINY) built as a parametric regression and a 3-class parametric
  classification learner with a random head, plus the committed checkpoints linreg-d8
  (parametric), linreg-d8-explicit, linreg-d8-implicit and linreg-d8-maml.
- `sizes`: T tasks in 1..3, N points in 1..9, Q queries in 1..4 (single task, single point
  and single query included), batch sizes 1..10 and None (the trained one).
- `magnitudes`: a scale 10**e applied to standard-normal data, e drawn from
  {0, ±1, ±3, ±6, ±10, ±15, ±20, ±30, ±38, ±45, -300, 300} (float64 data, so 1e300 is finite
  until it meets float32), separately for inputs and targets.
- `poison`: one entry of x_train, y_train or x_query set to NaN, +inf or -inf.
- `shapes`: arbitrary shapes of 0..4 dimensions with sizes 0..4 (T = 0, N = 0, Q = 0, wrong
  D, missing or extra axes) for each of x_train, y_train and x_query.
- `odd_values`: wrong types and dtypes: None, str, bytes, dict, object(), nested ragged
  lists, bool / complex / int / uint8 / float16 / float64 tensors, numpy arrays, sparse and
  meta tensors; for labels also floats and out-of-range ints.
- `batch_sizes`: ints -3..12 and 10**30, None, bools, floats, strings, numpy ints.
- `batch_streams`: lists of 0..4 batches of varying size, some of them broken (wrong task
  count, wrong D, NaN, not a pair, None), or a non-iterable in place of the stream.
- `states`: what iai.adapt returned, from this learner or another, for other task counts, or
  not a state at all.
- `damaged_checkpoints`: a copy of checkpoints/linreg-d8 with a file removed, replaced by
  random bytes, truncated, config.json's JSON with a subtree replaced by a random JSON value
  or a key added, a file in place of the directory, a missing path, a non-path argument.
- `toml_values` / `config_keys`: TOML-writable values (ints incl. beyond 64 bits, floats incl.
  nan/inf, strings, bools, lists, tables) under known dotted keys, unknown keys and malformed
  keys; raw `--set` strings (no '=', empty key, bare words, broken TOML); whole random TOML
  files and files that are not TOML.
- `priors`: user priors with missing attributes, wrong kinds, dims of the wrong type or
  value, and sample() returning wrong shapes, NaN or garbage.
- `cli_args`: `iai train` with one random override on the tiny config, `iai eval` with random
  --tasks / --steps / --ood, `iai grid` with random [grid] tables (a grid that would train is
  stopped at run_grid: cells are covered by tests/test_grid.py).

Profiles (registered in tests/conftest.py): "ci" (default; derandomized, few examples) and
"slow" (HYPOTHESIS_PROFILE=slow, `make test-slow`: twenty times as many).
"""

import json
import math
import re
import shutil
import tempfile
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DEMO, TINY, randomize_head
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st

import iai
from iai.config import ExperimentConfig, load_config
from iai.experiment import build

ROOT = Path(__file__).resolve().parents[1]
CKPT = ROOT / "checkpoints"
BASE = settings().max_examples  # the profile's; the expensive properties run a fraction


# the profile's, plus pytest's capsys / monkeypatch (reset by hand where a test uses them)
SUPPRESS = [*settings().suppress_health_check, HealthCheck.function_scoped_fixture]


def few(n: int):
    """Settings for a property whose example costs a training run or a whole evaluation."""
    return settings(max_examples=max(2, BASE * n // 40), suppress_health_check=SUPPRESS)


# ---------------------------------------------------------------------------------- learners

CLASSES = 3


@cache
def _tiny(kind: str):
    extra = ["task.name=linear_classification", f"task.classes={CLASSES}"] if kind == "cls" else []
    learner, _ = build(load_config(DEMO, [*TINY, *extra]))
    randomize_head(learner, 0)
    return learner.eval()


@cache
def _loaded(name: str):
    return iai.load(CKPT / name)


LEARNERS = {
    "tiny-reg": lambda: _tiny("reg"),
    "tiny-cls": lambda: _tiny("cls"),
    "linreg-d8": lambda: _loaded("linreg-d8"),
    "explicit": lambda: _loaded("linreg-d8-explicit"),
    "implicit": lambda: _loaded("linreg-d8-implicit"),
    "maml": lambda: _loaded("linreg-d8-maml"),
}
learners = st.sampled_from(sorted(LEARNERS)).map(lambda k: (k, LEARNERS[k]()))
parametric = st.sampled_from(["tiny-reg", "tiny-cls", "linreg-d8"]).map(
    lambda k: (k, LEARNERS[k]())
)

EXPONENTS = [0, 1, -1, 3, -3, 6, -6, 10, -10, 15, -15, 20, -20, 30, -30, 38, -38, 45, -45]
magnitudes = st.sampled_from([0] * 6 + EXPONENTS + [300, -300]).map(lambda e: 10.0**e)
sizes = st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 4))


def categorical(learner) -> bool:
    return learner.objective.categorical


def _data(learner, T, N, Q, x_scale, y_scale, seed):
    """float64 inputs and targets (labels for a classifier) of the given sizes and scales."""
    g = torch.Generator().manual_seed(seed)
    D = learner.dim
    x = torch.randn(T, N, D, generator=g, dtype=torch.float64) * x_scale
    q = torch.randn(T, Q, D, generator=g, dtype=torch.float64) * x_scale
    if categorical(learner):
        y = torch.randint(0, learner.objective.out_dim, (T, N), generator=g)
    else:
        y = torch.randn(T, N, generator=g, dtype=torch.float64) * y_scale
    return x, y, q


@st.composite
def tasks(draw, learner):
    T, N, Q = draw(sizes, label="T, N, Q")
    x_scale, y_scale = draw(magnitudes, label="x scale"), draw(magnitudes, label="y scale")
    return _data(learner, T, N, Q, x_scale, y_scale, draw(st.integers(0, 2**16)))


def out_shape(learner, K, T, Q):
    extra = (learner.objective.out_dim,) if categorical(learner) else ()
    return (K + 1, T, Q, *extra)


def quiet(fn, *args, **kwargs):
    """fn(...) with InputWarning (data unlike the prior) silenced; any other warning fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", iai.InputWarning)
        return fn(*args, **kwargs)


def expect_iai_error(e: BaseException, *names: str) -> None:
    """`e` is iai's own error and its message names one of `names` (the arguments)."""
    assert isinstance(e, iai.IAIError), f"{type(e).__name__} escaped: {e}"
    message = str(e)
    assert any(n in message for n in names), f"{message!r} names none of {names}"
    refused(e)


def refused(e: BaseException) -> None:
    """Count the refusal by kind in the statistics (--hypothesis-show-statistics)."""
    words = re.sub(r"'[^']*'|\"[^\"]*\"|\(.*?\)|[-+]?[0-9][0-9.e+-]*", "_", str(e)).split()
    event(f"refused ({type(e).__name__}): {' '.join(words[:6])}")


def works() -> None:
    event("works")


def close(a: torch.Tensor, b: torch.Tensor) -> None:
    """Equal up to float32 rounding, relative to the size of the numbers."""
    scale = max(1.0, b.abs().max().item())
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5 * scale)


ARGS = ("x_train", "y_train", "x_query", "batch_size")


# ----------------------------------------------------------------- predict_steps and stream


@given(data=st.data(), picked=learners, batch_size=st.one_of(st.none(), st.integers(1, 10)))
def test_predict_steps_on_finite_data_equals_a_loop_of_stream(data, picked, batch_size):
    name, learner = picked
    x, y, q = data.draw(tasks(learner), label="data")
    N = x.shape[1]
    try:
        preds = quiet(iai.predict_steps, learner, x, y, q, batch_size)
    except Exception as e:  # only an overflow may refuse finite data: named, with magnitudes
        expect_iai_error(e, "x_train", "y_train", "x_query")
        assert "not finite" in str(e) or "beyond the range" in str(e), str(e)
        return
    works()
    B = batch_size or learner.config.train.batch_size
    K = math.ceil(N / B)
    assert preds.shape == out_shape(learner, K, x.shape[0], q.shape[1])
    assert torch.isfinite(preds).all()
    batches = [(x[:, i : i + B], y[:, i : i + B]) for i in range(0, N, B)]
    streamed = quiet(lambda: list(iai.stream(learner, batches, q)))
    assert len(streamed) == K + 1
    for k, out in enumerate(streamed):
        close(out, preds[k])


@given(data=st.data(), picked=parametric)
def test_parametric_learners_treat_tasks_independently(data, picked):
    name, learner = picked
    T, N, Q = data.draw(st.tuples(st.integers(2, 3), st.integers(1, 9), st.integers(1, 4)))
    x, y, q = _data(learner, T, N, Q, 1.0, 1.0, data.draw(st.integers(0, 2**16)))
    batched = quiet(iai.predict_steps, learner, x, y, q)
    for t in range(T):
        alone = quiet(iai.predict_steps, learner, x[t : t + 1], y[t : t + 1], q[t : t + 1])
        close(alone[:, 0], batched[:, t])


poison_values = st.sampled_from([math.nan, math.inf, -math.inf])


@given(data=st.data(), picked=learners, where=st.sampled_from(["x_train", "y_train", "x_query"]))
def test_nan_and_inf_are_refused_by_name(data, picked, where):
    name, learner = picked
    x, y, q = _data(learner, *data.draw(sizes, label="T, N, Q"), 1.0, 1.0, 0)
    value = data.draw(poison_values, label="value")
    if where == "y_train" and categorical(learner):
        y = y.double()  # a label cannot hold NaN; a float label tensor is refused by dtype
    target = {"x_train": x, "y_train": y, "x_query": q}[where]
    index = tuple(data.draw(st.integers(0, n - 1)) for n in target.shape)
    target[index] = value
    with pytest.raises(Exception) as info:
        quiet(iai.predict_steps, learner, x, y, q)
    expect_iai_error(info.value, where)


def shapes(max_dims=4):
    return st.lists(st.integers(0, 4), min_size=0, max_size=max_dims).map(tuple)


@given(
    picked=learners,
    sx=shapes(),
    sy=shapes(),
    sq=shapes(),
    seed=st.integers(0, 100),
)
def test_any_shapes_work_or_are_refused_by_name(picked, sx, sy, sq, seed):
    name, learner = picked
    g = torch.Generator().manual_seed(seed)
    x, q = torch.randn(sx, generator=g), torch.randn(sq, generator=g)
    if categorical(learner):
        y = torch.randint(0, CLASSES, sy, generator=g)
    else:
        y = torch.randn(sy, generator=g)
    try:
        preds = quiet(iai.predict_steps, learner, x, y, q)
    except Exception as e:
        expect_iai_error(e, *ARGS)
        return
    works()
    assert torch.isfinite(preds).all()
    assert preds.shape[1:3] == (sx[0], sq[1])


def odd_values(learner, shape):
    """Values of the wrong type or dtype, or of right dtype in odd containers."""
    good = torch.randn(shape)
    return st.sampled_from(
        [
            None,
            "abc",
            b"\x00\x01",
            {"x": 1},
            object(),
            [[[1.0, 2.0]], [[1.0]]],
            good.bool(),
            good.to(torch.complex64),
            good.round().int(),
            (good.abs() * 3).to(torch.uint8),
            good.half(),
            good.double(),
            good.numpy(),
            good.tolist(),
            good.to_sparse(),
            torch.empty(shape, device="meta"),
            good[None],
            good[0],
            torch.tensor(1.0),
        ]
    )


@given(data=st.data(), picked=learners, which=st.sampled_from(["x_train", "y_train", "x_query"]))
def test_wrong_types_and_dtypes_work_or_are_refused_by_name(data, picked, which):
    name, learner = picked
    x, y, q = _data(learner, 2, 5, 3, 1.0, 1.0, 0)
    args = {"x_train": x, "y_train": y, "x_query": q}
    args[which] = data.draw(odd_values(learner, tuple(args[which].shape)), label=which)
    if which == "y_train" and categorical(learner):
        args[which] = data.draw(
            st.sampled_from([args[which], y.double(), y + CLASSES, y - 1, y.numpy(), y.tolist()])
        )
    try:
        preds = quiet(iai.predict_steps, learner, **args)
    except Exception as e:
        expect_iai_error(e, which)
        return
    works()
    assert preds.shape == out_shape(learner, math.ceil(5 / learner.config.train.batch_size), 2, 3)
    assert torch.isfinite(preds).all()


batch_sizes = st.one_of(
    st.none(),
    st.integers(-3, 12),
    st.just(10**30),
    st.booleans(),
    st.floats(allow_nan=True),
    st.sampled_from(["4", np.int64(3), np.int32(2), torch.tensor(2), 2.0]),
)


@given(picked=learners, batch_size=batch_sizes, n=st.integers(1, 9))
def test_batch_size_works_or_is_refused_by_name(picked, batch_size, n):
    name, learner = picked
    x, y, q = _data(learner, 2, n, 3, 1.0, 1.0, 0)
    try:
        preds = quiet(iai.predict_steps, learner, x, y, q, batch_size=batch_size)
    except Exception as e:
        expect_iai_error(e, "batch_size")
        return
    works()
    B = learner.config.train.batch_size if batch_size is None else int(batch_size)
    assert preds.shape == out_shape(learner, math.ceil(n / B), 2, 3)


@st.composite
def batch_streams(draw, learner, T, D):
    """A list of batches, each good or broken in one way; returns (batches, first broken)."""
    batches, broken = [], None
    for k in range(draw(st.integers(0, 4), label="batches")):
        b = draw(st.integers(1, 5), label=f"batch {k} size")
        x = torch.randn(T, b, D)
        y = torch.randint(0, CLASSES, (T, b)) if categorical(learner) else torch.randn(T, b)
        flaw = draw(
            st.sampled_from(["none"] * 6 + ["tasks", "dim", "nan", "y_shape", "single", "None"]),
            label=f"batch {k} flaw",
        )
        if flaw == "tasks":
            x, y = x[:0] if T == 1 else x[:1], y[:0] if T == 1 else y[:1]
        elif flaw == "dim":
            x = torch.randn(T, b, D + 1)
        elif flaw == "nan":
            x[0, 0, 0] = math.nan
        elif flaw == "y_shape":
            y = y[:, :-1]
        batch = {"single": (x,), "None": None}.get(flaw, (x, y))
        batches.append(batch)
        if flaw != "none" and broken is None:
            broken = k
    return batches, broken


@given(data=st.data(), picked=learners, T=st.integers(1, 3), Q=st.integers(1, 4))
def test_stream_yields_until_a_broken_batch_which_it_names(data, picked, T, Q):
    name, learner = picked
    batches, broken = data.draw(batch_streams(learner, T, learner.dim), label="stream")
    q = torch.randn(T, Q, learner.dim)
    got = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warnings.simplefilter("ignore", iai.InputWarning)
            for out in iai.stream(learner, iter(batches), q):
                got.append(out)
    except Exception as e:
        expect_iai_error(e, f"batch {broken}")
        assert len(got) == broken + 1  # every step before the broken batch was yielded
    else:
        works()
        assert broken is None and len(got) == len(batches) + 1
    # the steps yielded are what a fresh stream over the good prefix yields
    good = batches[: len(got) - 1]
    for k, out in enumerate(quiet(lambda: list(iai.stream(learner, good, q)))):
        assert torch.isfinite(out).all()
        torch.testing.assert_close(out, got[k], rtol=0, atol=0)


@given(picked=learners, batches=st.sampled_from([3, None, 2.5, object(), torch.tensor(1.0)]))
def test_stream_refuses_a_non_iterable_by_name(picked, batches):
    name, learner = picked
    with pytest.raises(Exception) as info:
        list(iai.stream(learner, batches, torch.randn(1, 2, learner.dim)))
    expect_iai_error(info.value, "batch")


# ------------------------------------------------------------------------ adapt and predict


@given(data=st.data(), picked=learners, batch_size=st.one_of(st.none(), st.integers(1, 10)))
def test_adapt_then_predict_equals_the_last_step_of_predict_steps(data, picked, batch_size):
    name, learner = picked
    x, y, q = data.draw(tasks(learner), label="data")
    try:
        steps = quiet(iai.predict_steps, learner, x, y, q, batch_size)
    except iai.IAIError as e:
        expect_iai_error(e, "x_train", "y_train", "x_query")
        return
    implicit = getattr(learner, "queries_in_state", False)
    try:
        state = quiet(
            iai.adapt, learner, x, y, x_query=q if implicit else None, batch_size=batch_size
        )
        preds = quiet(iai.predict, learner, state, q)
    except iai.IAIError as e:  # the adapted state itself may overflow where predictions did not
        expect_iai_error(e, "x_train", "y_train", "x_query")
        return
    works()
    close(preds, steps[-1])


@given(
    data=st.data(),
    picked=learners,
    other=learners,
    T=st.integers(1, 3),
    Tq=st.integers(0, 4),
    Q=st.integers(0, 4),
)
def test_predict_takes_only_a_state_of_this_learner_for_these_tasks(data, picked, other, T, Tq, Q):
    name, learner = picked
    oname, source = other
    x, y, q = _data(source, T, 5, 3, 1.0, 1.0, 0)
    implicit = getattr(source, "queries_in_state", False)
    state = quiet(iai.adapt, source, x, y, x_query=q if implicit else None)
    state = data.draw(st.sampled_from([state, None, "state", x, {"theta": x}]), label="state")
    q2 = torch.randn(Tq, Q, learner.dim)
    try:
        preds = quiet(iai.predict, learner, state, q2)
    except Exception as e:
        expect_iai_error(e, "state", "x_query", "implicit")
        return
    works()
    assert (Tq, Q) == (T, Q) and torch.isfinite(preds).all()
    if name == oname:
        reference = quiet(iai.predict_steps, learner, x, y, q2)[-1]
        close(preds, reference)


@given(data=st.data(), picked=learners, which=st.sampled_from(["x_train", "y_train", "x_query"]))
def test_adapt_refuses_odd_inputs_by_name(data, picked, which):
    name, learner = picked
    x, y, q = _data(learner, 2, 5, 3, 1.0, 1.0, 0)
    args = {"x_train": x, "y_train": y, "x_query": q}
    args[which] = data.draw(
        st.one_of(
            odd_values(learner, tuple(args[which].shape)),
            shapes().map(torch.randn),
            poison_values.map(lambda v: torch.full(tuple(args[which].shape), v)),
        ),
        label=which,
    )
    x_train, y_train, x_query = args.values()
    try:
        state = quiet(iai.adapt, learner, x_train, y_train, x_query=x_query)
        preds = quiet(iai.predict, learner, state, x_query)
    except Exception as e:
        expect_iai_error(e, *ARGS, "state")
        return
    works()
    assert torch.isfinite(preds).all()


# --------------------------------------------------------------------------------------- load


def _flip(doc, path, value):
    """doc with the item at `path` (a list of keys) replaced by `value`, or added."""
    if not path:
        return value
    doc = doc if isinstance(doc, dict) else {}
    return {**doc, path[0]: _flip(doc.get(path[0]), path[1:], value)}


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False),
        st.text(max_size=5),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
config_paths = st.sampled_from(
    [
        [],
        ["format"],
        ["step"],
        ["config"],
        ["config", "seed"],
        ["config", "task"],
        ["config", "task", "dim"],
        ["config", "task", "name"],
        ["config", "learner"],
        ["config", "learner", "kind"],
        ["config", "learner", "width"],
        ["config", "learner", "model"],
        ["config", "train", "batch_size"],
        ["config", "eval", "ood"],
        ["config", "bogus"],
        ["prior"],
        ["prior", "dim"],
        ["prior", "kind"],
        ["prior", "out_dim"],
        ["prior", "shipped"],
    ]
)


SIGNATURE = {"name": "linear_regression", "kind": "regression", "dim": 8, "out_dim": 1}


@st.composite
def damaged_checkpoints(draw):
    """(how, mutate(directory) -> the path to pass to iai.load)."""
    how = draw(
        st.sampled_from(
            ["remove", "garbage", "truncate", "json", "file", "missing", "empty_dir", "intact"]
        )
    )
    target = draw(st.sampled_from(["config.json", "model.safetensors"]))
    blob = draw(st.binary(max_size=64))
    cut = draw(st.integers(0, 200))
    path, value = draw(config_paths), draw(json_values)
    shipped = draw(st.booleans())

    def mutate(d: Path) -> Path:
        if how == "remove":
            (d / target).unlink()
        elif how == "garbage":
            (d / target).write_bytes(blob)
        elif how == "truncate":
            data = (d / target).read_bytes()
            (d / target).write_bytes(data[: cut * len(data) // 200])
        elif how == "json":
            doc = json.loads((d / "config.json").read_text())
            # a learner of a user prior records the prior's signature: start from a valid one
            doc.setdefault("prior", dict(SIGNATURE, shipped=shipped))
            (d / "config.json").write_text(json.dumps(_flip(doc, path, value)))
        elif how == "file":
            f = d.parent / "a-file"
            f.write_bytes(blob)
            return f
        elif how == "missing":
            return d.parent / "nowhere"
        elif how == "empty_dir":
            shutil.rmtree(d)
            d.mkdir()
        return d

    note(f"{how} {target} {path} {value!r}")
    return how, mutate


@given(damage=damaged_checkpoints())
def test_load_returns_a_working_learner_or_a_checkpoint_error(damage):
    how, mutate = damage
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "ckpt"
        shutil.copytree(CKPT / "linreg-d8", d)
        path = mutate(d)
        try:
            learner = iai.load(path)
        except Exception as e:
            expect_iai_error(e, str(path.name))
            return
    works()
    x, y, q = _data(learner, 2, 5, 3, 1.0, 1.0, 0)
    preds = quiet(iai.predict_steps, learner, x, y, q)
    assert torch.isfinite(preds).all()


@given(directory=st.sampled_from([None, 5, 1.5, b"checkpoints", ["a"], object()]))
def test_load_refuses_a_non_path_by_name(directory):
    with pytest.raises(Exception) as info:
        iai.load(directory)
    expect_iai_error(info.value, "directory")


# ------------------------------------------------------------------- config loader and --set

KNOWN_KEYS = [
    "seed",
    "task.name",
    "task.dim",
    "task.noise",
    "task.classes",
    "learner.kind",
    "learner.width",
    "learner.heads",
    "learner.model",
    "learner.signal",
    "train.lr",
    "train.iterations",
    "train.batch_size",
    "train.min_lr",
    "eval.ood",
    "eval.tasks",
]
toml_literals = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["0", "-1", "1", "3", "nan", "inf", "-inf", "1e400", "1e-400", "0.0"]),
    st.floats(allow_nan=True).map(lambda v: repr(v) if math.isfinite(v) else "nan"),
    st.sampled_from(["true", "false", '"x"', "[1, 2]", '["noisy"]', "{a = 1}", "[]", "{}"]),
    st.text(max_size=8),  # bare words become strings; broken TOML too
)
config_keys = st.one_of(
    st.sampled_from(KNOWN_KEYS),
    st.sampled_from(["", ".", "a..b", "train.", ".lr", "bogus", "task.bogus", "train.lr.x"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz._", max_size=12),
)
wild_overrides = st.one_of(
    st.tuples(config_keys, toml_literals).map(lambda kv: f"{kv[0]}={kv[1]}"),
    st.text(max_size=12),  # often no '=' at all
)
# values a user might plausibly set, valid and not, so that many runs get as far as training
PLAUSIBLE = {
    "seed": ["0", "7", "-1", str(2**64), "1.5"],
    "task.name": ["linear_regression", "linear_classification", "gp_regression", "nope"],
    "task.dim": ["1", "2", "3", "0", "2.0"],
    "task.noise": ["1e-6", "0.5", "1e6", "0", "nan"],
    "task.classes": ["2", "3", "1"],
    "learner.kind": ['"parametric"', '"implicit"', '"maml"', '"bogus"'],
    "learner.signal": ['"data"', '"grad"', '"both"', '"bogus"'],
    "learner.width": ["8", "12", "16", "0", "-4"],
    "learner.heads": ["1", "2", "3", "0"],
    "train.lr": ["1e-3", "1e-6", "10", "0", "-1", "inf"],
    "train.batch_size": ["1", "2", "4", "50", "0"],
    "train.steps": ["1", "2", "0"],
    "train.queries": ["1", "3", "0"],
    "train.tasks": ["1", "2", "0"],
    "train.grad_clip": ["1e-6", "1e6", "0"],
}
plausible_overrides = st.sampled_from(sorted(PLAUSIBLE)).flatmap(
    lambda k: st.sampled_from(PLAUSIBLE[k]).map(lambda v: f"{k}={v}")
)
overrides = st.one_of(plausible_overrides, wild_overrides)
# Overrides for properties that really train: a wild value of a size (iterations, width,
# tasks, …) is a valid config that trains for hours or fills the memory, not bad input; the
# loader's own property above takes those.
SIZES = ("iterations", "width", "dim", "classes", "tasks", "queries", "steps", "batch_size")
affordable = wild_overrides.filter(lambda o: not o.partition("=")[0].strip().endswith(SIZES))
train_overrides = st.one_of(plausible_overrides, affordable)


@given(sets=st.lists(overrides, max_size=3))
def test_overrides_give_a_config_or_an_invalid_config_naming_the_key(sets):
    try:
        cfg = load_config(DEMO, sets)
    except Exception as e:
        keys = [s.partition("=")[0].strip() for s in sets]
        parts = {p for k in keys for p in k.split(".")} | set(sets)
        assert isinstance(e, iai.InvalidConfig), f"{type(e).__name__}: {e}"
        refused(e)
        assert (
            any(repr(p)[1:-1] in str(e) for p in parts if p)
            or "override" in str(e)
            or ("''" in str(e))
        ), (str(e), sets)
        return
    works()
    assert isinstance(cfg, ExperimentConfig)


toml_files = st.one_of(
    st.dictionaries(
        st.sampled_from(["seed", "task", "learner", "train", "eval", "bogus"]),
        st.one_of(
            st.dictionaries(
                st.sampled_from(["name", "dim", "kind", "lr", "width", "ood", "tasks", "zz"]),
                toml_literals.filter(lambda s: "\n" not in s and "\r" not in s),
                max_size=3,
            ),
            toml_literals,
        ),
        max_size=4,
    ).map(
        lambda d: "\n".join(
            [f"{k} = {v}" for k, v in d.items() if not isinstance(v, dict)]
            + [
                f"[{k}]\n" + "\n".join(f"{a} = {b}" for a, b in v.items())
                for k, v in d.items()
                if isinstance(v, dict)
            ]
        )
    ),
    st.text(max_size=30),
    st.binary(max_size=30).map(lambda b: b.decode("latin-1")),
)


@given(text=toml_files)
def test_a_toml_file_gives_a_config_or_an_invalid_config(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            cfg = load_config(path)
        except Exception as e:
            assert isinstance(e, iai.InvalidConfig), f"{type(e).__name__}: {e}"
            refused(e)
            return
    works()
    assert isinstance(cfg, ExperimentConfig)


# ------------------------------------------------------------------- iai.train and the CLI

SMALL = [*TINY, "train.iterations=2", "train.checkpoint_every=2", "train.log_every=1"]


class Prior:
    """A user prior whose attributes and samples a test sets."""

    def __init__(self, kind="regression", dim=3, out_dim=1, sample="ok"):
        self.kind, self.dim, self.out_dim, self.how = kind, dim, out_dim, sample

    def sample(self, n_tasks, n_points, n_query, *, generator):
        from iai.tasks.base import Tasks

        D = self.dim if isinstance(self.dim, int) and 0 < self.dim < 10 else 3
        x = torch.randn(n_tasks, n_points, D, generator=generator)
        q = torch.randn(n_tasks, n_query, D, generator=generator)
        y, yq = x.sum(-1), q.sum(-1)
        if self.how == "nan":
            y = y * math.nan
        elif self.how == "shape":
            y = y[:, :-1]
        elif self.how == "list":
            return [x, y]
        elif self.how == "huge":
            y = y * 1e30
        elif self.how == "labels":
            y, yq = (y > 0).long(), (yq > 0).long()
        return Tasks(x, y, q, yq)


priors = st.one_of(
    st.none(),
    st.sampled_from([Prior(), Prior("classification", 3, 2, "labels"), Prior(dim=1)]),
    st.builds(
        Prior,
        kind=st.sampled_from(["regression", "classification", "bogus", 3]),
        dim=st.sampled_from([3, 1, 0, -1, 2.5, "3"]),
        out_dim=st.sampled_from([1, 2, 0]),
        sample=st.sampled_from(["ok", "ok", "nan", "shape", "list", "huge", "labels"]),
    ),
    st.sampled_from([object(), "linear_regression", 3]),
)


@given(prior=priors, extra=st.lists(train_overrides, max_size=1))
@few(8)
def test_train_with_a_prior_and_overrides_works_or_raises_iai_error(prior, extra):
    with tempfile.TemporaryDirectory() as tmp:
        try:
            learner = quiet(
                iai.train, DEMO, tmp, prior=prior, overrides=[*SMALL, *extra], progress=False
            )
        except Exception as e:
            assert isinstance(e, iai.IAIError), f"{type(e).__name__} escaped: {e}"
            refused(e)
            return
        works()
        # what was saved is what was returned: loading needs no prior object
        loaded = iai.load(tmp)
        x = torch.randn(2, 5, learner.dim)
        y = torch.zeros(2, 5, dtype=torch.long) if categorical(learner) else x.sum(-1)
        preds = quiet(iai.predict_steps, learner, x, y, x)
        assert torch.isfinite(preds).all()
        torch.testing.assert_close(quiet(iai.predict_steps, loaded, x, y, x), preds)


@given(
    config=st.sampled_from([None, str(DEMO), 5, b"configs/demo.toml", "nowhere.toml", ROOT]),
    out=st.sampled_from([None, 5, ["runs"], "OUT", "OUT", "OUT"]),
    sets=st.sampled_from([(), "train.lr=1e-3", [5], [None], 3, [b"train.lr=1"], {"a": 1}]),
)
def test_train_refuses_odd_arguments_by_name(config, out, sets):
    # valid arguments all round would train a full config: that is the property above
    assume(out != "OUT" or sets != () or config in (5, b"configs/demo.toml", "nowhere.toml", ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        out = tmp if out == "OUT" else out
        with pytest.raises(Exception) as info:
            iai.train(config, out, overrides=sets, progress=False)
    expect_iai_error(info.value, "out", "override", "config", "nowhere", str(ROOT))


def _cli(argv, capsys):
    """iai.cli.main(argv): (exit code, stderr). argparse's own refusals exit with 2."""
    from iai.cli import main

    try:
        code = quiet(main, argv)
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code in (0, 2), (code, err)
    if code == 2:
        assert err.strip(), "a refusal says why"
        refused(SystemExit(err.strip().splitlines()[-1]))
    else:
        works()
    return code, err


@given(extra=st.lists(train_overrides, max_size=1))
@few(6)
def test_cli_train_succeeds_or_exits_2_with_iai_error(extra, capsys):
    with tempfile.TemporaryDirectory() as tmp:
        sets = [a for o in [*SMALL, *extra] for a in ("--set", o)]
        code, err = _cli(["train", str(DEMO), "--out", tmp, "--quiet", *sets], capsys)
        if code == 0:
            assert (Path(tmp) / "model.safetensors").exists()
        elif "iai: error:" not in err:
            assert "usage:" in err  # argparse, e.g. an override that looks like an option


@given(
    tasks_=st.one_of(st.none(), st.integers(-2, 12), st.sampled_from(["x", "1.5"])),
    steps=st.one_of(st.none(), st.integers(-2, 4)),
    ood=st.lists(st.sampled_from(["noisy", "none", "shift_x", "bogus"]), max_size=2),
)
@few(8)
def test_cli_eval_succeeds_or_exits_2(tasks_, steps, ood, capsys):
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["eval", str(CKPT / "linreg-d8"), "--out", tmp, "--quiet", "--no-baselines"]
        argv += ["--tasks", str(tasks_ if tasks_ is not None else 8)]
        if steps is not None:
            argv += ["--steps", str(steps)]
        for o in ood:
            argv += ["--ood", o]
        code, err = _cli(argv, capsys)
        if code == 0:
            assert (Path(tmp) / "eval.json").exists()


def test_cli_eval_of_one_task_is_refused_for_its_standard_error(capsys):
    from iai.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        argv = ["eval", str(CKPT / "linreg-d8"), "--tasks", "1", "--out", tmp, "--quiet"]
        assert main(argv) == 2
        assert "eval.tasks = 1; must be ≥ 2" in capsys.readouterr().err


class _WouldRun(Exception):
    pass


grid_tables = st.dictionaries(
    st.sampled_from(
        ["name", "base", "methods", "tasks", "sweep", "overrides", "report_steps", "ood", "zz"]
    ),
    st.one_of(
        toml_literals.filter(lambda s: "\n" not in s and "\r" not in s),
        st.sampled_from(
            [
                '["parametric-both"]',
                '["maml", "sgd-magic"]',
                '["linear_regression"]',
                '["mnist"]',
                '["learner.width=8"]',
                '["train.lr=nan"]',
                '"configs/grid/base.toml"',
                '"nowhere.toml"',
            ]
        ),
    ),
    max_size=4,
)


@given(table=grid_tables, header=st.sampled_from(["[grid]"] * 4 + ["[grids]", ""]))
@settings(suppress_health_check=SUPPRESS)
def test_cli_grid_refuses_bad_grids_with_exit_2(table, header, capsys, monkeypatch):
    def stop(grid, out, progress):
        # a grid the CLI accepts: does every cell's config hold, or would it fail mid-run?
        from iai.grid import cell_config

        for m in grid.methods:
            for t in grid.tasks:
                for sweep in grid.sweep:
                    try:
                        cell_config(grid, m, t, sweep)
                    except iai.IAIError as e:
                        refused(e)
                        event("accepted grid with a cell that only fails when run")
        raise _WouldRun

    monkeypatch.setattr("iai.cli.run_grid", stop)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "g.toml"
        path.write_text(header + "\n" + "\n".join(f"{k} = {v}" for k, v in table.items()))
        try:
            code, err = _cli(["grid", str(path), "--out", tmp, "--quiet"], capsys)
        except _WouldRun:
            event("valid grid (stopped at run_grid)")
            return  # a valid grid: running its cells is tests/test_grid.py's
        assert code == 2 and "iai: error:" in err, err
