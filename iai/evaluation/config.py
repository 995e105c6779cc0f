"""The evaluation's config: fresh tasks, steps, queries, OoD variants and references."""

from dataclasses import dataclass
from typing import Literal

from iai.errors import InvalidConfig
from iai.tasks import OOD
from iai.tasks.config import INPUT_SHIFTS


@dataclass(frozen=True)
class EvalConfig:
    tasks: int = 1000
    steps: int = 16  # K_eval
    queries: int = 128
    ood: tuple[str, ...] = INPUT_SHIFTS
    baselines: bool = True  # run the tuned SGD / Adam references
    tune_tasks: int = 200
    optimizer_iters: int = 100  # optimizer updates after each new mini-batch
    seed: int = 20251013
    # steps: the learner reads mini-batch k at step k (IAI); context: "step k" is one step
    # over the first k·B points at once, as a one-step learner (ICL, CNP) reads a context
    mode: Literal["steps", "context"] = "steps"
    batch_size: int = 0  # B, points per step; 0 reads the trained train.batch_size
    # generative learners: samples per task (the learner's, and as many fresh true ones);
    # the steps sampled (empty: 0, 1, 2, 5, 10, 20, … up to eval.steps, and eval.steps);
    # the steps whose excess NLL is taken (empty: the sampled steps for an exact density,
    # else step 1 and the trained horizon, as a flow's density costs an ODE solve with
    # autograd per step)
    samples: int = 64
    sample_steps: tuple[int, ...] = ()
    nll_steps: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for key in ("steps", "queries", "optimizer_iters"):
            if getattr(self, key) < 1:
                raise InvalidConfig(f"eval.{key} = {getattr(self, key)!r}; must be ≥ 1")
        for key in ("sample_steps", "nll_steps"):
            bad = [k for k in getattr(self, key) if not 0 <= k <= self.steps]
            if bad:
                raise InvalidConfig(f"eval.{key} = {bad}: outside 0 … eval.steps = {self.steps}")
        for key in ("tasks", "tune_tasks", "samples"):  # a standard error needs two
            if getattr(self, key) < 2:
                raise InvalidConfig(f"eval.{key} = {getattr(self, key)!r}; must be ≥ 2")
        if self.batch_size < 0:
            raise InvalidConfig(f"eval.batch_size = {self.batch_size}; must be ≥ 0")
        for name in self.ood:
            if name not in OOD:
                raise InvalidConfig(f"unknown OoD variant {name!r}; known: {sorted(OOD)}")
