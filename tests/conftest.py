"""Shared fixtures: the real demo config shrunk to run in a second, and learners that move.

Every test seeds its own torch.Generator; nothing here touches the global random state except
`iai.train.build`, which forks it.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings
from torch import nn

from iai.config import ExperimentConfig, load_config
from iai.experiment import build
from iai.models.heads import ZeroLinear

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "configs" / "demo.toml"

# The suite shares a two-core machine with training jobs, and its tensors are too small to
# gain from a second thread.
torch.set_num_threads(1)

# Hypothesis profiles (tests/test_properties.py): "ci" by default, reproducible run to run;
# "slow" (HYPOTHESIS_PROFILE=slow, as `make test-slow` sets it) tries twenty times as many inputs.
# The deadline only flags an example that takes far longer than its siblings (a hang-like
# path); examples that train or evaluate a learner take about a second.
# "slow" draws afresh each run (a failure prints the blob that reproduces it) and keeps no
# example database in the working tree.
_PROFILE = dict(
    print_blob=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "ci", max_examples=50, derandomize=True, deadline=timedelta(seconds=10), **_PROFILE
)
settings.register_profile("slow", max_examples=1000, deadline=timedelta(seconds=60), **_PROFILE)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# configs/demo.toml shrunk to a few tasks, a one-block update network and a 3-d task.
TINY = [
    "task.dim=3",
    "learner.width=16",
    "learner.depth=1",
    "learner.heads=2",
    "learner.chunk=8",
    "train.iterations=8",
    "train.tasks=6",
    "train.batch_size=4",
    "train.steps=3",
    "train.queries=5",
    "train.warmup=2",
    "train.log_every=1",
    "train.checkpoint_every=4",
    "eval.tasks=20",
    "eval.steps=3",
    "eval.queries=16",
    "eval.tune_tasks=8",
    "eval.optimizer_iters=5",
    'eval.ood=["noisy"]',
]


@pytest.fixture(autouse=True)
def malloc_calls(monkeypatch) -> list[str]:
    """The CLI's `retain_freed_memory` calls, recorded instead of made: it changes malloc for
    the whole process, and the suite's process is shared (tests/test_allocator.py runs the
    real one in a process of its own)."""
    calls: list[str] = []
    monkeypatch.setattr("iai.cli.retain_freed_memory", lambda: calls.append("retain") or True)
    return calls


@pytest.fixture
def demo_path() -> Path:
    return DEMO


@pytest.fixture
def tiny_overrides() -> list[str]:
    """The overrides that shrink configs/demo.toml, e.g. for `iai train --set`."""
    return list(TINY)


@pytest.fixture
def make_cfg():
    """make_cfg(*overrides) -> the tiny demo config with `overrides` applied on top."""

    def make(*overrides: str) -> ExperimentConfig:
        return load_config(DEMO, [*TINY, *overrides])

    return make


def randomize_head(learner: nn.Module, seed: int) -> None:
    """Give the zero-initialised output heads small random weights, so a step moves θ (a
    learner on a floor has one for the floor too)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for head in (m for m in learner.modules() if isinstance(m, ZeroLinear)):
            nn.init.normal_(head.weight, std=0.1, generator=g)
            nn.init.normal_(head.bias, std=0.1, generator=g)


def update_head(learner: nn.Module) -> nn.Linear:
    """The learner's update head (`iai.models.heads.ZeroLinear`): the one zero-initialised
    read-out of its update."""
    (head,) = [m for m in learner.modules() if isinstance(m, ZeroLinear)]
    return head


@pytest.fixture
def make_learner(make_cfg):
    """make_learner(*overrides, seed=0) -> (learner, prior) with a random head (see above)."""

    def make(*overrides: str, seed: int = 0):
        learner, prior = build(make_cfg(*overrides))
        randomize_head(learner, seed)
        return learner, prior

    return make
