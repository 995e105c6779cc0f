"""Runs that are killed, interrupted, damaged or read while they train.

Real processes of `python -m iai.cli train`: SIGKILL between iterations and in the middle of a
checkpoint write, then `--resume`, ends with the weights, optimizer state and metrics of a run
never interrupted; SIGTERM and SIGINT write a checkpoint and exit with 143 and 130, also under
a two-process torchrun; every damaged file of a run directory is named; readers never see a
half-written checkpoint while training writes new ones.
"""

import errno
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import DEMO, TINY
from safetensors.torch import load_file, save_file

import iai
import iai.checkpoint.write
import iai.training.trainer
from iai.checkpoint import FORMAT, pin
from iai.training.loop import train
from iai.training.trainer import Trainer

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
# long enough to stop at many points, short enough to run in a few seconds
RUN = [*TINY, "train.iterations=24", "train.checkpoint_every=2", "train.log_every=1"]


def cli(out: Path, overrides: list[str], *flags: str, launcher=(sys.executable,)) -> list[str]:
    sets = [arg for o in overrides for arg in ("--set", o)]
    args = ["train", str(DEMO), "--out", str(out), "--quiet", *flags, *sets]
    return [*launcher, "-m", "iai.cli", *args]


def start(out: Path, overrides: list[str] = RUN, *flags: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        cli(out, overrides, *flags, **kw),
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def resume(out: Path, overrides: list[str] = RUN) -> None:
    done = subprocess.run(
        cli(out, overrides, "--resume"), env=ENV, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


def logged(out: Path) -> int:
    """Complete lines in metrics.jsonl."""
    try:
        return (out / "metrics.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def wait_until(proc: subprocess.Popen, ready, timeout: float = 60) -> None:
    """Poll `ready()` every half millisecond while `proc` runs."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the run ended (rc {proc.returncode}) before the kill point: {err}")
        assert time.monotonic() < deadline, "kill point never reached"
        time.sleep(0.0005)


def kill(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL


def step_of(out: Path) -> int:
    return json.loads((out / "config.json").read_text())["step"]


def records(out: Path) -> list[dict]:
    """metrics.jsonl without the wall-clock field, which no two runs share."""
    lines = (out / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]


def assert_same_run(out: Path, reference: Path) -> None:
    """Weights, optimizer moments, generators, step and metrics: bit for bit."""
    assert step_of(out) == step_of(reference)
    assert records(out) == records(reference)
    for name in ("model.safetensors", "trainer.safetensors"):
        a, b = load_file(reference / name), load_file(out / name)
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(b[key], a[key]), (name, key)
    # a killed write's leftovers are gone: the last checkpoint and the one before it
    assert len(list((out / "steps").iterdir())) == 2


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted run, trained in this process (single-threaded, as the subprocesses)."""
    out = tmp_path_factory.mktemp("reference") / "run"
    train(iai.config.load_config(DEMO, RUN), out, progress=False)
    return out


# SIGKILL, then --resume.


def test_sigkill_between_iterations_then_resume_is_the_uninterrupted_run(reference, tmp_path):
    """Killed after the fifth metrics line (iteration 5, past the step-4 checkpoint); the kill
    could have cut that line's append short, so a half line is added: resume drops it."""
    out = tmp_path / "run"
    proc = start(out)
    wait_until(proc, lambda: logged(out) >= 5)
    kill(proc)
    assert step_of(out) in (4, 6) and logged(out) >= 5
    with open(out / "metrics.jsonl", "a") as f:
        f.write('{"step": 99, "loss": 0.')  # an append cut short
    resume(out)
    assert_same_run(out, reference)


@pytest.mark.slow  # the SIGKILL between iterations keeps kill-and-resume in make test
def test_sigkill_inside_a_checkpoint_write_then_resume_is_the_uninterrupted_run(
    reference, tmp_path
):
    """Stopped (SIGSTOP) the moment a checkpoint's files are being written, checked to be in
    the middle of the write, then killed: the previous checkpoint is whole and resumes."""
    out, caught = tmp_path / "run", None
    proc = start(out)
    while caught is None:
        wait_until(proc, lambda: logged(out) >= 7 and any(partials(out)))
        proc.send_signal(signal.SIGSTOP)
        parts = partials(out)
        if parts and not (parts[0] / "config.json").exists():  # config.json goes in last
            caught = sorted(p.name for p in parts[0].iterdir())
        else:
            proc.send_signal(signal.SIGCONT)
    before = step_of(out)
    kill(proc)
    assert step_of(out) == before  # the write under way never became the checkpoint
    iai.load(out)  # and what is there loads
    resume(out)
    assert_same_run(out, reference)


def partials(out: Path) -> list[Path]:
    try:
        return [p for p in (out / "steps").iterdir() if p.name.startswith(".partial")]
    except FileNotFoundError:
        return []


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_sigkill_at_a_random_moment_then_resume_is_the_uninterrupted_run(reference, tmp_path, seed):
    """SIGKILL at a random time after a process's first checkpoint, twice in one run."""
    out, rng = tmp_path / "run", random.Random(seed)
    for _ in range(2):
        before = step_of(out) if (out / "latest").is_symlink() else 0
        if before == 24:  # the first kill came after the end
            break
        proc = start(out, RUN, *(["--resume"] if before else []))
        wait_until(proc, lambda b=before: (out / "latest").is_symlink() and step_of(out) > b)
        time.sleep(rng.uniform(0, 0.4))
        if proc.poll() is None:
            kill(proc)
    resume(out)
    assert_same_run(out, reference)


# SIGTERM, SIGINT: a checkpoint, a message and an exit status.


@pytest.mark.parametrize(
    "sig,code", [(signal.SIGTERM, 143), pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow)]
)
def test_sigterm_and_sigint_write_a_checkpoint_and_say_how_to_resume(
    reference, tmp_path, sig, code
):
    out = tmp_path / "run"
    proc = start(out)
    wait_until(proc, lambda: logged(out) >= 5)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    # checkpoint_every = 2, yet the checkpoint is of the very iteration it stopped at
    stopped = step_of(out)
    assert stopped == logged(out) >= 5
    name = signal.Signals(sig).name
    assert f"iai: interrupted by {name} at iteration {stopped}: checkpoint written to" in err
    resumes = re.search(r"resume with `(.*)`", err).group(1)
    assert f"--out {out} --resume --set task.dim=3" in resumes
    assert "Traceback" not in err
    resume(out)
    assert_same_run(out, reference)


def test_signal_handlers_are_restored_after_training(make_cfg, tmp_path):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    train(make_cfg("train.iterations=2"), tmp_path, progress=False)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_sigterm_in_process_raises_interrupted_after_a_checkpoint(make_cfg, tmp_path, monkeypatch):
    """The library call (iai.train) stops the same way: Interrupted, with the step."""
    real, calls = Trainer.iteration, []

    def signalled_at_3(self, it):
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(self, it)

    cfg = make_cfg("train.iterations=8", "train.checkpoint_every=4")
    monkeypatch.setattr(Trainer, "iteration", signalled_at_3)
    with pytest.raises(iai.Interrupted, match="SIGTERM at iteration 3 of 8") as stopped:
        train(cfg, tmp_path, progress=False)
    assert "iai.train(..., resume=True)" in str(stopped.value)
    assert (stopped.value.step, stopped.value.exit_code) == (3, 143)
    assert step_of(tmp_path) == 3


TORCHRUN = [
    *TINY,
    "train.iterations=24",
    "train.tasks=8",
    "train.shards=2",
    "train.log_every=1",
    "train.checkpoint_every=5",
]


@pytest.mark.slow
def test_sigterm_to_torchrun_stops_both_processes_at_one_checkpoint(tmp_path):
    """torchrun forwards SIGTERM to its two workers, which may get it at different iterations:
    they agree on one, rank 0 writes it, both exit. Resumed on one process, the run ends as
    one uninterrupted process trains it (to float tolerance: two processes sum gradients in
    another order)."""
    out = tmp_path / "two"
    launcher = (sys.executable, "-m", "torch.distributed.run", "--standalone")
    proc = start(out, TORCHRUN, launcher=(*launcher, "--nproc_per_node", "2"))
    wait_until(proc, lambda: logged(out) >= 3, timeout=120)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    stopped = step_of(out)
    assert f"iai: interrupted by SIGTERM at iteration {stopped}: checkpoint" in err, err
    assert stopped == logged(out) >= 3 and stopped % 5  # not a scheduled checkpoint
    assert "terminate called" not in err
    resume(out, TORCHRUN)
    one = tmp_path / "one"
    train(iai.config.load_config(DEMO, TORCHRUN), one, progress=False)
    assert [r["step"] for r in records(out)] == list(range(1, 25))
    torch.testing.assert_close(
        torch.tensor([r["per_step"] for r in records(out)]),
        torch.tensor([r["per_step"] for r in records(one)]),
        rtol=1e-5,
        atol=1e-6,
    )
    w1, w2 = load_file(one / "model.safetensors"), load_file(out / "model.safetensors")
    for name in w1:
        torch.testing.assert_close(w2[name], w1[name], rtol=1e-4, atol=1e-5)


# Damaged run directories: each file, each way, named.


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A run of 4 iterations, checkpoints at 2 and 4 (both kept)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    train(
        iai.config.load_config(DEMO, [*TINY, "train.iterations=4", "train.checkpoint_every=2"]),
        out,
        progress=False,
    )
    return out


def real(run: Path, name: str) -> Path:
    """The file behind `name` in the run's newest checkpoint."""
    return pin(run) / name


def other_step(run: Path, name: str) -> None:
    shutil.copyfile(run / "steps" / "00000002" / name, real(run, name))


def cut(run: Path, name: str, keep: float = 0.5) -> None:
    data = real(run, name).read_bytes()
    real(run, name).write_bytes(data[: int(len(data) * keep)])


def garbage(run: Path, name: str) -> None:
    real(run, name).write_bytes(random.Random(0).randbytes(300))


def newer(run: Path, name: str) -> None:
    if name == "config.json":
        doc = json.loads(real(run, name).read_text())
        real(run, name).write_text(json.dumps(doc | {"format": FORMAT + 1}))
        return
    tensors = load_file(real(run, name))
    save_file(tensors, real(run, name), {"step": "4", "format": str(FORMAT + 1)})


def rewrite_metrics(run: Path, change) -> None:
    lines = (run / "metrics.jsonl").read_text().splitlines(keepends=True)
    (run / "metrics.jsonl").write_text("".join(change(lines)))


MODEL, TRAINER, CONFIG = "model.safetensors", "trainer.safetensors", "config.json"
NEWER = (
    f"was written by a newer iai in checkpoint format {FORMAT + 1}; this iai ({{}}) reads "
    f"formats 1 to {FORMAT}"
)


@pytest.mark.parametrize(
    "damage,file,message",
    [
        *[
            case
            for name in (MODEL, TRAINER, CONFIG)
            for case in [
                (lambda r, n=name: cut(r, n), name, "' is corrupt"),
                (lambda r, n=name: cut(r, n, 0.0), name, "' is corrupt"),
                (lambda r, n=name: garbage(r, n), name, "' is corrupt"),
                (lambda r, n=name: real(r, n).unlink(), name, "' is missing"),
                (lambda r, n=name: (r / n).unlink(), name, "' is missing"),
                (lambda r, n=name: newer(r, n), name, NEWER),
            ]
        ],
        (lambda r: other_step(r, MODEL), MODEL, "' holds step 2, but '"),
        (lambda r: other_step(r, TRAINER), TRAINER, "' holds step 2, but '"),
        # config.json of step 2 beside the weights of step 4: the weights name both
        (lambda r: other_step(r, CONFIG), MODEL, "' holds step 4, but '"),
        (lambda r: shutil.rmtree(r / "steps"), CONFIG, "' is a link to a checkpoint that no"),
        (
            lambda r: real(r, CONFIG).write_text('{"config": {}}'),
            CONFIG,
            "' is not an iai checkpoint: it lacks 'format'",
        ),
        (
            lambda r: real(r, CONFIG).write_text('{"format": "one", "config": {}}'),
            CONFIG,
            "' is not an iai checkpoint: its format is 'one'",
        ),
        (lambda r: (r / "metrics.jsonl").unlink(), "metrics.jsonl", "' is missing: it held"),
        (
            lambda r: rewrite_metrics(r, lambda lines: [lines[0], "garbage\n", *lines[1:]]),
            "metrics.jsonl",
            "' line 2 is corrupt",
        ),
        (
            lambda r: rewrite_metrics(r, lambda lines: [*lines, lines[0]]),
            "metrics.jsonl",
            "' line 5 records step 1 after step 4: the log mixes two runs",
        ),
    ],
)
def test_a_damaged_run_directory_names_the_file_and_the_damage(
    finished, tmp_path, damage, file, message
):
    run = tmp_path / "run"
    shutil.copytree(finished, run, symlinks=True)
    damage(run)
    message = message.replace("({})", f"({iai.checkpoint.VERSION})")
    cfg = iai.config.load_config(DEMO, [*TINY, "train.iterations=6", "train.checkpoint_every=2"])
    pattern = re.escape(file) + ".*" + re.escape(message)
    with pytest.raises(iai.CheckpointError, match=pattern):
        train(cfg, run, resume=True, progress=False)
    if file in (MODEL, CONFIG):  # what iai.load reads
        with pytest.raises(iai.CheckpointError, match=pattern):
            iai.load(run)


def test_a_half_written_last_metrics_line_is_dropped_on_resume(finished, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run, symlinks=True)
    text = (run / "metrics.jsonl").read_text()
    (run / "metrics.jsonl").write_text(text + text.splitlines()[0][:20])
    cfg = iai.config.load_config(DEMO, [*TINY, "train.iterations=6", "train.checkpoint_every=2"])
    train(cfg, run, resume=True, progress=False)
    assert [r["step"] for r in records(run)] == [1, 2, 3, 4, 5, 6]


def test_a_run_directory_of_the_flat_layout_resumes_and_becomes_a_unit(finished, tmp_path):
    """Directories written before checkpoints were units (plain files at the top, as the
    committed checkpoints/) load and resume; the resumed run writes the new layout."""
    run = tmp_path / "run"
    run.mkdir()
    for name in (MODEL, TRAINER, CONFIG, "metrics.jsonl"):
        shutil.copyfile(finished / name, run / name)
    assert pin(run) == run
    iai.load(run)
    cfg = iai.config.load_config(DEMO, [*TINY, "train.iterations=6", "train.checkpoint_every=2"])
    train(cfg, run, resume=True, progress=False)
    assert (run / CONFIG).is_symlink() and step_of(run) == 6


def test_without_symbolic_links_a_run_is_written_flat_and_still_resumes(
    make_cfg, tmp_path, monkeypatch
):
    """A file system that makes no links (os.symlink: EPERM) gets the flat layout."""

    def no_links(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(iai.checkpoint.write.os, "symlink", no_links)
    train(make_cfg("train.iterations=4", "train.checkpoint_every=2"), tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [CONFIG, "metrics.jsonl", MODEL, TRAINER]
    assert step_of(tmp_path) == 4
    iai.load(tmp_path)
    train(
        make_cfg("train.iterations=6", "train.checkpoint_every=2"),
        tmp_path,
        resume=True,
        progress=False,
    )
    assert step_of(tmp_path) == 6


# Readers while training writes.

READERS = 1  # processes besides this one
WARM = str(Path(__file__).resolve().parents[1] / "checkpoints" / "linreg-d8")

# Warmed up (a first load takes seconds of imports), says so with a file, waits for the first
# checkpoint, then loads and predicts until it has read the last step (argv[2]); prints the
# weights of each load.
READER = """
import hashlib, json, sys, time
from pathlib import Path
import torch
import iai
run, last, seen, until = Path(sys.argv[1]), int(sys.argv[2]), [], time.monotonic() + 60
learner = iai.load(sys.argv[4])
tasks = learner.prior.sample(3, 12, 5, generator=torch.Generator().manual_seed(0))
iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query, batch_size=4)
Path(sys.argv[3]).touch()
while not (run / "latest").is_symlink():
    time.sleep(0.001)
while time.monotonic() < until:
    learner = iai.load(run)
    tasks = learner.prior.sample(3, 12, 5, generator=torch.Generator().manual_seed(0))
    preds = iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query, batch_size=4)
    assert torch.isfinite(preds).all()
    state = learner.state_dict()
    data = b"".join(state[k].numpy().tobytes() for k in sorted(state))
    seen.append(hashlib.sha256(data).hexdigest())
    if json.loads((run / "config.json").read_text())["step"] == last and len(seen) > 3:
        break
print(json.dumps(seen))
"""


def digest(state: dict) -> str:
    return hashlib.sha256(b"".join(state[k].numpy().tobytes() for k in sorted(state))).hexdigest()


@pytest.mark.slow  # a full training run with readers polling it
def test_readers_while_training_writes_never_see_a_half_written_checkpoint(tmp_path, monkeypatch):
    """A run checkpoints every iteration (a new step directory, a link switched, the one
    before last removed); this process and another load and predict from it all the while,
    so two processes also read one checkpoint at once. Every load succeeds, and its weights
    are exactly those of one step of the run, read in order."""
    overrides = [*TINY, "train.iterations=20", "train.checkpoint_every=1"]
    out = tmp_path / "run"
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(out), "20", str(tmp_path / f"ready{i}"), WARM],
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(READERS)
    ]
    steps = {}  # digest -> step, from the same run trained here

    real_save = iai.training.trainer.save_learner

    def keep(out, learner, config, step, *args):
        steps[digest({k: v.detach().clone() for k, v in learner.state_dict().items()})] = step
        return real_save(out, learner, config, step, *args)

    monkeypatch.setattr(iai.training.trainer, "save_learner", keep)
    train(iai.config.load_config(DEMO, overrides), tmp_path / "here", progress=False)
    assert len(steps) == 20
    while not all((tmp_path / f"ready{i}").exists() for i in range(READERS)):
        assert all(r.poll() is None for r in readers), readers[0].communicate()
        time.sleep(0.01)
    proc = start(out, overrides)
    seen = []
    wait_until(proc, lambda: (out / "latest").is_symlink())
    while proc.poll() is None:
        learner = iai.load(out)
        seen.append(digest(learner.state_dict()))
        time.sleep(0.002)  # two cores: leave the writer and the other reader their share
    assert proc.returncode == 0, proc.communicate()[1]
    others = []
    for reader in readers:
        got, err = reader.communicate(timeout=60)
        assert reader.returncode == 0, err
        others.append(json.loads(got))
    assert len(seen) > 10 and all(len(set(o)) > 3 for o in others)
    for loads in (seen, *others):
        at = [steps[d] for d in loads]  # KeyError: weights of no checkpoint
        assert at == sorted(at)
    assert len(set(seen)) > 3  # it did read while the checkpoints changed
    assert steps[digest(iai.load(out).state_dict())] == 20
