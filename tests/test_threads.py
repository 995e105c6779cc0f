"""Training's CPU threads: a default that leaves a core free and follows OMP_NUM_THREADS, the
count given to `iai.train` / `iai train --threads` used while it trains, and the caller's
count back afterwards, also when training fails."""

import os
import re
import subprocess
import sys

import pytest
import torch
from conftest import DEMO, TINY

import iai
import iai.training.threads
from iai.cli import main
from iai.training.threads import MAX_DEFAULT, default_threads, using_threads
from iai.training.trainer import Trainer


@pytest.mark.parametrize(
    "cpus,torch_threads,expected",
    [(1, 1, 1), (2, 2, 1), (3, 3, 2), (64, 64, MAX_DEFAULT), (2, 32, 1), (64, 1, 1), (8, 2, 2)],
)
def test_default_lowers_torchs_count_to_leave_one_allowed_cpu_free_up_to_a_cap(
    monkeypatch, cpus, torch_threads, expected
):
    """(2, 32): torch counting a container host's cores where this process may use 2;
    (64, 1) and (8, 2): a caller's lower count is kept."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cpus)))
    monkeypatch.setattr(torch, "get_num_threads", lambda: torch_threads)
    assert default_threads() == expected


def test_default_follows_omp_num_threads_as_torch_read_it():
    """2 threads asked for on a machine whose default without the variable is 1 (any machine
    has 2 CPUs or more: torch caps the variable at the machine's count)."""
    assert len(os.sched_getaffinity(0)) >= 2
    code = "from iai.training.threads import default_threads; print(default_threads())"
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.split() == ["2"], done.stderr


def test_using_threads_restores_the_callers_count_even_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="inside"), using_threads(before + 1) as n:
        assert n == torch.get_num_threads() == before + 1
        raise RuntimeError("inside")
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("threads", [0, -2, 1.5, True, "2"])
def test_a_thread_count_that_is_not_a_whole_number_above_zero_is_named(threads):
    message = re.escape(f"threads must be a whole number ≥ 1, got {threads!r}")
    with pytest.raises(iai.InvalidInput, match=message), using_threads(threads):
        pass


def seen_threads(monkeypatch) -> list[int]:
    """torch's thread count at every training iteration, recorded as training runs."""
    real, seen = Trainer.iteration, []

    def recording(self, it):
        seen.append(torch.get_num_threads())
        return real(self, it)

    monkeypatch.setattr(Trainer, "iteration", recording)
    return seen


def test_train_uses_the_threads_asked_for_and_gives_the_count_back(monkeypatch, tmp_path):
    seen, before = seen_threads(monkeypatch), torch.get_num_threads()
    overrides = [*TINY, "train.iterations=3"]
    iai.train(DEMO, tmp_path / "two", overrides=overrides, progress=False, threads=2)
    assert seen == [2, 2, 2] and torch.get_num_threads() == before
    monkeypatch.setattr(iai.training.threads, "default_threads", lambda: before + 2)
    iai.train(DEMO, tmp_path / "default", overrides=overrides, progress=False)
    assert seen[3:] == [before + 2] * 3 and torch.get_num_threads() == before


def test_cli_threads_option_reaches_training(monkeypatch, tmp_path):
    seen = seen_threads(monkeypatch)
    sets = [arg for kv in [*TINY, "train.iterations=2"] for arg in ("--set", kv)]
    args = ["train", str(DEMO), "--out", str(tmp_path), "--quiet", "--threads", "3", *sets]
    assert main(args) == 0
    assert seen == [3, 3]


def test_cli_refuses_zero_threads_naming_the_option(tmp_path, capsys):
    args = ["train", str(DEMO), "--out", str(tmp_path), "--quiet", "--threads", "0"]
    assert main(args) == 2
    assert "threads must be a whole number ≥ 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "model.safetensors").exists()
