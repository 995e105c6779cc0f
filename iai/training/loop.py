"""The training loop: fresh tasks every iteration, greedy losses, AdamW, checkpoints, resume.

Under `torchrun` the same code trains on many processes with DistributedDataParallel: the
global batch is cut into `shards` task streams, each with its own seeded generator; a process
samples its own shards, gradients are all-reduced, and rank 0 writes checkpoints and logs. A
single process that owns every shard draws the very same tasks, so both runs agree.
"""

import json
import math
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from iai.checkpoint import atomic_write, load_trainer, load_weights, read_config, save_learner
from iai.config import ExperimentConfig, from_dict, to_dict
from iai.distributed import device_for, process_group
from iai.errors import CheckpointError, IAIError, InvalidConfig, TrainingStopped
from iai.experiment import build, prior_signature
from iai.learners import Learner
from iai.models.set_transformer import SetTransformer
from iai.tasks import Tasks
from iai.training.config import learning_rate
from iai.training.greedy import GreedyObjective

# Keys a resumed run may change: how long it trains and how often it writes, and how it is
# evaluated afterwards. Anything else would make the resumed run a different experiment.
RESUMABLE_CHANGES = ("train.iterations", "train.log_every", "train.checkpoint_every", "eval.")


class Interrupted(IAIError):
    """Training stopped by SIGINT or SIGTERM: the iteration under way finished, a checkpoint
    of it was written, and training with `resume=True` (`iai train ... --resume`) continues
    exactly where it stopped. `exit_code` is the shell's for the signal: 128 + its number
    (130 for SIGINT, 143 for SIGTERM), which batch schedulers read as "killed, requeue"."""

    def __init__(self, message: str, signum: int, step: int) -> None:
        super().__init__(message)
        self.signum, self.step, self.exit_code = signum, step, 128 + signum


@dataclass
class Process:
    """Where this process trains: its device, rank, world size and its own task streams."""

    device: torch.device
    rank: int
    world: int
    shards: range


def train(
    cfg: ExperimentConfig,
    out: Path,
    resume: bool = False,
    progress: bool = True,
    prior=None,
    model=None,
) -> Learner:
    """Train the learner `cfg` describes, writing checkpoints and metrics.jsonl under `out`.

    `prior` replaces the config's [task] prior (see `iai.experiment.with_prior`); `model` is
    a user-defined fixed model (see `iai.train`).

    SIGINT (Ctrl-C) or SIGTERM while it trains (on the main thread): the iteration under way
    finishes, a checkpoint of it is written and `Interrupted` is raised; under torchrun every
    process stops after the same iteration. The same signal again, a second or more later,
    stops at once (KeyboardInterrupt), leaving the last checkpoint.
    """
    out = Path(out)
    proc = _join(cfg)
    learner, prior = build(cfg, prior, model=model)
    learner.to(proc.device)
    if cfg.train.compile:
        compile_networks(learner)
    config, signature = to_dict(cfg), prior_signature(prior)
    if not any(p.requires_grad for p in learner.parameters()):
        # nothing to learn (plain SGD / Adam): the checkpoint is the config itself
        if proc.rank == 0:
            save_learner(out, learner, config, 0, signature)
        return learner.eval()
    t = cfg.train
    objective, opt, rng = _optimization(cfg, learner, proc)
    start = _start(out, config, learner, opt, rng, resume, proc.rank)
    if start >= t.iterations:
        if proc.rank == 0 and progress:
            print(f"{out} has already trained {start} of {t.iterations} iterations: nothing to do")
        return learner.eval()
    learner.train()
    metrics = out / "metrics.jsonl"
    bar = tqdm(
        range(start, t.iterations),
        initial=start,
        total=t.iterations,
        disable=not progress or proc.rank != 0,
    )
    clock, elapsed = time.perf_counter(), _last(metrics, "seconds") if proc.rank == 0 else 0.0
    skipped, in_a_row = int(_last(metrics, "skipped")), 0
    with _StopSignals() as signals:
        for it in bar:
            losses, grad_norm, stepped = _iteration(cfg, it, prior, proc, objective, opt, rng)
            skipped, in_a_row = (skipped, 0) if stepped else (skipped + 1, in_a_row + 1)
            step = it + 1
            if step % t.log_every == 0 or step == t.iterations or not stepped:
                seconds = elapsed + time.perf_counter() - clock
                record = _record(cfg, it, losses, grad_norm, proc, seconds) | {"skipped": skipped}
                if proc.rank == 0:
                    _log(metrics, record, bar)
            if in_a_row >= t.max_skips:
                raise TrainingStopped(
                    f"the loss or gradient was not finite at {in_a_row} iterations in a row (up "
                    f"to iteration {step}; train.max_skips = {t.max_skips}), so training stopped. "
                    f"{out} keeps its last checkpoint, written before them; lower train.lr or "
                    "look for NaN or inf in the task prior's samples."
                )
            stop = signals.agreed(proc)  # under torchrun: every process stops here, or none
            if step % t.checkpoint_every == 0 or step == t.iterations or stop:
                _checkpoint(out, learner, config, signature, opt, rng, step, proc)
            if stop and step < t.iterations:
                bar.close()
                name = signal.Signals(stop).name
                raise Interrupted(
                    f"interrupted by {name} at iteration {step} of {t.iterations}: checkpoint "
                    f"written to {out}; train again with --resume (resume=True) to continue",
                    stop,
                    step,
                )
    learner.eval()
    return learner


