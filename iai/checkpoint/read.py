"""Reading checkpoints: pin the newest complete one, check every file against the others and
against the learner its config builds (see `iai.checkpoint`).

Every file is untrusted data (`iai.checkpoint.files`): only regular files are opened, within a
size bound; a safetensors file's header is checked against the learner, which may live on
torch's `meta` device (`check_weights`, what `iai.load` does before it allocates the learner),
before any tensor is read; and each tensor is then read into memory of its declared size.
"""

import os
import stat
from pathlib import Path

import torch

from iai.checkpoint.files import (
    DTYPES,
    FLOATS,
    HEADER_LIMIT,
    Header,
    decode_json,
    missing,
    named,
    opened,
    read_bounded,
    read_header,
    read_tensor,
    shown,
    unreadable,
)
from iai.checkpoint.layout import FILES, FORMAT, LATEST, VERSION, pin
from iai.errors import CheckpointError
from iai.learners.base import Learner

_RETRIES = 5  # re-reads when a writer replaced the checkpoint a reader had pinned
# what a learner may compute at init beyond the weights it stores (`_check_size`)
_UNSTORED = 64 << 20


def _pin(directory: Path) -> Path:
    try:
        return pin(directory)
    except (OSError, ValueError) as e:  # `latest` a link loop, a name too long
        raise unreadable(directory / LATEST, e) from e


def _is(test, path: Path) -> bool:
    """`test(path)` (Path.is_dir, is_symlink), False where the path cannot even be looked at;
    opening it then names the error."""
    try:
        return test(path)
    except (OSError, ValueError):
        return False


def _read(directory: Path, read, name: str):
    """`read(path of name, path of its config.json)` in the pinned checkpoint, again if a
    writer switched checkpoints under it. A name removed from `directory` is missing; one
    that is a plain file there, not a link, was put there by hand and is the one read."""
    for attempt in range(_RETRIES):
        pinned = _pin(directory)
        path = directory / name
        try:
            if pinned != directory:
                if not os.path.lexists(path):
                    raise missing(path)
                if _is(Path.is_symlink, path):
                    path = pinned / name
            if not _is(Path.is_dir, pinned):
                raise missing(directory / name) from FileNotFoundError(pinned)
            return read(path, pinned / FILES[0])
        except CheckpointError as e:
            moved = _pin(directory) != pinned
            if not moved or attempt == _RETRIES - 1 or not isinstance(e.__cause__, OSError):
                raise
    raise AssertionError("unreachable")


def _check_directory(directory: Path) -> None:
    try:
        mode = os.stat(directory).st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise CheckpointError(f"checkpoint directory {named(directory)} does not exist") from None
    except (OSError, ValueError) as e:
        raise unreadable(directory, e) from e
    if stat.S_ISREG(mode):
        raise CheckpointError(
            f"{named(directory)} is a file; a checkpoint is the directory that holds "
            "config.json and model.safetensors"
        )
    if not stat.S_ISDIR(mode):
        raise CheckpointError(f"checkpoint directory {named(directory)} is not a directory")


def _check_format(path: Path, found) -> int:
    """The format version `found`, or CheckpointError if this iai cannot read it."""
    if isinstance(found, str) and found.isascii() and found.isdigit() and len(found) < 10:
        found = int(found)
    if not isinstance(found, int) or isinstance(found, bool) or found < 1:
        raise CheckpointError(
            f"{named(path)} is not an iai checkpoint: its format is {shown(found)}, "
            f"not a version from 1 to {FORMAT}"
        )
    if found > FORMAT:
        raise CheckpointError(
            f"{named(path)} was written by a newer iai in checkpoint format {shown(found)}; "
            f"this iai ({VERSION}) reads formats 1 to {FORMAT}: upgrade iai to load it"
        )
    return found


def _config_doc(path: Path) -> dict:
    doc = decode_json(path, read_bounded(path, what=": not a checkpoint directory"))
    if not isinstance(doc, dict) or "config" not in doc or "format" not in doc:
        raise CheckpointError(
            f"{named(path)} is not an iai checkpoint: it lacks 'format' or 'config'"
        )
    _check_format(path, doc["format"])
    step = doc.get("step", 0)
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step < 2**63:
        raise CheckpointError(f"{named(path)} is corrupt: step {shown(step)} is not a count")
    if not isinstance(doc["config"], dict):
        raise CheckpointError(f"{named(path)} is corrupt: its config is not a table")
    return doc


