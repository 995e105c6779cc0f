"""The two kinds of learner, and the interface each kind's callers rely on.

    state = learner.init(x_query)                  # θ⁽⁰⁾, z⁽⁰⁾ or ŷ⁽⁰⁾
    state = learner.step(state, x_b, y_b)          # one mini-batch: h_φ(state, B_k)
    loss = learner.loss(state, x_query, y_query)   # the training loss at this state (scalar)

and then either, for a `PredictiveLearner`,

    out = learner.predict(state, x_query)          # raw outputs (T, Q, out_dim)

or, for a `GenerativeLearner` (samples of a density in, no targets),

    x = learner.sample(state, n, generator)        # (T, n, D)
    lp = learner.log_prob(state, x)                # (T, M)

Every learner in `LEARNERS` subclasses exactly one of the two; the core tells them apart with
`isinstance`, once, and reads the traits a caller needs (`queries_in_state`, `variable_dim`,
`predicts_std`) from the class, never by probing. The objective (`iai.tasks.objective`) is
the only place that knows regression from classification from density.

State is a value: `step` never mutates it, and `state.detach()` is the greedy-training
boundary. The step index lives in the state as the number of points seen, so a learner can
be streamed over any number of batches without a counter kept outside it.

A learner built from an experiment carries its `Origin`: the experiment config, the prior's
signature and (when at hand) the prior itself, given to its constructor by
`iai.experiment.build`; `learner.config` and `learner.prior` read it.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import torch
from torch import nn

from iai.errors import InvalidConfig, InvalidInput
from iai.tasks.base import Prior, PriorSignature
from iai.tasks.objective import Objective


class State(Protocol):
    seen: int

    def detach(self) -> "State": ...


@dataclass(frozen=True)
class Origin:
    """What a learner was built for: the experiment config it was trained by, the signature of
    its prior and the prior object, None for a loaded learner whose prior was defined in
    Python (a checkpoint does not store it)."""

    config: Any  # an iai.config.ExperimentConfig, which composes the learners' configs
    signature: PriorSignature
    prior: Prior | None = None


class Learner(nn.Module, ABC):
    """What both kinds share: built from its config, the input width `dim` and the task's
    objective; `origin` when built from an experiment (see the module docstring)."""

    # the state holds the queries' predictions: iai.adapt needs x_query, predict takes no other
    queries_in_state: ClassVar[bool] = False
    # reads any input width 1 … dim (a table of any number of features), not dim alone
    variable_dim: ClassVar[bool] = False
    # h_φ is equivariant over classes: the same weights read more classes than objective.out_dim
    # (iai.sklearn_learners.for_classes)
    any_classes: ClassVar[bool] = False
    # `forget(state, rows)` bounds the points the state counts: a window for drifting streams
    forgets: ClassVar[bool] = False
    # (old prefix, new prefix) of weights saved before a module was renamed (checkpoint
    # format 1); a name takes the first that matches
    renamed: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, cfg, dim: int, objective: Objective, origin: Origin | None = None) -> None:
        super().__init__()
        self.cfg, self.dim, self.objective, self.origin = cfg, dim, objective, origin

    def upgraded(self, tensors: dict[str, torch.Tensor], version: int) -> dict:
        """Weights stored in checkpoint format `version` under the names this learner gives
        them (`renamed`: format 1 kept some modules elsewhere). Where the renamed set does not
        fit either (a damaged file, or one without metadata written by another tool), the
        names stay as stored, for the checkpoint's check to name them."""
        expected = set(self.state_dict())
        if version >= 2 or set(tensors) == expected:
            return tensors
        out = {}
        for name, t in tensors.items():
            old, new = next(((o, n) for o, n in self.renamed if name.startswith(o)), ("", ""))
            out[new + name[len(old) :]] = t
        return out if set(out) == expected else tensors

    @property
    def config(self):
        """The experiment this learner was built by (InvalidInput for a bare learner)."""
        if self.origin is None:
            raise InvalidInput(
                f"this {type(self).__name__} was built directly, not from an experiment "
                "config (iai.train / iai.load), so it has no config"
            )
        return self.origin.config

    @property
    def prior(self):
        """The prior it was trained on; None where a checkpoint could not rebuild it."""
        return None if self.origin is None else self.origin.prior

    @property
    def trained_batch_size(self) -> int | None:
        return None if self.origin is None else self.origin.config.train.batch_size

    @abstractmethod
    def init(self, x_query: torch.Tensor) -> State: ...

    @abstractmethod
    def step(self, state: State, x: torch.Tensor, y: torch.Tensor | None) -> State: ...

    @abstractmethod
    def loss(self, state: State, x_query: torch.Tensor, y_query: torch.Tensor | None):
        """The scalar training loss at `state` on the queries."""


