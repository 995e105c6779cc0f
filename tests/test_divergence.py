"""Divergence in evaluation: a task whose error blows up is counted, never averaged.

The rule (iai.evaluation.results): a task's error is diverged when it is not finite or above
DIVERGENCE_FACTOR × the prior predictor's mean error; curves carry the fraction per step and
average the rest; tables print `diverged (f % of tasks)`; old JSON still loads."""

import importlib
import json
from pathlib import Path

import pytest
import torch

from iai.evaluation.config import EvalConfig
from iai.evaluation.evaluate import _summary, evaluate, learner_outputs
from iai.evaluation.report import markdown, write
from iai.evaluation.results import (
    DIVERGENCE_FACTOR,
    Curve,
    EvalResult,
    describe,
    diverged,
    summarize,
)
from iai.experiment import build
from iai.grid import Cell, GridConfig, report

ROOT = Path(__file__).resolve().parents[1]
SMALL = EvalConfig(tasks=40, steps=4, queries=8, ood=(), baselines=False, batch_size=4)


def _no_nan(name: str):
    raise AssertionError(f"{name} in JSON")


def sgd(make_cfg, lr: float):
    learner, _ = build(make_cfg(f'learner={{kind="optimizer", method="sgd", lr={lr}}}'))
    return learner


def test_the_rule_flags_non_finite_and_huge_errors_only():
    values = torch.tensor([0.0, 1.0, 999.0 * 2, 1001.0 * 2, float("inf"), float("nan")])
    assert diverged(values, 2.0).tolist() == [False, False, False, True, True, True]
    # without a usable scale only the finiteness test is left
    assert diverged(values, 0.0).tolist() == [False] * 4 + [True, True]
    assert diverged(values, float("nan")).tolist() == [False] * 4 + [True, True]


def test_summary_counts_diverged_tasks_and_averages_the_rest():
    per_task = torch.ones(3, 10)
    per_task[0] = torch.arange(10.0)  # step 0: spread, healthy
    per_task[1, :3] = 1e12  # 3 of 10 tasks blown up
    per_task[1, 3] = float("nan")  # and one not finite
    per_task[2] = float("inf")  # every task
    c = _summary({"mse": per_task}, {"mse": 4.5})["mse"]
    assert c.diverged == [0.0, 0.4, 1.0]
    assert c.mean[0] == pytest.approx(4.5) and c.se[0] == pytest.approx(per_task[0].std() / 10**0.5)
    assert c.mean[1] == 1.0 and c.se[1] == 0.0  # over the 6 tasks that did not diverge
    assert c.mean[2] is None and c.se[2] is None
    assert [c.ok(k) for k in range(3)] == [True, False, False]
    assert describe(c, 0) == "4.5 ± 0.96"
    assert describe(c, 1) == "diverged (40 % of tasks); rest 1 ± 0"
    assert describe(c, 2) == "diverged (100 % of tasks)"
    json.dumps(c.__dict__, allow_nan=False)  # strict JSON: None, never NaN


def test_a_healthy_curve_is_exactly_the_plain_mean():
    g = torch.Generator().manual_seed(0)
    per_task = torch.rand(5, 50, generator=g) * 100
    c = summarize(per_task, per_task[0].mean().item())
    assert c.diverged == [0.0] * 5
    assert c.mean == per_task.mean(-1).tolist()
    assert c.se == (per_task.std(-1) / 50**0.5).tolist()


def test_sgd_with_a_huge_rate_is_reported_diverged_on_every_task(make_cfg, tmp_path):
    result = evaluate(sgd(make_cfg, 1e3), SMALL)
    c = result.curve()
    assert c.diverged == [0.0, 1.0, 1.0, 1.0, 1.0]
    assert c.mean[1:] == [None] * 4
    assert result.curve("prior").diverged == [0.0] * 5  # the prior predictor never moves
    assert result.curve("bayes").diverged == [0.0] * 5
    text = markdown([result])
    assert "diverged (100 % of tasks)" in text and "counts as diverged" in text
    assert "| 1 | 4 | diverged (100 % of tasks) |" in text  # and no IAI / Bayes ratio
    assert text.split("\n| 1 | 4 |")[1].split("\n")[0].endswith("| - |")
    write([result], tmp_path)  # the plot leaves the diverged steps out
    assert (tmp_path / "eval.png").stat().st_size > 0
    reread = json.loads((tmp_path / "eval.json").read_text(), parse_constant=_no_nan)
    assert EvalResult.from_json(reread[0]) == result