def iterations(cfg: ExperimentConfig, learner: Learner, prior) -> Iterator[torch.Tensor]:
    """`learner`'s training iterations one at a time, as `train` runs them in one process (fresh
    tasks from the config's seeded streams, the greedy objective, the learning-rate schedule,
    clipping, AdamW) but with no checkpoint or log: each `next` runs one and gives its losses
    (K + 1,).

    Why: to time the iterations of several learners interleaved, round by round, so that a
    noisy machine slows them alike (benchmarks/throughput.py); `train` runs one at a time.
    """
    proc = Process(next(learner.parameters()).device, 0, 1, range(cfg.train.shards))
    objective, opt, rng = _optimization(cfg, learner, proc)
    learner.train()
    for it in range(cfg.train.iterations):
        yield _iteration(cfg, it, prior, proc, objective, opt, rng)[0]


def _optimization(cfg: ExperimentConfig, learner: Learner, proc: Process) -> tuple:
    """The greedy objective (under DistributedDataParallel across processes), AdamW, and a
    seeded task stream for each of this process's shards."""
    t = cfg.train
    objective = GreedyObjective(learner, t.batch_size, t.steps, t.backprop == "greedy")
    if proc.world > 1:
        ids = [proc.device] if proc.device.type == "cuda" else None
        objective = DistributedDataParallel(objective, device_ids=ids)
    opt = torch.optim.AdamW(learner.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    rng = {f"tasks.{s}": torch.Generator().manual_seed(cfg.seed + 1 + s) for s in range(t.shards)}
    return objective, opt, rng


def _join(cfg: ExperimentConfig) -> Process:
    """Join torchrun's process group (if launched by it) and pick this process's shards."""
    t = cfg.train
    device = device_for(t.device)
    rank, world = process_group(device)
    if t.shards % world:
        raise InvalidConfig(f"train.shards = {t.shards} does not split over {world} processes")
    mine = range(rank * t.shards // world, (rank + 1) * t.shards // world)
    return Process(device, rank, world, mine)


def compile_networks(learner: Learner) -> None:
    """torch.compile the update networks in place, so parameter names (and checkpoints) stay."""
    for module in learner.modules():
        if isinstance(module, SetTransformer):
            module.compile()


def _start(
    out: Path,
    config: dict,
    learner: Learner,
    opt: torch.optim.Optimizer,
    rng: dict[str, torch.Generator],
    resume: bool,
    rank: int,
) -> int:
    """The iteration to start from: 0 for a new run, the checkpoint's step on resume (after
    restoring weights, optimizer and generators, all of the same checkpoint: the readers check
    that their steps agree). The metrics log keeps its lines up to that step."""
    start, metrics = 0, out / "metrics.jsonl"
    if resume:
        saved, _, _ = read_config(out)
        # through the dataclasses, so a setting added since the run was saved reads as its
        # default rather than as a change
        try:
            saved = json.loads(json.dumps(to_dict(from_dict(saved))))
        except InvalidConfig as e:
            raise CheckpointError(
                f"{str(out / 'config.json')!r} holds an invalid config: {e}"
            ) from e
        differ = _differences(saved, json.loads(json.dumps(config)))
        fixed = [k for k in differ if not k.startswith(RESUMABLE_CHANGES)]
        if fixed:
            raise CheckpointError(
                f"cannot resume {str(out)!r} with another experiment: "
                + ", ".join(f"{k} was {differ[k][0]!r}, now {differ[k][1]!r}" for k in fixed)
                + f". Only {', '.join(RESUMABLE_CHANGES)}* may change on resume."
            )
        load_weights(out, learner)
        start = load_trainer(out, opt, rng)
    elif (out / "model.safetensors").exists():
        raise CheckpointError(
            f"{str(out)!r} already holds a trained learner; pass --resume or another --out"
        )
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        kept = _log_until(metrics, start) if resume else []
        atomic_write(metrics, "".join(kept).encode())
    return start


class _StopSignals:
    """SIGINT and SIGTERM while the loop runs: noted, and acted on after the iteration under
    way (see `train`). Handlers go in on the main thread only (Python allows no other) and the
    previous ones come back on exit. A repeat within a second is taken as the same request:
    torchrun forwards the signal a terminal already sent to every process of its group."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum, self.when, self.previous = 0, 0.0, {}

    def __enter__(self) -> "_StopSignals":
        if threading.current_thread() is threading.main_thread():
            for s in self.SIGNALS:
                self.previous[s] = signal.signal(s, self._note)
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self.previous.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)

    def _note(self, signum: int, frame) -> None:
        now = time.monotonic()
        if not self.signum:
            self.signum, self.when = signum, now
        elif now - self.when > 1.0:
            raise KeyboardInterrupt  # asked twice: stop now; the last checkpoint stays

    def agreed(self, proc: Process) -> int:
        """The signal to stop on, 0 for none: under torchrun the largest any process got, so
        that all stop after the same iteration (one all-reduce of a number per iteration)."""
        if proc.world == 1:
            return self.signum
        flag = torch.tensor([self.signum], device=proc.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item())


def _differences(a: dict, b: dict, prefix: str = "") -> dict[str, tuple]:
    """Dotted key -> (value in a, value in b) wherever two config dicts differ."""
    out = {}
    for key in sorted(set(a) | set(b)):
        x, y, name = a.get(key), b.get(key), f"{prefix}{key}"
        if isinstance(x, dict) and isinstance(y, dict):
            out |= _differences(x, y, f"{name}.")
        elif x != y:
            out[name] = (x, y)
    return out


def _iteration(cfg, it: int, prior, proc: Process, objective, opt, rng) -> tuple:
    """One optimizer step on fresh tasks: this process's greedy losses (K + 1,), the gradient
    norm before clipping."""
    t = cfg.train
    for group in opt.param_groups:
        group["lr"] = learning_rate(t, it)
    n_shard = t.tasks // t.shards
    shards = [
        prior.sample(n_shard, t.steps * t.batch_size, t.queries, generator=rng[f"tasks.{s}"])
        for s in proc.shards
    ]
    losses = objective(Tasks.concat(shards).to(proc.device))  # (K + 1,) over this process's tasks
    opt.zero_grad(set_to_none=True)
    losses.mean().backward()  # DDP averages over processes: equal shards, so the global mean
    grad_norm = torch.nn.utils.clip_grad_norm_(objective.parameters(), t.grad_clip)
    # A non-finite loss anywhere makes the all-reduced gradients, hence the norm, non-finite
    # on every process: all of them skip the same step.
    stepped = bool(torch.isfinite(grad_norm))
    if stepped:
        opt.step()
    return losses.detach(), grad_norm, stepped


def _record(cfg, it: int, losses: torch.Tensor, grad_norm, proc: Process, seconds: float) -> dict:
    """The metrics line of iteration `it`: losses averaged over every process."""
    if proc.world > 1:
        dist.all_reduce(losses)
        losses /= proc.world
    return {  # non-finite values as null, so the file stays strict JSON
        "step": it + 1,
        "loss": _finite(losses.mean().item()),
        "per_step": [_finite(v) for v in losses.tolist()],
        "grad_norm": _finite(grad_norm.item()),
        "lr": learning_rate(cfg.train, it),
        "seconds": seconds,
    }


def _log(metrics: Path, record: dict, bar: tqdm) -> None:
    """Append a metrics line (rank 0) and show its loss on the progress bar."""
    with open(metrics, "a") as log:
        log.write(json.dumps(record) + "\n")
    loss = record["loss"]
    bar.set_postfix(loss="nan" if loss is None else f"{loss:.4f}", skipped=record["skipped"])


def _checkpoint(out, learner, config, signature, opt, rng, step: int, proc: Process) -> None:
    """Weights, optimizer and every task stream's generator, written by rank 0 (which gathers
    the streams of the others, so any world size can resume)."""
    states = {f"tasks.{s}": rng[f"tasks.{s}"].get_state() for s in proc.shards}
    if proc.world > 1:
        gathered = [None] * proc.world
        dist.all_gather_object(gathered, states)
        states = {k: v for part in gathered for k, v in part.items()}
    if proc.rank == 0:  # one unit: the previous checkpoint stays whole until this one is
        save_learner(out, learner, config, step, signature, opt, states)


def _log_until(metrics: Path, step: int) -> list[str]:
    """metrics.jsonl's lines up to `step` (those after it came from iterations the resumed run
    repeats). A last line without its newline is an append cut short by a kill, and goes;
    any other line that is not a record of a later step than the one before is named."""
    try:
        data = metrics.read_bytes()
    except FileNotFoundError as e:
        raise CheckpointError(
            f"{str(metrics)!r} is missing: it held the log of the run's first {step} "
            "iterations (an empty file resumes without it)"
        ) from e
    kept, last = [], 0
    for n, line in enumerate(data.split(b"\n")[:-1], 1):  # [-1]: after the last newline
        try:
            record = json.loads(line)
            at = record["step"]
            if not isinstance(at, int) or isinstance(at, bool):
                raise ValueError(f"step {at!r} is not a number")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            raise CheckpointError(f"{str(metrics)!r} line {n} is corrupt: {e!r}") from e
        if at <= last:
            raise CheckpointError(
                f"{str(metrics)!r} line {n} records step {at} after step {last}: "
                "the log mixes two runs"
            )
        last = at
        if at <= step:
            kept.append(line.decode() + "\n")
    return kept


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True) if path.exists() else []


def _last(metrics: Path, key: str) -> float:
    """`key` of the last metrics record (seconds spent, iterations skipped) before a resume."""
    lines = _lines(metrics)
    return json.loads(lines[-1]).get(key, 0) if lines else 0


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None
