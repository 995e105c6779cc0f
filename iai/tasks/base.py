"""What a task prior is (`Prior`), what shipped families declare beyond it (`Family`), what a
learner keeps of its prior (`PriorSignature`), and what every prior returns (`Tasks`)."""

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Protocol

import torch

from iai.errors import InvalidConfig, InvalidInput
from iai.tasks.config import TASKS, Activation, TaskConfig

DATA = ("x_train", "y_train", "x_query", "y_query")


@dataclass(frozen=True)
class Tasks:
    """T tasks sampled from one prior.

    x_train (T, N, D), y_train (T, N) float targets or int64 labels, x_query (T, Q, D),
    y_query (T, Q). A family whose tasks have no targets (samples of a density) leaves
    y_train and y_query None. `truth` holds the ground-truth parameters where the prior has
    them (e.g. `w` (T, D + 1) for linear regression), keyed by name.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor | None
    x_query: torch.Tensor
    y_query: torch.Tensor | None
    truth: dict[str, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        T = self.x_train.shape[0]
        for f in fields(self)[:4]:
            v = getattr(self, f.name)
            if v is not None and (not isinstance(v, torch.Tensor) or v.shape[:1] != (T,)):
                shape = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
                raise InvalidInput(
                    f"Tasks.{f.name} must be a tensor with {T} tasks first, got {shape}"
                )

    @property
    def n_tasks(self) -> int:
        return self.x_train.shape[0]

    def _map(self, fn) -> "Tasks":
        data = {f: None if getattr(self, f) is None else fn(getattr(self, f)) for f in DATA}
        return Tasks(**data, truth={k: fn(v) for k, v in self.truth.items()})

    def select(self, rows: slice) -> "Tasks":
        """The tasks `rows` of this batch."""
        return self._map(lambda t: t[rows])

    def to(self, device: torch.device) -> "Tasks":
        return self._map(lambda t: t.to(device))

    @staticmethod
    def concat(parts: "list[Tasks]") -> "Tasks":
        """The tasks of several batches side by side (along T)."""
        if len(parts) == 1:
            return parts[0]
        first = parts[0]
        cat = {
            f: None if getattr(first, f) is None else torch.cat([getattr(p, f) for p in parts])
            for f in DATA
        }
        truth = {k: torch.cat([p.truth[k] for p in parts]) for k in first.truth}
        return Tasks(**cat, truth=truth)


def with_bias(x: torch.Tensor) -> torch.Tensor:
    """Append the constant-1 feature that carries every prior's bias: (..., D) -> (..., D + 1)."""
    return torch.cat([x, torch.ones_like(x[..., :1])], dim=-1)


def sample_inputs(
    n_tasks: int, n_points: int, dim: int, mean: float, scale: float, generator: torch.Generator
) -> torch.Tensor:
    """x ~ N(mean, scale² I), shape (T, N, D)."""
    return mean + scale * torch.randn(n_tasks, n_points, dim, generator=generator)


class Prior(Protocol):
    """Any task prior: `kind` names its objective ('regression', 'classification' or
    'density', `iai.tasks.objective`), `dim` its input width, `out_dim` a learner's output
    width, and `sample` draws T tasks from `generator` alone."""

    kind: str
    dim: int
    out_dim: int

    def sample(
        self, n_tasks: int, n_points: int, n_query: int, *, generator: torch.Generator
    ) -> Tasks: ...


@dataclass(frozen=True)
class MLPShape:
    """The hidden layer of the MLP f(x; θ) a family's baselines train (`Family.model` 'mlp')."""

    hidden: int = 32
    activation: Activation = "tanh"


