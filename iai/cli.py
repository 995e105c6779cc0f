"""iai train | eval | grid: train a learner from a TOML config, evaluate a checkpoint beside
exact references and tuned optimizers, or train and evaluate a grid of methods x tasks.

`iai train` stopped by SIGINT (Ctrl-C) or SIGTERM finishes its iteration, writes a checkpoint,
prints the command that resumes it and exits with 130 or 143 (128 + the signal's number)."""

import argparse
import json
import shlex
import signal
import sys
from dataclasses import replace
from pathlib import Path

from iai.api import load
from iai.config import load_config
from iai.distributed import finish_process, process_group
from iai.errors import IAIError, Interrupted, InvalidInput
from iai.evaluation import report
from iai.evaluation.evaluate import evaluate
from iai.grid import load_grid, run_grid
from iai.grid import report as grid_report
from iai.tasks import OOD
from iai.training.loop import train


def _train(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, args.set)
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
    if learner.objective.kind == "density":
        return _eval_samples(learner, args)
    cfg = learner.config
    changes = {k: v for k, v in {"tasks": args.tasks, "steps": args.steps}.items() if v is not None}
    if args.ood is not None:
        changes["ood"] = tuple(v for v in args.ood if v != "none")
    if args.no_baselines:
        changes["baselines"] = False
    ecfg = replace(cfg.eval, **changes)
    variants = ["id", *ecfg.ood]
    rank, _ = process_group()  # under torchrun the tasks are sharded over the processes
    show = not args.quiet and rank == 0
    results = [evaluate(learner, ecfg, v, progress=show) for v in variants]
    if rank == 0:
        out = Path(args.out or Path("runs") / "eval" / Path(args.checkpoint).resolve().name)
        print(report.write(results, out))
        print(f"written: {out}/eval.md, eval.json, eval.png")


def _eval_samples(learner, args: argparse.Namespace) -> None:
    """A generative learner's sample quality per step, in distribution and out (the family's
    variants unless --ood names others), on fresh tasks: `iai.evaluation.sampling`."""
    from iai.evaluation.sampling import draw, sample_quality, table, to_json
    from iai.tasks import variant_prior

    cfg = learner.config
    for name in ("steps", "tasks"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise InvalidInput(f"--{name} must be ≥ 1, got {getattr(args, name)}")
    K = 4 * cfg.train.steps if args.steps is None else args.steps
    B, tasks = cfg.train.batch_size, 200 if args.tasks is None else args.tasks
    steps = sorted({k for k in (0, 1, 2, 5, 10, 20, 40, 80, 160) if k <= K} | {K})
    # a flow's density needs an ODE solve with autograd for every step: two steps only
    nll = sorted({1, min(cfg.train.steps, K)}) if cfg.learner.kind == "flow" else steps
    ood = args.ood if args.ood is not None else getattr(learner.prior, "variants", ())
    results = {}
    for variant in ["id", *(v for v in ood if v != "none")]:
        prior = variant_prior(cfg.task, variant)
        # 64 samples of the learner and of the truth per task, as benchmarks/generative.py
        data = draw(prior, tasks, K * B, 64, 64, cfg.eval.seed)
        q = sample_quality(
            learner, data, steps, nll_steps=nll, one_step=cfg.train.steps == 1, seed=cfg.eval.seed
        )
        results[variant] = to_json(q)
        if not args.quiet:
            print(f"{variant}: done", file=sys.stderr, flush=True)
    out = Path(args.out or Path("runs") / "eval" / Path(args.checkpoint).resolve().name)
    out.mkdir(parents=True, exist_ok=True)
    text = table(results)
    (out / "eval.md").write_text(text)
    (out / "eval.json").write_text(json.dumps(results, indent=1))
    print(text)
    print(f"written: {out}/eval.md, eval.json")


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
    e.add_argument(
        "--tasks", type=int, help="number of fresh tasks (default: the config's; 200 generative)"
    )
    e.add_argument("--steps", type=int, help="K_eval, may exceed the trained K")
    e.add_argument(
        "--ood",
        action="append",
        choices=[*OOD, "none"],
        metavar="NAME",
        help=f"OoD variant, repeatable; one of {', '.join(OOD)}, or none (default: the config's)",
    )
    e.add_argument("--no-baselines", action="store_true", help="skip the tuned SGD / Adam runs")
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
    except (IAIError, ValueError) as e:
        print(f"iai: error: {e}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
