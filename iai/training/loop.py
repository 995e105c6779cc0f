"""Training from a config: `train` runs a whole run (fresh tasks every iteration, greedy
losses, AdamW, checkpoints, resume) through a `Trainer`; `iterations` steps one without
writing anything. The run's state and its parts live in `iai.training.trainer`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.distributed as dist

from iai.checkpoint import read_config, save_learner
from iai.checkpoint.lock import RunLock
from iai.config import ExperimentConfig, to_dict
from iai.errors import CheckpointError
from iai.experiment import build, prior_signature
from iai.learners import Learner
from iai.models.set_transformer import SetTransformer
from iai.training.precision import resolved
from iai.training.threads import using_threads
from iai.training.trainer import Process, Trainer, join


def train(
    cfg: ExperimentConfig,
    out: Path,
    resume: bool = False,
    progress: bool = True,
    prior=None,
    model=None,
    threads: int | None = None,
) -> Learner:
    """Train the learner `cfg` describes, writing checkpoints and metrics.jsonl under `out`.

    `prior` replaces the config's [task] prior (see `iai.experiment.with_prior`); `model` is
    a user-defined fixed model (see `iai.train`). `threads`: torch's CPU threads while it
    trains (default: `iai.training.threads.default_threads`); the caller's count comes back
    afterwards.

    The run owns `out` while it trains (see `owning`): another run on it is refused with
    CheckpointError naming the holder. A full or read-only disk raises CheckpointError naming
    the path and the reason; the last complete checkpoint stays and resumes.

    SIGINT (Ctrl-C) or SIGTERM while it trains (on the main thread): the iteration under way
    finishes, a checkpoint of it is written and `iai.Interrupted` is raised; under torchrun
    every process stops after the same iteration. The same signal again, a second or more
    later, stops at once (KeyboardInterrupt), leaving the last checkpoint.
    """
    out = Path(out)
    with using_threads(threads):
        proc = join(cfg)
        with owning(out, proc, create=not resume):
            return _run(cfg, out, resume, progress, prior, model, proc)


@contextmanager
def owning(out: Path, proc: Process, create: bool = True) -> Iterator[None]:
    """The run owns `out` (`iai.checkpoint.lock`) from before its learner is built to its end,
    so a second run is refused at once. Under torchrun rank 0 alone takes the lock: it is the
    job's one writer, and an exclusive lock has one holder (ranks may also sit on other hosts);
    the other ranks learn whether it got it, so a refused job stops on every rank alike.
    Without `create` (a resume) a missing `out` is refused rather than made."""
    lock, refused = RunLock(out, create), None
    if proc.rank == 0:
        try:
            lock.__enter__()
        except CheckpointError as e:
            refused = e
    if proc.world > 1:
        flag = torch.tensor([refused is not None], dtype=torch.int32, device=proc.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        if flag.item() and refused is None:
            refused = CheckpointError(f"rank 0 could not own {str(out)!r} (see its error)")
    if refused is not None:
        raise refused
    try:
        yield
    finally:
        lock.__exit__()


def _run(cfg, out, resume, progress, prior, model, proc) -> Learner:
    """`train`'s work, by the process that owns `out` (or one of its torchrun group)."""
    cfg = resolved(cfg, proc.device, read_config(out)[0] if resume else None)
    learner, prior = build(cfg, prior, model=model)
    learner.to(proc.device)
    if cfg.train.compile:
        compile_networks(learner)
    if not any(p.requires_grad for p in learner.parameters()):
        # nothing to learn (plain SGD / Adam): the checkpoint is the config itself
        if proc.rank == 0:
            save_learner(out, learner, to_dict(cfg), 0, prior_signature(prior))
        return learner.eval()
    return Trainer(cfg, learner, prior, proc, out, progress).train(resume)


def iterations(cfg: ExperimentConfig, learner: Learner, prior) -> Iterator[torch.Tensor]:
    """`learner`'s training iterations one at a time, as `train` runs them in one process (fresh
    tasks from the config's seeded streams, the greedy objective, the learning-rate schedule,
    clipping, AdamW) but with no checkpoint or log: each `next` runs one and gives its losses
    (K + 1,).

    Why: to time the iterations of several learners interleaved, round by round, so that a
    noisy machine slows them alike (benchmarks/throughput.py); `train` runs one at a time.
    """
    proc = Process(next(learner.parameters()).device, 0, 1, range(cfg.train.shards))
    trainer = Trainer(cfg, learner, prior, proc)
    learner.train()
    for it in range(cfg.train.iterations):
        yield trainer.iteration(it)[0]


def compile_networks(learner: Learner) -> None:
    """torch.compile the update networks in place, so parameter names (and checkpoints) stay."""
    for module in learner.modules():
        if isinstance(module, SetTransformer):
            module.compile()
