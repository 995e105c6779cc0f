"""iai train | eval | grid: train a learner from a TOML config, evaluate a checkpoint beside
exact references and tuned optimizers, or train and evaluate a grid of methods x tasks.

`iai train` stopped by SIGINT (Ctrl-C) or SIGTERM finishes its iteration, writes a checkpoint,
prints the command that resumes it and exits with 130 or 143 (128 + the signal's number)."""

import argparse
import json
import os
import shlex
import signal
import sys
from dataclasses import replace
from pathlib import Path

import torch.distributed as dist

from iai.api import load
from iai.config import load_config
from iai.distributed import finish_process, process_group
from iai.errors import IAIError, Interrupted
from iai.evaluation import report
from iai.evaluation.evaluate import evaluate
from iai.grid import load_grid, run_grid
from iai.grid import report as grid_report
from iai.tasks import OOD, variants_of
from iai.training.allocator import retain_freed_memory
from iai.training.loop import train


def _train(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, args.set)
    if cfg.train.retain_freed_memory:  # the process is this command's (iai.training.allocator)
        retain_freed_memory()
    out = Path(args.out or Path("runs") / Path(args.config).stem)
    try:
        train(cfg, out, resume=args.resume, progress=not args.quiet, threads=args.threads)
    except Interrupted as e:
        # SIGINT / SIGTERM: a checkpoint of the last iteration is written; exit 128 + the
        # signal's number (130, 143), as a shell reports a process the signal ended
        if process_group()[0] == 0:
            again = ["iai", "train", args.config, "--out", str(out), "--resume"]
            again += [arg for kv in args.set for arg in ("--set", kv)]
            again += [] if args.threads is None else ["--threads", str(args.threads)]
            name = signal.Signals(e.signum).name
            print(
                f"iai: interrupted by {name} at iteration {e.step}: checkpoint written to "
                f"{out}; resume with `{shlex.join(again)}`",
                file=sys.stderr,
                flush=True,
            )
        return e.exit_code
    if process_group()[0] == 0:
        print(f"trained: {out}/model.safetensors, config.json, metrics.jsonl")
    return 0


def _eval(args: argparse.Namespace) -> None:
    learner = load(args.checkpoint)
    cfg = learner.config
    changes = {k: v for k, v in {"tasks": args.tasks, "steps": args.steps}.items() if v is not None}
    if args.ood is not None:
        changes["ood"] = tuple(v for v in args.ood if v != "none")
    if args.no_baselines:
        changes["baselines"] = False
    ecfg = replace(cfg.eval, **changes)
    rank, _ = process_group()  # under torchrun the tasks are sharded over the processes
    variants = ["id", *_variants(learner, ecfg.ood, explicit=args.ood is not None, rank=rank)]
    show = not args.quiet and rank == 0
    results = [evaluate(learner, ecfg, v, progress=show) for v in variants]
    if rank == 0:
        out = Path(args.out or Path("runs") / "eval" / Path(args.checkpoint).resolve().name)
        print(report.write(results, out))
        print(f"written: {out}/eval.md, eval.json, eval.png")


def _variants(learner, ood: tuple[str, ...], explicit: bool, rank: int) -> list[str]:
    """The OoD variants to evaluate: those asked for (--ood, checked by the evaluation), or
    those of the config's eval.ood the learner's family has, naming any it skips (a config
    written with the predictive default for a generative family, say)."""
    if explicit or learner.prior is None:
        return list(ood)
    known = variants_of(learner.prior)
    skipped = [v for v in ood if v not in known]
    if skipped and rank == 0:
        print(
            f"iai: eval.ood lists {skipped}, which {learner.config.task.name!r} does not have "
            f"(its variants: {list(known)}): skipped; pass --ood to choose",
            file=sys.stderr,
        )
    return [v for v in ood if v in known]


def _grid(args: argparse.Namespace) -> None:
    grid = load_grid(args.config)
    out = Path(args.out or Path("runs") / Path(args.config).stem)
    records = run_grid(grid, out, progress=not args.quiet)
    text = grid_report(grid, records)
    (out / "grid.md").write_text(text)
    (out / "grid.json").write_text(json.dumps([c.to_json() for c in records]))
    print(text)
    print(f"written: {out}/grid.md, grid.json; each cell under {out}/<task>-<method>/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="iai", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a learner from a TOML config")
    t.add_argument("config")
    t.add_argument("--out", help="run directory (default: runs/<config name>)")
    t.add_argument(
        "--resume", action="store_true", help="continue from the run directory's checkpoint"
    )
    t.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override, e.g. train.lr=3e-4",
    )
    t.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="torch CPU threads while it trains (default: OMP_NUM_THREADS if set, else the "
        "CPUs it may use less one, at most 4)",
    )
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    e = sub.add_parser("eval", help="evaluate a checkpoint against references")
    e.add_argument("checkpoint")
    e.add_argument("--tasks", type=int, help="number of fresh tasks (default: the config's)")
    e.add_argument("--steps", type=int, help="K_eval, may exceed the trained K")
    e.add_argument(
        "--ood",
        action="append",
        choices=[*OOD, "none"],
        metavar="NAME",
        help=f"OoD variant, repeatable; one of {', '.join(OOD)}, or none (default: the config's)",
    )
    e.add_argument(
        "--no-baselines",
        action="store_true",
        help="skip the tuned SGD / Adam references (most of a predictive evaluation's time)",
    )
    e.add_argument("--out", help="output directory (default: runs/eval/<checkpoint name>)")
    e.add_argument("--quiet", action="store_true", help="no progress bars")
    g = sub.add_parser("grid", help="train and evaluate a grid of methods x tasks")
    g.add_argument("config", help="a TOML file with a [grid] table")
    g.add_argument("--out", help="run directory (default: runs/<config name>)")
    g.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    try:
        code = {"train": _train, "eval": _eval, "grid": _grid}[args.command](args) or 0
        finish_process(code)
    except (IAIError, ValueError, OSError) as e:
        return _refused(e)
    return code


def _refused(e: Exception) -> int:
    """One line for an error, exit status 2. OSError too: what the library has not named
    already (a config file it cannot read, a report it cannot write) is the machine's, not
    iai's, and gets no traceback either."""
    print(f"iai: error: {e}", file=sys.stderr, flush=True)
    if dist.is_initialized():
        # under torchrun: leave at once, past gloo's teardown race (see finish_process), with
        # no barrier, as the other ranks may be anywhere
        sys.stdout.flush()
        os._exit(2)
    return 2


if __name__ == "__main__":
    sys.exit(main())
