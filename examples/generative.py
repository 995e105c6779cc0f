"""Generative learners: read samples of an unknown distribution mini-batch by mini-batch, then
draw more of it and score densities, with the committed Gaussian-mixture learner.

    python examples/generative.py            # writes runs/generative/samples.png

The learner (checkpoints/gmm-2d-parametric) was trained on mixtures of 1–5 Gaussians in 2-D;
here it reads points of a ring, which it never saw, 32 at a time, and answers with a mixture
of 8 Gaussians after each step.
"""

import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import iai  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def ring(n_tasks: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """Points on rings of radius 2–3 with a little noise, (T, n, 2)."""
    radius = 2 + torch.rand(n_tasks, 1, generator=generator)
    angle = 2 * math.pi * torch.rand(n_tasks, n, generator=generator)
    points = radius[..., None] * torch.stack([angle.cos(), angle.sin()], -1)
    return points + 0.15 * torch.randn(n_tasks, n, 2, generator=generator)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/generative")
    args = parser.parse_args()
    learner = iai.load(ROOT / "checkpoints" / "gmm-2d-parametric")
    g = torch.Generator().manual_seed(0)
    points = ring(3, 820, g)  # three rings: 320 points to read, 500 held out of each
    context, held_out = points[:, :320], points[:, 320:]

    steps = [1, 2, 5, 10]
    samples = iai.sample_steps(learner, context, 500, batch_size=32, steps=steps, generator=g)
    log_p = iai.log_prob_steps(learner, context, held_out, batch_size=32, steps=steps)
    for k, lp in zip(steps, log_p, strict=True):
        print(f"after {k:2d} mini-batches of 32: held-out log density {lp.mean():.3f} per point")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(3, len(steps) + 1, figsize=(2 * (len(steps) + 1), 6))
    for t in range(3):
        clouds = [context[t], *samples[:, t]]
        titles = ["the 320 points read", *(f"step {k}" for k in steps)]
        for ax, cloud, title in zip(axes[t], clouds, titles, strict=True):
            ax.scatter(cloud[:, 0], cloud[:, 1], s=1)
            ax.set(xlim=(-4.5, 4.5), ylim=(-4.5, 4.5), xticks=[], yticks=[], aspect="equal")
            if t == 0:
                ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "samples.png", dpi=80)
    print(f"written: {out / 'samples.png'}")


if __name__ == "__main__":
    main()
