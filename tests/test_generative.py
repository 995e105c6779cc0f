"""Generative learners: the mixture family, flow and mixture learners, and the sampling API."""

import json
import math

import pytest
import torch
from conftest import randomize_head

import iai
from iai.config import load_config
from iai.errors import InvalidConfig, InvalidInput
from iai.evaluation.results import EvalResult
from iai.experiment import build
from iai.models.flow_ode import Solver, log_prob
from iai.tasks import make_prior
from iai.tasks.config import TaskConfig, shifted
from iai.tasks.mixtures import GaussianMixtures

SMALL = ["learner.width=16", "learner.depth=1", "learner.heads=2", "train.tasks=4"]
KINDS = {
    "implicit": ["learner.kind='flow'", "learner.regime='implicit'", "learner.latent=8"],
    "explicit": [
        "learner.kind='flow'",
        "learner.regime='explicit'",
        "learner.latent=8",
        "learner.field_hidden=16",
        "learner.probes=2",
    ],
    "tokens": [
        "learner.kind='flow'",
        "learner.regime='tokens'",
        "learner.latents=4",
        "learner.field_depth=1",
        "learner.probes=2",
    ],
    "mixture": ["learner.kind='mixture'", "learner.components=3"],
}
KINDS["floored"] = [*KINDS["tokens"], "learner.floor=2"]  # tokens on a mixture floor
KINDS["floored-em"] = [*KINDS["floored"], "learner.floor_update='em'"]  # fitted by online EM


def tiny(kind: str, *more: str):
    ov = ["task.name='gaussian_mixtures'", "task.dim=2", *SMALL, *KINDS[kind], *more]
    learner, prior = build(load_config(None, ov))
    randomize_head(learner, 0)  # a learner whose steps move its state
    return learner.eval(), prior


def context(prior, T=3, N=70, seed=0):
    return prior.sample(T, N, 5, generator=torch.Generator().manual_seed(seed))


def select(truth: dict, n: int) -> dict:
    return {k: v[:n] for k, v in truth.items()}


def test_mixture_tasks_are_seeded_normalized_and_use_the_drawn_number_of_components():
    prior = GaussianMixtures(TaskConfig(name="gaussian_mixtures", dim=2))
    a, b = (context(prior, T=50, seed=3) for _ in range(2))
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.x_query, b.x_query)
    w, used = a.truth["weights"], a.truth["components"]
    assert torch.allclose(w.sum(-1), torch.ones(50))
    assert torch.equal((w > 0).sum(-1), used) and used.min() >= 1 and used.max() <= 5
    grid = torch.linspace(-15, 15, 151)
    pts = torch.stack(torch.meshgrid(grid, grid, indexing="ij"), -1).reshape(1, -1, 2)
    lp = prior.log_prob(select(a.truth, 10), pts.expand(10, -1, -1))
    mass = lp.exp().sum(-1) * (grid[1] - grid[0]) ** 2
    assert torch.allclose(mass, torch.ones(10), atol=1e-3)
    many = make_prior(shifted(prior.cfg, "many_components"))
    assert context(many, T=50).truth["components"].min() >= 6


def test_density_query_rows_pair_each_held_out_sample_with_its_flow_matching_noise():
    tasks = context(GaussianMixtures(TaskConfig(name="gaussian_mixtures", dim=2)))
    assert tasks.y_train is None and tasks.x_query.shape == (3, 5, 5)
    t = tasks.x_query[..., 4]
    assert ((t >= 0) & (t <= 1)).all()


def test_a_family_of_another_dimension_is_refused_by_name():
    with pytest.raises(InvalidConfig, match="task.dim = 2"):
        GaussianMixtures(TaskConfig(name="gaussian_mixtures", dim=3))


@pytest.mark.parametrize("kind", KINDS)
def test_sample_steps_is_reproducible_and_shaped_by_steps(kind):
    learner, prior = tiny(kind)
    x = context(prior).x_train
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    s = iai.sample_steps(learner, x, 20, batch_size=32, steps=[0, 1, 3], generator=g())
    assert s.shape == (3, 3, 20, 2) and torch.isfinite(s).all()
    assert torch.equal(
        s, iai.sample_steps(learner, x, 20, batch_size=32, steps=[0, 1, 3], generator=g())
    )
    every = iai.sample_steps(learner, x, 20, batch_size=32, generator=g())
    assert every.shape[0] == 4  # 0 … ⌈70 / 32⌉ = 3


@pytest.mark.parametrize("kind", KINDS)
def test_log_prob_steps_is_a_normalized_density(kind):
    learner, prior = tiny(kind)
    x = context(prior, T=2).x_train
    grid = torch.linspace(-9, 9, 60)
    pts = (
        torch.stack(torch.meshgrid(grid, grid, indexing="ij"), -1)
        .reshape(1, -1, 2)
        .expand(2, -1, -1)
    )
    lp = iai.log_prob_steps(learner, x, pts, batch_size=32, steps=[0, 3])  # 0: the prior
    assert lp.shape == (2, 2, 3600)
    mass = lp.exp().sum(-1) * (grid[1] - grid[0]) ** 2
    assert torch.allclose(mass, torch.ones_like(mass), atol=0.02)


