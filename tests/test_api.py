"""The public API: predict_steps and stream, their input checks, and checkpoint loading."""

import json
import re
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import iai
import iai.api
from iai.checkpoint import save_learner
from iai.config import to_dict
from iai.experiment import build

T, N, Q, B = 3, 12, 5, 4
CLASSIFY = ("task.name=linear_classification", "task.classes=3")


@pytest.fixture(params=["regression", "classification"])
def case(request, make_learner):
    """(learner, tasks) for both kinds of task, with a learner whose steps move θ."""
    learner, prior = make_learner(*(CLASSIFY if request.param == "classification" else ()))
    learner.eval()
    tasks = prior.sample(T, N, Q, generator=torch.Generator().manual_seed(0))
    return learner, tasks


def test_predict_steps_shape_and_prior_first(case):
    learner, tasks = case
    preds = iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query, batch_size=B)
    expected_shape = (N // B + 1, T, Q)
    if learner.objective.kind == "classification":
        expected_shape += (3,)
    assert preds.shape == expected_shape
    state = learner.init(tasks.x_query)
    prior = learner.objective.prediction(learner.predict(state, tasks.x_query))
    assert torch.equal(preds[0], prior)
    for k in range(1, N // B + 1):  # every step is one learner.step on the next B points
        xb, yb = tasks.x_train[:, (k - 1) * B : k * B], tasks.y_train[:, (k - 1) * B : k * B]
        state = learner.step(state, xb, yb)
        expected = learner.objective.prediction(learner.predict(state, tasks.x_query))
        torch.testing.assert_close(preds[k], expected, rtol=1e-6, atol=1e-6)
        assert not torch.allclose(preds[k], preds[k - 1])


def test_stream_yields_what_predict_steps_returns(case):
    learner, tasks = case
    preds = iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query, batch_size=B)
    batches = ((tasks.x_train[:, i : i + B], tasks.y_train[:, i : i + B]) for i in range(0, N, B))
    streamed = list(iai.stream(learner, batches, tasks.x_query))
    assert len(streamed) == len(preds)
    for k, out in enumerate(streamed):
        assert torch.equal(out, preds[k]), k


def test_a_remainder_forms_one_last_smaller_step(case):
    learner, tasks = case
    b = 5  # 12 points: 5, 5, then the remaining 2
    preds = iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query, batch_size=b)
    assert len(preds) == -(-N // b) + 1 == 4
    sizes = [(0, 5), (5, 10), (10, 12)]
    batches = [(tasks.x_train[:, i:j], tasks.y_train[:, i:j]) for i, j in sizes]
    for k, out in enumerate(iai.stream(learner, batches, tasks.x_query)):
        torch.testing.assert_close(preds[k], out, rtol=0, atol=0)
    assert not torch.allclose(preds[3], preds[2])  # the last two points did count


def test_predict_steps_reads_lists_and_other_dtypes(case):
    learner, tasks = case
    y = tasks.y_train.int() if learner.objective.kind == "classification" else tasks.y_train
    expected = iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query, B)
    got = iai.predict_steps(learner, tasks.x_train.double().tolist(), y, tasks.x_query, B)
    torch.testing.assert_close(got, expected)


def regression_inputs(prior):
    tasks = prior.sample(T, N, Q, generator=torch.Generator().manual_seed(1))
    return tasks.x_train, tasks.y_train, tasks.x_query


