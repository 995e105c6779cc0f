"""Checkpoints: safetensors weights plus a JSON config, written as one unit; loading runs no code.

A learner directory holds `config.json` (format version, step, the resolved experiment config)
and `model.safetensors`; a training run adds `trainer.safetensors` (optimizer moments, the
step and every random generator, so `--resume` continues bit for bit) and `metrics.jsonl`.

A checkpoint is a unit. `save_learner` writes its files into a fresh directory
`steps/<step>/`, fsyncs them, and then switches one symbolic link, `latest -> steps/<step>`,
with an atomic rename; `config.json`, `model.safetensors` and `trainer.safetensors` at the top
are links through `latest`, so `iai.load(dir)` and any tool that opens those names see the
newest complete checkpoint. Why this and not files overwritten one by one: a process killed
between two writes (even between two atomic renames) would leave weights of one step beside
the optimizer of another, and the previous checkpoint would already be gone. With one link to
switch, a kill at any moment leaves the previous checkpoint or the new one, whole; a reader
pins `latest` once and reads every file from that one directory, so an evaluation that runs
while training writes never mixes two steps nor sees a half-written file. The previous
checkpoint's directory is kept until the next switch, so a reader that pinned it just before
a switch still finds it (and a reader that lost even that race reads again).

Every file records the step (safetensors metadata, config.json) and readers check that they
agree: a file copied in from another checkpoint is named, not silently mixed in. Directories
written before this layout (flat files, e.g. the committed checkpoints/) still load and resume;
a file system that makes no symbolic links gets flat files, replaced config.json last.

`format` in config.json (and in the safetensors metadata) is the on-disk format's version:
it changes only when an older iai would misread a directory. This iai reads formats 1 to
`FORMAT` and refuses a newer one, naming both.
"""

import errno
import json
import os
import shutil
from importlib import metadata
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from iai.errors import CheckpointError
from iai.learners.base import Learner

FORMAT = 2  # 2: learners' modules renamed (`iai.learners.base.Learner.renamed`)
try:  # the iai that writes, recorded beside the format for people reading the files
    VERSION = metadata.version("iai")
except metadata.PackageNotFoundError:  # run from a source tree that was never installed
    VERSION = "unknown"
LATEST = "latest"  # the link that names the newest complete checkpoint: steps/<step>
STEPS = "steps"
FILES = ("config.json", "model.safetensors", "trainer.safetensors")
_RETRIES = 5  # re-reads when a writer replaced the checkpoint a reader had pinned


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
    previous = _pinned_name(directory)
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


def _pinned_name(directory: Path) -> str | None:
    """The steps/ entry `latest` names, if any."""
    link = directory / LATEST
    return Path(os.readlink(link)).name if link.is_symlink() else None


def pin(directory: Path) -> Path:
    """The directory that holds the newest complete checkpoint of `directory`: the one its
    `latest` link names, or `directory` itself for flat files (a learner saved before
    checkpoints were units, or copied without its links). Read every file from it."""
    directory = Path(directory)
    link = directory / LATEST
    if link.is_symlink() and (directory / FILES[0]).is_symlink():
        return directory / os.readlink(link)
    return directory


def _read(directory: Path, read, name: str):
    """`read(path of name, path of its config.json)` in the pinned checkpoint, again if a
    writer switched checkpoints under it. A name removed from `directory` is missing; one
    that is a plain file there, not a link, was put there by hand and is the one read."""
    for attempt in range(_RETRIES):
        pinned = pin(directory)
        path = directory / name
        if pinned != directory:
            if not os.path.lexists(path):
                raise _missing(path)
            if path.is_symlink():
                path = pinned / name
        try:
            if not pinned.is_dir():
                raise _missing(directory / name) from FileNotFoundError(pinned)
            return read(path, pinned / FILES[0])
        except CheckpointError as e:
            moved = pin(directory) != pinned
            if not moved or attempt == _RETRIES - 1 or not isinstance(e.__cause__, OSError):
                raise
    raise AssertionError("unreachable")


def _check_directory(directory: Path) -> None:
    if directory.is_file():
        raise CheckpointError(
            f"{str(directory)!r} is a file; a checkpoint is the directory that holds "
            "config.json and model.safetensors"
        )
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint directory {str(directory)!r} does not exist")


def _check_format(path: Path, found) -> None:
    """Refuse a format this iai cannot read, naming both versions."""
    if isinstance(found, str) and found.isdigit():
        found = int(found)
    if not isinstance(found, int) or isinstance(found, bool) or found < 1:
        raise CheckpointError(
            f"{str(path)!r} is not an iai checkpoint: its format is {found!r}, "
            f"not a version from 1 to {FORMAT}"
        )
    if found > FORMAT:
        raise CheckpointError(
            f"{str(path)!r} was written by a newer iai in checkpoint format {found}; this iai "
            f"({VERSION}) reads formats 1 to {FORMAT}: upgrade iai to load it"
        )


