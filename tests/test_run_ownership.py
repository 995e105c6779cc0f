"""A run owns its directory (issue 24, findings 5 and 13).

Two real `iai train` processes on one `--out`: one trains, the other is refused at once naming
the holder's pid, and metrics.jsonl holds one run. A killed holder leaves no lock behind. A
full disk (os.write raising ENOSPC in the checkpoint's files, the metrics log, a rewritten
log) or a read-only file system is a CheckpointError naming the path and the reason, one line
from the CLI, and leaves the last complete checkpoint whole, loadable and resumable, with no
half-written file, wherever the disk fills (hypothesis over the write it fills at). Clean-up
removes what killed runs left and nothing it did not write. Under torchrun rank 0 holds the
lock and a refused job stops on every rank.
"""

import contextlib
import errno
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import DEMO, TINY
from hypothesis import given, settings
from hypothesis import strategies as st

import iai
import iai.checkpoint.lock
import iai.training.trainer
from iai.checkpoint import atomic_write
from iai.cli import main

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
RUN = [*TINY, "train.iterations=8", "train.checkpoint_every=4"]
# long enough (a second or two of training) that two runs started together overlap
RACE = [*TINY, "train.iterations=150", "train.checkpoint_every=2", "train.log_every=1"]
HOLD = "import sys, time; from iai.checkpoint.lock import RunLock\n" + (
    "with RunLock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(120)\n"
)


def cli_args(out: Path, overrides: list[str], *flags: str) -> list[str]:
    sets = [arg for o in overrides for arg in ("--set", o)]
    return ["train", str(DEMO), "--out", str(out), "--quiet", *flags, *sets]


def steps_logged(out: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]


def step_of(out: Path) -> int:
    return json.loads((out / "config.json").read_text())["step"]


def leftovers(out: Path) -> list[str]:
    """Half-written checkpoints and temporary files: none may outlive a write, failed or not."""
    names = [p.name for p in out.iterdir()] + [p.name for p in (out / "steps").glob(".*")]
    return [n for n in names if n.startswith(".partial") or ".tmp" in n or ".link" in n]


