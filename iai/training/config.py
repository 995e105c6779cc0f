"""The trainer's config and its learning-rate schedule."""

import math
from dataclasses import dataclass
from typing import Literal

from iai.errors import InvalidConfig


@dataclass(frozen=True)
class TrainConfig:
    iterations: int = 1000
    tasks: int = 128  # T, tasks per iteration
    batch_size: int = 16  # B, points per mini-batch
    steps: int = 8  # K, mini-batches per task
    queries: int = 64  # Q, query points per task
    lr: float = 1e-3
    min_lr: float = 1e-4  # where the cosine decay ends
    warmup: int = 50
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    # An iteration whose loss or gradient is not finite is skipped (no optimizer step) and
    # logged; this many in a row stop training, leaving the last checkpoint as it was.
    max_skips: int = 10
    log_every: int = 25
    checkpoint_every: int = 250
    shards: int = 1  # task streams; a run on W processes gives each shards / W of them
    # torch.compile the update networks; measured 1.03x on 2 CPU cores (benchmarks/results)
    compile: bool = False
    # greedy: each step's loss trains only its own transition (paper Eq. 9); full: every
    # loss is backpropagated through the whole rollout into the initial state (MAML's
    # meta-gradient; memory grows with K)
    backprop: Literal["greedy", "full"] = "greedy"
    # cuda: each process trains on its own GPU (LOCAL_RANK) and torchrun's group uses NCCL;
    # tasks are still drawn on the CPU, so a seed gives the same tasks on either device
    device: Literal["cpu", "cuda"] = "cpu"
    # bfloat16: the forward pass under torch.autocast (the networks' matrix products in
    # bfloat16; gradients, curvature, solves and losses in float32: iai.models.precision).
    # auto: bfloat16 where the device multiplies in it and the networks are 64 wide or more,
    # else float32 (iai.training.precision, measured there); the checkpoint records which
    precision: Literal["auto", "float32", "bfloat16"] = "auto"
    # threads drawing this process's shards at once: each shard has its own generator, so
    # the tasks are those of one thread. For a GPU, whose step can outrun one CPU thread's
    # draws (the tabular foundation model's prior: 0.5-1.1 s per 256 tables on one thread, 2
    # threads 1.6-1.9 x as fast on 2 cores: benchmarks/results/tabular-gpu/prior-draw.md)
    draw_threads: int = 1
    # `iai train` sets glibc's malloc to keep freed memory (iai.training.allocator): for
    # recipes whose steps allocate large tensors again and again (the linear tabular learner's
    # curvature, 1.5-1.8 x: benchmarks/results/allocator/); the library leaves malloc alone
    retain_freed_memory: bool = False

    def __post_init__(self) -> None:
        positive = [
            "shards",
            "iterations",
            "tasks",
            "batch_size",
            "steps",
            "queries",
            "log_every",
            "checkpoint_every",
            "max_skips",
            "draw_threads",
        ]
        for key in positive:
            if getattr(self, key) < 1:
                raise InvalidConfig(f"train.{key} = {getattr(self, key)!r}; must be ≥ 1")
        for key in ["lr", "grad_clip"]:
            if getattr(self, key) <= 0:
                raise InvalidConfig(f"train.{key} = {getattr(self, key)!r}; must be > 0")
        if not 0 <= self.min_lr <= self.lr:
            raise InvalidConfig(f"train.min_lr = {self.min_lr!r}; must lie in [0, train.lr]")
        if self.tasks % self.shards:
            raise InvalidConfig(f"train.tasks = {self.tasks} is not a multiple of train.shards")
        if self.warmup < 0 or self.weight_decay < 0:
            raise InvalidConfig("train.warmup and train.weight_decay must be ≥ 0")


def learning_rate(cfg: TrainConfig, it: int) -> float:
    """Linear warm-up, then cosine decay to min_lr: a pure function of the step, so resuming
    restores the schedule by restoring the step."""
    if it < cfg.warmup:
        return cfg.lr * (it + 1) / cfg.warmup
    progress = (it - cfg.warmup) / max(1, cfg.iterations - cfg.warmup)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * progress))