def _missing(path: Path, what: str = "") -> CheckpointError:
    latest = path.parent / LATEST
    if path.is_symlink() and latest.is_symlink() and not latest.exists():
        return CheckpointError(
            f"{str(path)!r} is a link to a checkpoint that no longer exists "
            f"({LATEST} -> {os.readlink(latest)}){what}"
        )
    return CheckpointError(f"{str(path)!r} is missing{what}")


def _config_doc(path: Path) -> dict:
    try:
        doc = json.loads(path.read_bytes())
    except FileNotFoundError as e:
        raise _missing(path, ": not a checkpoint directory") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{str(path)!r} is corrupt: {e}") from e
    if not isinstance(doc, dict) or "config" not in doc or "format" not in doc:
        raise CheckpointError(
            f"{str(path)!r} is not an iai checkpoint: it lacks 'format' or 'config'"
        )
    _check_format(path, doc["format"])
    step = doc.get("step", 0)
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise CheckpointError(f"{str(path)!r} is corrupt: step {step!r} is not a count")
    if not isinstance(doc["config"], dict):
        raise CheckpointError(f"{str(path)!r} is corrupt: its config is not a table")
    return doc


def read_config(directory: Path) -> tuple[dict, int, dict | None]:
    """The experiment config dict, the training step and the prior's signature (None in
    checkpoints written before it was recorded) stored in a checkpoint directory."""
    directory = Path(directory)
    _check_directory(directory)
    doc = _read(directory, lambda path, _: _config_doc(path), FILES[0])
    return doc["config"], doc.get("step", 0), doc.get("prior")


def _read_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise _missing(path) from e
    try:
        tensors = st_load(data)
        # safetensors' loader drops the metadata; it sits in the JSON header after 8 bytes.
        header_len = int.from_bytes(data[:8], "little")
        meta = json.loads(data[8 : 8 + header_len]).get("__metadata__") or {}
    except (SafetensorError, ValueError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{str(path)!r} is corrupt: {e}") from e
    if "format" in meta:
        _check_format(path, meta["format"])
    return tensors, meta


def _check_step(path: Path, meta: dict, config: Path, required: bool) -> int:
    """The step `path` records, which must be config.json's: one checkpoint, not two."""
    expected = _config_doc(config).get("step", 0)
    if "step" not in meta:
        if required:
            raise CheckpointError(f"{str(path)!r} is corrupt: it records no step")
        return expected  # written by another tool (safetensors' save_file drops metadata)
    try:
        step = int(meta["step"])
    except ValueError as e:
        raise CheckpointError(f"{str(path)!r} is corrupt: step {meta['step']!r}") from e
    if step != expected:
        raise CheckpointError(
            f"{str(path)!r} holds step {step}, but {str(config)!r} step "
            f"{expected}: the files come from two checkpoints"
        )
    return step


def load_weights(directory: Path, learner: Learner) -> None:
    """Load model.safetensors into `learner`, rejecting missing, extra or misshapen tensors
    and weights of another step than config.json's."""
    _read(Path(directory), lambda path, config: _load_weights(path, config, learner), FILES[1])


def _load_weights(path: Path, config: Path, learner: Learner) -> None:
    tensors, meta = _read_tensors(path)
    tensors = learner.upgraded(tensors, int(meta.get("format", 1)))
    expected = learner.state_dict()
    missing, extra = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"{str(path)!r} does not match its config: missing {missing}, extra {extra}"
        )
    for name, t in tensors.items():
        if t.shape != expected[name].shape:
            raise CheckpointError(
                f"{str(path)!r}: tensor {name!r} has shape {tuple(t.shape)}, "
                f"the config implies {tuple(expected[name].shape)}"
            )
        if not torch.isfinite(t).all():
            raise CheckpointError(f"{str(path)!r}: tensor {name!r} holds NaN or inf")
    _check_step(path, meta, config, required=False)
    learner.load_state_dict(tensors)


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


def load_trainer(
    directory: Path, optimizer: torch.optim.Optimizer, generators: dict[str, torch.Generator]
) -> int:
    """Restore optimizer and generators in place; returns the step to continue from, which
    must be the step of the checkpoint's weights and config."""

    def read(path: Path, config: Path) -> int:
        return _load_trainer(path, config, optimizer, generators)

    return _read(Path(directory), read, FILES[2])


def _load_trainer(
    path: Path,
    config: Path,
    optimizer: torch.optim.Optimizer,
    generators: dict[str, torch.Generator],
) -> int:
    tensors, meta = _read_tensors(path)
    step = _check_step(path, meta, config, required=True)
    try:
        groups = json.loads(meta["param_groups"])
        state: dict[int, dict] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, idx, slot = key.split(".", 2)
                state.setdefault(int(idx), {})[slot] = value
        optimizer.load_state_dict({"state": state, "param_groups": groups})
        for name, g in generators.items():
            g.set_state(tensors[f"rng.{name}"])
    except (KeyError, ValueError, RuntimeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{str(path)!r} cannot be resumed from: {e}") from e
    return step