def read_config(directory: Path) -> tuple[dict, int, dict | None]:
    """The experiment config dict, the training step and the prior's signature (None in
    checkpoints written before it was recorded) stored in a checkpoint directory."""
    directory = Path(directory)
    _check_directory(directory)
    doc = _read(directory, lambda path, _: _config_doc(path), FILES[0])
    return doc["config"], doc.get("step", 0), doc.get("prior")


def _check_step(path: Path, meta: dict, config: Path, required: bool) -> int:
    """The step `path` records, which must be config.json's: one checkpoint, not two."""
    expected = _config_doc(config).get("step", 0)
    if "step" not in meta:
        if required:
            raise CheckpointError(f"{named(path)} is corrupt: it records no step")
        return expected  # written by another tool (safetensors' save_file drops metadata)
    found = meta["step"]
    if not (found.isascii() and found.isdigit() and len(found) < 20):
        raise CheckpointError(f"{named(path)} is corrupt: step {shown(found)}")
    if int(found) != expected:
        raise CheckpointError(
            f"{named(path)} holds step {int(found)}, but {named(config)} step "
            f"{expected}: the files come from two checkpoints"
        )
    return expected


def _listed(names: list[str]) -> str:
    """A list of names for a message, the first ten of a long one."""
    return str(names) if len(names) <= 10 else f"{str(names[:10])[:-1]}, … {len(names)} in all]"


def check_weights(directory: Path, learner: Learner) -> None:
    """Check model.safetensors from its header alone against `learner` (which may be on the
    `meta` device): a bounded header whose tensors fill the file, of float dtypes, the step
    config.json records, the same names, shapes and dtypes (`_check_dtype`), and the learner
    no larger than what the file declares."""
    _read(Path(directory), lambda path, config: _weights(path, config, learner, False), FILES[1])


def load_weights(directory: Path, learner: Learner) -> None:
    """Load model.safetensors into `learner` after `check_weights`' checks, refusing a tensor
    that holds NaN or inf. Tensors are read and copied in one at a time, so loading needs
    the learner's memory and its largest tensor's; on an error the learner is left partly
    loaded (callers discard it)."""
    _read(Path(directory), lambda path, config: _weights(path, config, learner, True), FILES[1])


def _weights(path: Path, config: Path, learner: Learner, load: bool) -> None:
    """`check_weights` (load False) or `load_weights` on the file at `path`: one descriptor
    from the header's check to the last tensor read."""
    with opened(path) as (f, size):
        header = read_header(f, path, size, FLOATS, _header_bound(learner))
        version = _check_format(path, header.metadata.get("format", "1"))
        _check_step(path, header.metadata, config, required=False)
        names = _check_header(path, header, version, learner)
        if not load:
            return
        expected = learner.state_dict()  # tensors that share the learner's memory
        with torch.no_grad():
            for name, stored in names.items():
                target = expected[name]
                t = read_tensor(f, path, stored, header.tensors[stored]).to(target.dtype)
                if not torch.isfinite(t).all():
                    raise CheckpointError(f"{named(path)}: tensor {name!r} holds NaN or inf")
                target.copy_(t)


def _header_bound(learner: Learner) -> int:
    """The most bytes the header of `learner`'s weights can take (at most HEADER_LIMIT): an
    entry is its name and under 128 bytes of dtype, shape and offsets, beside 64 KiB for the
    metadata. Parsing JSON takes ~10 times its size, so a header padded with tensors the
    learner does not have is refused unread."""
    names = learner.state_dict()
    return min(HEADER_LIMIT, (64 << 10) + sum(len(name.encode()) + 128 for name in names))


