"""What every task prior returns: a batch of tasks, each with training points, queries and truth."""

from dataclasses import dataclass, field

import torch


@dataclass(frozen=True)
class Tasks:
    """T tasks sampled from one prior.

    x_train (T, N, D), y_train (T, N) float targets or int64 labels, x_query (T, Q, D),
    y_query (T, Q). `truth` holds the ground-truth parameters where the prior has them
    (e.g. `w` (T, D + 1) for linear regression), keyed by name.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_query: torch.Tensor
    y_query: torch.Tensor
    truth: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def n_tasks(self) -> int:
        return self.x_train.shape[0]

    def select(self, rows: slice) -> "Tasks":
        """The tasks `rows` of this batch."""
        pick = {f: getattr(self, f)[rows] for f in ("x_train", "y_train", "x_query", "y_query")}
        return Tasks(**pick, truth={k: v[rows] for k, v in self.truth.items()})

    def to(self, device: torch.device) -> "Tasks":
        move = {
            f: getattr(self, f).to(device) for f in ("x_train", "y_train", "x_query", "y_query")
        }
        return Tasks(**move, truth={k: v.to(device) for k, v in self.truth.items()})

    @staticmethod
    def concat(parts: "list[Tasks]") -> "Tasks":
        """The tasks of several batches side by side (along T)."""
        if len(parts) == 1:
            return parts[0]
        fields = ("x_train", "y_train", "x_query", "y_query")
        cat = {f: torch.cat([getattr(p, f) for p in parts]) for f in fields}
        truth = {k: torch.cat([p.truth[k] for p in parts]) for k in parts[0].truth}
        return Tasks(**cat, truth=truth)


def with_bias(x: torch.Tensor) -> torch.Tensor:
    """Append the constant-1 feature that carries every prior's bias: (..., D) -> (..., D + 1)."""
    return torch.cat([x, torch.ones_like(x[..., :1])], dim=-1)


def sample_inputs(
    n_tasks: int, n_points: int, dim: int, mean: float, scale: float, generator: torch.Generator
) -> torch.Tensor:
    """x ~ N(mean, scale² I), shape (T, N, D)."""
    return mean + scale * torch.randn(n_tasks, n_points, dim, generator=generator)
