"""Writing checkpoints as units: files in a fresh directory, fsynced, then one link switched
(see `iai.checkpoint`)."""

import errno
import json
import os
import re
import shutil
from contextlib import nullcontext
from pathlib import Path

import torch
from safetensors.torch import save as st_save
from torch import nn

from iai.checkpoint.layout import FILES, FORMAT, LATEST, STEPS, VERSION, pinned_name
from iai.checkpoint.lock import RunLock, owns, reason
from iai.errors import CheckpointError

# What a save leaves behind when it is killed: step directories, half-written ones, and the
# temporary names of `atomic_write`, `_link` and `_links_work` (each with its writer's pid).
_STEP = re.compile(r"\d{8}(\.\d+)?|\.partial-\d{8}-\d+")
_TEMPORARY = re.compile(r"\.(.+\.)?(link|tmp)-\d+")


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file, fsync, then rename over `path`: a crash leaves old or new.
    An OS error (a full disk) raises CheckpointError naming `path`; the old file stays."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        _write(tmp, data)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as e:
        _remove(tmp)
        raise CheckpointError(f"could not write {str(path)!r}: {reason(e)}") from e


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, data: bytes) -> None:
    """A file in a directory nobody reads yet: write and fsync, no rename needed. Unbuffered
    `os.write`, so an error (a full disk) is raised here, with nothing left to flush at close."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError as e:
        e.filename = e.filename or os.fspath(path)  # os.write's errors name no file
        raise
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:  # the same full or read-only disk: nothing more to do
        pass


def _link(path: Path, target: str) -> None:
    """Make `path` a symbolic link to `target`, atomically (over a file or another link)."""
    if path.is_symlink() and os.readlink(path) == target:
        return
    tmp = path.with_name(f".{path.name}.link-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, path)


def save_learner(
    directory: Path,
    learner: nn.Module,
    config: dict,
    step: int,
    prior: dict | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    rng_states: dict[str, torch.Tensor] | None = None,
) -> None:
    """Write one checkpoint: weights and config, and with `optimizer` the trainer state
    (optimizer moments, `rng_states`: generator name -> state). `prior` is the prior's
    signature (kind, dim, out_dim), which lets a learner of a user-defined prior load without
    that prior. A kill at any moment leaves the previous checkpoint or this one (see above).

    One writer: this process owns `directory` (a run holds its `iai.checkpoint.lock.RunLock`)
    or takes the lock for this save. An OS error (a full disk, a read-only file system)
    raises CheckpointError naming the path and the reason, after removing this write's files;
    the last complete checkpoint stays as it was."""
    directory = Path(directory)
    with nullcontext() if owns(directory) else RunLock(directory):
        partial = directory / STEPS / f".partial-{step:08d}-{os.getpid()}"
        try:
            _save(directory, partial, learner, config, step, prior, optimizer, rng_states)
        except OSError as e:
            shutil.rmtree(partial, ignore_errors=True)
            for mine in directory.glob(f".*-{os.getpid()}"):  # this write's temporary links
                if _TEMPORARY.fullmatch(mine.name):
                    _remove(mine)
            raise CheckpointError(
                f"could not write the checkpoint of step {step} to {str(directory)!r}: "
                f"{reason(e)}; {_kept(directory)}"
            ) from e


def _kept(directory: Path) -> str:
    try:
        name = pinned_name(directory)
        flat = name is None and (directory / FILES[0]).is_file()
    except OSError:
        name, flat = None, False
    if name is not None:
        return f"its last complete checkpoint, {STEPS}/{name}, is intact"
    return "its last complete checkpoint is intact" if flat else "it holds no checkpoint yet"


def _save(directory, partial, learner, config, step, prior, optimizer, rng_states) -> None:
    """`save_learner`'s work, by a process that owns `directory`."""
    steps = partial.parent
    steps.mkdir(exist_ok=True)
    _write_partial(partial, learner, config, step, prior, optimizer, rng_states)
    names = FILES if optimizer is not None else FILES[:2]
    if not _links_work(directory):
        _save_flat(directory, partial, names)
        return
    for name in names:  # a new directory's names, dangling until the first switch
        if not os.path.lexists(directory / name):
            _link(directory / name, f"{LATEST}/{name}")
    previous = pinned_name(directory)
    final = steps / f"{step:08d}"
    n = 0
    while final.name == previous:  # the same step saved again: a new directory beside it
        n += 1
        final = steps / f"{step:08d}.{n}"
    if final.exists():  # left by a process killed before its switch
        shutil.rmtree(final)
    os.rename(partial, final)
    try:
        _fsync_dir(steps)
        _link(directory / LATEST, f"{STEPS}/{final.name}")  # the commit
    except OSError:  # not committed: this write's files go (see save_learner)
        shutil.rmtree(final, ignore_errors=True)
        raise
    # Flat files of an older layout become links, config.json first: a reader pins `latest`
    # once config.json is a link, and reads the flat files until then.
    for name in names:
        _link(directory / name, f"{LATEST}/{name}")
    if optimizer is None and (directory / FILES[2]).is_symlink():
        (directory / FILES[2]).unlink()  # a learner without a trainer state
    _fsync_dir(directory)
    _clean(directory, keep=(final.name, previous))  # and the one readers may still read