def with_nan(t: torch.Tensor, value: float) -> torch.Tensor:
    t = t.clone()
    t[1, 2, ...] = value
    return t


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda x, y, q: (with_nan(x, float("nan")), y, q), "x_train contains NaN or inf"),
        (lambda x, y, q: (x, with_nan(y, float("inf")), q), "y_train contains NaN or inf"),
        (lambda x, y, q: (x, y, with_nan(q, float("-inf"))), "x_query contains NaN or inf"),
        (lambda x, y, q: (x[..., :2], y, q), "x_train has 2 features; this learner takes 3"),
        (lambda x, y, q: (x, y, q[..., :2]), "x_query has 2 features; this learner takes 3"),
        (lambda x, y, q: (x, y[:, :-1], q), "y_train has shape (3, 11); the inputs imply (3, 12)"),
        (lambda x, y, q: (x, y, q[:2]), "x_query has 2 tasks; x_train has 3"),
        (lambda x, y, q: (x[:, :0], y[:, :0], q), "x_train has no points"),
        (
            lambda x, y, q: (x[0], y, q),
            "x_train must have 3 dimensions (tasks, points, features), got shape (12, 3); "
            "for a single task add the task axis in front (x_train[None], shape (1, 12, 3))",
        ),
        (lambda x, y, q: (x, y[..., None], q), "y_train has shape (3, 12, 1); the inputs imply"),
        (lambda x, y, q: (x, "abc", q), "y_train cannot be read as a tensor"),
    ],
)
def test_bad_inputs_are_named(make_learner, change, message):
    learner, prior = make_learner()
    x, y, q = change(*regression_inputs(prior))
    with pytest.raises(iai.InvalidInput, match=re.escape(message)):
        iai.predict_steps(learner, x, y, q, batch_size=B)


@pytest.mark.parametrize("batch_size", [0, -1, 2.0, True, "4"])
def test_batch_size_must_be_a_positive_integer(make_learner, batch_size):
    learner, prior = make_learner()
    message = f"batch_size must be an integer ≥ 1, got {batch_size!r}"
    with pytest.raises(iai.InvalidInput, match=re.escape(message)):
        iai.predict_steps(learner, *regression_inputs(prior), batch_size=batch_size)


@pytest.mark.parametrize(
    "labels,message",
    [
        (lambda y: y.float(), "y_train must hold integer class labels, got torch.float32"),
        (lambda y: y == 1, "y_train must hold integer class labels, got torch.bool"),
        (lambda y: torch.where(y == 0, 3, y), "y_train holds labels outside [0, 3)"),
        (lambda y: torch.where(y == 0, -1, y), "y_train holds labels outside [0, 3)"),
    ],
)
def test_bad_labels_are_named(make_learner, labels, message):
    learner, prior = make_learner(*CLASSIFY)
    tasks = prior.sample(T, N, Q, generator=torch.Generator().manual_seed(2))
    assert (tasks.y_train == 0).any()
    with pytest.raises(iai.InvalidInput, match=re.escape(message)):
        iai.predict_steps(learner, tasks.x_train, labels(tasks.y_train), tasks.x_query, B)


def test_stream_checks_every_batch_as_it_arrives(make_learner):
    learner, prior = make_learner()
    x, y, q = regression_inputs(prior)
    good = (x[:, :4], y[:, :4])
    cases = [
        ((x[:2, :4], y[:2, :4]), "batch 1 has 2 tasks; x_query has 3"),
        ((x[:, :4], y[:, :3]), "batch 1 y has shape (3, 3); the inputs imply (3, 4)"),
        ((with_nan(x, float("nan"))[:, :4], y[:, :4]), "batch 1 x contains NaN or inf"),
        (x[:, :4], "batch 1 is not an (x, y) pair"),
    ]
    for bad, message in cases:
        stream = iai.stream(learner, [good, bad], q)
        assert next(stream).shape == next(stream).shape == (T, Q)  # prior, then step 1
        with pytest.raises(iai.InvalidInput, match=re.escape(message)):
            next(stream)


# Checkpoints.


@pytest.fixture
def checkpoint(make_cfg, tmp_path):
    """A saved learner with a random head, its directory and its predictions on fixed tasks."""
    cfg = make_cfg()
    learner, prior = build(cfg)
    with torch.no_grad():
        learner.update.head.bias.normal_(0, 0.1, generator=torch.Generator().manual_seed(3))
    save_learner(tmp_path / "ckpt", learner, to_dict(cfg), step=7)
    return tmp_path / "ckpt", learner, regression_inputs(prior)


def test_load_gives_back_the_saved_learner(checkpoint):
    directory, learner, inputs = checkpoint
    loaded = iai.load(directory)
    expected = iai.predict_steps(learner, *inputs, batch_size=B)
    assert not torch.allclose(expected[-1], expected[0])
    assert torch.equal(iai.predict_steps(loaded, *inputs, batch_size=B), expected)
    assert not loaded.training