def _check_header(path: Path, header: Header, version: int, learner: Learner) -> dict[str, str]:
    """The learner's name of each stored tensor -> its name in the file, once the header (of
    checkpoint format `version`) matches `learner`: names, shapes, dtypes, size."""
    # `upgraded` renames keys and passes values through: given the stored names as values, it
    # maps the learner's names to them (and no tensor is made of a header's entries)
    names = learner.upgraded({name: name for name in header.tensors}, version)
    expected = learner.state_dict()
    missing_, extra = sorted(set(expected) - set(names)), sorted(set(names) - set(expected))
    if missing_ or extra:
        raise CheckpointError(
            f"{named(path)} does not match its config: missing {_listed(missing_)}, "
            f"extra {_listed(extra)}"
        )
    for name, stored in names.items():
        entry, want = header.tensors[stored], expected[name]
        if entry.shape != tuple(want.shape):
            raise CheckpointError(
                f"{named(path)}: tensor {name!r} has shape {entry.shape}, "
                f"the config implies {tuple(want.shape)}"
            )
        _check_dtype(path, name, DTYPES[entry.dtype], want.dtype)
    _check_size(path, header, learner)
    return names


def _check_dtype(path: Path, name: str, stored: torch.dtype, wanted: torch.dtype) -> None:
    """A stored tensor is floating point of at least 16 bits (`read_header` refuses the rest:
    an int64, bool or complex weight would be cast into garbage), and the learner's dtype or
    a wider float: float64 weights (a learner trained with torch's default dtype float64)
    load into float32 and are checked finite after the cast. A narrower float is refused: the
    learner would then hold more bytes than the file declares, and float16's rounding would
    pass for trained weights."""
    if stored != wanted and (not wanted.is_floating_point or stored.itemsize <= wanted.itemsize):
        raise CheckpointError(
            f"{named(path)}: tensor {name!r} is stored as {stored}; the learner holds it as "
            f"{wanted}, which takes the same dtype or a wider float"
        )


def _check_size(path: Path, header: Header, learner: Learner) -> None:
    """The learner's stored tensors are what the file declares (names, shapes, dtypes were
    checked); what it computes at init beyond them (a buffer it does not store, such as the
    mixture's index table) may not exceed that, nor 64 MiB where the file is smaller."""
    held = sum(t.numel() * t.element_size() for t in (*learner.parameters(), *learner.buffers()))
    extra = held - sum(t.numel() * t.element_size() for t in learner.state_dict().values())
    if extra > max(header.nbytes, _UNSTORED):
        raise CheckpointError(
            f"{named(path)}: its config builds a learner that computes {extra} bytes at init "
            f"beyond the {header.nbytes} bytes of weights the file declares"
        )


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
    with opened(path) as (f, size):
        header = read_header(f, path, size, (*FLOATS, "U8"))
        if "format" in header.metadata:
            _check_format(path, header.metadata["format"])
        step = _check_step(path, header.metadata, config, required=True)
        _check_trainer(path, header, optimizer)
        tensors = {n: read_tensor(f, path, n, e) for n, e in header.tensors.items()}
    try:
        groups = decode_json(path, header.metadata["param_groups"].encode())
        state: dict[int, dict] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, idx, slot = key.split(".", 2)
                state.setdefault(int(idx), {})[slot] = value
        optimizer.load_state_dict({"state": state, "param_groups": groups})
        for name, g in generators.items():
            g.set_state(tensors[f"rng.{name}"])
    except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as e:
        raise CheckpointError(f"{named(path)} cannot be resumed from: {shown(str(e))}") from e
    return step


def _check_trainer(path: Path, header: Header, optimizer: torch.optim.Optimizer) -> None:
    """Generator states are bytes (uint8), optimizer slots floats; a slot that is not a scalar
    has its parameter's shape."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for name, entry in header.tensors.items():
        if (entry.dtype == "U8") != name.startswith("rng."):
            raise CheckpointError(f"{named(path)}: tensor {shown(name)} is of dtype {entry.dtype}")
        parts = name.split(".", 2)
        if parts[0] != "optim" or len(parts) < 3 or not entry.shape:
            continue
        digits = parts[1].isascii() and parts[1].isdigit() and len(parts[1]) < 20
        idx = int(parts[1]) if digits else -1
        if 0 <= idx < len(params) and entry.shape != tuple(params[idx].shape):
            raise CheckpointError(
                f"{named(path)}: tensor {shown(name)} has shape {entry.shape}, its parameter "
                f"{tuple(params[idx].shape)}"
            )
