"""Experiment configs: the components' own dataclasses, composed and loaded from TOML.

An unknown key, a value of the wrong type or out of range raises `InvalidConfig` naming the
key. Overrides use dotted keys (`train.lr=3e-4`) and are parsed as TOML values. The [task]
table is read as the config of the family its `name` names (`iai.tasks.TASKS`), as
[learner] by its `kind`; a saved config (`from_dict`, what a checkpoint holds) also reads
the tables the old one-bag task config wrote (`iai.tasks.config.saved_table`).
"""

import copy
import dataclasses
import json
import math
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from iai.errors import InvalidConfig
from iai.evaluation.config import EvalConfig
from iai.learners import LEARNERS, ExplicitConfig, ParametricConfig
from iai.tasks import TASKS, CustomTask, LinearRegressionConfig, TaskConfig
from iai.tasks.config import saved_table
from iai.training.config import TrainConfig


@dataclass(frozen=True)
class ExperimentConfig:
    seed: int = 0
    # the config dataclass of one of TASKS, picked by its `name`
    task: TaskConfig = field(default_factory=LinearRegressionConfig)
    # the config dataclass of one of LEARNERS, picked by its `kind`
    learner: Any = field(default_factory=ParametricConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self) -> None:
        # The memory one step writes is scored only by the losses after it: with one step it
        # would never be trained (and DistributedDataParallel would find it unused).
        memory = isinstance(self.learner, ParametricConfig | ExplicitConfig) and self.learner.memory
        if memory and self.train.steps < 2:
            raise InvalidConfig(
                f"learner.memory = {self.learner.memory} needs train.steps ≥ 2 (it is "
                f"{self.train.steps}): a memory is trained only through the steps after the "
                "one that writes it"
            )