@contextlib.contextmanager
def held_by_another_process(out: Path):
    """A process that holds `out`'s lock until it is killed (SIGKILL: no clean-up)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out)], env=ENV, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline() == "held\n"
        yield proc
    finally:
        proc.kill()
        proc.wait()


# Finding 5: one run per directory.


def test_a_second_run_is_refused_at_once_naming_the_holder_and_a_killed_holder_leaves_no_lock(
    tmp_path, capsys
):
    out = tmp_path / "run"
    with held_by_another_process(out) as holder:
        holds = f"is in use by another run (pid {holder.pid} on "
        with pytest.raises(iai.CheckpointError, match=re.escape(f"{out}' {holds}")):
            iai.train(DEMO, out, overrides=RUN, progress=False)
        assert main(cli_args(out, RUN)) == 2
        err = capsys.readouterr().err
        assert err.startswith("iai: error: ") and holds in err and err.count("\n") == 1
        assert not (out / "metrics.jsonl").exists()  # refused before anything was written
        holder.kill()
        holder.wait()
    assert (out / ".lock").exists()  # the killed holder's file stays, its lock went with it
    iai.train(DEMO, out, overrides=RUN, progress=False)
    assert steps_logged(out) == list(range(1, 9))
    assert not (out / ".lock").exists()  # a run that ends removes it


def race(out: Path) -> None:
    """Two `iai train` processes on one --out, started together."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "iai.cli", *cli_args(out, RACE)],
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    order = []  # which ended first
    while len(order) < 2:
        order += [p for p in procs if p.poll() is not None and p not in order]
        time.sleep(0.005)
    results = {p.pid: (p.returncode, *p.communicate()) for p in procs}
    assert sorted(code for code, _, _ in results.values()) == [0, 2], results
    (winner,) = [pid for pid, (code, _, _) in results.items() if code == 0]
    (loser,) = [pid for pid in results if pid != winner]
    err = results[loser][2]
    assert err.startswith("iai: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert f"is in use by another run (pid {winner} on " in err, err
    assert order[0].pid == loser  # refused at once, while the other trained
    assert steps_logged(out) == list(range(1, 151))  # one run's log, whole
    assert step_of(out) == 150 and len(list((out / "steps").iterdir())) == 2
    assert leftovers(out) == [] and not (out / ".lock").exists()
    iai.load(out)


def test_two_runs_started_together_on_one_out_one_trains_the_other_is_refused(tmp_path):
    race(tmp_path / "run")


@pytest.mark.slow
@pytest.mark.parametrize("attempt", range(8))
def test_two_runs_started_together_many_times(tmp_path, attempt):
    race(tmp_path / "run")


def test_the_lock_module_imports_without_fcntl(monkeypatch):
    """Windows has no fcntl: the module takes msvcrt's lock instead, and must import."""
    monkeypatch.setitem(sys.modules, "fcntl", None)
    monkeypatch.setitem(sys.modules, "msvcrt", type(sys)("msvcrt"))
    spec = importlib.util.spec_from_file_location("lock_on_windows", iai.checkpoint.lock.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.fcntl is None


def test_clean_up_removes_what_killed_runs_left_and_nothing_else(tmp_path):
    """Under the lock a save is the directory's one writer, so another pid's temporary files
    and half-written checkpoints are stale and go; names iai never writes stay."""
    out = tmp_path / "run"
    iai.train(DEMO, out, overrides=RUN, progress=False)
    stale_dirs = [out / "steps" / ".partial-00000008-999999", out / "steps" / "00000002"]
    stale = [out / ".metrics.jsonl.tmp-999999", out / ".config.json.link-999999", *stale_dirs]
    (out / ".link-999999").symlink_to("steps")
    foreign = [out / "notes.txt", out / ".my-notes", out / "steps" / "README"]
    for path in stale_dirs:
        path.mkdir()
    for path in [*stale[:2], *foreign]:
        path.touch()
    stale.append(out / ".link-999999")
    iai.train(DEMO, out, overrides=[*RUN, "train.iterations=12"], resume=True, progress=False)
    assert [p for p in stale if os.path.lexists(p)] == []
    assert all(p.exists() for p in foreign)


# Finding 13: full and read-only disks, `out` a file.


def written_path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


@pytest.fixture
def full_disk(monkeypatch):
    """full_disk(where) makes the disk fill up at the first os.write to a file for which
    where(path) holds: half of that write goes through, the rest raises ENOSPC, as does every
    later write there."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd to tell which file a write goes to")
    real = os.write

    def fill(where):
        filled = []

        def write(fd, data):
            if not filled and not where(written_path(fd)):
                return real(fd, data)
            if not filled:
                filled.append(real(fd, bytes(data)[: len(data) // 2]))
                return filled[0]
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "write", write)

    return fill


def test_a_full_disk_at_a_checkpoint_is_named_and_the_last_one_stays(tmp_path, full_disk):
    out = tmp_path / "run"
    full_disk(lambda path: ".partial-00000008" in path and path.endswith("model.safetensors"))
    with pytest.raises(iai.CheckpointError) as failed:
        iai.train(DEMO, out, overrides=RUN, progress=False)
    message = str(failed.value)
    assert "could not write the checkpoint of step 8 to" in message
    assert "No space left on device" in message and "model.safetensors" in message
    assert "its last complete checkpoint, steps/00000004, is intact" in message
    assert not isinstance(failed.value, FileNotFoundError | FileExistsError)
    assert leftovers(out) == [] and not (out / ".lock").exists()
    assert sorted(p.name for p in (out / "steps").iterdir()) == ["00000004"]
    assert step_of(out) == 4
    iai.load(out)


def test_after_a_full_disk_the_run_resumes(tmp_path, full_disk, monkeypatch):
    out = tmp_path / "run"
    real = os.write
    full_disk(lambda path: ".partial-00000008" in path)
    with pytest.raises(iai.CheckpointError, match="No space left on device"):
        iai.train(DEMO, out, overrides=RUN, progress=False)
    monkeypatch.setattr(os, "write", real)  # space freed
    iai.train(DEMO, out, overrides=RUN, resume=True, progress=False)
    assert step_of(out) == 8 and steps_logged(out) == list(range(1, 9))


def test_a_full_disk_at_the_metrics_log_is_named_and_the_log_keeps_whole_lines(tmp_path, full_disk):
    out = tmp_path / "run"
    appended = []

    def sixth_append(path):
        appended.append(path)
        return path.endswith("/metrics.jsonl") and appended.count(path) == 6

    full_disk(sixth_append)
    with pytest.raises(iai.CheckpointError) as failed:
        iai.train(DEMO, out, overrides=RUN, progress=False)
    assert f"could not append to {str(out / 'metrics.jsonl')!r}: No space left" in str(failed.value)
    assert steps_logged(out) == [1, 2, 3, 4, 5]  # the half line was cut back off
    assert (out / "metrics.jsonl").read_bytes().endswith(b"\n")
    assert step_of(out) == 4 and leftovers(out) == []
    iai.load(out)


def test_a_full_disk_when_a_file_is_replaced_keeps_the_old_file(tmp_path, full_disk):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b"old\n")
    full_disk(lambda p: p.startswith(str(tmp_path)))
    with pytest.raises(
        iai.CheckpointError, match=re.escape(f"could not write {str(path)!r}: No space")
    ):
        atomic_write(path, b"new\n" * 1000)
    assert path.read_bytes() == b"old\n" and sorted(tmp_path.iterdir()) == [path]


def test_the_cli_reports_a_full_disk_in_one_line(tmp_path, full_disk, capsys):
    out = tmp_path / "run"
    full_disk(lambda path: ".partial-00000008" in path)
    assert main(cli_args(out, RUN)) == 2
    err = capsys.readouterr().err
    assert err.startswith("iai: error: could not write the checkpoint of step 8 to ")
    assert "No space left on device" in err and err.count("\n") == 1
    assert step_of(out) == 4


# Writes os.open (with a write flag), os.mkdir, os.symlink, os.rename, os.replace, os.unlink,
# os.rmdir: what a read-only file system refuses (EROFS). Root writes through chmod's modes,
# so a read-only file system is simulated where the tests run as root.
WRITES = ("mkdir", "symlink", "rename", "replace", "unlink", "rmdir")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


@pytest.fixture
def read_only(monkeypatch):
    """read_only(root) makes everything under `root` read-only from then on."""

    def refuse(root: Path):
        under = str(root)

        def guard(name, real):
            def call(path, *args, **kwargs):
                flags = args[0] if name == "open" and args else kwargs.get("flags", WRITE_FLAGS)
                if str(os.fspath(path)).startswith(under) and flags & WRITE_FLAGS:
                    raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
                return real(path, *args, **kwargs)

            return call

        for name in ("open", *WRITES):
            monkeypatch.setattr(os, name, guard(name, getattr(os, name)))

    return refuse


def test_a_run_into_a_read_only_directory_is_refused_by_name(tmp_path, read_only, capsys):
    parent = tmp_path / "ro"
    parent.mkdir()
    out = parent / "run"
    if os.geteuid() == 0:
        read_only(parent)
        because = "Read-only file system"
    else:  # the real thing: a directory nobody may write
        parent.chmod(0o555)
        because = "Permission denied"
    try:
        with pytest.raises(iai.CheckpointError, match=re.escape(f"{because}: {str(out)!r}")):
            iai.train(DEMO, out, overrides=RUN, progress=False)
        assert main(cli_args(out, RUN)) == 2
        err = capsys.readouterr().err
        assert err.startswith("iai: error: ") and because in err and err.count("\n") == 1
    finally:
        parent.chmod(0o755)


def test_a_file_system_turned_read_only_in_a_run_leaves_its_last_checkpoint(
    tmp_path, read_only, monkeypatch
):
    """As ext4 with errors=remount-ro: read-only right after the step-4 checkpoint."""
    out = tmp_path / "run"
    real_save = iai.training.trainer.save_learner

    def then_read_only(directory, learner, config, step, *args):
        real_save(directory, learner, config, step, *args)
        read_only(out)

    monkeypatch.setattr(iai.training.trainer, "save_learner", then_read_only)
    with pytest.raises(iai.CheckpointError, match="Read-only file system"):
        iai.train(DEMO, out, overrides=RUN, progress=False)
    monkeypatch.undo()
    assert step_of(out) == 4 and leftovers(out) == []
    iai.load(out)


def test_out_an_existing_file_is_named_from_python_and_the_cli(tmp_path, capsys):
    out = tmp_path / "a-file"
    out.write_text("mine")
    with pytest.raises(
        iai.CheckpointError, match=re.escape(f"{str(out)!r} is not a directory")
    ) as failed:
        iai.train(DEMO, out, overrides=RUN, progress=False)
    assert not isinstance(failed.value, FileExistsError)
    assert main(cli_args(out, RUN)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"iai: error: {str(out)!r} is not a directory") and err.count("\n") == 1
    assert out.read_text() == "mine"


@pytest.mark.slow
def test_a_torchrun_job_on_a_held_directory_is_refused_on_every_rank(tmp_path):
    """Rank 0 alone takes the lock (it alone writes); the other rank learns it was refused
    and stops too, rather than wait in a collective for a rank that left."""
    out = tmp_path / "run"
    overrides = [*RUN, "train.tasks=8", "train.shards=2"]
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    with held_by_another_process(out) as holder:
        done = subprocess.run(
            [*launcher, "--nproc_per_node", "2", "-m", "iai.cli", *cli_args(out, overrides)],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode != 0
    assert f"is in use by another run (pid {holder.pid} on " in done.stderr, done.stderr
    assert "rank 0 could not own" in done.stderr
    assert not (out / "metrics.jsonl").exists()


def test_a_file_system_without_locks_trains_unguarded_with_a_warning(tmp_path, monkeypatch):
    def no_locks(fd, op):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(iai.checkpoint.lock.fcntl, "flock", no_locks)
    with pytest.warns(UserWarning, match="takes no locks .*No locks available"):
        iai.train(DEMO, tmp_path / "run", overrides=RUN, progress=False)
    assert step_of(tmp_path / "run") == 8


MUTATIONS = ("write", "mkdir", "symlink", "replace", "rename")


def filling_up(root: Path, n: int, patch: pytest.MonkeyPatch) -> None:
    """From the n-th call under `root` of os.write, mkdir, symlink, replace or rename on,
    ENOSPC: the disk fills at that write and stays full."""
    calls = []

    def guard(name, real):
        def call(*args, **kwargs):
            if under(name, args):
                calls.append(name)
                if len(calls) >= n:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(*args, **kwargs)

        return call

    def under(name, args) -> bool:
        path = written_path(args[0]) if name == "write" else args[name == "symlink"]
        return os.fspath(path).startswith(str(root))

    for name in MUTATIONS:
        patch.setattr(os, name, guard(name, getattr(os, name)))


@settings(max_examples=12)
@given(n=st.integers(1, 37))
def test_a_disk_that_fills_at_any_write_leaves_a_whole_checkpoint_that_resumes(n):
    """Wherever the disk fills (a run of 8 makes under 40 such calls), the run stops with
    CheckpointError, leaves no half-written file, and what it leaves loads and trains on."""
    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd to tell which file a write goes to")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        with pytest.MonkeyPatch.context() as patch:
            filling_up(out, n, patch)
            try:
                iai.train(DEMO, out, overrides=RUN, progress=False)
            except iai.CheckpointError as e:
                assert "No space left on device" in str(e)
        if (out / "steps").is_dir():
            assert leftovers(out) == []
        assert not (out / ".lock").exists()
        resume = (out / "config.json").exists()
        if resume:
            iai.load(out)
        iai.train(DEMO, out, overrides=RUN, resume=resume, progress=False)
        assert step_of(out) == 8 and steps_logged(out) == list(range(1, 9))
