"""Two processes under torchrun (gloo on CPU) train exactly what one process does."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from iai.config import load_config
from iai.training.loop import train

ROOT = Path(__file__).resolve().parents[1]
OVERRIDES = [
    # float32: bfloat16 products round differently for a shard's batch than for the whole
    # one, so "auto" on an AMX CPU would agree to bfloat16's precision only
    "train.precision=float32",
    "train.iterations=6",
    "train.tasks=8",
    "train.shards=2",
    "train.log_every=2",
    "train.checkpoint_every=3",
    "learner.width=16",
    "learner.depth=1",
    "eval.tune_tasks=10",
    "eval.optimizer_iters=5",
]


def _losses(run: Path) -> torch.Tensor:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return torch.tensor([json.loads(line)["per_step"] for line in lines])


def test_two_processes_match_one_process_with_the_same_global_batch(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    # one thread, as each of the two processes (OMP_NUM_THREADS=1): sums in the same order
    train(load_config(ROOT / "configs/demo.toml", OVERRIDES), one, progress=False, threads=1)

    sets = [arg for o in OVERRIDES for arg in ("--set", o)]
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "iai.cli",
        "train",
        str(ROOT / "configs/demo.toml"),
        "--out",
        str(two),
        "--quiet",
        *sets,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]

    assert len(_losses(two)) == 3
    torch.testing.assert_close(_losses(two), _losses(one), rtol=1e-5, atol=1e-6)
    w1, w2 = load_file(one / "model.safetensors"), load_file(two / "model.safetensors")
    assert w1.keys() == w2.keys()
    for name in w1:
        torch.testing.assert_close(w2[name], w1[name], rtol=1e-4, atol=1e-5)
    # rank 0 kept every task stream, so the run can resume on any number of processes
    trainer = load_file(two / "trainer.safetensors")
    assert {"rng.tasks.0", "rng.tasks.1"} <= trainer.keys()


@pytest.mark.slow  # two torchruns; test_two_processes_match_one_process… keeps one in make test
def test_sharded_evaluation_gathers_what_one_process_computes(tmp_path):
    """`iai eval` under torchrun splits the tasks (and the baselines' tuning tasks) over the
    processes; the gathered report equals the single-process one."""
    run = tmp_path / "run"
    train(load_config(ROOT / "configs/demo.toml", OVERRIDES), run, progress=False)
    args = ["--tasks", "9", "--steps", "3", "--ood", "none"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    for name, launcher in [
        ("one", [sys.executable]),
        ("two", [*torchrun, "--nproc_per_node", "2"]),
    ]:
        cmd = [*launcher, "-m", "iai.cli", "eval", str(run), *args, "--out", str(tmp_path / name)]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    one, two = (json.loads((tmp_path / n / "eval.json").read_text()) for n in ("one", "two"))
    for a, b in zip(one, two, strict=True):
        assert a["tasks"] == b["tasks"] == 9 and a["tuned_lr"] == b["tuned_lr"]
        for method in a["methods"]:
            for metric, stats in a["methods"][method].items():
                got = b["methods"][method][metric]
                torch.testing.assert_close(torch.tensor(got["mean"]), torch.tensor(stats["mean"]))
                torch.testing.assert_close(torch.tensor(got["se"]), torch.tensor(stats["se"]))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_cuda_device_without_a_gpu_is_a_clear_error(tmp_path):
    from iai.errors import InvalidConfig

    cfg = load_config(ROOT / "configs/demo.toml", [*OVERRIDES, "train.device=cuda"])
    with pytest.raises(InvalidConfig, match="no CUDA device"):
        train(cfg, tmp_path / "run", progress=False)
