"""Config loading: every shipped file, unknown keys, wrong types, ranges and dotted overrides."""

import re
import tomllib
from pathlib import Path

import pytest

from iai import InvalidConfig
from iai.config import ExperimentConfig, from_dict, load_config, to_dict

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.toml"))


def as_plain(value):
    """Tuples as lists, so a loaded config compares with the TOML it came from."""
    if isinstance(value, dict):
        return {k: as_plain(v) for k, v in value.items()}
    return list(map(as_plain, value)) if isinstance(value, tuple | list) else value


def assert_subset(written: dict, loaded: dict, prefix: str = "") -> None:
    for key, value in written.items():
        if isinstance(value, dict):
            assert_subset(value, loaded[key], f"{prefix}{key}.")
        else:
            assert loaded[key] == value, f"{prefix}{key}"


def test_configs_exist():
    assert any(path.name == "demo.toml" for path in CONFIGS)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_loads_as_written(path):
    cfg = load_config(path)
    assert isinstance(cfg, ExperimentConfig)
    assert_subset(tomllib.loads(path.read_text()), as_plain(to_dict(cfg)))
    assert from_dict(to_dict(cfg)) == cfg  # what a checkpoint stores reads back the same


def test_no_file_gives_the_defaults():
    assert load_config() == ExperimentConfig()


@pytest.mark.parametrize(
    "text,message",
    [
        ("bogus = 1\n", "unknown config key 'bogus'"),
        ("[train]\nsteps = 4\nbogus = 1\n", "unknown config key 'train.bogus'"),
        ("[tasks]\nname = 'gp_regression'\n", "unknown config key 'tasks'"),
        ("[learner]\nwidht = 16\n", "unknown config key 'learner.widht'"),
    ],
)
def test_unknown_keys_in_a_file_are_named(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(InvalidConfig, match=re.escape(message)):
        load_config(path)


@pytest.mark.parametrize(
    "override,message",
    [
        ("bogus=1", "unknown config key 'bogus'"),
        ("eval.bogus=1", "unknown config key 'eval.bogus'"),
        ('train.steps="eight"', "train.steps = 'eight'; expected int"),
        ("train.steps=eight", "train.steps = 'eight'; expected int"),
        ("train.steps=2.5", "train.steps = 2.5; expected int"),
        ("train.steps=true", "train.steps = True; expected int"),
        ("train.lr=fast", "train.lr = 'fast'; expected float"),
        ("task.name=3", "task.name = 3; expected str"),
        ("seed=[1]", "seed = [1]; expected int"),
        ("eval.ood=noisy", "eval.ood = 'noisy'; expected a list"),
        ("eval.ood=[1]", "eval.ood[0] = 1; expected str"),
        ("learner.signal=everything", "learner.signal = 'everything'; allowed"),
        (
            "learner.kind=bogus",
            "learner.kind = 'bogus'; known: ['explicit', 'flow', 'implicit', 'maml', 'mixture'",
        ),
        ("train.steps=0", "train.steps = 0; must be ≥ 1"),
        ("train.batch_size=-3", "train.batch_size = -3; must be ≥ 1"),
        ("train.lr=0", "train.lr = 0.0; must be > 0"),
        ("task.noise=-1", "task.noise = -1.0; must be > 0"),
        ("task.x_scale=0", "task.x_scale = 0.0; must be > 0"),
        ("task.classes=3", "unknown config key 'task.classes': task 'linear_regression' has"),
        ("task.name=nope", "task.name = 'nope'; known: ['digits', 'gaussian_mixtures'"),
        ("task.noise=nan", "task.noise = nan; expected a finite number"),
        ("train.lr=inf", "train.lr = inf; expected a finite number"),
        ("eval.tasks=1", "eval.tasks = 1; must be ≥ 2"),
        ('eval.ood=["sideways"]', "unknown OoD variant 'sideways'"),
        ("task=3", "task must be a table, got 3"),
        ("learner=3", "learner must be a table, got 3"),
        ("seed.x=1", "override 'seed.x': 'seed' is not a table"),
        ("train.lr.x=1", "override 'train.lr.x': 'lr' is not a table"),
        ("train.lr", "override 'train.lr' is not key=value"),
    ],
)
def test_bad_overrides_are_named(demo_path, override, message):
    with pytest.raises(InvalidConfig, match=re.escape(message)):
        load_config(demo_path, [override])


def test_overrides_apply_with_their_types(demo_path):
    cfg = load_config(
        demo_path,
        [
            "train.lr=3e-4",
            "train.min_lr=0",  # an integer where a float is expected is the same number
            "task.name=gp_regression",
            'eval.ood=["noisy"]',
            "task.dim=5",
            "learner.signal=grad",
            "eval.baselines=false",
            "seed=7",
        ],
    )
    assert cfg.train.lr == 3e-4 and type(cfg.train.lr) is float
    assert cfg.train.min_lr == 0.0 and type(cfg.train.min_lr) is float
    assert cfg.task.name == "gp_regression"
    assert cfg.eval.ood == ("noisy",)
    assert cfg.task.dim == 5 and type(cfg.task.dim) is int
    assert cfg.learner.signal == "grad"
    assert cfg.eval.baselines is False
    assert cfg.seed == 7
    # and the file's other values stay
    demo = load_config(demo_path)
    assert cfg.train.steps == demo.train.steps and cfg.learner.width == demo.learner.width


def test_a_later_override_wins(demo_path):
    assert load_config(demo_path, ["train.steps=3", "train.steps=5"]).train.steps == 5


def test_missing_or_malformed_files_are_named(tmp_path):
    with pytest.raises(InvalidConfig, match="does not exist"):
        load_config(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nsteps = 1\n")
    with pytest.raises(InvalidConfig, match=re.escape(f"{str(bad)!r} is not valid TOML")):
        load_config(bad)


def test_configs_are_frozen(demo_path):
    cfg = load_config(demo_path)
    with pytest.raises(AttributeError):
        cfg.train.lr = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    "override,message",
    [
        ("learner.width=10", "learner.width = 10 is not a multiple of learner.heads = 4"),
        ("learner.depth=0", "learner.depth = 0; must be ≥ 1"),
        ('learner={kind="explicit", latent=0}', "learner.latent = 0; must be ≥ 1"),
        ('learner={kind="maml", lr=-1}', "learner.lr = -1.0; must be > 0"),
        ('learner={kind="implicit", heads=0}', "learner.heads = 0; must be ≥ 1"),
        ("eval.ood=noisy", """expected a list, e.g. eval.ood = ["noisy"] in TOML, or --set"""),
    ],
)
def test_learner_settings_out_of_range_name_the_key_and_the_range(override, message):
    with pytest.raises(InvalidConfig, match=re.escape(message)):
        load_config(ROOT / "configs/demo.toml", [override])