def rewrite_tensors(directory, change) -> None:
    tensors = load_file(directory / "model.safetensors")
    change(tensors)
    save_file(tensors, directory / "model.safetensors")


def truncate(directory, keep: float) -> None:
    path = directory / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda d: (d / "config.json").unlink(), "config.json' is missing"),
        (lambda d: (d / "config.json").write_text("{not json"), "config.json' is corrupt"),
        (lambda d: (d / "config.json").write_bytes(b"\xff\xfe"), "config.json' is corrupt"),
        (
            lambda d: (d / "config.json").write_text(json.dumps({"format": 99, "config": {}})),
            "was written by a newer iai in checkpoint format 99; this iai",
        ),
        (
            lambda d: (d / "config.json").write_text(
                json.dumps({"format": 1, "config": {"train": {"bogus": 1}}})
            ),
            "holds an invalid config: unknown config key 'train.bogus'",
        ),
        (lambda d: (d / "model.safetensors").unlink(), "model.safetensors' is missing"),
        (lambda d: truncate(d, 0.5), "model.safetensors' is corrupt"),
        (lambda d: truncate(d, 0.99), "model.safetensors' is corrupt"),
        (lambda d: truncate(d, 0.0), "model.safetensors' is corrupt"),
        (
            lambda d: rewrite_tensors(d, lambda t: t.pop("update.head.bias")),
            "does not match its config: missing ['update.head.bias'], extra []",
        ),
        (
            lambda d: rewrite_tensors(d, lambda t: t.update(bogus=torch.zeros(2))),
            "does not match its config: missing [], extra ['bogus']",
        ),
        (
            lambda d: rewrite_tensors(d, lambda t: t.update(theta0=torch.zeros(5))),
            "tensor 'theta0' has shape (5,), the config implies (4,)",
        ),
        (
            lambda d: rewrite_tensors(d, lambda t: t["theta0"].fill_(float("nan"))),
            "tensor 'theta0' holds NaN or inf",
        ),
    ],
)
def test_damaged_checkpoints_are_named(checkpoint, damage, message):
    directory, _, _ = checkpoint
    damage(directory)
    with pytest.raises(iai.CheckpointError, match=re.escape(message)):
        iai.load(directory)


def test_missing_checkpoint_directory_is_named(tmp_path):
    path = tmp_path / "nowhere"
    message = f"checkpoint directory {str(path)!r} does not exist"
    with pytest.raises(iai.CheckpointError, match=re.escape(message)):
        iai.load(path)


@pytest.mark.parametrize(
    "learner_cfg",
    [
        'learner={kind="parametric", width=8, depth=1, heads=2, history=3}',
        'learner={kind="explicit", width=8, depth=1, heads=2, latent=4}',
        'learner={kind="implicit", width=8, depth=1, heads=2}',
        'learner={kind="optimizer", method="adam"}',
        'learner={kind="maml"}',
    ],
)
def test_stream_holds_no_past_batch_for_any_learner(make_cfg, learner_cfg):
    """Memory flat in the number of batches: once step k is taken, batch k is garbage."""
    import gc
    import weakref

    learner, prior = build(make_cfg(learner_cfg))
    tasks = prior.sample(T, 12 * B, Q, generator=torch.Generator().manual_seed(3))
    refs = []

    def batches():
        for i in range(0, 12 * B, B):
            x, y = tasks.x_train[:, i : i + B].clone(), tasks.y_train[:, i : i + B].clone()
            refs.append(weakref.ref(x))
            yield x, y

    for k, _ in enumerate(iai.stream(learner, batches(), tasks.x_query)):
        gc.collect()
        assert sum(r() is not None for r in refs) <= 1, f"step {k} keeps older batches alive"
    assert k == 12


# Adapt once, predict anywhere.


def test_adapt_then_predict_equals_the_last_step_of_predict_steps(case):
    learner, tasks = case
    state = iai.adapt(learner, tasks.x_train, tasks.y_train, batch_size=B)
    steps = iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query, batch_size=B)
    torch.testing.assert_close(iai.predict(learner, state, tasks.x_query), steps[-1])
    # the same state answers other queries, of any number, as a fresh adaptation would
    other = tasks.x_train[:, :7]
    again = iai.predict_steps(learner, tasks.x_train, tasks.y_train, other, batch_size=B)
    torch.testing.assert_close(iai.predict(learner, state, other), again[-1])


