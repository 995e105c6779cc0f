"""Your own fixed model f(x; θ), from Python: a sine wave with four parameters.

The parametric learner adapts the parameters θ of a fixed model. Instead of the configured
linear model or MLP it takes any object with an int `n_params` and `__call__(theta (P,), x (N,
D)) -> (N, out_dim)` for one task, written with torch operations (torch.func.vmap batches it
over tasks and torch.func.grad gives the per-example gradients the update reads). Here

    f(x; θ) = θ₀ sin(θ₁ x + θ₂) + θ₃,

trained on the sinusoid prior of examples/sinusoid.py, saved, and loaded back with
`iai.load(dir, model=SineWave())`. After a few steps θ₀ and θ₂ encode the task's amplitude and
phase: the learned update reads four numbers off the data instead of fitting 120 weights.

    python examples/custom_model.py                     # about 1.5 minutes on two CPU cores
    python examples/custom_model.py --iterations 100 --out /tmp/sine-wave
"""

import argparse
import sys
import time
from pathlib import Path

import torch

import iai

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sinusoid import CONFIG, ROOT, SMOKE, Sinusoid  # noqa: E402


class SineWave:
    """f(x; θ) = θ₀ sin(θ₁ x + θ₂) + θ₃ for 1-d inputs: θ (4,), x (N, 1) -> (N, 1)."""

    n_params = 4

    def __call__(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return theta[0] * torch.sin(theta[1] * x + theta[2]) + theta[3]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=600, help="training iterations")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "runs" / "sine-wave", help="run directory"
    )
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--smoke", action="store_true", help="a tiny update network")
    args = parser.parse_args(argv)

    # θ has 4 coordinates: one state token of 4 (chunk) instead of the MLP's 120 in chunks of 32
    overrides = [f"train.iterations={args.iterations}", "learner.chunk=4"]
    overrides += SMOKE if args.smoke else []
    clock = time.perf_counter()
    trained = iai.train(
        CONFIG,
        out=args.out,
        prior=Sinusoid(),
        model=SineWave(),
        overrides=overrides,
        resume=args.resume,
    )
    train_s = time.perf_counter() - clock
    assert trained.config.learner.model == "custom"

    # The checkpoint names the model 'custom' and holds no code: pass the model back to load.
    learner = iai.load(args.out, model=SineWave())
    try:
        iai.load(args.out)
    except iai.CheckpointError as e:
        print(f"iai.load without model= refuses: {e}")

    tasks = Sinusoid().sample(1000, 50, 50, generator=torch.Generator().manual_seed(2))
    B = learner.config.train.batch_size
    before = iai.predict_steps(trained, tasks.x_train, tasks.y_train, tasks.x_query)
    preds = iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query)
    reload_diff = (before - preds).abs().max().item()
    print(f"checkpoint {args.out}: reloaded learner's predictions differ by {reload_diff:.3g}")

    mse = (preds - tasks.y_query).square().mean((1, 2))
    print(f"\nf(x; θ) = θ₀ sin(θ₁ x + θ₂) + θ₃ on 1000 fresh sinusoid tasks, B = {B} per step")
    print(f"{'MSE after step':16s}" + "".join(f"{k:>7d}" for k in range(len(mse))))
    print(f"{'IAI':16s}" + "".join(f"{m:7.3f}" for m in mse.tolist()))

    # θ after all 50 points: |θ₀| is the amplitude (θ₀ < 0 is the same wave shifted by π)
    theta = iai.adapt(learner, tasks.x_train, tasks.y_train).theta
    amplitude = tasks.truth["amplitude"]
    error = (theta[:, 0].abs() - amplitude).abs().median().item()
    print(
        f"θ after {len(mse) - 1} steps: median θ₁ (frequency, truly 1) "
        f"{theta[:, 1].median().item():.3f}; median | |θ₀| - A | {error:.3f} "
        f"(A ~ U[0.1, 5]); median |θ₃| (offset, truly 0) {theta[:, 3].abs().median().item():.3f}"
    )
    print(f"train {train_s:.0f} s")
    return {"learner": learner, "mse": mse, "theta": theta, "reload_diff": reload_diff}


if __name__ == "__main__":
    main()
