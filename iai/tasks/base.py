"""What every task prior returns: a batch of tasks, each with training points, queries and truth."""

from dataclasses import dataclass, field, fields

import torch

from iai.errors import InvalidInput

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
