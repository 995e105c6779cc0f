"""`iai grid`: cells built from methods × tasks × sweep, trained, evaluated, reported, resumed."""

import json

import pytest

from iai.cli import main
from iai.errors import InvalidConfig
from iai.grid import GridConfig, cell_overrides, load_grid

BASE = """
seed = 0
[task]
name = "linear_regression"
[learner]
kind = "parametric"
[train]
iterations = 4
tasks = 6
batch_size = 4
steps = 3
queries = 5
warmup = 1
log_every = 2
checkpoint_every = 4
[eval]
tasks = 12
steps = 5
queries = 8
baselines = false
"""


def test_grid_trains_evaluates_reports_and_resumes(tmp_path, capsys):
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "grid.toml").write_text(
        f"""[grid]
name = "tiny"
base = "{tmp_path / "base.toml"}"
methods = ["parametric-grad", "icl", "maml"]
tasks = ["linear_regression", "digits"]
sweep = ["", "learner.history=2"]
overrides = ["learner.width=8", "learner.depth=1", "learner.heads=2"]
report_steps = [1, 2, 5]
"""
    )
    out = tmp_path / "out"
    assert main(["grid", str(tmp_path / "grid.toml"), "--out", str(out), "--quiet"]) == 0
    cells = sorted(p.parent.name for p in out.glob("*/cell.json"))
    assert len(cells) == 2 * 3 * 2
    text = (out / "grid.md").read_text()
    for heading in ["### linear_regression (MSE", "### digits (error %", "**new_classes**"]:
        assert heading in text
    assert text.count("| icl |") == 2 * (5 + 4)  # two sweep rows; ID + 4 and ID + 3 OoD tables
    record = json.loads((out / "digits-icl" / "cell.json").read_text())
    assert record["results"][0]["mode"] == "context" and record["train_cpu_s"] > 0
    # a finished cell is not trained again
    stamp = (out / "digits-icl" / "model.safetensors").stat().st_mtime_ns
    assert main(["grid", str(tmp_path / "grid.toml"), "--out", str(out), "--quiet"]) == 0
    assert (out / "digits-icl" / "model.safetensors").stat().st_mtime_ns == stamp
    capsys.readouterr()


def test_cell_overrides_drop_what_a_kind_does_not_take():
    grid = GridConfig(methods=("maml",), overrides=("learner.width=8", "learner.lr=0.3"))
    over = cell_overrides(grid, "maml", "nonlinear_regression", "", 16, 10)
    assert 'learner.kind="maml"' in over and 'learner.model="mlp"' in over
    assert "learner.lr=0.3" in over and not any("width" in o for o in over)
    onestep = cell_overrides(GridConfig(), "cnp", "linear_regression", "", 16, 10)
    assert {"train.batch_size=160", "train.steps=1", "eval.batch_size=16"} <= set(onestep)


def test_unknown_grid_entries_are_named(tmp_path):
    with pytest.raises(InvalidConfig, match="unknown grid method 'sgd-magic'"):
        GridConfig(methods=("sgd-magic",))
    (tmp_path / "g.toml").write_text('[grid]\ntasks = ["mnist"]\n')
    with pytest.raises(InvalidConfig, match="unknown grid task 'mnist'"):
        load_grid(tmp_path / "g.toml")
    (tmp_path / "h.toml").write_text("[grid]\nbogus = 1\n")
    with pytest.raises(InvalidConfig, match="grid.bogus"):
        load_grid(tmp_path / "h.toml")
