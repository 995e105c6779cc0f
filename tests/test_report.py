"""The report's flags and summary: what a newcomer reading the tables would miss.

Results are built by hand (Curve lists) so each flag is shown to fire where it must and stay
quiet where it must not; every committed eval.json renders through the same code."""

import json
from pathlib import Path

import pytest

from iai.evaluation.baselines import LR_GRID
from iai.evaluation.config import EvalConfig
from iai.evaluation.evaluate import evaluate
from iai.evaluation.report import markdown
from iai.evaluation.results import Curve, EvalResult, flags, summary

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted((ROOT / "benchmarks" / "results").glob("**/eval.json"))


def result(iai: Curve, trained: int | None, tuned_lr: dict | None = None) -> EvalResult:
    """A result over len(iai.mean) - 1 steps, the prior flat at the learner's step 0."""
    n = len(iai.mean)
    prior = Curve([iai.mean[0]] * n, [iai.se[0]] * n, [0.0] * n)
    methods = {"iai": {"mse": iai}, "prior": {"mse": prior}}
    return EvalResult(
        "id", {"name": "t"}, 4, n - 1, "steps", 100, methods, tuned_lr or {}, {}, trained
    )


def flat(means: list[float], se: float = 0.01) -> Curve:
    return Curve(means, [se] * len(means), [0.0] * len(means))


# trained on 2 steps, evaluated on 5
RISING = flat([1.0, 0.5, 0.3, 0.31, 0.5, 0.8])
WITHIN_NOISE = flat([1.0, 0.5, 0.3, 0.31, 0.32, 0.305])  # +0.02 < 2 × 0.0141


def test_error_rising_past_the_trained_horizon_is_flagged_at_its_first_step():
    (flag,) = flags(result(RISING, trained=2))
    # step 3 rose by 0.01 (0.7 s.e.): not yet; step 4 by 0.2, 14.1 combined s.e.
    assert "trained horizon (K = 2 steps)" in flag
    assert "from 0.3 ± 0.01 at step 2 to 0.5 ± 0.01 at step 4" in flag
    assert "+66.7 %" in flag and "14.1 combined s.e." in flag
    assert "at step 5: 0.8 ± 0.01" in flag


def test_no_horizon_flag_within_noise_within_the_horizon_or_without_one():
    assert flags(result(WITHIN_NOISE, trained=2)) == []
    assert flags(result(RISING, trained=5)) == []  # the rise is inside the trained steps
    assert flags(result(RISING, trained=4)) != []  # one step past it: 0.8 vs 0.5
    assert flags(result(RISING, trained=None)) == []  # horizon not recorded
    falling = flat([1.0, 0.5, 0.3, 0.2, 0.15, 0.1])
    assert flags(result(falling, trained=2)) == []


def test_tasks_diverging_past_the_horizon_are_flagged():
    c = Curve([1.0, 0.5, 0.3, 0.3, 0.3, None], [0.01] * 5 + [None], [0.0] * 4 + [0.25, 1.0])
    (flag,) = flags(result(c, trained=2))
    assert "at step 4 diverged (25 % of tasks); rest 0.3 ± 0.01" in flag


def test_a_rate_at_the_grid_edge_is_flagged_with_its_steps():
    low, high = min(LR_GRID["sgd"]), max(LR_GRID["adam"])
    assert (low, high) == (0.003, 1.0)
    tuned = {
        "sgd": [low, 0.03, low, low, 0.1, low],  # step 0 never counts: every rate ties there
        "adam_online": [0.001, high, high, 0.3, high, 0.1],
    }
    sgd, adam = flags(result(WITHIN_NOISE, 2, tuned))
    assert sgd.startswith("SGD, converged: learning rate 0.003, the smallest of its grid")
    assert "(0.003 … 1), chosen at steps 2–3, 5; its best rate may lie below the grid" in sgd
    assert adam.startswith("Adam, 1 update/batch: learning rate 1, the largest of its grid")
    assert "(0.001 … 1), chosen at steps 1–2, 4; its best rate may lie above the grid" in adam


def test_rates_inside_the_grid_or_at_its_edge_only_at_step_0_are_not_flagged():
    tuned = {
        "sgd": [0.003, 0.03, 0.1, 0.3, 0.1, 0.01],
        "adam": [0.001, 0.3, 0.1, 0.03, 0.01, 0.003],
        "sgd_online": [0.003, 0.7, 0.7, 0.7, 0.7, 0.7],  # not today's grid: edges unknown
    }
    assert flags(result(WITHIN_NOISE, 2, tuned)) == []


def test_the_markdown_report_has_a_flags_entry_either_way():
    assert "**Flags**: none" in markdown([result(WITHIN_NOISE, trained=2)])
    text = markdown([result(RISING, 2, {"sgd": [0.003, 1.0, 1.0, 0.1, 0.1, 0.1]})])
    found = flags(result(RISING, 2, {"sgd": [0.003, 1.0, 1.0, 0.1, 0.1, 0.1]}))
    assert len(found) == 2
    assert "**Flags**:\n\n" + "\n".join(f"- {f}" for f in found) in text


def test_str_is_the_short_summary_with_the_numbers_and_flags():
    r = result(RISING, 2, {"sgd": [0.003, 1.0, 1.0, 0.1, 0.1, 0.1]})
    text = str(r)
    assert text == summary(r)
    lines = text.splitlines()
    assert len(lines) <= 25
    assert lines[0] == "EvalResult: t, in distribution (id)"
    assert "100 tasks, B = 4, steps 0 … 5 (trained on K = 2)" in lines[1]
    header = lines[3].split()
    assert header == ["step", "k", "0", "1", "2", "5"]  # 0, 1, the horizon, K_eval
    iai = next(line for line in lines if line.strip().startswith("IAI"))
    assert iai.split("  ")[-1].strip() == "0.8 ± 0.01"
    assert "1 ± 0.01" in iai and "0.5 ± 0.01" in iai and "0.3 ± 0.01" in iai
    assert lines[-3] == "flags:" and all(f in text for f in flags(r))
    assert str(result(WITHIN_NOISE, None)).endswith("flags: none")
    assert "trained horizon not recorded" in str(result(WITHIN_NOISE, None))


def test_evaluate_records_the_trained_horizon_and_it_round_trips(make_learner):
    learner = make_learner()[0]
    cfg = EvalConfig(tasks=10, steps=5, queries=8, ood=(), baselines=False, batch_size=4)
    r = evaluate(learner, cfg)
    assert r.trained_steps == learner.config.train.steps == 3
    assert EvalResult.from_json(json.loads(json.dumps(r.to_json()))) == r
    assert "(trained on K = 3)" in str(r) and str(r).splitlines()[3].split()[2:] == [
        "0",
        "1",
        "3",
        "5",
    ]


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_committed_eval_json_loads_and_renders(path):
    results = [EvalResult.from_json(d) for d in json.loads(path.read_text())]
    assert results and all(r.trained_steps is None for r in results)  # written before it
    text = markdown(results)
    assert text.count("**Flags**") == len(results)
    for r in results:
        assert len(str(r).splitlines()) <= 25 and len(str(r)) < len(repr(r)) / 3
        assert all(f in text for f in flags(r))
