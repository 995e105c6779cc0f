"""The task config: the base every family's own config extends, the checks fields declare, the
shifts the families share, and how a checkpoint written by the old one-bag config reads.

Each family file holds a frozen dataclass with only the fields it uses (plus `name` and
`dim`); `iai.tasks.TASKS` maps `task.name` to it, as `learner.kind` picks a learner's config.
A field's range travels with it (`positive`, `at_least`); a `Literal` field is checked on
construction, so a config built in Python is checked like one read from TOML. Every int field
is a size or a count (dim, classes, hidden units, components), at most `MAX_SIZE`.
"""

import dataclasses
import functools
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal

from iai.errors import InvalidConfig

# The largest size a task's int field may take. Generous (the widest shipped task has 64
# inputs), it keeps a checkpoint's config from asking for a learner whose sizes multiply past
# int64 (iai.load builds it on the meta device first, see iai.experiment).
MAX_SIZE = 2**16


def positive(default: float) -> Any:
    """A float field that must be > 0."""
    return field(default=default, metadata={"check": (lambda v: v > 0, "> 0")})


def at_least(low: int, default: int) -> Any:
    """An int field that must be ≥ low."""
    return field(default=default, metadata={"check": (lambda v: v >= low, f"≥ {low}")})


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


# task.name -> (its config dataclass, the `Family` class built from it): the registry, filled
# in `iai.tasks` beside the imports of the families (defined here, which imports none of them,
# so that a config and a prior signature can read it)
TASKS: dict[str, tuple[type["TaskConfig"], type]] = {}


def config_class(name: str) -> type["TaskConfig"]:
    """The config dataclass of the family `name`."""
    if not isinstance(name, str) or name not in TASKS:
        raise InvalidConfig(f"unknown task {name!r}; known: {sorted(TASKS)}")
    return TASKS[name][0]


@dataclass(frozen=True)
class TaskConfig:
    """The base of every family's config: which family (`name`) and its input width (`dim`).

    Calling `TaskConfig(name=..., **fields)` itself builds the config of the family `name`
    names, as `pathlib.Path(...)` builds a `PosixPath`: `TaskConfig(name="digits", dim=64)`
    is a `DigitsConfig`, and a key that family lacks is refused naming it and the family's
    keys. `shifts` (the family's out-of-distribution variants: name -> the shifted config)
    is declared by each family.
    """

    name: str = "linear_regression"
    dim: int = at_least(1, 8)
    shifts: ClassVar[Mapping[str, Callable[[Any], Any]]] = {}

    def __new__(cls, *args: Any, **kwargs: Any) -> "TaskConfig":
        if cls is not TaskConfig:
            return object.__new__(cls)
        family = config_class(kwargs["name"] if "name" in kwargs else (*args, cls.name)[0])
        family.check_keys(kwargs)
        return object.__new__(family)  # then the family's __init__ runs with these arguments

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value, hint = getattr(self, f.name), _hints(type(self))[f.name]
            if "check" in f.metadata and not f.metadata["check"][0](value):
                raise InvalidConfig(f"task.{f.name} = {value!r}; must be {f.metadata['check'][1]}")
            if hint is int and isinstance(value, int) and value > MAX_SIZE:
                raise InvalidConfig(f"task.{f.name} = {value!r}; must be at most {MAX_SIZE}")
            allowed = typing.get_args(hint) if typing.get_origin(hint) is Literal else None
            if allowed is not None and value not in allowed:
                raise InvalidConfig(f"task.{f.name} = {value!r}; allowed: {list(allowed)}")

    @classmethod
    def keys(cls) -> list[str]:
        return sorted(f.name for f in dataclasses.fields(cls))

    @classmethod
    def check_keys(cls, table: Mapping[str, Any]) -> None:
        """Refuse a key this family does not have, naming it and the family's keys."""
        unknown = sorted(set(table) - set(cls.keys()))
        if unknown:
            name = table.get("name", cls.name)
            raise InvalidConfig(
                f"unknown config key 'task.{unknown[0]}': task {name!r} has the keys {cls.keys()}"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CustomTask(TaskConfig):
    """The [task] of a learner trained on a prior defined in Python (`iai.train(prior=...)`):
    the prior's class name and width, all a checkpoint keeps of it (its kind and out_dim are
    in the prior signature)."""

    name: str = "custom"


def shifted(cfg: TaskConfig, ood: str) -> TaskConfig:
    """The out-of-distribution variant `ood` of `cfg`, which must be one of its family's."""
    if ood not in cfg.shifts:
        raise InvalidConfig(
            f"OoD variant {ood!r} does not apply to {cfg.name!r}; its variants: {list(cfg.shifts)}"
        )
    return cfg.shifts[ood](cfg)


# The shifts of the inputs x ~ N(x_mean, x_scale² I) that every synthetic family takes; each
# family adds its own `noisy` and `wide_prior` (what its noise and its prior are).
INPUT_SHIFTS = ("shift_x", "wide_x", "noisy", "wide_prior")
MOVE_X: dict[str, Callable[[Any], Any]] = {
    "shift_x": lambda c: replace(c, x_mean=c.x_mean + 1.0),
    "wide_x": lambda c: replace(c, x_scale=2.0 * c.x_scale),
}
Activation = Literal["tanh", "relu"]

# The one config every family shared before each had its own: every checkpoint written by it
# holds all of these keys (or the ones it had then), used by its family or not.
BAG_DEFAULTS: dict[str, Any] = {
    "classes": 2,
    "noise": 0.25,
    "temperature": 0.1,
    "hidden": 32,
    "activation": "tanh",
    "lengthscale": 1.0,
    "signal_scale": 1.0,
    "x_mean": 0.0,
    "x_scale": 1.0,
    "prior_scale": 1.0,
    "pixels": "plain",
    "new_classes": False,
    "min_components": 1,
    "components": 5,
    "letters": "train",
    "font": "sans",
}


def saved_table(cls: type[TaskConfig], table: dict[str, Any]) -> dict[str, Any]:
    """A [task] table read back from a checkpoint, as family config `cls` takes it.

    The rule for saved configs (a user's TOML gets the strict one, `TaskConfig.check_keys`):
    a key the family lacks is dropped where it holds the old bag's default, since the bag wrote
    every field whether its family read it or not; any other value is refused, as it
    configured something this family cannot. A prior defined in Python (`CustomTask`) read no
    field of the bag, so every bag key is dropped from its table.
    """
    own, kept = set(cls.keys()), {}
    for key, value in table.items():
        if key in own or key not in BAG_DEFAULTS:
            kept[key] = value  # unknown keys are refused by the caller, naming them
        elif cls is not CustomTask and value != BAG_DEFAULTS[key]:
            raise InvalidConfig(
                f"task.{key} = {value!r} in a saved config: task {table.get('name')!r} has no "
                f"{key} (its keys: {cls.keys()}), and {value!r} is not the old default "
                f"{BAG_DEFAULTS[key]!r}"
            )
    return kept
