"""What `iai.load` of a crafted checkpoint directory costs in memory: each hostile directory of
issue 24 (findings 2, 3, 4, 8, 10) is crafted in a temporary directory from the committed
checkpoints/linreg-d8, loaded in a fresh interpreter, and its peak resident memory above the
process's baseline recorded with the error it ends in.

    python benchmarks/load_memory.py            # about 90 s; writes the file below

The child resets the kernel's high-water mark (`/proc/self/clear_refs`, 5) just before
`iai.load`, so VmHWM after it less VmRSS before it is the load's own peak (imports excluded).
A load that takes longer than TIMEOUT is a hang. The target: every crafted directory is refused
by a CheckpointError within 100 MB of the baseline. The committed checkpoint, which loads, is
the control. Output: benchmarks/results/untrusted/load-memory.txt.
"""

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common.command import ROOT, command

BASE = ROOT / "checkpoints" / "linreg-d8"
OUT = ROOT / "benchmarks" / "results" / "untrusted" / "load-memory.txt"
TIMEOUT = 60  # seconds: a load still running then is a hang
TARGET_MB = 100
CONFIG, MODEL = "config.json", "model.safetensors"


def _status(key: str) -> int:
    """A /proc/self/status figure in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def child(directory: str) -> None:
    """Load `directory` twice, printing for each call {peak_mb, error, message, seconds} as
    JSON: cold (the process's first load) and warm (the same call again)."""
    import torch

    import iai

    torch.set_num_threads(1)
    calls = []
    for _ in range(2):
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS now
        baseline, clock = _status("VmRSS"), time.perf_counter()
        try:
            iai.load(directory)
            error, message = "", ""
        except Exception as e:  # the class is the result: CheckpointError or a foreign one
            error, message = type(e).__name__, str(e)
        seconds = time.perf_counter() - clock
        peak = (_status("VmHWM") - baseline) / 1e6
        calls.append({"peak_mb": peak, "error": error, "message": message, "seconds": seconds})
    print(json.dumps(calls))


def unit(directory: Path) -> None:
    """BASE as a checkpoint unit: its files in steps/<step>/, `latest` and the top links."""
    step = json.loads((BASE / CONFIG).read_text())["step"]
    steps = directory / "steps" / f"{step:08d}"
    steps.mkdir(parents=True)
    for name in (CONFIG, MODEL):
        shutil.copyfile(BASE / name, steps / name)
        (directory / name).symlink_to(f"latest/{name}")
    (directory / "latest").symlink_to(f"steps/{step:08d}")


def real(d: Path, name: str) -> Path:
    return d / "latest" / name


def swap(name: str, make):
    """A case: the file behind `name` replaced by `make(path)`."""

    def craft(d: Path) -> Path:
        real(d, name).unlink()
        make(real(d, name))
        return d

    return craft


def edit(change):
    """A case: config.json's document changed in place by `change(doc)`."""

    def craft(d: Path) -> Path:
        doc = json.loads(real(d, CONFIG).read_text())
        change(doc)
        real(d, CONFIG).write_text(json.dumps(doc))
        return d

    return craft


def learner(**sizes):
    return edit(lambda doc: doc["config"]["learner"].update(sizes))


def sparse(name: str, size: int):
    """A case: the file behind `name`, valid, followed by zeros up to `size` bytes (sparse)."""

    def craft(d: Path) -> Path:
        with open(real(d, name), "r+b") as f:
            f.truncate(size)
        return d

    return craft


def write(name: str, data: bytes):
    def craft(d: Path) -> Path:
        real(d, name).write_bytes(data)
        return d

    return craft


def weights_as(dtype: str):
    """A case: every weight cast to `dtype` (safetensors' own writer, the step kept)."""

    def craft(d: Path) -> Path:
        import torch
        from safetensors import safe_open
        from safetensors.torch import load_file, save_file

        with safe_open(real(d, MODEL), "pt") as f:
            meta = f.metadata()
        tensors = load_file(real(d, MODEL))
        cast = {k: v.to(getattr(torch, dtype)) for k, v in tensors.items()}
        save_file(cast, real(d, MODEL), meta)
        return d

    return craft


def header_entries(count: int) -> bytes:
    """A safetensors file whose header is `count` empty tensors: the largest header allowed."""
    entry = '"t{}":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}'
    text = ("{" + ",".join(entry.format(i) for i in range(count)) + "}").encode()
    return struct.pack("<Q", len(text)) + text


def long_path(d: Path) -> Path:
    return Path(str(d) + "/" + "x" * 100_000)


def step_digits(d: Path) -> Path:
    text = real(d, CONFIG).read_text()
    doc = json.loads(text)
    real(d, CONFIG).write_text(text.replace(f'"step": {doc["step"]}', '"step": 1' + "0" * 5000))
    return d


def latest_file(d: Path) -> Path:
    (d / "latest").unlink()
    (d / "latest").write_text("steps/00000000")
    return d


SIG = {"name": "Wide", "kind": "regression", "dim": 10**9, "out_dim": 1, "shipped": False}
CASES = {
    "control: the committed linreg-d8, unchanged": lambda d: d,
    # finding 2
    "2 config.json a FIFO": swap(CONFIG, os.mkfifo),
    "2 model.safetensors a FIFO": swap(MODEL, os.mkfifo),
    # finding 3
    "3 config.json -> /dev/zero": swap(CONFIG, lambda p: p.symlink_to("/dev/zero")),
    "3 config.json -> /dev/urandom": swap(CONFIG, lambda p: p.symlink_to("/dev/urandom")),
    "3 model.safetensors -> /dev/zero": swap(MODEL, lambda p: p.symlink_to("/dev/zero")),
    "3 model.safetensors -> /dev/urandom": swap(MODEL, lambda p: p.symlink_to("/dev/urandom")),
    "3 valid header + 2 GiB of sparse zeros": sparse(MODEL, 2 << 30),
    "3 valid header + 8 GiB of sparse zeros": sparse(MODEL, 8 << 30),
    "3 config.json valid + 64 MiB of zeros": sparse(CONFIG, 64 << 20),
    "3 config.json 1 MiB of empty tables": write(CONFIG, b"[" + b"{}," * 349_000 + b"{}]"),
    "3 header length 2**64 - 1": write(MODEL, b"\xff" * 8 + bytes(64)),
    "3 header of 60,000 tensors (4 MiB)": write(MODEL, header_entries(60_000)),
    "3 header of 17,000 tensors (1 MiB, its bound)": write(MODEL, header_entries(17_000)),
    # finding 4
    "4 learner.width = 3072": learner(width=3072),
    "4 learner.width = 8192": learner(width=8192),
    "4 learner.width = 65536 (its bound)": learner(width=65536),
    "4 learner.width = 2**40": learner(width=2**40),
    "4 learner.depth = 10**6": learner(depth=10**6),
    "4 learner.depth = 64, width = 65536 (bounds)": learner(depth=64, width=65536),
    "4 learner.chunk = 10**12": learner(chunk=10**12),
    "4 task.dim = 10**9": edit(lambda doc: doc["config"]["task"].update(dim=10**9)),
    "4 task.dim = 65536 (its bound)": edit(lambda doc: doc["config"]["task"].update(dim=65536)),
    "4 prior signature dim = 10**9": edit(lambda doc: doc.update(prior=SIG)),
    # finding 8
    **{
        f"8 weights stored as {dtype}": weights_as(dtype)
        for dtype in ("int64", "bool", "complex64", "float8_e4m3fn", "float16")
    },
    # finding 10
    "10 config.json linked to itself": swap(CONFIG, lambda p: p.symlink_to(p.name)),
    "10 a directory in place of model.safetensors": swap(MODEL, Path.mkdir),
    "10 latest a plain file": latest_file,
    "10 a 100,000-character path": long_path,
    "10 config.json nested 100,000 deep": write(CONFIG, b"[" * 100_000 + b"]" * 100_000),
    "10 a 5,000-digit step": step_digits,
}


def run(craft, scratch: Path) -> list[dict]:
    """Craft a case in a fresh directory and load it in a fresh interpreter: [cold, warm]."""
    d = scratch / f"case{len(list(scratch.iterdir()))}"
    unit(d)
    target = craft(d)
    argv = [sys.executable, __file__, "--child", str(target)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    hang = {"peak_mb": float("nan"), "error": "hang", "message": "", "seconds": TIMEOUT}
    for attempt in range(10):  # a machine shared with other jobs may refuse a fork for a while
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, env=env)
            break
        except subprocess.TimeoutExpired:
            return [hang, hang]
        except BlockingIOError:
            time.sleep(2 + attempt)
    shutil.rmtree(d, ignore_errors=True)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise RuntimeError(f"the child failed: {done.stderr[-2000:]}") from None


def row(name: str, cold: dict, warm: dict) -> str:
    message = cold["message"].replace("\n", " ")
    message = message if len(message) <= 140 else message[:137] + "..."
    return (
        f"{name:46s} {cold['peak_mb']:7.1f} {warm['peak_mb']:7.1f} {cold['seconds']:6.2f}  "
        f"{cold['error'] or 'loads'}: {message}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    rows = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, craft in CASES.items():
            rows[name] = run(craft, Path(scratch))
            print(row(name, *rows[name]), flush=True)
    hostile = {name: calls for name, calls in rows.items() if not name.startswith("control")}
    cold = max(calls[0]["peak_mb"] for calls in hostile.values())
    warm = max(calls[1]["peak_mb"] for calls in hostile.values())
    refused = sum(all(c["error"] == "CheckpointError" for c in calls) for calls in hostile.values())
    lines = [
        f"Command: {command()}",
        "",
        f"iai.load of {len(hostile)} crafted checkpoint directories (issue 24), each in a fresh",
        "interpreter, called twice: peak resident memory above the baseline just before the",
        "call (VmHWM after it, reset by /proc/self/clear_refs, less VmRSS before), in MB, for",
        "the process's first call (cold) and the same call again (warm); the cold call's time",
        "and error. Cold includes torch's own one-time import of its Python meta kernels",
        "(torch._refs, torch._dynamo, sympy) on the first learner built on the meta device,",
        "which the intact control pays as well; a first prediction (torch.func) imports them",
        "anyway.",
        "",
        f"{'case':46s} {'cold MB':>7s} {'warm MB':>7s} {'s':>6s}  error: message",
        *(row(name, *calls) for name, calls in rows.items()),
        "",
        f"crafted directories refused by CheckpointError (both calls): {refused} of {len(hostile)}",
        f"largest peak above the baseline over them: {cold:.1f} MB cold, {warm:.1f} MB warm "
        f"(target: {TARGET_MB} MB)",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(f"{refused} of {len(hostile)} refused; worst {cold:.1f} MB cold, {warm:.1f} MB warm")


if __name__ == "__main__":
    main()
