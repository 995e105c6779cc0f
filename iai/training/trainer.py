"""A training run's state in one object: the `Trainer` (as torchtitan's), with one short method
for each thing a run does (start or resume, one iteration, a log line, a checkpoint).

Under `torchrun` the same code trains on many processes with DistributedDataParallel: the
global batch is cut into `shards` task streams, each with its own seeded generator; a process
samples its own shards, gradients are all-reduced, and rank 0 writes checkpoints and logs. A
single process that owns every shard draws the very same tasks, so both runs agree.
"""

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from iai.checkpoint import atomic_write, load_trainer, load_weights, save_learner
from iai.config import ExperimentConfig, to_dict
from iai.distributed import device_for, process_group
from iai.errors import CheckpointError, Interrupted, InvalidConfig, TrainingStopped
from iai.experiment import prior_signature
from iai.inputs import checked_draw
from iai.learners import Learner
from iai.tasks import Tasks
from iai.training import runlog
from iai.training.config import learning_rate
from iai.training.greedy import GreedyObjective
from iai.training.precision import resolved
from iai.training.signals import StopSignals


@dataclass
class Process:
    """Where this process trains: its device, rank, world size and its own task streams."""

    device: torch.device
    rank: int
    world: int
    shards: range


def join(cfg: ExperimentConfig) -> Process:
    """Join torchrun's process group (if launched by it) and pick this process's shards."""
    t = cfg.train
    device = device_for(t.device)
    rank, world = process_group(device)
    if t.shards % world:
        raise InvalidConfig(f"train.shards = {t.shards} does not split over {world} processes")
    mine = range(rank * t.shards // world, (rank + 1) * t.shards // world)
    return Process(device, rank, world, mine)


class Trainer:
    """One run of greedy training: the experiment (`cfg`, its dict `config`), the learner and
    its prior (and the prior's `signature`), this process (`proc`), the greedy objective
    (under DistributedDataParallel across processes), AdamW, a seeded task stream for each
    of this process's shards (`rng`), the run directory `out` and its metrics log, and the
    count of iterations done (`step`) and skipped. `out` is None for a run that only steps
    (`iai.training.loop.iterations`)."""

    def __init__(
        self,
        cfg: ExperimentConfig,
        learner: Learner,
        prior,
        proc: Process,
        out: Path | None = None,
        progress: bool = False,
    ) -> None:
        cfg = resolved(cfg, proc.device)  # a new run's "auto" (`train` resolves a resumed one's)
        t = cfg.train
        self.cfg, self.learner, self.prior, self.proc = cfg, learner, prior, proc
        self.config, self.signature = to_dict(cfg), prior_signature(prior)
        self.out, self.progress = out, progress
        self.objective = GreedyObjective(learner, t.batch_size, t.steps, t.backprop == "greedy")
        if proc.world > 1:
            ids = [proc.device] if proc.device.type == "cuda" else None
            self.objective = DistributedDataParallel(self.objective, device_ids=ids)
        # fused on a GPU: one kernel for every parameter's update, no host round trips
        fused = proc.device.type == "cuda"
        self.opt = torch.optim.AdamW(
            learner.parameters(), lr=t.lr, weight_decay=t.weight_decay, fused=fused
        )
        threads = min(t.draw_threads, len(proc.shards))
        self.pool = ThreadPoolExecutor(threads) if threads > 1 else None
        self.rng = {
            f"tasks.{s}": torch.Generator().manual_seed(cfg.seed + 1 + s) for s in range(t.shards)
        }
        self.step, self.skipped, self.in_a_row = 0, 0, 0
        self.elapsed, self.clock = 0.0, 0.0  # seconds before a resume; when this one began

    @property
    def metrics(self) -> Path:
        """The run's log: one JSON line per logged iteration."""
        return self.out / "metrics.jsonl"

    def train(self, resume: bool = False) -> Learner:
        """Train from step 0 (or, with `resume`, from the checkpoint in `out`) to
        train.iterations, checkpointing and logging on the way; returns the learner in eval
        mode. See `iai.training.loop.train` for what signals do."""
        self.start(resume)
        t, rank = self.cfg.train, self.proc.rank
        if self.step >= t.iterations:
            if rank == 0 and self.progress:
                done = f"has already trained {self.step} of {t.iterations} iterations"
                print(f"{self.out} {done}: nothing to do")
            return self.learner.eval()
        self.learner.train()
        bar = tqdm(
            range(self.step, t.iterations),
            initial=self.step,
            total=t.iterations,
            disable=not self.progress or rank != 0,
        )
        self.clock = time.perf_counter()
        self.elapsed = runlog.last(self.metrics, "seconds") if rank == 0 else 0.0
        self.skipped, self.in_a_row = int(runlog.last(self.metrics, "skipped")), 0
        with StopSignals() as signals:
            for it in bar:
                self.advance(it, bar, signals)
        return self.learner.eval()

    def start(self, resume: bool) -> None:
        """A new run (refused where `out` holds a trained learner already) or, with `resume`,
        the checkpoint's run; the metrics log keeps its lines up to the step it starts from."""
        if resume:
            self.resume()
        elif (self.out / "model.safetensors").exists():
            raise CheckpointError(
                f"{str(self.out)!r} already holds a trained learner: continue it with "
                "iai.train(..., resume=True) (`iai train --resume`), or train into another "
                "directory (another `out`, `--out`)"
            )
        if self.proc.rank == 0:
            self.out.mkdir(parents=True, exist_ok=True)
            kept = runlog.log_until(self.metrics, self.step) if resume else []
            atomic_write(self.metrics, "".join(kept).encode())

    def resume(self) -> None:
        """Restore weights, optimizer and generators, all of one checkpoint (the readers check
        that their steps agree), after checking that it is the same experiment."""
        runlog.check_same_experiment(self.out, self.config)
        load_weights(self.out, self.learner)
        self.step = load_trainer(self.out, self.opt, self.rng)

    def advance(self, it: int, bar: tqdm, signals: StopSignals) -> None:
        """Iteration `it`, then what follows it: a log line, a stop on too many skipped
        iterations in a row, a checkpoint, a stop on a signal."""
        t = self.cfg.train
        losses, grad_norm, stepped = self.iteration(it)
        self.skipped += 0 if stepped else 1
        self.in_a_row = 0 if stepped else self.in_a_row + 1
        self.step = it + 1
        if self.step % t.log_every == 0 or self.step == t.iterations or not stepped:
            self.log(it, losses, grad_norm, bar)
        if self.in_a_row >= t.max_skips:
            raise TrainingStopped(
                f"the loss or gradient was not finite at {self.in_a_row} iterations in a row "
                f"(up to iteration {self.step}; train.max_skips = {t.max_skips}), so training "
                f"stopped. {self.out} keeps its last checkpoint, written before them; lower "
                "train.lr or look for NaN or inf in the task prior's samples."
            )
        stop = signals.agreed(self.proc.world, self.proc.device)  # all processes, or none
        if self.step % t.checkpoint_every == 0 or self.step == t.iterations or stop:
            self.checkpoint()
        if stop and self.step < t.iterations:
            bar.close()
            raise Interrupted(
                f"interrupted by {signal.Signals(stop).name} at iteration {self.step} of "
                f"{t.iterations}: checkpoint written to {self.out}; continue it with "
                "iai.train(..., resume=True) (`iai train ... --resume`)",
                stop,
                self.step,
            )

    def iteration(self, it: int) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """One optimizer step on fresh tasks: this process's greedy losses (K + 1,), the
        gradient norm before clipping, and whether the step was taken (all finite)."""
        t = self.cfg.train
        for group in self.opt.param_groups:
            group["lr"] = learning_rate(t, it)
        n_shard = t.tasks // t.shards
        N, Q, when = t.steps * t.batch_size, t.queries, f"training iteration {it + 1}"

        def draw(s: int) -> Tasks:
            if self.signature["shipped"]:  # a registered family's draws are trusted
                return self.prior.sample(n_shard, N, Q, generator=self.rng[f"tasks.{s}"])
            return checked_draw(self.prior, n_shard, N, Q, self.rng[f"tasks.{s}"], when)

        mapped = self.pool.map if self.pool else map
        shards = list(mapped(draw, self.proc.shards))  # in shard order either way
        with self.precision():
            losses = self.losses(shards)  # (K + 1,)
        self.opt.zero_grad(set_to_none=True)
        losses.mean().backward()  # DDP averages over processes: equal shards, the global mean
        grad_norm = torch.nn.utils.clip_grad_norm_(self.objective.parameters(), t.grad_clip)
        # A non-finite loss anywhere makes the all-reduced gradients, hence the norm,
        # non-finite on every process: all of them skip the same step.
        stepped = bool(torch.isfinite(grad_norm))
        if stepped:
            self.opt.step()
        return losses.detach(), grad_norm, stepped

    def losses(self, shards: list[Tasks]) -> torch.Tensor:
        """The greedy losses (K + 1,) of the shards' tasks: in one pass, or, where the shards'
        inputs differ in width (a table prior draws one width per call), the mean of each
        shard's, the same mean over tasks since the shards are of one size."""
        device = self.proc.device
        if len({s.x_train.shape[2:] for s in shards}) == 1:
            return self.objective(Tasks.concat(shards).to(device))
        if self.proc.world > 1:  # DDP reduces once per forward pass
            raise InvalidConfig(
                "this prior draws each shard at its own input width: train it on one process"
            )
        return torch.stack([self.objective(s.to(device)) for s in shards]).mean(0)

    def precision(self) -> torch.autocast:
        """The forward pass's precision (`train.precision`; the backward follows it)."""
        bf16 = self.cfg.train.precision == "bfloat16"
        return torch.autocast(self.proc.device.type, dtype=torch.bfloat16, enabled=bf16)

    def log(self, it: int, losses: torch.Tensor, grad_norm: torch.Tensor, bar: tqdm) -> None:
        """The metrics line of iteration `it` (losses averaged over every process), appended
        by rank 0, which also shows its loss on the progress bar."""
        if self.proc.world > 1:
            dist.all_reduce(losses)
            losses /= self.proc.world
        loss = runlog.finite(losses.mean().item())
        record = {  # non-finite values as null, so the file stays strict JSON
            "step": it + 1,
            "loss": loss,
            "per_step": [runlog.finite(v) for v in losses.tolist()],
            "grad_norm": runlog.finite(grad_norm.item()),
            "lr": learning_rate(self.cfg.train, it),
            "seconds": self.elapsed + time.perf_counter() - self.clock,
            "skipped": self.skipped,
        }
        if self.proc.rank == 0:
            runlog.append(self.metrics, record)
            shown = "nan" if loss is None else f"{loss:.4f}"
            bar.set_postfix(loss=shown, skipped=self.skipped)

    def checkpoint(self) -> None:
        """Weights, optimizer and every task stream's generator at `step`, written by rank 0
        (which gathers the streams of the others, so any world size can resume)."""
        states = {f"tasks.{s}": self.rng[f"tasks.{s}"].get_state() for s in self.proc.shards}
        if self.proc.world > 1:
            gathered = [None] * self.proc.world
            dist.all_gather_object(gathered, states)
            states = {k: v for part in gathered for k, v in part.items()}
        if self.proc.rank == 0:  # one unit: the previous checkpoint stays whole until this one is
            save_learner(
                self.out, self.learner, self.config, self.step, self.signature, self.opt, states
            )
