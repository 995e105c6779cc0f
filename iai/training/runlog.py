"""A run directory's resume checks and its metrics log (metrics.jsonl, one JSON line a record).

Resuming continues the same experiment: the saved config must match the new one except in
RESUMABLE_CHANGES, and the log keeps only the lines of the iterations the checkpoint holds.
"""

import contextlib
import json
import math
import os
from pathlib import Path

from iai.checkpoint import read_config
from iai.checkpoint.lock import reason
from iai.config import from_dict, to_dict
from iai.errors import CheckpointError, InvalidConfig
from iai.training.precision import BEFORE_THE_SETTING

# Keys a resumed run may change: how long it trains, how often it writes, how many threads
# draw its tasks (the same tasks), how malloc keeps memory (the same numbers) and how it is
# evaluated afterwards. Anything else would make the resumed run a different experiment.
RESUMABLE_CHANGES = (
    "train.iterations", "train.log_every", "train.checkpoint_every", "train.draw_threads",
    "train.retain_freed_memory",
    "eval.",
)  # fmt: skip
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


def check_same_experiment(out: Path, config: dict) -> None:
    """Refuse to resume `out` with a config that differs from its saved one in a key outside
    RESUMABLE_CHANGES, naming every such key with both values."""
    saved, _, _ = read_config(out)
    saved.setdefault("train", {}).setdefault("precision", BEFORE_THE_SETTING)
    # through the dataclasses, so a setting added since the run was saved reads as its
    # default rather than as a change
    try:
        saved = json.loads(json.dumps(to_dict(from_dict(saved))))
    except InvalidConfig as e:
        raise CheckpointError(f"{str(out / 'config.json')!r} holds an invalid config: {e}") from e
    differ = differences(saved, json.loads(json.dumps(config)))
    fixed = [k for k in differ if not k.startswith(RESUMABLE_CHANGES)]
    if fixed:
        raise CheckpointError(
            f"cannot resume {str(out)!r} with another experiment: "
            + ", ".join(f"{k} was {differ[k][0]!r}, now {differ[k][1]!r}" for k in fixed)
            + f". Only {', '.join(RESUMABLE_CHANGES)}* may change on resume."
        )


def differences(a: dict, b: dict, prefix: str = "") -> dict[str, tuple]:
    """Dotted key -> (value in a, value in b) wherever two config dicts differ."""
    out = {}
    for key in sorted(set(a) | set(b)):
        x, y, name = a.get(key), b.get(key), f"{prefix}{key}"
        if isinstance(x, dict) and isinstance(y, dict):
            out |= differences(x, y, f"{name}.")
        elif x != y:
            out[name] = (x, y)
    return out


def log_until(metrics: Path, step: int) -> list[str]:
    """metrics.jsonl's lines up to `step` (those after it came from iterations the resumed run
    repeats). A last line without its newline is an append cut short by a kill, and goes;
    any other line that is not a record of a later step than the one before is named."""
    try:
        data = metrics.read_bytes()
    except FileNotFoundError as e:
        raise CheckpointError(
            f"{str(metrics)!r} is missing: it held the log of the run's first {step} "
            "iterations (an empty file resumes without it)"
        ) from e
    kept, last = [], 0
    for n, line in enumerate(data.split(b"\n")[:-1], 1):  # [-1]: after the last newline
        try:
            record = json.loads(line)
            at = record["step"]
            if not isinstance(at, int) or isinstance(at, bool):
                raise ValueError(f"step {at!r} is not a number")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            raise CheckpointError(f"{str(metrics)!r} line {n} is corrupt: {e!r}") from e
        if at <= last:
            raise CheckpointError(
                f"{str(metrics)!r} line {n} records step {at} after step {last}: "
                "the log mixes two runs"
            )
        last = at
        if at <= step:
            kept.append(line.decode() + "\n")
    return kept


def append(metrics: Path, record: dict) -> None:
    """One record as a line at the end of the log, written unbuffered. An OS error (a full
    disk) cuts the log back to its last whole line and raises CheckpointError naming it."""
    line = (json.dumps(record) + "\n").encode()
    try:
        fd = os.open(metrics, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _BINARY, 0o666)
    except OSError as e:
        raise CheckpointError(f"could not append to the run's log: {reason(e)}") from e
    size = None
    try:
        size = os.fstat(fd).st_size
        while line:
            line = line[os.write(fd, line) :]
    except OSError as e:
        if size is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
        raise CheckpointError(f"could not append to {str(metrics)!r}: {reason(e)}") from e
    finally:
        os.close(fd)


def last(metrics: Path, key: str) -> float:
    """`key` of the last metrics record (seconds spent, iterations skipped) before a resume."""
    lines = metrics.read_text().splitlines(keepends=True) if metrics.exists() else []
    return json.loads(lines[-1]).get(key, 0) if lines else 0


def finite(v: float) -> float | None:
    """`v`, or None when it is NaN or infinite, so that the log stays strict JSON."""
    return v if math.isfinite(v) else None