def _check_value(key: str, value: Any, hint: Any) -> Any:
    """`value` as type `hint`, or InvalidConfig naming `key`."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        if value not in typing.get_args(hint):
            raise InvalidConfig(f"{key} = {value!r}; allowed: {list(typing.get_args(hint))}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            example = json.dumps([value])
            raise InvalidConfig(
                f"{key} = {value!r}; expected a list, e.g. {key} = {example} in TOML, "
                f"or --set '{key}={example}' on the command line"
            )
        (item,) = {a for a in typing.get_args(hint) if a is not Ellipsis}
        return tuple(_check_value(f"{key}[{i}]", v, item) for i, v in enumerate(value))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, float) and not math.isfinite(value):
        raise InvalidConfig(f"{key} = {value!r}; expected a finite number")
    if hint in (int, float, str, bool) and (
        not isinstance(value, hint) or (hint is int and isinstance(value, bool))
    ):
        raise InvalidConfig(f"{key} = {value!r}; expected {hint.__name__}")
    if hint is int and not -(2**63) <= value < 2**63:  # seeds and sizes reach torch as int64
        raise InvalidConfig(f"{key} = {value!r}; expected an integer within 64 bits")
    return value


def _task(data: Any, saved: bool) -> TaskConfig:
    """The [task] table as the config of the family its `name` names. Saved: a name of no
    registered family is a prior defined in Python (`CustomTask`), and the old bag's keys are
    read by `saved_table`."""
    if not isinstance(data, dict):
        raise InvalidConfig(f"task must be a table, got {data!r}")
    name = data.get("name", LinearRegressionConfig.name)
    if not isinstance(name, str):
        raise InvalidConfig(f"task.name = {name!r}; expected str")
    if name not in TASKS and not saved:
        raise InvalidConfig(f"task.name = {name!r}; known: {sorted(TASKS)}")
    cls = TASKS[name][0] if name in TASKS else CustomTask
    data = saved_table(cls, data) if saved else data
    cls.check_keys(data)
    return _build(cls, data, "task")


def _build(cls: type, data: dict, prefix: str, saved: bool = False) -> Any:
    if not isinstance(data, dict):
        raise InvalidConfig(f"{prefix or 'config'} must be a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        key = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise InvalidConfig(f"unknown config key {key!r}; known here: {sorted(names)}")
    kwargs = {}
    for name, value in data.items():
        key, hint = f"{prefix}.{name}" if prefix else name, hints[name]
        if name == "task" and cls is ExperimentConfig:  # the name picks the dataclass
            kwargs[name] = _task(value, saved)
        elif name == "learner" and cls is ExperimentConfig:  # the kind picks the dataclass
            if not isinstance(value, dict):
                raise InvalidConfig(f"learner must be a table, got {value!r}")
            kind = value.get("kind", "parametric")
            if not isinstance(kind, str) or kind not in LEARNERS:
                raise InvalidConfig(f"learner.kind = {kind!r}; known: {sorted(LEARNERS)}")
            kwargs[name] = _build(LEARNERS[kind][0], value, key)
        elif dataclasses.is_dataclass(hint):
            kwargs[name] = _build(hint, value, key)
        else:
            kwargs[name] = _check_value(key, value, hint)
    try:
        return cls(**kwargs)
    except InvalidConfig:
        raise
    except (TypeError, ValueError) as e:
        raise InvalidConfig(f"[{prefix}]: {e}") from e


def from_dict(data: dict) -> ExperimentConfig:
    """A saved config (`to_dict`'s, as a checkpoint's config.json holds it); a user's TOML
    goes through `load_config`, whose [task] is read strictly."""
    return _build(ExperimentConfig, data, "", saved=True)


def to_dict(cfg: ExperimentConfig) -> dict:
    return dataclasses.asdict(cfg)


def _set(data: dict, dotted: str) -> None:
    if not isinstance(dotted, str):
        raise InvalidConfig(f"override {dotted!r} is not a 'key=value' string")
    key, sep, raw = dotted.partition("=")
    if not sep:
        raise InvalidConfig(f"override {dotted!r} is not key=value")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is a string: --set task.name=gp_regression
    *path, last = key.strip().split(".")
    for part in path:
        data = data.setdefault(part, {})
        if not isinstance(data, dict):
            raise InvalidConfig(f"override {key.strip()!r}: {part!r} is not a table")
    data[last] = value


def _read_toml(path: str | Path) -> dict:
    if not isinstance(path, str | os.PathLike):
        raise InvalidConfig(f"a config file is a path (str or pathlib.Path), got {path!r}")
    try:
        return tomllib.loads(Path(path).read_text())
    except FileNotFoundError as e:
        raise InvalidConfig(f"config file {str(path)!r} does not exist") from e
    except IsADirectoryError as e:
        raise InvalidConfig(f"config file {str(path)!r} is a directory") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InvalidConfig(f"config file {str(path)!r} is not valid TOML: {e}") from e


def load_table(cls: type, path: str | Path, table: str) -> Any:
    """Dataclass `cls` from the [table] of a TOML file, checked like an experiment config."""
    data = _read_toml(path)
    unknown = sorted(set(data) - {table})
    if unknown:
        raise InvalidConfig(f"unknown table {unknown[0]!r} in {str(path)!r}; expected [{table}]")
    return _build(cls, data.get(table, {}), table)


def load_config(
    path: str | Path | None = None, overrides: list[str] = (), tables: dict | None = None
) -> ExperimentConfig:
    """The config in TOML file `path` (defaults if None), with the values in `tables` (a dict
    of tables, e.g. {"learner": {"kind": "maml"}}) merged in, then `overrides` applied."""
    data = _read_toml(path) if path is not None else {}
    _merge(data, tables or {})
    if isinstance(overrides, str | bytes):
        raise InvalidConfig(f"overrides must be a list of 'key=value' strings, got {overrides!r}")
    for item in overrides:
        _set(data, item)
    return _build(ExperimentConfig, data, "")


def _merge(data: dict, tables: dict) -> None:
    for key, value in tables.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            _merge(data[key], value)
        else:
            data[key] = copy.deepcopy(value)  # overrides then edit the copy