def test_implicit_learner_adapts_to_the_queries_it_is_given(make_learner):
    learner, prior = make_learner('learner={kind="implicit", width=8, depth=1, heads=2}')
    x, y, q = regression_inputs(prior)
    with pytest.raises(iai.InvalidInput, match="pass x_query to adapt"):
        iai.adapt(learner, x, y)
    state = iai.adapt(learner, x, y, x_query=q, batch_size=B)
    steps = iai.predict_steps(learner, x, y, q, batch_size=B)
    torch.testing.assert_close(iai.predict(learner, state, q), steps[-1])


def test_batch_size_defaults_to_the_trained_one_and_takes_numpy_integers(make_learner):
    learner, prior = make_learner()
    x, y, q = regression_inputs(prior)
    assert learner.config.train.batch_size == 4
    expected = iai.predict_steps(learner, x, y, q, batch_size=4)
    assert torch.equal(iai.predict_steps(learner, x, y, q), expected)
    assert torch.equal(iai.predict_steps(learner, x, y, q, batch_size=np.int64(4)), expected)


def test_data_unlike_the_prior_is_accepted_with_a_warning(make_learner):
    """Raw targets in the hundreds (as scikit-learn's diabetes table) and shifted inputs are
    read, but the user is told that the learner extrapolates; prior-like data is not."""
    learner, prior = make_learner()
    x, y, q = regression_inputs(prior)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        iai.predict_steps(learner, x, y, q)
    calls = {
        "targets' mean is 1[0-9][0-9] and spread": lambda: iai.predict_steps(
            learner, x, 152 + 77 * y, q
        ),
        "feature's mean lies": lambda: iai.adapt(learner, x + 10, y),
        "spread": lambda: list(iai.stream(learner, [(100 * x[:, :4], y[:, :4])], q)),
    }
    for message, call in calls.items():
        with pytest.warns(iai.InputWarning, match=message) as caught:
            call()
        assert len(caught) == 1 and caught[0].filename == __file__  # once, at the caller's line


def test_load_of_a_file_says_a_checkpoint_is_a_directory(checkpoint):
    directory, _, _ = checkpoint
    with pytest.raises(iai.CheckpointError, match="is a file; a checkpoint is the directory"):
        iai.load(directory / "config.json")


def test_model_is_refused_where_it_cannot_plug_in(checkpoint, tmp_path):
    class Line:
        n_params = 4

        def __call__(self, theta, x):
            return x @ theta[:3, None] + theta[3]

    implicit = ['learner={kind="implicit"}', "task.dim=3"]
    with pytest.raises(iai.InvalidConfig, match="plugs into the parametric learner"):
        iai.train(None, tmp_path, model=Line(), overrides=implicit, progress=False)
    directory, _, _ = checkpoint
    with pytest.raises(iai.InvalidInput, match="uses a shipped one"):
        iai.load(directory, model=Line())


def test_the_packaged_learners_load_without_the_meta_check(monkeypatch, tmp_path):
    """iai/pretrained/ is trusted as the package's code is: loading from it skips the meta
    build (whose arithmetic imports torch._dynamo, ~1 s, in a fresh process). A copy of the
    same checkpoint anywhere else is an untrusted path and is checked."""
    code = (
        "import sys, iai, iai.api\n"
        "for d in sorted(iai.api.PACKAGED.iterdir()): iai.load(d)\n"
        "assert 'torch._dynamo' not in sys.modules, 'torch._dynamo imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    checked = []
    monkeypatch.setattr(iai.api, "check_weights", lambda d, shape: checked.append(d))
    iai.load(iai.api.PACKAGED / "tabular-regression")
    assert checked == []
    shutil.copytree(iai.api.PACKAGED / "tabular-regression", tmp_path / "copy")
    iai.load(tmp_path / "copy")
    assert checked == [tmp_path / "copy"]