def test_the_ode_density_of_a_constant_velocity_is_the_shifted_normal():
    c = torch.tensor([0.7, -1.2])
    x = torch.randn(2, 10, 2, generator=torch.Generator().manual_seed(0))
    for solver in (Solver("midpoint", 4), Solver("dopri5")):
        lp = log_prob(lambda x, t: c.expand_as(x) + 0 * x, x, solver)
        exact = -0.5 * (x - c).square().sum(-1) - math.log(2 * math.pi)
        assert torch.allclose(lp, exact, atol=1e-5)


def test_the_ode_density_counts_the_divergence():
    """v(x, t) = a x carries N(0, I) to N(0, e^{2a} I): the log density has to include the
    volume change, which a solver that ignored ∇·v would miss."""
    a = 0.5
    x = torch.randn(1, 50, 2, generator=torch.Generator().manual_seed(1))
    lp = log_prob(lambda x, t: a * x, x, Solver("rk4", 20))
    var = math.exp(2 * a)
    exact = -0.5 * x.square().sum(-1) / var - math.log(2 * math.pi * var)
    assert torch.allclose(lp, exact, atol=1e-4)


@pytest.mark.parametrize("kind", ["explicit", "tokens", "floored", "mixture"])
def test_explicit_and_parametric_states_stay_flat_however_many_samples_are_read(kind):
    learner, prior = tiny(kind)
    from iai.generative import _states

    short, long = _states(learner, context(prior, N=4000).x_train, 32, [1, 125])
    for a, b in zip(vars(short).values(), vars(long).values(), strict=True):
        if isinstance(a, torch.Tensor):
            assert a.shape == b.shape


def test_the_sampling_api_refuses_bad_input_by_name():
    learner, prior = tiny("mixture")
    x = context(prior).x_train
    with pytest.raises(InvalidInput, match=r"steps \[4\] lie outside 0 … 3"):
        iai.sample_steps(learner, x, 5, batch_size=32, steps=[4])
    with pytest.raises(InvalidInput, match="n_samples"):
        iai.sample_steps(learner, x, 0)
    with pytest.raises(InvalidInput, match="NaN"):
        iai.sample_steps(learner, x.clone().fill_(float("nan")), 5)
    with pytest.raises(InvalidInput, match="task axis"):
        iai.sample_steps(learner, x[0], 5)
    with pytest.raises(InvalidInput, match="x_eval has 2 tasks"):
        iai.log_prob_steps(learner, x, x[:2])
    with pytest.raises(InvalidInput, match="generator"):
        iai.sample_steps(learner, x, 5, generator=0)
    with pytest.raises(InvalidInput, match="x_context"):  # samples overflow: named, not NaN
        iai.sample_steps(learner, x * 1e30, 5)
    with pytest.raises(InvalidInput, match="sample_steps"):
        iai.predict_steps(learner, x, None, x)


def test_a_predictive_learner_is_pointed_to_predict_steps(make_learner):
    learner, _ = make_learner()
    with pytest.raises(InvalidInput, match="predict_steps"):
        iai.sample_steps(learner, torch.zeros(1, 4, learner.dim), 3)


def test_a_learner_of_the_wrong_kind_of_task_is_refused():
    with pytest.raises(InvalidConfig, match="'mixture' does not fit a 'regression' task"):
        build(load_config(None, ["learner.kind='mixture'"]))
    density = ["task.name='gaussian_mixtures'", "task.dim=2", "learner.kind='parametric'"]
    with pytest.raises(InvalidConfig, match=r"needs one of \['flow', 'mixture'\]"):
        build(load_config(None, density))


@pytest.mark.parametrize("kind", KINDS)
def test_generative_learners_train_save_and_load(kind, tmp_path):
    ov = ["task.name='gaussian_mixtures'", "task.dim=2", *SMALL, *KINDS[kind]]
    ov += ["train.iterations=3", "train.batch_size=8", "train.steps=2", "train.queries=8"]
    trained = iai.train(None, tmp_path / kind, overrides=ov, progress=False)
    loaded = iai.load(tmp_path / kind)
    x = context(trained.prior, T=2, N=16).x_train
    a, b = (
        iai.sample_steps(m, x, 6, steps=[2], generator=torch.Generator().manual_seed(0))
        for m in (trained, loaded)
    )
    assert torch.equal(a, b)


def test_iai_eval_reports_sample_quality_per_step_in_and_out_of_distribution(tmp_path):
    from iai.cli import main

    ov = ["task.name='gaussian_mixtures'", "task.dim=2", *SMALL, *KINDS["mixture"]]
    ov += ["train.iterations=2", "train.batch_size=8", "train.steps=2", "train.queries=8"]
    iai.train(None, tmp_path / "m", overrides=ov, progress=False)
    out = tmp_path / "eval"
    ood = ["--ood", "many_components", "--ood", "wide_prior"]
    args = ["eval", str(tmp_path / "m"), "--tasks", "3", "--steps", "8", "--out", str(out)]
    assert main([*args, *ood, "--quiet"]) == 0
    results = [EvalResult.from_json(r) for r in json.loads((out / "eval.json").read_text())]
    assert [r.variant for r in results] == ["id", "many_components", "wide_prior"]
    assert all(r.scores == "samples" and r.trained_steps == 2 for r in results)
    assert results[0].curve("iai", "energy").at() == [0, 1, 2, 5, 8]
    assert set(results[0].methods["iai"]) == {"energy", "mmd", "w2", "excess_nll"}
    assert set(results[0].methods["truth"]) == {"energy", "mmd", "w2"}
    assert "| energy distance |" in (out / "eval.md").read_text()
