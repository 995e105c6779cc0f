"""The core is open: each kind of addition (a predictive family, a density family, an objective,
a predictive learner kind, a generative learner kind) is defined here, outside the package, as
one class, registered with one line, and trains, saves, loads and evaluates through the
ordinary calls."""

import math
from dataclasses import dataclass, replace
from typing import Literal

import pytest
import torch
from torch import nn

import iai
from iai.evaluation.config import EvalConfig
from iai.evaluation.evaluate import evaluate
from iai.learners import LEARNERS, GenerativeLearner, PredictiveLearner
from iai.tasks import TASKS, CustomTask, DensityFamily, Family, Tasks
from iai.tasks.objective import OBJECTIVES, Regression
from iai.training.loop import train

EVAL = EvalConfig(tasks=50, steps=3, queries=8, ood=(), tune_tasks=8, optimizer_iters=3)


class StepFunctions(Family):
    """y = a · sign(x₁ - c) + noise: a family no learner here was written for."""

    kind = "regression"

    def sample(self, n_tasks, n_points, n_query, *, generator):
        n = n_points + n_query
        a = torch.randn(n_tasks, 1, generator=generator)
        c = torch.randn(n_tasks, 1, generator=generator)
        x = torch.randn(n_tasks, n, self.dim, generator=generator)
        y = a * torch.sign(x[..., 0] - c) + 0.1 * torch.randn(n_tasks, n, generator=generator)
        return Tasks(x[:, :n_points], y[:, :n_points], x[:, n_points:], y[:, n_points:])


class MedianSteps(StepFunctions):
    """The same tasks judged by the absolute error: a family of the new objective."""

    kind = "median"


class Median(Regression):
    """An objective of its own: the absolute error, whose minimizer is the median."""

    kind = "median"
    metrics = ("mae",)

    def loss(self, out, y):
        return (out.squeeze(-1) - y).abs()

    def task_metrics(self, out, y):
        return {"mae": (out.squeeze(-1) - y).abs().mean(-1)}


class Blobs(DensityFamily):
    """One isotropic Gaussian per task, its mean N(0, 4 I): a density family of its own."""

    def sample(self, n_tasks, n_points, n_query, *, generator):
        truth = self.draw(n_tasks, generator=generator)
        x = self.points(truth, n_points, generator=generator)
        return Tasks(x, None, self.points(truth, n_query, generator=generator), None, truth)

    def draw(self, n_tasks, *, generator):
        return {"mean": 2 * torch.randn(n_tasks, 1, self.dim, generator=generator)}

    def points(self, truth, n, *, generator):
        noise = torch.randn(truth["mean"].shape[0], n, self.dim, generator=generator)
        return truth["mean"] + noise


@dataclass(frozen=True)
class MeanConfig:
    kind: Literal["running_mean"] = "running_mean"
    shrink: float = 1.0  # learned pseudo-count towards the learned prior mean, initial value


@dataclass(frozen=True)
class MeanState:
    total: torch.Tensor  # (T, D) or (T,)
    seen: int = 0

    def detach(self) -> "MeanState":
        return replace(self, total=self.total.detach())


class RunningMean(PredictiveLearner):
    """Predicts the shrunk mean of the targets seen so far, whatever the query: a learner kind
    with its own state, two learned numbers and the objective's loss."""

    def __init__(self, cfg: MeanConfig, dim, objective, origin=None) -> None:
        super().__init__(cfg, dim, objective, origin)
        self.prior_mean = nn.Parameter(torch.zeros(()))
        self.log_shrink = nn.Parameter(torch.tensor(cfg.shrink).log())

    def init(self, x_query):
        return MeanState(x_query.new_zeros(x_query.shape[0]))

    def step(self, state, x, y):
        return MeanState(state.total + y.sum(1), state.seen + y.shape[1])

    def predict(self, state, x_query):
        s = self.log_shrink.exp()
        mean = (state.total + s * self.prior_mean) / (state.seen + s)  # (T,)
        return mean[:, None, None].expand(*x_query.shape[:2], 1)


@dataclass(frozen=True)
class GaussConfig:
    kind: Literal["gauss_fit"] = "gauss_fit"