class PredictiveLearner(Learner):
    """Reads (x, y) pairs, predicts targets: raw outputs the objective interprets."""

    predicts_std: ClassVar[bool] = False  # has a predictive spread (`predict_std`)

    @abstractmethod
    def predict(self, state: State, x_query: torch.Tensor) -> torch.Tensor:
        """Raw outputs (T, Q, out_dim) for queries (T, Q, D)."""

    def fixed_model(self):
        """The fixed model f(x; θ) its state parametrizes, None for a learned one: what the
        SGD / Adam references train beside it."""
        return None

    def predict_std(self, state: State, x_query: torch.Tensor) -> torch.Tensor:
        """The predictive standard deviation (T, Q) of a learner that `predicts_std`."""
        raise InvalidInput(f"a {type(self).__name__} has no predictive spread")

    def loss(self, state: State, x_query: torch.Tensor, y_query: torch.Tensor) -> torch.Tensor:
        """The mean over tasks and queries of the objective's loss of the predictions."""
        return self.objective.loss(self.predict(state, x_query), y_query).mean()


class GenerativeLearner(Learner):
    """Reads samples of a density (no targets), answers with samples and densities; owns its
    training loss (flow matching, or the negative log-likelihood of a density)."""

    # log_prob is a closed form (a mixture's), not an ODE solve with autograd (a flow's)
    exact_density: ClassVar[bool] = False

    @abstractmethod
    def sample(self, state: State, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """n samples per task (T, n, D) of the distribution the state describes."""

    @abstractmethod
    def log_prob(self, state: State, x: torch.Tensor) -> torch.Tensor:
        """Log densities (T, M) at x (T, M, D)."""


# Upper bounds of a learner's int fields: a stack of layers is built by a Python loop, so a
# depth of 10⁶ hangs before any check; widths and counts stay where products of a few of them
# fit int64 (a checkpoint's learner is built on the meta device first, see iai.experiment).
# Both far above any trained learner (depth 3, width 128).
MAX_DEPTH = 64  # fields named *depth (a trainer state's header then stays under 0.5 of its 1 MiB)
MAX_SIZE = 2**16  # every other size or count


def check_config(cfg, positive: tuple[str, ...], heads: bool = True) -> None:
    """InvalidConfig naming the first of `positive` (int fields) below 1 or above its bound
    (`MAX_DEPTH`, `MAX_SIZE`), or (with `heads`) a width the heads do not divide: the checks
    every learner config shares."""
    for key in positive:
        value, bound = getattr(cfg, key), MAX_DEPTH if key.endswith("depth") else MAX_SIZE
        if value < 1:
            raise InvalidConfig(f"learner.{key} = {value!r}; must be ≥ 1")
        if value > bound:
            raise InvalidConfig(f"learner.{key} = {value!r}; must be at most {bound}")
    if heads and cfg.width % cfg.heads:
        raise InvalidConfig(
            f"learner.width = {cfg.width} is not a multiple of learner.heads = {cfg.heads}"
        )


def check_memory(cfg) -> None:
    """InvalidConfig for a negative adaptation-memory size (0 is allowed: no memory)."""
    if not 0 <= cfg.memory <= MAX_SIZE:
        raise InvalidConfig(
            f"learner.memory = {cfg.memory!r}; must be from 0 (no memory) to {MAX_SIZE}"
        )
