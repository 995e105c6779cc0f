"""Each family's own config: strict keys, ranges, round trips, old one-bag tables, the
variants a family declares, and the prior signature a checkpoint keeps."""

import dataclasses
import json
import re
from pathlib import Path

import pytest
import torch

import iai
from iai import InvalidConfig, InvalidInput
from iai.checkpoint import read_config
from iai.config import ExperimentConfig, from_dict, load_config, to_dict
from iai.experiment import is_signature, prior_signature, with_prior
from iai.grid import cell_config, load_grid
from iai.tasks import (
    OOD,
    TASKS,
    CustomTask,
    Family,
    LinearRegressionConfig,
    PriorSignature,
    TaskConfig,
    make_prior,
    shifted,
)
from iai.tasks.config import BAG_DEFAULTS

ROOT = Path(__file__).resolve().parents[1]
# a width each family takes
DIMS = {"digits": 64, "gaussian_mixtures": 2, "letters": 2}
# what the one-bag TaskConfig wrote for every family (dataclasses.asdict of it)
BAG = {"name": "linear_regression", "dim": 8, **BAG_DEFAULTS}
# keys a family gained after the bag (an old table lacks them: they read as their defaults)
LATER = {"min_lengthscale", "max_lengthscale"}
LATER |= {"graphs", "mechanisms", "noises", "min_parents", "max_parents"}  # the SCM family
LATER |= {"noise_low", "noise_high", "mlp_width", "standardize"}
LATER |= {"scm", "categorical", "missing", "heteroscedastic", "drift"}  # the table shares


def own(name: str) -> TaskConfig:
    return TaskConfig(name=name, dim=DIMS.get(name, 3))


def test_a_key_the_family_lacks_is_refused_naming_it_and_the_familys_keys(tmp_path):
    keys = re.escape(str(LinearRegressionConfig.keys()))
    with pytest.raises(InvalidConfig, match=rf"'task.font': task 'linear_regression' has .*{keys}"):
        TaskConfig(name="linear_regression", font="serif")
    path = tmp_path / "c.toml"
    path.write_text('[task]\nname = "linear_regression"\nfont = "serif"\n')
    with pytest.raises(InvalidConfig, match=rf"unknown config key 'task.font'.*{keys}"):
        load_config(path)
    # in a user's file even the old bag's default is refused: it configures nothing here
    with pytest.raises(InvalidConfig, match="'task.temperature'"):
        load_config(None, ["task.temperature=0.1"])
    with pytest.raises(InvalidConfig, match="'task.noise': task 'digits'"):
        load_config(None, ["task.name=digits", "task.dim=64", "task.noise=0.25"])


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_familys_config_round_trips_and_holds_only_its_keys(name):
    cfg = own(name)
    assert type(cfg) is TASKS[name][0] and cfg.name == name
    assert set(cfg.to_dict()) == set(cfg.keys()) < {"name", "dim", *BAG_DEFAULTS, *LATER}
    data = to_dict(ExperimentConfig(task=cfg))
    assert from_dict(json.loads(json.dumps(data))).task == cfg
    assert (
        load_config(None, [f"task.{k}={json.dumps(v)}" for k, v in cfg.to_dict().items()]).task
        == cfg
    )


@pytest.mark.parametrize("name", sorted(TASKS))
def test_an_old_all_fields_task_table_loads_as_its_family(name):
    """A checkpoint's [task] written by the one-bag config: every key of every family."""
    table = dict(BAG, name=name, dim=DIMS.get(name, 3))
    cfg = from_dict({"task": table}).task
    assert type(cfg) is TASKS[name][0]
    later, defaults = set(cfg.keys()) & LATER, type(cfg)().to_dict()
    assert cfg.to_dict() == {k: defaults[k] if k in later else table[k] for k in cfg.keys()}
    with pytest.raises(InvalidConfig, match="unknown config key"):  # a user's file: strict
        load_config(None, [f"task.{k}={json.dumps(v)}" for k, v in table.items()])


def test_a_saved_key_the_family_lacks_is_refused_unless_it_holds_the_old_default():
    with pytest.raises(InvalidConfig, match=r"task.font = 'serif' in a saved config.*'sans'"):
        from_dict({"task": dict(BAG, font="serif")})
    assert from_dict({"task": dict(BAG, noise=0.5)}).task.noise == 0.5  # its own key
    with pytest.raises(InvalidConfig, match="unknown config key 'task.bogus'"):
        from_dict({"task": dict(BAG, bogus=1)})  # never a key of the bag


def test_a_user_priors_old_table_reads_as_a_custom_task_of_its_name_and_dim():
    """with_prior kept the TOML's other fields, which a prior defined in Python never read."""
    cfg = from_dict({"task": dict(BAG, name="Sinusoid", dim=1, noise=0.1)}).task
    assert cfg == CustomTask(name="Sinusoid", dim=1)
    assert from_dict(to_dict(ExperimentConfig(task=cfg))).task == cfg
    with pytest.raises(InvalidConfig, match="task.name = 'Sinusoid'; known"):
        load_config(None, ["task.name=Sinusoid"])  # a user's file names a shipped family
    with pytest.raises(InvalidConfig, match="unknown task 'Sinusoid'"):
        make_prior(cfg)


def test_every_config_file_and_grid_cell_loads():
    files = sorted(ROOT.glob("configs/**/*.toml"))
    grids = [p for p in files if "[grid]" in p.read_text()]
    assert len(grids) >= 10 and len(files) - len(grids) >= 25
    for path in set(files) - set(grids):
        cfg = load_config(path)
        assert from_dict(json.loads(json.dumps(to_dict(cfg)))) == cfg, path
    for path in grids:
        grid = load_grid(path)
        for method in grid.methods:
            for task in grid.tasks:
                for sweep in grid.sweep:
                    assert cell_config(grid, method, task, sweep).task.name == task