# (x_train (T, N, D), y_train (T, N), x_query (T, Q, D)) -> predictions (T, Q)
Bayes = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class Family(ABC):
    """A registered task family (every shipped one): a `Prior` built from its own config
    `cfg`, which declares what callers may need of a family, with defaults (a prior defined in
    Python need not have them, so callers branch once with `isinstance(prior, Family)`).

    `bayes`: the exact Bayes-optimal prediction, or None where there is no closed form.
    `model`: the fixed model f(x; θ) that suits the family ('linear' or 'mlp'), of shape
    `mlp` where it is an MLP. `variants`: the out-of-distribution shifts of its config.
    """

    kind: str
    cfg: TaskConfig
    dim: int
    out_dim: int = 1
    bayes: Bayes | None = None
    model: str = "mlp"
    mlp: MLPShape = MLPShape()

    def __init__(self, cfg: TaskConfig) -> None:
        self.cfg, self.dim = cfg, cfg.dim

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(self.cfg.shifts)

    @abstractmethod
    def sample(
        self, n_tasks: int, n_points: int, n_query: int, *, generator: torch.Generator
    ) -> Tasks: ...


class DensityFamily(Family):
    """A family of distributions to sample (no targets): a task's parameters are `draw`n once,
    its points drawn from them as often as wanted; `log_prob` is the exact log density where
    the family has one in closed form, else None."""

    kind = "density"
    log_prob: Callable[[dict[str, torch.Tensor], torch.Tensor], torch.Tensor] | None = None

    @abstractmethod
    def draw(self, n_tasks: int, *, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """T tasks' parameters (`Tasks.truth`)."""

    @abstractmethod
    def points(
        self, truth: dict[str, torch.Tensor], n: int, *, generator: torch.Generator
    ) -> torch.Tensor:
        """n fresh samples (T, n, D) of each task's distribution, given its `truth`."""


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


@dataclass(frozen=True)
class PriorSignature:
    """What a learner needs to know of its prior, and all a checkpoint keeps of it: a learner
    is built from kind, dim and out_dim alone, so one of a prior defined in Python saves and
    loads without it. `shipped`: the prior is a registered family, which `iai.load` rebuilds
    from the config's [task]. Stored as the JSON table {name, kind, dim, out_dim, shipped}."""

    name: str
    kind: str
    dim: int
    out_dim: int
    shipped: bool

    @staticmethod
    def of(prior: Prior) -> "PriorSignature":
        """The signature of `prior`, or InvalidConfig naming the member it lacks."""
        try:
            kind, dim, out_dim, _ = prior.kind, prior.dim, prior.out_dim, prior.sample
        except AttributeError as e:
            raise InvalidConfig(
                f"a task prior needs kind, dim, out_dim and sample(); {type(prior).__name__} "
                f"has no {e.name!r}"
            ) from None
        # a registered family, not a look-alike (a subclass, or a class keeping its config)
        name = prior.cfg.name if isinstance(prior, Family) else ""
        shipped = name in TASKS and type(prior) is TASKS[name][1]
        name = name if shipped else type(prior).__qualname__
        return PriorSignature(name, kind, int(dim), int(out_dim), shipped)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: Any) -> "PriorSignature":
        """The signature a checkpoint stored, or InvalidInput naming what is wrong with it."""
        if not isinstance(data, dict):
            raise InvalidInput(f"a prior signature is a table, got {data!r}")
        wanted = {f.name for f in fields(PriorSignature)}
        if set(data) != wanted:
            raise InvalidInput(
                f"a prior signature has the keys {sorted(wanted)}; this one has {sorted(data)}"
            )
        checks = {
            "name": (isinstance(data["name"], str), "a str"),
            "kind": (isinstance(data["kind"], str), "a str"),
            "dim": (_count(data["dim"]), "an int ≥ 1"),
            "out_dim": (_count(data["out_dim"]), "an int ≥ 1"),
            "shipped": (isinstance(data["shipped"], bool), "a bool"),
        }
        for key, (ok, expected) in checks.items():
            if not ok:
                raise InvalidInput(f"prior signature {key} = {data[key]!r}; expected {expected}")
        return PriorSignature(**data)
