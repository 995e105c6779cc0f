"""The objective of causal orders: leaf logits per variable, judged against the true graph.

A learner's output for a task is one logit per variable, l (T, d): how likely each is a leaf
(a sink) of the graph. An order is read by removing the most likely leaf and repeating on
the rest, which for fixed logits is the variables by increasing logit: roots first
(`prediction`).

Loss (the training signal), per task: the elimination path through the true graph. With R
the variables not yet removed (all, to begin) and S ⊆ R the true sinks of the graph on R,

    loss = mean over the d − 1 steps of  −log Σ_{j ∈ S} softmax_R(l)_j

(the softmax over R only), after which the true sink of largest logit leaves R: the one the
learner would remove if it is right. Any true sink is a correct answer, so the loss is the
likelihood of the sink *set*; it is 0 exactly when every step puts all mass on true sinks.

Metrics, per task, of the order the logits give (`task_metrics`):
- `d_top`: the fraction of the true edges i → j that the order reverses (j placed before i),
  the normalized topological order divergence (0 where the graph has no edge);
- `leaf_error`: the fraction of the d − 1 elimination steps (removing the last variable of
  the order, then the last of the rest, …) whose removed variable is not a sink of the graph
  on the rest, i.e. has a child still placed before it.
"""

import torch

from iai.errors import InvalidInput


class Order:
    """Leaf logits (…, T, d) against adjacency matrices (T, d, d) (1 where i → j)."""

    kind = "order"
    metrics = ("d_top", "leaf_error")  # the first is the one tables rank by
    categorical = False
    generative = False

    def __init__(self, out_dim: int, reference=None) -> None:
        if out_dim < 2:
            raise InvalidInput(f"an order needs at least 2 variables, not {out_dim}")
        self.out_dim, self.reference = out_dim, None

    def loss(self, out: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        """Per-task loss (T,) of leaf logits out (T, d): see the module docstring."""
        A, d = adjacency, out.shape[-1]
        left = torch.ones_like(out, dtype=torch.bool)  # R: (T, d)
        steps = []
        for _ in range(d - 1):  # a loop over variables, not tasks
            has_child = (A * left[:, None, :]).sum(-1) > 0  # (T, d): a child still in R
            sinks = left & ~has_child
            logp = out.masked_fill(~left, -torch.inf).log_softmax(-1)
            steps.append(-logp.masked_fill(~sinks, -torch.inf).logsumexp(-1))
            pick = out.masked_fill(~sinks, -torch.inf).argmax(-1)  # (T,)
            left = left.scatter(1, pick[:, None], False)
        return torch.stack(steps, -1).mean(-1)

    def prediction(self, out: torch.Tensor) -> torch.Tensor:
        """The order (…, d) int64 of leaf logits (…, d): increasing logit, roots first."""
        return out.argsort(dim=-1, stable=True)

    def outputs(self, order: torch.Tensor) -> torch.Tensor:
        """Leaf logits that give `order` (…, d): a variable's place in it, so a baseline's
        order is scored like a learner's logits."""
        return order.argsort(-1).to(torch.get_default_dtype())

    def task_metrics(self, out: torch.Tensor, adjacency: torch.Tensor) -> dict[str, torch.Tensor]:
        """D_top and the leaf error (…, T) of logits (…, T, d) against adjacency (T, d, d)."""
        pos = self.prediction(out).argsort(-1)  # (…, T, d): each variable's place
        reversed_ = adjacency * (pos[..., None, :] < pos[..., :, None])  # i → j, j before i
        edges = adjacency.sum((-2, -1))
        d_top = reversed_.sum((-2, -1)) / edges.clamp_min(1)
        leaf_error = (reversed_.sum(-1) > 0).sum(-1) / (out.shape[-1] - 1)
        return {"d_top": d_top, "leaf_error": leaf_error.to(d_top.dtype)}

    def targets(self, name: str, y, shape: tuple[int, ...]) -> torch.Tensor:
        """User adjacency matrices (T, d, d) of 0s and 1s with no self-loop, as floats."""
        try:
            y = torch.as_tensor(y)
        except (TypeError, ValueError, RuntimeError) as e:
            raise InvalidInput(f"{name} cannot be read as a tensor: {e}") from e
        if y.dim() != 3 or y.shape[-1] != y.shape[-2] or y.shape[0] != shape[0]:
            raise InvalidInput(
                f"{name} must be adjacency matrices ({shape[0]}, d, d), got {tuple(y.shape)}"
            )
        y = y.to(torch.get_default_dtype())
        if not ((y == 0) | (y == 1)).all() or y.diagonal(0, -2, -1).any():
            raise InvalidInput(f"{name} must hold 0s and 1s with a zero diagonal")
        return y

    def target_features(self, y: torch.Tensor) -> torch.Tensor:
        raise InvalidInput("an order task's samples have no targets to read")

    def residual(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise InvalidInput("an order task's samples have no targets to read")