def _clean(directory: Path, keep: tuple) -> None:
    """Remove what earlier saves left, but the step directories named in `keep`. This
    process is the directory's one writer (the lock), so all of it is provably stale: older
    checkpoints, and the half-written files and temporary links of killed processes. Names
    iai never writes are not touched."""
    steps = directory / STEPS
    for old in steps.iterdir():
        if old.name not in keep and _STEP.fullmatch(old.name):
            shutil.rmtree(old, ignore_errors=True)
    for stale in directory.iterdir():
        if _TEMPORARY.fullmatch(stale.name):
            _remove(stale)


def _write_partial(partial: Path, learner, config, step, prior, optimizer, rng_states) -> None:
    """The checkpoint's files in a fresh directory `partial`, fsynced (see `save_learner`)."""
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    stamp = {"step": str(step), "format": str(FORMAT)}
    tensors = {k: v.detach().cpu().contiguous() for k, v in learner.state_dict().items()}
    _write(partial / "model.safetensors", st_save(tensors, stamp))
    if optimizer is not None:
        _write(partial / "trainer.safetensors", _trainer_bytes(optimizer, rng_states or {}, stamp))
    doc = {"format": FORMAT, "iai": VERSION, "step": step, "config": config}
    if prior is not None:
        doc["prior"] = prior
    _write(partial / "config.json", json.dumps(doc, indent=2).encode())
    _fsync_dir(partial)


# what os.symlink raises where a file system (or Windows without the privilege) has no links
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS}


def _links_work(directory: Path) -> bool:
    probe = directory / f".link-{os.getpid()}"
    probe.unlink(missing_ok=True)
    try:
        os.symlink(STEPS, probe)
    except OSError as e:
        if e.errno not in _NO_LINKS:
            raise
        return False
    probe.unlink()
    return True


def _save_flat(directory: Path, partial: Path, names: tuple[str, ...]) -> None:
    """Where no symbolic link can be made: the files replace the flat ones by renames,
    config.json last. A kill between two renames leaves files of two steps, which readers
    name (every file records its step) rather than mix; the unit needs links."""
    for name in (*names[1:], names[0]):
        os.replace(partial / name, directory / name)
    _fsync_dir(directory)
    _clean(directory, keep=())
    try:
        partial.parent.rmdir()  # steps/ is left only where it holds names iai never writes
    except OSError:
        pass


def _trainer_bytes(
    optimizer: torch.optim.Optimizer, rng_states: dict[str, torch.Tensor], stamp: dict
) -> bytes:
    """Optimizer moments, the step and the random generators' states (name -> state)."""
    state = optimizer.state_dict()
    tensors = {f"rng.{name}": value for name, value in rng_states.items()}
    for idx, slots in state["state"].items():
        for slot, value in slots.items():
            tensors[f"optim.{idx}.{slot}"] = value.detach().cpu().contiguous()
    meta = stamp | {"param_groups": json.dumps(state["param_groups"])}
    return st_save(tensors, meta)
