"""Greedy training end to end: it learns, it checkpoints, and a resumed run is the same run."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import iai
import iai.training.greedy
from iai.config import load_config
from iai.experiment import build
from iai.tasks import Tasks, make_prior
from iai.training.config import learning_rate
from iai.training.loop import train

# Small enough to train in a few seconds on one thread, big enough to learn linear regression.
LEARNS = [
    "task.dim=4",
    "learner.width=32",
    "train.iterations=100",
    "train.tasks=16",
    "train.batch_size=8",
    "train.steps=4",
    "train.queries=16",
    "train.lr=3e-3",
    "train.warmup=10",
    "train.log_every=10",
    "train.checkpoint_every=100",
]


def records(path) -> list[dict]:
    """metrics.jsonl without the wall-clock field, which no two runs share."""
    lines = (path / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]


def test_learning_rate_warms_up_then_decays_to_min_lr(make_cfg):
    t = make_cfg(
        "train.iterations=100", "train.warmup=10", "train.lr=1e-3", "train.min_lr=1e-4"
    ).train
    rates = [learning_rate(t, it) for it in range(100)]
    assert rates[0] == pytest.approx(1e-4) and rates[9] == pytest.approx(1e-3)
    assert all(a < b for a, b in zip(rates[:10], rates[1:10], strict=False))
    assert all(a >= b for a, b in zip(rates[10:], rates[11:], strict=False))
    assert rates[-1] == pytest.approx(1e-4, rel=0.01) and min(rates) >= 1e-4


def test_short_run_beats_its_own_prior(make_cfg, tmp_path):
    cfg = make_cfg(*LEARNS)
    learner = train(cfg, tmp_path / "run", progress=False)
    _, prior = build(cfg)
    # Fresh tasks, from a generator training never used.
    tasks = prior.sample(200, 4 * 8, 32, generator=torch.Generator().manual_seed(1234))
    preds = iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query, batch_size=8)
    mse = (preds - tasks.y_query).square().mean((1, 2))  # (K + 1,)
    assert mse.shape == (5,)
    assert mse[-1] < 0.5 * mse[0], mse.tolist()
    assert mse[-1] < mse[1], mse.tolist()  # more data helps: it is not a one-step trick
    logged = records(tmp_path / "run")
    assert [r["step"] for r in logged] == list(range(10, 101, 10))
    assert logged[-1]["loss"] < logged[0]["loss"]


def test_checkpoint_loads_and_predicts_like_the_trained_learner(make_cfg, tmp_path):
    cfg = make_cfg()
    learner = train(cfg, tmp_path, progress=False)
    loaded = iai.load(tmp_path)
    _, prior = build(cfg)
    tasks = prior.sample(3, 12, 5, generator=torch.Generator().manual_seed(5))
    args = (tasks.x_train, tasks.y_train, tasks.x_query)
    expected = iai.predict_steps(learner, *args, batch_size=4)
    assert not torch.allclose(expected[-1], expected[0])
    assert torch.equal(iai.predict_steps(loaded, *args, batch_size=4), expected)
    for name, value in learner.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value), name


def test_resume_after_a_crash_equals_the_uninterrupted_run(make_cfg, tmp_path, monkeypatch):
    cfg = make_cfg("train.iterations=8", "train.checkpoint_every=4", "train.log_every=1")
    train(cfg, tmp_path / "a", progress=False)

    real, calls = iai.training.greedy.greedy_losses, []

    def crash_at_step_5(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(iai.training.greedy, "greedy_losses", crash_at_step_5)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "b", progress=False)
    monkeypatch.setattr(iai.training.greedy, "greedy_losses", real)
    # The crash left the step-4 checkpoint and a log up to step 4 behind.
    assert json.loads((tmp_path / "b" / "config.json").read_text())["step"] == 4
    assert [r["step"] for r in records(tmp_path / "b")] == [1, 2, 3, 4]

    train(cfg, tmp_path / "b", resume=True, progress=False)
    a, b = records(tmp_path / "a"), records(tmp_path / "b")
    assert [r["step"] for r in a] == list(range(1, 9))
    assert a == b  # losses, per-step losses, gradient norms and rates, bit for bit
    for name in ("model.safetensors", "trainer.safetensors"):
        weights_a, weights_b = load_file(tmp_path / "a" / name), load_file(tmp_path / "b" / name)
        assert weights_a.keys() == weights_b.keys()
        for key, value in weights_a.items():
            assert torch.equal(weights_b[key], value), (name, key)


def test_threads_drawing_the_shards_draw_the_tasks_of_one_thread(make_cfg, tmp_path):
    """train.draw_threads draws the shards at once, each from its own generator: the same
    losses and weights as one thread; and a resumed run may change it."""
    shards = ("train.iterations=4", "train.tasks=8", "train.shards=4", "train.log_every=1")
    train(make_cfg(*shards), tmp_path / "one", progress=False)
    train(make_cfg(*shards, "train.iterations=2", "train.draw_threads=3"), tmp_path / "three",
          progress=False)  # fmt: skip
    train(make_cfg(*shards, "train.draw_threads=2"), tmp_path / "three", resume=True,
          progress=False)  # fmt: skip
    assert records(tmp_path / "one") == records(tmp_path / "three")
    one = load_file(tmp_path / "one" / "model.safetensors")
    three = load_file(tmp_path / "three" / "model.safetensors")
    assert all(torch.equal(three[k], v) for k, v in one.items())


def test_a_table_prior_trains_in_shards_of_their_own_widths(tmp_path):
    """The tabular prior draws each shard at its own width: the shards' losses are averaged,
    and threads drawing them give the same run."""
    tiny = [
        "train.iterations=2", "train.tasks=4", "train.shards=2", "train.steps=2",
        "train.batch_size=8", "train.queries=8", "train.warmup=1", "train.log_every=1",
        "learner.width=16", "learner.hidden=16", "learner.latents=4", "learner.depth=1",
    ]  # fmt: skip
    recipe = Path(__file__).parents[1] / "configs/tabular/tokens-classification.toml"
    train(load_config(recipe, tiny), tmp_path / "one", progress=False)
    train(load_config(recipe, [*tiny, "train.draw_threads=2"]), tmp_path / "two", progress=False)
    assert records(tmp_path / "one") == records(tmp_path / "two")


def test_resume_refuses_another_experiment_naming_each_key(make_cfg, tmp_path):
    train(make_cfg(), tmp_path, progress=False)
    with pytest.raises(
        iai.CheckpointError, match=r"seed was 0, now 3, train.lr was 0.001, now 0.0005"
    ):
        train(make_cfg("train.lr=5e-4", "seed=3"), tmp_path, resume=True, progress=False)


def test_resume_extends_a_finished_run_and_says_when_there_is_nothing_to_do(
    make_cfg, tmp_path, capsys
):
    """A finished run resumed with more iterations trains on from its last step; the same
    call again finds nothing to do and says so. Evaluation settings may change too."""
    train(make_cfg("train.iterations=4"), tmp_path, progress=False)
    longer = make_cfg("train.iterations=6", "eval.tasks=7", "train.log_every=2")
    train(longer, tmp_path, resume=True, progress=False)
    assert [r["step"] for r in records(tmp_path)] == [1, 2, 3, 4, 6]
    assert json.loads((tmp_path / "config.json").read_text())["step"] == 6
    train(longer, tmp_path, resume=True, progress=True)
    assert "already trained 6 of 6 iterations: nothing to do" in capsys.readouterr().out


def test_resume_without_a_checkpoint_is_a_checkpoint_error(make_cfg, tmp_path):
    with pytest.raises(iai.CheckpointError, match="does not exist"):
        train(make_cfg(), tmp_path / "never", resume=True, progress=False)


def test_resume_reads_a_setting_added_since_the_run_was_saved_as_its_default(make_cfg, tmp_path):
    """A run saved by an iai that lacked a learner setting resumes when the setting is left at
    its default (here: the saved config.json loses `learner.state_grad`)."""
    train(make_cfg("train.iterations=2"), tmp_path, progress=False)
    doc = json.loads((tmp_path / "config.json").read_text())
    del doc["config"]["learner"]["state_grad"]
    (tmp_path / "config.json").write_text(json.dumps(doc))
    train(make_cfg("train.iterations=3"), tmp_path, resume=True, progress=False)
    assert json.loads((tmp_path / "config.json").read_text())["step"] == 3


class Poisoned:
    """The tiny config's linear-regression prior, with NaN targets at chosen calls of sample()
    (one call per training iteration): a batch poisoned as by a bad data source."""

    def __init__(self, cfg, poison) -> None:
        self.inner, self.poison, self.calls = make_prior(cfg.task), poison, 0
        self.kind, self.dim, self.out_dim = "regression", cfg.task.dim, 1

    def sample(self, n_tasks, n_points, n_query, *, generator):
        self.calls += 1
        tasks = self.inner.sample(n_tasks, n_points, n_query, generator=generator)
        if self.poison(self.calls):
            return Tasks(tasks.x_train, tasks.y_train * float("nan"), tasks.x_query, tasks.y_query)
        return tasks


def test_a_poisoned_batch_is_skipped_counted_and_logged(make_cfg, tmp_path):
    cfg = make_cfg("train.iterations=6", "train.log_every=3")
    learner = train(cfg, tmp_path, progress=False, prior=Poisoned(cfg, lambda call: call == 2))
    logged = records(tmp_path)
    assert [(r["step"], r["skipped"]) for r in logged] == [(2, 1), (3, 1), (6, 1)]
    assert logged[0]["loss"] is None and logged[1]["loss"] is not None
    assert all(torch.isfinite(p).all() for p in learner.parameters())


def test_a_persistent_nan_stops_training_and_leaves_the_last_checkpoint(make_cfg, tmp_path):
    cfg = make_cfg("train.iterations=12", "train.checkpoint_every=4", "train.max_skips=3")
    poisoned = Poisoned(cfg, lambda call: call > 5)
    with pytest.raises(iai.TrainingStopped, match=r"3 iterations in a row \(up to iteration 8"):
        train(cfg, tmp_path, progress=False, prior=poisoned)
    assert json.loads((tmp_path / "config.json").read_text())["step"] == 4
    loaded = iai.load(tmp_path)
    assert all(torch.isfinite(p).all() for p in loaded.parameters())


def test_training_into_a_trained_run_says_how_to_resume_from_python_and_the_cli(make_cfg, tmp_path):
    train(make_cfg("train.iterations=2"), tmp_path, progress=False)
    with pytest.raises(iai.CheckpointError, match="already holds a trained learner") as refused:
        train(make_cfg("train.iterations=2"), tmp_path, progress=False)
    assert "iai.train(..., resume=True)" in str(refused.value)
    assert "`iai train --resume`" in str(refused.value)


def test_interrupted_is_an_iai_error_exported_without_importing_the_trainer():
    code = (
        "import sys, iai\n"
        "assert issubclass(iai.Interrupted, iai.IAIError) and 'Interrupted' in iai.__all__\n"
        "print(sorted(m for m in sys.modules if m.startswith('iai.training')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # the config dataclass only, as before Interrupted was exported (iai.config composes it)
    assert done.stdout.strip() == "['iai.training', 'iai.training.config']"