def test_the_fraction_is_the_share_of_tasks_over_the_threshold(make_cfg):
    """A rate that blows up on some tasks only: the fraction is that share, per step, and the
    mean is over the other tasks."""
    learner = sgd(make_cfg, 2.0)
    result = evaluate(learner, SMALL)
    tasks = learner.prior.sample(
        SMALL.tasks,
        SMALL.steps * 4,
        SMALL.queries,
        generator=torch.Generator().manual_seed(SMALL.seed),
    )
    outs = learner_outputs(learner, tasks, 4, SMALL.steps, "steps")
    mse = learner.objective.task_metrics(outs, tasks.y_query)["mse"]
    bad = mse > DIVERGENCE_FACTOR * mse[0].mean()
    c = result.curve()
    assert c.diverged == [n / SMALL.tasks for n in bad.sum(-1).tolist()]
    assert 0 < c.diverged[-1] < 1  # some tasks, not all
    rest = mse[-1][~bad[-1]]
    assert c.mean[-1] == pytest.approx(rest.mean().item())
    assert describe(c, SMALL.steps).startswith(f"diverged ({100 * c.diverged[-1]:.3g} % of tasks)")


def test_a_healthy_learner_never_diverges(make_cfg, make_learner):
    for learner in (sgd(make_cfg, 0.5), make_learner()[0]):
        for variant in ("id", "noisy"):
            result = evaluate(learner, SMALL, variant)
            for per_metric in result.methods.values():
                for c in per_metric.values():
                    assert c.diverged == [0.0] * (SMALL.steps + 1)
            assert "diverged" not in markdown([result])


def test_round_trip_and_old_json_without_the_field():
    c = Curve([1.0, None], [0.1, None], [0.0, 1.0])
    r = EvalResult("id", {"name": "t"}, 4, 1, "steps", 10, {"iai": {"mse": c}, "prior": {}})
    assert EvalResult.from_json(json.loads(json.dumps(r.to_json()))).curve() == c
    old = {
        "variant": "shift_x",
        "task": {"name": "linear_regression"},
        "batch_size": 16,
        "steps": 2,
        "tasks": 500,
        "methods": {
            "iai": {"mse": {"mean": [18.0, 74.0, 1.1e16], "se": [1.0, 5.0, 2e15]}},
            "prior": {"mse": {"mean": [18.0, 18.0, 18.0], "se": [1.0, 1.0, 1.0]}},
        },
    }
    loaded = EvalResult.from_json(old)
    assert loaded.mode == "steps"
    prior = loaded.curve("prior")
    assert prior.diverged == [] and prior.fraction(2) == 0.0 and prior.ok(2)
    c = loaded.curve()
    assert c.mean == [18.0, 74.0, None] and c.diverged == [0.0, 0.0, None]
    assert describe(c, 1) == "74 ± 5"
    assert describe(c, 2) == "diverged (fraction unknown: rerun)"


def test_committed_grids_load_and_report():
    path = ROOT / "benchmarks/results/grid/reduced/grid.json"
    cells = [Cell.from_json(c) for c in json.loads(path.read_text())]
    assert all(c.results[0].curve().ok(10) for c in cells)
    text = report(GridConfig(tasks=("linear_regression",)), cells)
    assert "± " in text and "diverged" not in text


def test_results_doc_neither_averages_nor_compares_a_diverged_cell(monkeypatch):
    """Meta-SGD under shift_x (rerun with per-task counts) is shown diverged with its share,
    counts as not falling, and a diverged step is left out of a comparison, not won or lost."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # as a benchmark script finds common
    cells_doc = importlib.import_module("common.results_doc.cells")
    claims = importlib.import_module("common.results_doc.grid_claims")
    path = ROOT / "benchmarks/results/grid/full/grid.json"
    cells = [Cell.from_json(c) for c in json.loads(path.read_text())]
    (meta,) = [c for c in cells if (c.task, c.method) == ("linear_regression", "meta-sgd")]
    shift = meta.results[1]
    assert shift.variant == "shift_x"
    assert shift.curve().diverged[10] > 0.9 and shift.curve().mean[20] is None
    text, _ = claims.falls(cells)
    assert "counted as not falling: linear_regression/meta-sgd/shift_x" in text
    # a grid whose 'id' is that shifted result: step 10 diverged, so no comparison reads it
    monkeypatch.setattr(cells_doc, "LEFT_OUT", {})
    swapped = Cell(**{**meta.__dict__, "results": [shift]})
    others = [c for c in cells if c is not meta]
    assert cells_doc.at([swapped], "linear_regression", "meta-sgd") is None
    wins, n, _ = cells_doc.compare(
        [*others, swapped], ["linear_regression"], "parametric-both", "meta-sgd"
    )
    assert (wins, n) == (0, 0)
    assert list(cells_doc.LEFT_OUT) == ["linear_regression/meta-sgd at step 10"]
    assert cells_doc.LEFT_OUT["linear_regression/meta-sgd at step 10"].startswith("diverged (")


def test_the_grid_report_shows_a_diverged_cell(make_cfg):
    result = evaluate(sgd(make_cfg, 1e3), SMALL)
    cell = Cell("sgd", "linear_regression", "", 0.0, 0.0, 0, [result])
    text = report(GridConfig(report_steps=(1, 2)), [cell])
    assert "| sgd | diverged (100 % of tasks) | diverged (100 % of tasks) |" in text
    assert "prior predictor's mean error" in text
