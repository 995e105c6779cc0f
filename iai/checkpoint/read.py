"""Reading checkpoints: pin the newest complete one, check every file against the others and
against the learner its config builds (see `iai.checkpoint`)."""

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load

from iai.checkpoint.layout import FILES, FORMAT, LATEST, VERSION, pin
from iai.errors import CheckpointError
from iai.learners.base import Learner

_RETRIES = 5  # re-reads when a writer replaced the checkpoint a reader had pinned


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
