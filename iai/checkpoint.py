"""Checkpoints: safetensors weights plus a JSON config, written atomically; loading runs no code.

A learner directory holds `config.json` (format version + the resolved experiment config) and
`model.safetensors`. A training run adds `trainer.safetensors`: optimizer moments, the step
and every random generator, so `--resume` continues bit for bit.
"""

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from iai.errors import CheckpointError

FORMAT = 1


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file, fsync, then rename over `path`: a crash leaves old or new."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_learner(
    directory: Path, learner: nn.Module, config: dict, step: int, prior: dict | None = None
) -> None:
    """Weights and config; `prior` is the prior's signature (kind, dim, out_dim), which lets a
    learner of a user-defined prior load without that prior."""
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in learner.state_dict().items()}
    atomic_write(directory / "model.safetensors", st_save(tensors, {"step": str(step)}))
    doc = {"format": FORMAT, "step": step, "config": config}
    if prior is not None:
        doc["prior"] = prior
    atomic_write(directory / "config.json", json.dumps(doc, indent=2).encode())


def read_config(directory: Path) -> tuple[dict, int, dict | None]:
    """The experiment config dict, the training step and the prior's signature (None in
    checkpoints written before it was recorded) stored in a checkpoint directory."""
    if directory.is_file():
        raise CheckpointError(
            f"{str(directory)!r} is a file; a checkpoint is the directory that holds "
            "config.json and model.safetensors"
        )
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint directory {str(directory)!r} does not exist")
    path = directory / "config.json"
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise CheckpointError(f"{str(path)!r} is missing: not a checkpoint directory") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{str(path)!r} is corrupt: {e}") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or "config" not in doc:
        raise CheckpointError(f"{str(path)!r} is not an iai checkpoint of format {FORMAT}")
    return doc["config"], int(doc.get("step", 0)), doc.get("prior")


def _read_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise CheckpointError(f"{str(path)!r} is missing") from e
    try:
        tensors = st_load(data)
        # safetensors' loader drops the metadata; it sits in the JSON header after 8 bytes.
        header_len = int.from_bytes(data[:8], "little")
        meta = json.loads(data[8 : 8 + header_len]).get("__metadata__", {})
    except (SafetensorError, ValueError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{str(path)!r} is corrupt: {e}") from e
    return tensors, meta


def load_weights(directory: Path, learner: nn.Module) -> None:
    """Load model.safetensors into `learner`, rejecting missing, extra or misshapen tensors."""
    path = directory / "model.safetensors"
    tensors, _ = _read_tensors(path)
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
    learner.load_state_dict(tensors)


def save_trainer(
    directory: Path,
    optimizer: torch.optim.Optimizer,
    step: int,
    rng_states: dict[str, torch.Tensor],
) -> None:
    """Optimizer moments, the step and the random generators' states (name -> state)."""
    state = optimizer.state_dict()
    tensors = {f"rng.{name}": value for name, value in rng_states.items()}
    for idx, slots in state["state"].items():
        for slot, value in slots.items():
            tensors[f"optim.{idx}.{slot}"] = value.detach().cpu().contiguous()
    meta = {"step": str(step), "param_groups": json.dumps(state["param_groups"])}
    atomic_write(directory / "trainer.safetensors", st_save(tensors, meta))


def load_trainer(
    directory: Path, optimizer: torch.optim.Optimizer, generators: dict[str, torch.Generator]
) -> int:
    """Restore optimizer and generators in place; returns the step to continue from."""
    path = directory / "trainer.safetensors"
    tensors, meta = _read_tensors(path)
    try:
        groups, step = json.loads(meta["param_groups"]), int(meta["step"])
        state: dict[int, dict] = {}
        for key, value in tensors.items():
            if key.startswith("optim."):
                _, idx, slot = key.split(".", 2)
                state.setdefault(int(idx), {})[slot] = value
        optimizer.load_state_dict({"state": state, "param_groups": groups})
        for name, g in generators.items():
            g.set_state(tensors[f"rng.{name}"])
    except (KeyError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{str(path)!r} cannot be resumed from: {e}") from e
    return step
