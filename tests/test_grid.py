"""`iai grid`: cells built from methods × tasks × sweep, trained, evaluated, reported, resumed."""

import json
from pathlib import Path

import pytest

from iai.cli import main
from iai.errors import InvalidConfig
from iai.grid import GridConfig, Method, cell_config, load_grid

GRID_BASE = Path(__file__).resolve().parents[1] / "configs/grid/base.toml"

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
    for heading in ["### linear_regression (MSE", "### digits (error %", "**OoD: new_classes**"]:
        assert heading in text
    assert text.count("| icl |") == 2 * (5 + 4)  # two sweep rows; ID + 4 and ID + 3 OoD tables
    assert text.count("| exact Bayes |") == 5  # beside every linear-regression table
    record = json.loads((out / "digits-icl" / "cell.json").read_text())
    assert record["results"][0]["mode"] == "context" and record["train_cpu_s"] > 0
    # a finished cell is not trained again
    stamp = (out / "digits-icl" / "model.safetensors").stat().st_mtime_ns
    assert main(["grid", str(tmp_path / "grid.toml"), "--out", str(out), "--quiet"]) == 0
    assert (out / "digits-icl" / "model.safetensors").stat().st_mtime_ns == stamp
    capsys.readouterr()


def test_cell_config_gives_each_kind_only_its_own_settings():
    grid = GridConfig(
        base=str(GRID_BASE),
        methods=("maml", "implicit"),
        overrides=("learner.width=8", "learner.lr=0.3"),
    )
    maml = cell_config(grid, "maml", "nonlinear_regression", "")
    assert (maml.learner.kind, maml.learner.model, maml.learner.lr) == ("maml", "mlp", 0.3)
    assert maml.train.backprop == "full" and maml.task.name == "nonlinear_regression"
    assert cell_config(grid, "implicit", "digits", "").learner.width == 8
    assert cell_config(grid, "implicit", "digits", "").task.dim == 64
    cnp = cell_config(GridConfig(base=str(GRID_BASE)), "cnp", "linear_regression", "")
    steps = (cnp.train.batch_size, cnp.train.steps, cnp.eval.batch_size, cnp.eval.mode)
    assert steps == (160, 1, 16, "context")


def test_settings_no_method_has_are_refused_by_name():
    with pytest.raises(InvalidConfig, match="'learner.width=8'.*no method of this grid"):
        GridConfig(methods=("maml",), overrides=("learner.width=8",))
    with pytest.raises(InvalidConfig, match="'learner.widht=8'"):
        GridConfig(methods=("implicit",), sweep=("learner.widht=8",))
    with pytest.raises(InvalidConfig, match="learner 'parametric' has no setting 'signl'"):
        Method({"kind": "parametric", "signl": "data"})
    with pytest.raises(InvalidConfig, match="learner kind 'sgd'"):
        Method({"kind": "sgd"})


def test_unknown_grid_entries_are_named(tmp_path):
    with pytest.raises(InvalidConfig, match="unknown grid method 'sgd-magic'"):
        GridConfig(methods=("sgd-magic",))
    (tmp_path / "g.toml").write_text('[grid]\ntasks = ["mnist"]\n')
    with pytest.raises(InvalidConfig, match="unknown grid task 'mnist'"):
        load_grid(tmp_path / "g.toml")
    (tmp_path / "h.toml").write_text("[grid]\nbogus = 1\n")
    with pytest.raises(InvalidConfig, match="grid.bogus"):
        load_grid(tmp_path / "h.toml")


def test_a_bad_sweep_fails_before_any_cell_trains(tmp_path, capsys):
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "grid.toml").write_text(
        f"""[grid]
base = "{tmp_path / "base.toml"}"
methods = ["parametric-grad"]
sweep = ["train.lr=1e-3", "train.lr=-1"]
"""
    )
    assert main(["grid", str(tmp_path / "grid.toml"), "--out", str(tmp_path / "out")]) == 2
    assert "train.lr = -1.0; must be > 0" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_grid_runs_generative_cells_from_any_directory(tmp_path, monkeypatch, capsys):
    """Density families with the generative methods, scored on samples; the grid's `base` is
    read beside the grid file, whatever the working directory."""
    (tmp_path / "base.toml").write_text(BASE.replace('"linear_regression"', '"gaussian_mixtures"'))
    (tmp_path / "grid.toml").write_text(
        """[grid]
name = "tiny generative"
base = "base.toml"
methods = ["mixture", "flow-explicit"]
tasks = ["gaussian_mixtures"]
ood = false
overrides = ["learner.width=8", "learner.depth=1", "learner.heads=2", "learner.latent=4"]
report_steps = [1, 2, 5]
"""
    )
    monkeypatch.chdir(tmp_path.parent)  # not where base.toml is
    out = tmp_path / "out"
    assert main(["grid", str(tmp_path / "grid.toml"), "--out", str(out), "--quiet"]) == 0
    text = (out / "grid.md").read_text()
    assert "### gaussian_mixtures (energy distance" in text
    assert text.count("| mixture |") == 1 and text.count("| flow-explicit |") == 1
    record = json.loads((out / "gaussian_mixtures-mixture" / "cell.json").read_text())
    assert record["results"][0]["scores"] == "samples"
    capsys.readouterr()


def test_a_method_that_cannot_learn_a_task_is_refused_before_any_cell_trains(tmp_path):
    from iai.grid import run_grid

    grid = GridConfig(base=str(GRID_BASE), methods=("mixture",), tasks=("linear_regression",))
    with pytest.raises(InvalidConfig, match="'linear_regression' needs a predictive method"):
        run_grid(grid, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_grid_base_is_read_beside_the_grid_file_or_named(tmp_path):
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "grid.toml").write_text('[grid]\nbase = "base.toml"\n')
    assert load_grid(tmp_path / "grid.toml").base == str(tmp_path / "base.toml")
    (tmp_path / "lost.toml").write_text('[grid]\nbase = "nowhere.toml"\n')
    with pytest.raises(InvalidConfig, match="grid.base = 'nowhere.toml': no such file beside"):
        load_grid(tmp_path / "lost.toml")