def test_ranges_travel_with_the_fields():
    cases = [
        (dict(name="linear_regression", noise=0.0), "task.noise = 0.0; must be > 0"),
        (dict(name="gp_regression", lengthscale=-1.0), "task.lengthscale = -1.0; must be > 0"),
        (dict(name="nonlinear_regression", hidden=0), "task.hidden = 0; must be ≥ 1"),
        (dict(name="nonlinear_regression", activation="gelu"), "task.activation = 'gelu'"),
        (dict(name="linear_classification", classes=1), "task.classes = 1; must be ≥ 2"),
        (dict(name="gaussian_mixtures", components=0), "must be ≥ task.min_components"),
        (dict(name="letters", font="mono"), "task.font = 'mono'; allowed: ['sans', 'serif']"),
        (dict(name="digits", pixels="blurred"), "task.pixels = 'blurred'; allowed"),
        (dict(name="tabular_regression", dim=0), "task.dim = 0; must be ≥ 1"),
    ]
    for fields, message in cases:
        with pytest.raises(InvalidConfig, match=re.escape(message)):
            TaskConfig(**fields)
    with pytest.raises(InvalidConfig, match=re.escape("task.name = 'digits'; allowed")):
        LinearRegressionConfig(name="digits")  # a family's class is for its own name
    with pytest.raises(InvalidConfig, match="configured by LinearRegressionConfig"):
        make_prior(CustomTask(name="linear_regression"))


@pytest.mark.parametrize("name", sorted(TASKS))
def test_a_family_declares_its_variants_and_each_one_changes_its_config(name):
    cfg, prior = own(name), make_prior(own(name))
    assert isinstance(prior, Family) and prior.variants == tuple(type(cfg).shifts)
    assert set(prior.variants) <= set(OOD)
    for variant in prior.variants:
        moved = shifted(cfg, variant)
        assert type(moved) is type(cfg) and moved != cfg
    for variant in set(OOD) - set(prior.variants):
        with pytest.raises(InvalidConfig, match=f"does not apply to '{name}'"):
            shifted(cfg, variant)


def test_the_prior_signature_is_typed_and_reads_what_checkpoints_hold():
    prior = make_prior(own("linear_classification"))
    sig = PriorSignature.of(prior)
    assert sig == PriorSignature("linear_classification", "classification", 3, 2, True)
    assert PriorSignature.from_json(json.loads(json.dumps(sig.to_json()))) == sig
    assert prior_signature(prior) == sig.to_json() and is_signature(sig.to_json())
    for path in [
        *ROOT.glob("checkpoints/*/config.json"),
        *ROOT.glob("iai/pretrained/*/config.json"),
    ]:
        stored = json.loads(path.read_text()).get("prior")
        if stored is not None:
            assert PriorSignature.from_json(stored).to_json() == stored, path
    good = sig.to_json()
    bad = [
        ([1], "is a table"),
        ({**good, "extra": 1}, "has the keys"),
        ({k: v for k, v in good.items() if k != "shipped"}, "has the keys"),
        ({**good, "dim": 0}, "dim = 0; expected an int ≥ 1"),
        ({**good, "out_dim": True}, "out_dim = True; expected an int ≥ 1"),
        ({**good, "kind": 3}, "kind = 3; expected a str"),
        ({**good, "shipped": "yes"}, "shipped = 'yes'; expected a bool"),
    ]
    for data, message in bad:
        with pytest.raises(InvalidInput, match=re.escape(message)):
            PriorSignature.from_json(data)
        assert not is_signature(data)
    with pytest.raises(InvalidConfig, match="has no 'out_dim'"):
        PriorSignature.of(type("Half", (), {"kind": "regression", "dim": 2})())


class Constant:
    """A prior defined in Python: y = c for a c per task, no config of its own."""

    kind, dim, out_dim = "regression", 2, 1

    def sample(self, n_tasks, n_points, n_query, *, generator):
        x = torch.randn(n_tasks, n_points + n_query, 2, generator=generator)
        y = torch.randn(n_tasks, 1, generator=generator).expand(-1, n_points + n_query)
        return iai.tasks.Tasks(x[:, :n_points], y[:, :n_points], x[:, n_points:], y[:, n_points:])


def test_with_prior_gives_a_user_prior_a_custom_task_and_a_family_its_own_config():
    cfg = load_config(ROOT / "configs/demo.toml")
    assert with_prior(cfg, Constant()).task == CustomTask(name="Constant", dim=2)
    assert not PriorSignature.of(Constant()).shipped
    digits = make_prior(TaskConfig(name="digits", classes=3))
    assert with_prior(cfg, digits).task is digits.cfg  # not the file's linear regression
    assert dataclasses.replace(with_prior(cfg, digits), task=cfg.task) == cfg


def test_a_user_prior_trains_saves_its_custom_task_and_loads(tmp_path, tiny_overrides):
    sets = [s for s in tiny_overrides if not s.startswith("task.")] + ["train.iterations=2"]
    trained = iai.train(
        ROOT / "configs/demo.toml", tmp_path, prior=Constant(), overrides=sets, progress=False
    )
    assert read_config(tmp_path)[0]["task"] == {"name": "Constant", "dim": 2}  # only its keys
    loaded = iai.load(tmp_path)
    assert loaded.prior is None and loaded.config == trained.config
    assert loaded.config.task == CustomTask(name="Constant", dim=2)
