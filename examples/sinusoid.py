"""Your own task prior, from Python: MAML's sinusoid regression (Finn et al. 2017).

A prior is any object with `kind`, `dim`, `out_dim` and `sample(n_tasks, n_points, n_query, *,
generator) -> iai.tasks.Tasks`. This one is defined here, outside the package; `iai.train(...,
prior=Sinusoid())` trains parametric IAI on it (configs/sinusoid.toml: an MLP f(x; θ), B = 10
points per step, K = 5 steps), `iai.load` takes the learner back without the prior, and
`evaluate(..., prior=Sinusoid())` sets it beside SGD and Adam, tuned per step, on the same
fresh tasks.

    python examples/sinusoid.py                     # about 5 minutes on two CPU cores
    python examples/sinusoid.py --iterations 300 --out /tmp/sine
"""

import argparse
import math
import time
from dataclasses import replace
from pathlib import Path

import torch

import iai
from iai.evaluation import report
from iai.evaluation.evaluate import evaluate
from iai.tasks import Tasks

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "sinusoid.toml"

# A run of seconds, for tests: a one-block update network and a small evaluation.
SMOKE = [
    "learner.width=16",
    "learner.depth=1",
    "learner.heads=2",
    "train.tasks=16",
    "train.warmup=1",
    "train.lr=1e-2",
    "train.log_every=1",
]
SMOKE_EVAL = {"tasks": 50, "steps": 5, "tune_tasks": 10, "optimizer_iters": 5}


class Sinusoid:
    """y = A sin(x − φ), A ~ U[0.1, 5], φ ~ U[0, π], x ~ U[−5, 5], as in MAML.

    No observation noise, as in MAML: the targets are the functions themselves, so the MSE
    a learner reaches is its error in the function, with nothing it cannot explain.
    """

    kind = "regression"
    dim = 1
    out_dim = 1
    model = "mlp"  # the fixed model SGD / Adam baselines train when the learner has none

    def __init__(self, amplitude=(0.1, 5.0), phase=(0.0, math.pi), x_range=(-5.0, 5.0)):
        self.amplitude, self.phase, self.x_range = amplitude, phase, x_range

    def sample(self, n_tasks: int, n_points: int, n_query: int, *, generator) -> Tasks:
        """n_tasks tasks of n_points training points and n_query queries, all in one draw."""

        def uniform(low_high, *shape):
            low, high = low_high
            return low + (high - low) * torch.rand(*shape, generator=generator)

        amplitude = uniform(self.amplitude, n_tasks, 1)
        phase = uniform(self.phase, n_tasks, 1)
        x = uniform(self.x_range, n_tasks, n_points + n_query, 1)
        y = amplitude * torch.sin(x[..., 0] - phase)  # (T, N + Q)
        return Tasks(
            x_train=x[:, :n_points],
            y_train=y[:, :n_points],
            x_query=x[:, n_points:],
            y_query=y[:, n_points:],
            truth={"amplitude": amplitude[:, 0], "phase": phase[:, 0]},
        )


LABELS = {
    "iai": "IAI",
    "sgd": "SGD, converged",
    "adam": "Adam, converged",
    "sgd_online": "SGD, 1 update/batch",
    "adam_online": "Adam, 1 update/batch",
}


def table(result) -> str:
    """MSE after each step (mean over the evaluation tasks), a row per method."""
    steps = range(result.steps + 1)
    lines = [f"{'MSE after step':22s}" + "".join(f"{k:>7d}" for k in steps)]
    for name, label in LABELS.items():
        mean = result.curve(name).mean
        lines.append(f"{label:22s}" + "".join(f"{mean[k]:7.3f}" for k in steps))
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=900, help="training iterations")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "sine", help="run directory")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--smoke", action="store_true", help="a tiny network and evaluation")
    args = parser.parse_args(argv)

    overrides = [f"train.iterations={args.iterations}"] + (SMOKE if args.smoke else [])
    clock = time.perf_counter()
    trained = iai.train(
        CONFIG, out=args.out, prior=Sinusoid(), overrides=overrides, resume=args.resume
    )
    train_s = time.perf_counter() - clock

    # The checkpoint holds the learner and the prior's signature, not the prior itself.
    learner = iai.load(args.out)
    assert learner.prior is None and learner.config.task.name == "Sinusoid"
    tasks = Sinusoid().sample(8, 50, 20, generator=torch.Generator().manual_seed(1))
    before = iai.predict_steps(trained, tasks.x_train, tasks.y_train, tasks.x_query)
    after = iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query)
    reload_diff = (before - after).abs().max().item()
    print(f"checkpoint {args.out}: reloaded learner's predictions differ by {reload_diff:.3g}")

    eval_cfg = learner.config.eval
    if args.smoke:
        eval_cfg = replace(eval_cfg, **SMOKE_EVAL)
    clock = time.perf_counter()
    result = evaluate(learner, eval_cfg, prior=Sinusoid())
    eval_s = time.perf_counter() - clock
    report.write([result], args.out)

    K, B = learner.config.train.steps, learner.config.train.batch_size
    print(
        f"\nSinusoid regression, {result.tasks} fresh tasks, B = {B} points per step "
        f"(IAI trained on K = {K} steps), MSE against the true function:\n"
    )
    print(table(result))
    print(f"\ntrain {train_s:.0f} s, evaluate {eval_s:.0f} s; {args.out / 'eval.md'} and eval.png")
    return {"result": result, "learner": learner, "reload_diff": reload_diff}


if __name__ == "__main__":
    main()
