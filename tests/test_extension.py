"""The core is open: a task family and a learner kind, each defined here (outside the package)
and registered with one line, train, save, load and evaluate through the ordinary calls."""

from dataclasses import dataclass, replace
from typing import Literal

import pytest
import torch
from torch import nn

import iai
from iai.evaluation.config import EvalConfig
from iai.evaluation.evaluate import evaluate
from iai.learners import LEARNERS
from iai.learners.base import query_loss
from iai.tasks import TASKS, CustomTask, Family, Tasks
from iai.training.loop import train


class StepFunctions(Family):
    """y = a · sign(x₁ - c) + noise: a family no learner here was written for."""

    kind, out_dim = "regression", 1

    def __init__(self, cfg) -> None:
        self.cfg, self.dim = cfg, cfg.dim

    def sample(self, n_tasks, n_points, n_query, *, generator):
        n = n_points + n_query
        a = torch.randn(n_tasks, 1, generator=generator)
        c = torch.randn(n_tasks, 1, generator=generator)
        x = torch.randn(n_tasks, n, self.dim, generator=generator)
        y = a * torch.sign(x[..., 0] - c) + 0.1 * torch.randn(n_tasks, n, generator=generator)
        return Tasks(x[:, :n_points], y[:, :n_points], x[:, n_points:], y[:, n_points:])


@dataclass(frozen=True)
class RunningMeanConfig:
    kind: Literal["running_mean"] = "running_mean"
    shrink: float = 1.0  # learned pseudo-count towards the learned prior mean, initial value


@dataclass(frozen=True)
class MeanState:
    total: torch.Tensor  # (T,)
    seen: int = 0

    def detach(self) -> "MeanState":
        return replace(self, total=self.total.detach())


class RunningMean(nn.Module):
    """Predicts the shrunk mean of the targets seen so far, whatever the query: a learner kind
    with its own state, two learned numbers and the objective's loss."""

    def __init__(self, cfg: RunningMeanConfig, dim: int, objective) -> None:
        super().__init__()
        self.dim, self.objective = dim, objective
        self.prior_mean = nn.Parameter(torch.zeros(()))
        self.log_shrink = nn.Parameter(torch.tensor(cfg.shrink).log())

    def init(self, x_query: torch.Tensor) -> MeanState:
        return MeanState(x_query.new_zeros(x_query.shape[0]))

    def step(self, state: MeanState, x: torch.Tensor, y: torch.Tensor) -> MeanState:
        return MeanState(state.total + y.sum(1), state.seen + y.shape[1])

    def predict(self, state: MeanState, x_query: torch.Tensor) -> torch.Tensor:
        s = self.log_shrink.exp()
        mean = (state.total + s * self.prior_mean) / (state.seen + s)  # (T,)
        return mean[:, None, None].expand(*x_query.shape[:2], 1)

    def loss(self, state, x_query, y_query):
        return query_loss(self, state, x_query, y_query)


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(TASKS, "step_functions", (CustomTask, StepFunctions))  # the one line
    monkeypatch.setitem(LEARNERS, "running_mean", (RunningMeanConfig, RunningMean))  # and this


def test_a_new_family_and_a_new_learner_kind_plug_in_with_one_line_each(
    registered, make_cfg, tmp_path
):
    sets = ["task.name=step_functions", "train.iterations=40", "eval.ood=[]"]
    for learner, lr in (('{kind="running_mean"}', 0.05), ('{kind="parametric", width=16}', 3e-3)):
        cfg = make_cfg(*sets, f"learner={learner}", f"train.lr={lr}")
        out = tmp_path / cfg.learner.kind
        trained = train(cfg, out, progress=False)
        loaded = iai.load(out)
        tasks = StepFunctions(cfg.task).sample(4, 12, 5, generator=torch.Generator())
        args = (tasks.x_train, tasks.y_train, tasks.x_query)
        assert torch.equal(iai.predict_steps(loaded, *args), iai.predict_steps(trained, *args))
        result = evaluate(
            loaded,
            EvalConfig(tasks=50, steps=3, queries=8, ood=(), tune_tasks=8, optimizer_iters=3),
        )
        mse = result.curve("iai").mean
        assert "bayes" not in result.methods and {"sgd", "adam"} <= set(result.methods)
        assert mse[-1] < mse[0], (cfg.learner.kind, mse)  # it adapts


def test_a_new_family_runs_in_the_grid_with_the_fixed_model_that_fits_any(registered):
    from pathlib import Path

    from iai.grid import GridConfig, cell_config

    base = str(Path(__file__).resolve().parents[1] / "configs/grid/base.toml")
    grid = GridConfig(base=base, methods=("parametric-both",), tasks=("step_functions",))
    cfg = cell_config(grid, "parametric-both", "step_functions", "")
    assert cfg.task.name == "step_functions" and cfg.learner.model == "mlp"
