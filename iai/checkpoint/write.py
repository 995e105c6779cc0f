"""Writing checkpoints as units: files in a fresh directory, fsynced, then one link switched
(see `iai.checkpoint`)."""

import errno
import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import save as st_save
from torch import nn

from iai.checkpoint.layout import FILES, FORMAT, LATEST, STEPS, VERSION, pinned_name


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file, fsync, then rename over `path`: a crash leaves old or new."""
    tmp = path.with_name(f".{path.name}.tmp")
    _write(tmp, data)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, data: bytes) -> None:
    """A file in a directory nobody reads yet: write and fsync, no rename needed."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


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
    that prior. A kill at any moment leaves the previous checkpoint or this one (see above)."""
    directory = Path(directory)
    steps = directory / STEPS
    steps.mkdir(parents=True, exist_ok=True)
    partial = steps / f".partial-{step:08d}-{os.getpid()}"
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
    _fsync_dir(steps)
    _link(directory / LATEST, f"{STEPS}/{final.name}")  # the commit
    # Flat files of an older layout become links, config.json first: a reader pins `latest`
    # once config.json is a link, and reads the flat files until then.
    for name in names:
        _link(directory / name, f"{LATEST}/{name}")
    if optimizer is None and (directory / FILES[2]).is_symlink():
        (directory / FILES[2]).unlink()  # a learner without a trainer state
    _fsync_dir(directory)
    for old in steps.iterdir():  # keep this checkpoint and the one readers may still read
        if old.name not in (final.name, previous) and old != partial:
            shutil.rmtree(old, ignore_errors=True)
    for stale in directory.glob(".*link-*"):  # left by a process killed in `_link`
        stale.unlink(missing_ok=True)


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
    shutil.rmtree(partial.parent, ignore_errors=True)


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
