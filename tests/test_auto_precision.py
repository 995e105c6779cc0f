"""`train.precision = "auto"`: bfloat16 where the device multiplies in it, float32 elsewhere,
the concrete value written into the checkpoint, and a resumed run going on in its own."""

import json

import pytest
import torch
from conftest import DEMO, TINY

import iai.training.precision
from iai.checkpoint import read_config
from iai.config import load_config
from iai.training.loop import train
from iai.training.precision import MIN_WIDTH, device_precision

SHORT = [*TINY, "train.iterations=2", "train.checkpoint_every=1"]


@pytest.mark.parametrize("amx,want", [(True, "bfloat16"), (False, "float32")])
def test_a_cpu_trains_in_bfloat16_only_with_amx(monkeypatch, amx, want):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert device_precision(torch.device("cpu")) == want


@pytest.mark.parametrize("width,want", [(MIN_WIDTH, "bfloat16"), (MIN_WIDTH // 2, "float32")])
def test_auto_is_recorded_as_the_precision_it_trained_in(monkeypatch, tmp_path, width, want):
    """bfloat16 only for networks wide enough to gain from it, on a device that has it."""
    monkeypatch.setattr(iai.training.precision, "device_precision", lambda device: "bfloat16")
    train(load_config(DEMO, [*SHORT, f"learner.width={width}"]), tmp_path / "run", progress=False)
    assert read_config(tmp_path / "run")[0]["train"]["precision"] == want


@pytest.mark.parametrize("saved", ["float32", None])  # None: saved before the setting existed
def test_a_resumed_auto_run_keeps_its_own_precision(monkeypatch, tmp_path, saved):
    run = tmp_path / "run"
    monkeypatch.setattr(iai.training.precision, "device_precision", lambda device: "float32")
    sets = [*SHORT, f"learner.width={MIN_WIDTH}"]  # wide enough for "auto" to choose
    train(load_config(DEMO, sets), run, progress=False)
    if saved is None:  # as an older iai wrote it
        doc = json.loads((run / "config.json").read_text())
        del doc["config"]["train"]["precision"]
        (run / "config.json").unlink()  # a link into the step's directory: replace, not edit
        (run / "config.json").write_text(json.dumps(doc))
    # the same config on a machine whose "auto" would now be bfloat16
    monkeypatch.setattr(iai.training.precision, "device_precision", lambda device: "bfloat16")
    longer = load_config(DEMO, [*sets, "train.iterations=3"])
    train(longer, run, resume=True, progress=False)
    assert read_config(run)[0]["train"]["precision"] == "float32"


def test_resuming_in_another_explicit_precision_is_refused_naming_it(monkeypatch, tmp_path):
    monkeypatch.setattr(iai.training.precision, "device_precision", lambda device: "float32")
    train(load_config(DEMO, SHORT), tmp_path / "run", progress=False)
    other = load_config(DEMO, [*SHORT, "train.iterations=3", "train.precision=bfloat16"])
    with pytest.raises(iai.CheckpointError, match="train.precision was 'float32', now 'bfloat16'"):
        train(other, tmp_path / "run", resume=True, progress=False)