class GaussFit(GenerativeLearner):
    """A generative kind: the running mean of the samples, shrunk towards a learned prior
    mean by a learned pseudo-count, and a learned spread; trained by the NLL of held-out
    samples (the query rows' x₁)."""

    exact_density = True

    def __init__(self, cfg: GaussConfig, dim, objective, origin=None) -> None:
        super().__init__(cfg, dim, objective, origin)
        self.prior_mean = nn.Parameter(torch.zeros(dim))
        self.log_shrink = nn.Parameter(torch.zeros(()))
        self.log_std = nn.Parameter(torch.zeros(()))

    def init(self, x_query):
        return MeanState(x_query.new_zeros(x_query.shape[0], self.dim))

    def step(self, state, x, y=None):
        return MeanState(state.total + x.sum(1), state.seen + x.shape[1])

    def _mean(self, state):  # (T, 1, D)
        s = self.log_shrink.exp()
        return ((state.total + s * self.prior_mean) / (state.seen + s))[:, None]

    def log_prob(self, state, x):
        z = (x - self._mean(state)) / self.log_std.exp()
        return (-0.5 * z.square() - self.log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    def sample(self, state, n, generator):
        mean = self._mean(state)
        noise = torch.randn(mean.shape[0], n, self.dim, generator=generator)
        return mean + self.log_std.exp() * noise

    def loss(self, state, x_query, y_query=None):
        x1, _, _ = self.objective.split(x_query)
        return -self.log_prob(state, x1).mean()


@pytest.fixture
def registered(monkeypatch):
    """One line per addition: the registries are the only places that name them."""
    monkeypatch.setitem(TASKS, "step_functions", (CustomTask, StepFunctions))
    monkeypatch.setitem(TASKS, "median_steps", (CustomTask, MedianSteps))
    monkeypatch.setitem(TASKS, "blobs", (CustomTask, Blobs))
    monkeypatch.setitem(OBJECTIVES, "median", Median)
    monkeypatch.setitem(LEARNERS, "running_mean", (MeanConfig, RunningMean))
    monkeypatch.setitem(LEARNERS, "gauss_fit", (GaussConfig, GaussFit))


def _trained_and_loaded(make_cfg, tmp_path, *sets):
    cfg = make_cfg("train.iterations=40", "eval.ood=[]", *sets)
    out = tmp_path / f"{cfg.task.name}-{cfg.learner.kind}"
    return cfg, train(cfg, out, progress=False), iai.load(out)


@pytest.mark.parametrize(
    ("task", "learner", "lr"),
    [
        ("step_functions", '{kind="running_mean"}', 0.05),
        ("step_functions", '{kind="parametric", width=16}', 3e-3),
        ("median_steps", '{kind="parametric", width=16}', 3e-3),
    ],
)
def test_a_predictive_family_objective_and_learner_kind_plug_in(
    registered, make_cfg, tmp_path, task, learner, lr
):
    cfg, trained, loaded = _trained_and_loaded(
        make_cfg, tmp_path, f"task.name={task}", f"learner={learner}", f"train.lr={lr}"
    )
    assert isinstance(loaded.objective, Median if task == "median_steps" else Regression)
    tasks = loaded.prior.sample(4, 12, 5, generator=torch.Generator())
    args = (tasks.x_train, tasks.y_train, tasks.x_query)
    assert torch.equal(iai.predict_steps(loaded, *args), iai.predict_steps(trained, *args))
    result = evaluate(loaded, EVAL, progress=False)
    errors = result.curve("iai").mean
    assert result.metric == ("mae" if task == "median_steps" else "mse")
    assert "bayes" not in result.methods and {"sgd", "adam"} <= set(result.methods)
    assert errors[-1] < errors[0], (task, cfg.learner.kind, errors)  # it adapts


@pytest.mark.parametrize("learner", ['{kind="gauss_fit"}', '{kind="mixture", width=16, depth=1}'])
def test_a_density_family_and_a_generative_learner_kind_plug_in(
    registered, make_cfg, tmp_path, learner
):
    sets = ["task.name=blobs", "task.dim=2", f"learner={learner}", "train.lr=3e-2"]
    _, trained, loaded = _trained_and_loaded(make_cfg, tmp_path, *sets)
    context = loaded.prior.sample(3, 32, 1, generator=torch.Generator().manual_seed(1)).x_train
    draws = [
        iai.sample_steps(m, context, 5, steps=[0, 2], generator=torch.Generator().manual_seed(2))
        for m in (trained, loaded)
    ]
    assert draws[0].shape == (2, 3, 5, 2) and torch.equal(*draws)
    result = evaluate(loaded, replace(EVAL, steps=2), progress=False)
    assert result.scores == "samples" and set(result.methods) == {"iai", "truth"}
    energy = result.curve("iai", "energy")
    assert energy.at() == [0, 1, 2] and energy.mean[-1] < energy.mean[0]  # it adapts
    assert "excess_nll" not in result.methods["iai"]  # Blobs has no closed-form density


def test_a_learner_kind_must_fit_the_objective_of_its_task(registered, make_cfg, tmp_path):
    cfg = make_cfg("task.name=blobs", "task.dim=2", 'learner={kind="running_mean"}')
    with pytest.raises(iai.InvalidConfig, match="does not fit a 'density' task"):
        train(cfg, tmp_path / "x", progress=False)


def test_a_new_family_runs_in_the_grid_with_the_fixed_model_that_fits_any(registered):
    from pathlib import Path

    from iai.grid import GridConfig, cell_config

    base = str(Path(__file__).resolve().parents[1] / "configs/grid/base.toml")
    grid = GridConfig(base=base, methods=("parametric-both",), tasks=("step_functions",))
    cfg = cell_config(grid, "parametric-both", "step_functions", "")
    assert cfg.task.name == "step_functions" and cfg.learner.model == "mlp"
