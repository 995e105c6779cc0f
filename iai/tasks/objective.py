"""Objectives: what a task family judges a prediction by, and what a learner reads of a target.

A learner's raw output for a query is a vector `out` (…, out_dim). The family's objective
says what that vector means: its per-example loss (the training signal), the target
features and residual a learner feeds back as data, the metrics reported per task, the form
the public API returns, how user targets are checked, and the family's exact reference
predictor where one exists (`reference`, the Bayes-optimal prediction). Nothing outside
these classes asks whether a task is regression or classification.

A family judged differently brings its own class and one line in `OBJECTIVES`: `Density`
(samples without targets) is one, for the generative learners, which own their losses and
so need only its `queries`, `split` and `targets`.
"""

from collections.abc import Callable
from typing import Protocol

import torch
import torch.nn.functional as F

from iai.errors import InvalidInput
from iai.tasks.order import Order

# (x_train (T, N, D), y_train (T, N), x_query (T, Q, D)) -> predictions (T, Q) in the public form
Reference = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class Objective(Protocol):
    """What a predictive objective provides (`Regression`, `Classification`); `Density` has
    only the members generative learners read."""

    kind: str
    out_dim: int
    metrics: tuple[str, ...]
    categorical: bool  # outputs are logits of a categorical distribution
    generative: bool  # judged on samples (a GenerativeLearner's), not on predictions
    reference: Reference | None

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor: ...
    def target_features(self, y: torch.Tensor) -> torch.Tensor: ...
    def residual(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor: ...
    def prediction(self, out: torch.Tensor) -> torch.Tensor: ...
    def outputs(self, prediction: torch.Tensor) -> torch.Tensor: ...
    def task_metrics(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]: ...
    def targets(self, name: str, y, shape: tuple[int, ...]) -> torch.Tensor: ...


class Regression:
    """Gaussian likelihood of fixed variance: loss ½ (ŷ - y)², metric MSE, output the mean."""

    kind = "regression"
    metrics = ("mse",)  # the first is the one tables and tuning rank by
    categorical = False
    generative = False

    def __init__(self, out_dim: int = 1, reference: Reference | None = None) -> None:
        if out_dim != 1:
            raise InvalidInput(
                f"regression predicts one value per point (out_dim = 1), not {out_dim}"
            )
        self.out_dim, self.reference = 1, reference

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-example loss: out (…, 1), y (…) -> (…)."""
        return 0.5 * (out.squeeze(-1) - y).square()

    def target_features(self, y: torch.Tensor) -> torch.Tensor:
        """(…) -> (…, 1): the target as the learner reads it."""
        return y.unsqueeze(-1)

    def residual(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """What the model gets wrong, (…, 1): y - ŷ."""
        return y.unsqueeze(-1) - out

    def prediction(self, out: torch.Tensor) -> torch.Tensor:
        """The public form of raw outputs: predictive means (…)."""
        return out.squeeze(-1)

    def outputs(self, prediction: torch.Tensor) -> torch.Tensor:
        """The inverse of `prediction`, so a reference is scored like a learner."""
        return prediction.unsqueeze(-1)

    def task_metrics(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-task metrics of outputs (…, T, Q, 1) against targets (T, Q): name -> (…, T)."""
        return {"mse": (out.squeeze(-1) - y).square().mean(-1)}

    def targets(self, name: str, y, shape: tuple[int, ...]) -> torch.Tensor:
        """User targets as a float tensor of `shape`, or InvalidInput naming the problem."""
        y = _as_tensor(name, y, shape)
        if y.dtype == torch.bool or y.is_complex():
            raise InvalidInput(f"{name} must hold real-valued targets, got {y.dtype}")
        y = y.to(torch.get_default_dtype())
        if not torch.isfinite(y).all():
            raise InvalidInput(f"{name} contains NaN or inf")
        return y


class Classification:
    """Categorical likelihood over `out_dim` classes: loss cross-entropy, metrics error % and
    NLL, output the logits."""

    kind = "classification"
    metrics = ("error", "nll")
    categorical = True
    generative = False

    def __init__(self, out_dim: int, reference: Reference | None = None) -> None:
        if out_dim < 2:
            raise InvalidInput(f"classification needs at least 2 classes, not {out_dim}")
        self.out_dim, self.reference = out_dim, reference

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        flat = F.cross_entropy(out.reshape(-1, self.out_dim), y.reshape(-1), reduction="none")
        return flat.reshape(y.shape)

    def target_features(self, y: torch.Tensor) -> torch.Tensor:
        """(…) -> (…, C): the label's one-hot code."""
        return F.one_hot(y, self.out_dim).to(torch.get_default_dtype())

    def residual(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """one-hot(y) - softmax(ŷ), (…, C)."""
        return self.target_features(y) - out.softmax(-1)

    def prediction(self, out: torch.Tensor) -> torch.Tensor:
        """The public form of raw outputs: the logits themselves (…, C)."""
        return out

    def outputs(self, prediction: torch.Tensor) -> torch.Tensor:
        return prediction

    def task_metrics(self, out: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-task error % and NLL of logits (…, T, Q, C) against labels (T, Q): -> (…, T)."""
        wrong = (out.argmax(-1) != y).to(out.dtype)
        nll = self.loss(out, y.expand(out.shape[:-1])).mean(-1)
        return {"error": 100 * wrong.mean(-1), "nll": nll}

    def targets(self, name: str, y, shape: tuple[int, ...]) -> torch.Tensor:
        """User labels as int64 of `shape` in [0, C), or InvalidInput naming the problem."""
        y = _as_tensor(name, y, shape)
        if y.is_floating_point() or y.dtype == torch.bool or y.is_complex():
            raise InvalidInput(f"{name} must hold integer class labels, got {y.dtype}")
        if y.numel() and (y.min() < 0 or y.max() >= self.out_dim):
            raise InvalidInput(f"{name} holds labels outside [0, {self.out_dim})")
        return y.long()


class Density:
    """Samples of a distribution, without targets: a generative learner reads the samples and
    answers with samples and densities of its own (`sample`, `log_prob`), and owns its
    training loss (flow matching, or the negative log-likelihood of a density).

    A density family's query row is `[x₁, x₀, t]` (…, 2D + 1): a held-out sample x₁ of the
    task's distribution, paired with the flow-matching noise x₀ ~ N(0, I) and time
    t ~ U(0, 1) (`queries`). The pairing is drawn with the task, from the family's generator,
    so training is reproducible and every learner is scored on the same pairs; a learner with
    an exact density reads x₁ alone. Metrics compare samples with fresh samples of the truth
    (`iai.evaluation.sample_metrics`).
    """

    kind = "density"
    metrics = ("energy", "mmd", "w2", "excess_nll")  # iai.evaluation.sampling's
    categorical = False
    generative = True

    def __init__(self, out_dim: int, reference: Reference | None = None) -> None:
        """`reference` is accepted for `make_objective`'s sake and ignored: a density family's
        exact answer is its `log_prob`, which the evaluation reads from the family itself."""
        if out_dim < 1:
            raise InvalidInput(f"a density's samples need at least 1 dimension, not {out_dim}")
        self.out_dim, self.reference = out_dim, None

    def queries(self, x1: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Held-out samples x1 (T, Q, D) -> query rows [x₁, x₀, t] (T, Q, 2D + 1)."""
        x0 = torch.randn(x1.shape, generator=generator, dtype=x1.dtype)
        t = torch.rand(*x1.shape[:-1], 1, generator=generator, dtype=x1.dtype)
        return torch.cat([x1, x0, t], -1)

    def split(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Query rows (…, 2D + 1) -> x₁ (…, D), x₀ (…, D), t (…, 1)."""
        D = self.out_dim
        return rows[..., :D], rows[..., D : 2 * D], rows[..., 2 * D :]

    def flow_pair(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Query rows -> the point on the linear path x_t = (1 − t) x₀ + t x₁ (…, D), its
        time t (…, 1) and the velocity flow matching targets there, x₁ − x₀ (…, D)."""
        x1, x0, t = self.split(rows)
        return (1 - t) * x0 + t * x1, t, x1 - x0

    def targets(self, name: str, y, shape: tuple[int, ...]) -> torch.Tensor:
        raise InvalidInput(f"{name}: a density task has samples only, no targets; pass None")


def _as_tensor(name: str, y, shape: tuple[int, ...]) -> torch.Tensor:
    try:
        y = torch.as_tensor(y)
    except (TypeError, ValueError, RuntimeError) as e:
        raise InvalidInput(f"{name} cannot be read as a tensor: {e}") from e
    if tuple(y.shape) != tuple(shape):
        raise InvalidInput(f"{name} has shape {tuple(y.shape)}; the inputs imply {tuple(shape)}")
    return y


# kind -> objective class: how a prior's `kind` string becomes its objective
OBJECTIVES = {
    "regression": Regression,
    "classification": Classification,
    "density": Density,
    "order": Order,  # leaf logits of a causal graph's variables (iai.tasks.order)
}


def objective_of(prior) -> Objective:
    """The objective a task prior's `kind` names, with its `bayes` predictor (if any) as the
    reference (a prior defined in Python, not a `Family`, has none)."""
    from iai.tasks.base import Family

    bayes = prior.bayes if isinstance(prior, Family) else None
    return make_objective(prior.kind, prior.out_dim, bayes)


def make_objective(kind: str, out_dim: int, reference: Reference | None = None) -> Objective:
    if kind not in OBJECTIVES:
        raise InvalidInput(f"unknown task kind {kind!r}; known: {sorted(OBJECTIVES)}")
    return OBJECTIVES[kind](out_dim, reference)
