"""What the library gives the benchmarks so that none of them re-implements it: a task's stream
drawn batch by batch, the streaming linear posterior, adaptation without predictions, one
training iteration at a time, the unskipped transformer, the decoder without its LayerNorm,
per-sweep Bayes rows in grid reports, and eval.json files from before `mode`."""

from pathlib import Path

import torch
from torch import nn

from iai.evaluation.results import Curve, EvalResult
from iai.experiment import build
from iai.grid import Cell, GridConfig, cell_config, load_grid, report
from iai.learners import ExplicitConfig
from iai.learners.explicit import LatentDecoder
from iai.models.set_transformer import SetTransformer
from iai.rollout import adapt_stream, minibatches, rollout
from iai.tasks import TaskConfig, make_prior
from iai.tasks.base import with_bias
from iai.training.loop import iterations, train

ROOT = Path(__file__).resolve().parents[1]


def test_linear_points_are_the_points_sample_draws_from_the_same_weights():
    prior = make_prior(TaskConfig(dim=3, noise=0.3, x_mean=0.5))
    tasks = prior.sample(4, 6, 2, generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(0)
    w = 1.0 * torch.randn(4, 4, generator=gen)  # what sample draws first (prior_scale 1)
    x, y = prior.points(w, 8, generator=gen)
    assert torch.equal(w, tasks.truth["w"])
    assert torch.equal(x, torch.cat([tasks.x_train, tasks.x_query], 1))
    assert torch.equal(y, torch.cat([tasks.y_train, tasks.y_query], 1))
    quiet = make_prior(TaskConfig(dim=3, noise=1e-8))
    x, y = quiet.points(w, 5, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(y, torch.einsum("tnd,td->tn", with_bias(x), w), atol=1e-3, rtol=0)


def test_linear_posterior_read_batch_by_batch_equals_all_points_at_once():
    prior = make_prior(TaskConfig(dim=4, noise=0.3, prior_scale=0.7))
    tasks = prior.sample(3, 20, 5, generator=torch.Generator().manual_seed(2))
    posterior = prior.posterior(3)
    assert torch.equal(posterior.predict(tasks.x_query), torch.zeros(3, 5, dtype=torch.float64))
    for x, y in minibatches(tasks.x_train, tasks.y_train, 6):  # 6, 6, 6 and 2 points
        posterior = posterior.update(x, y)
    whole = prior.bayes(tasks.x_train, tasks.y_train, tasks.x_query)
    torch.testing.assert_close(posterior.predict(tasks.x_query).float(), whole)


def test_adapt_stream_ends_in_the_state_rollout_predicts_from_last(make_learner):
    learner, prior = make_learner()
    tasks = prior.sample(3, 10, 4, generator=torch.Generator().manual_seed(0))
    outs = list(rollout(learner, minibatches(tasks.x_train, tasks.y_train, 4), tasks.x_query))
    state = adapt_stream(learner, minibatches(tasks.x_train, tasks.y_train, 4), tasks.x_query)
    assert state.seen == 10
    torch.testing.assert_close(learner.predict(state, tasks.x_query), outs[-1])


def test_set_transformer_gives_the_same_outputs_without_skipping_unread_tokens():
    torch.manual_seed(0)
    net = SetTransformer(16, depth=2, heads=2)
    h = torch.randn(3, 9, 16)
    fast = net(h, keys=4, read=slice(4, None))
    net.skip_unread = False
    torch.testing.assert_close(net(h, keys=4, read=slice(4, None)), fast)
    assert net(h, read=slice(0, 2)).shape == (3, 2, 16)


def test_explicit_decoder_feature_norm_can_be_switched_off_by_config():
    assert isinstance(LatentDecoder(3, 4, 1, 8, 2).features[-1], nn.LayerNorm)
    assert isinstance(LatentDecoder(3, 4, 1, 8, 2, normalize=False).features[-1], nn.Identity)
    assert ExplicitConfig().feature_norm
    grid = load_grid(ROOT / "configs/grid/full.toml")
    cfg = cell_config(grid, "explicit-both", "linear_regression", "learner.feature_norm=false")
    learner, _ = build(cfg)
    assert not cfg.learner.feature_norm and isinstance(learner.decoder.features[-1], nn.Identity)


def test_iterations_train_exactly_as_train_does(make_cfg, tmp_path):
    cfg = make_cfg("train.iterations=2")
    trained = train(cfg, tmp_path, progress=False)
    learner, prior = build(cfg)
    run = iterations(cfg, learner, prior)
    losses = [next(run) for _ in range(2)]
    assert all(loss.shape == (cfg.train.steps + 1,) for loss in losses)
    for (name, a), (_, b) in zip(
        trained.state_dict().items(), learner.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


def _result(iai: float, bayes: float, batch_size: int) -> EvalResult:
    curve = lambda v: Curve([2 * v, v], [0.1, 0.1])  # noqa: E731
    methods = {"iai": {"mse": curve(iai)}, "bayes": {"mse": curve(bayes)}}
    return EvalResult("id", {}, batch_size, 1, "steps", 10, methods)


def test_grid_report_shows_the_exact_reference_per_swept_value_where_it_changes():
    grid = GridConfig(
        methods=("parametric-data", "parametric-grad"),
        sweep=("train.batch_size=16", "train.batch_size=8"),
        report_steps=(1,),
        ood=False,
    )
    cells = [
        Cell(m, "linear_regression", s, 1.0, 1.0, 10, [_result(v, b, int(s.split("=")[1]))])
        for m, v in (("parametric-data", 3.0), ("parametric-grad", 2.0))
        for s, b in (("train.batch_size=16", 0.5), ("train.batch_size=8", 0.25))
    ]
    text = report(grid, cells)
    assert "| exact Bayes | train.batch_size=16 | 0.500 ± 0.100 |" in text
    assert "| exact Bayes | train.batch_size=8 | 0.250 ± 0.100 |" in text
    assert "step k has read k·B, B = 16, 8 points" in text
    same = [Cell(c.method, c.task, c.sweep, 1, 1, 10, [_result(1.0, 0.5, 16)]) for c in cells]
    assert report(grid, same).count("| exact Bayes | - | 0.500 ± 0.100 |") == 1


def test_eval_json_written_before_mode_was_recorded_reads_as_steps():
    data = _result(1.0, 0.5, 16).to_json()
    del data["mode"]
    assert EvalResult.from_json(data).mode == "steps"
    assert EvalResult.from_json(_result(1.0, 0.5, 16).to_json()) == _result(1.0, 0.5, 16)
