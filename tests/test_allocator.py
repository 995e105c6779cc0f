"""`iai.training.allocator`: glibc's malloc keeps freed memory once `iai train` or `iai grid`
asks, in the command's process only, and nowhere that is not glibc."""

import subprocess
import sys
import sysconfig

import pytest

import iai
from iai.cli import main
from iai.training import allocator

GLIBC = sys.platform.startswith("linux") and "gnu" in (sysconfig.get_config_var("SOABI") or "")


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt and mallinfo2")
def test_after_it_a_large_block_comes_from_the_heap_not_from_mmap():
    """In a process of its own: a 256 MiB tensor is one more mmap'd block under glibc's
    default (unmapped when freed, its pages faulted in afresh next time), and none after the
    call (from the heap, whose freed pages stay mapped). The time it saves is measured, not
    tested (benchmarks/allocator.py)."""
    code = """
import ctypes, ctypes.util, sys, torch
from iai.training.allocator import retain_freed_memory
class Info(ctypes.Structure):
    _fields_ = [(k, ctypes.c_size_t) for k in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = Info
if sys.argv[1] == "retain":
    assert retain_freed_memory()
before = libc.mallinfo2().hblkhd
block = torch.ones(2**25, dtype=torch.float64)
print(libc.mallinfo2().hblkhd - before)
"""
    run = lambda mode: int(  # noqa: E731  (bytes in mmap'd blocks the tensor added)
        subprocess.run(
            [sys.executable, "-c", code, mode], capture_output=True, text=True, check=True
        ).stdout
    )
    assert run("default") >= 2**28
    assert run("retain") == 0


def test_it_is_a_no_op_where_the_c_library_is_not_glibc(monkeypatch):
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.retain_freed_memory() is False
    monkeypatch.setattr(allocator.sys, "platform", "linux")
    monkeypatch.setattr(allocator.ctypes.util, "find_library", lambda name: None)
    assert allocator.retain_freed_memory() is False


def test_iai_train_asks_for_it_where_the_recipe_says_and_the_library_never(
    malloc_calls, demo_path, tiny_overrides, tmp_path
):
    overrides = [*tiny_overrides, "train.iterations=2"]

    def cli(out: str, *more: str) -> None:
        sets = [arg for kv in [*overrides, *more] for arg in ("--set", kv)]
        assert main(["train", str(demo_path), "--out", str(tmp_path / out), "--quiet", *sets]) == 0

    cli("off")
    assert malloc_calls == []
    on = "train.retain_freed_memory=true"
    iai.train(demo_path, tmp_path / "library", overrides=[*overrides, on], progress=False)
    assert malloc_calls == []
    cli("on", on)
    assert malloc_calls == ["retain"]


def test_a_resumed_run_may_turn_it_on_or_off(make_cfg, tmp_path):
    """It changes no number (benchmarks/results/allocator/: the same losses bit for bit), so a
    resumed run may change it, as it may change its thread counts."""
    from iai.training.loop import train

    train(make_cfg("train.iterations=2"), tmp_path, progress=False)
    more = make_cfg("train.iterations=3", "train.retain_freed_memory=true")
    train(more, tmp_path, resume=True, progress=False)
    with pytest.raises(iai.CheckpointError, match="train.lr was 0.001, now 0.0005"):
        train(make_cfg("train.iterations=4", "train.lr=5e-4"), tmp_path, resume=True)
