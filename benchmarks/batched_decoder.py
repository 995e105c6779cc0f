"""What calling the explicit learners' decoder on the batch of tasks saves: until 2026-12-03
`iai.models.predictors.apply` ran every model through `vmap` over tasks, and the explicit flow
its field; now a `LatentDecoder` (which declares `batched`) is called on (T, …) itself, so each
Linear is one fused addmm instead of vmap's split product, bias add and layout copies.

"vmap" puts the old call back (the decoder's class swapped for one that maps itself over the
tasks); both variants train the same config from the same seed in one process, in float32 and
in bfloat16, their iterations (`iai.training.loop.iterations`, as `iai train` runs them)
interleaved round by round so that a noisy machine slows them alike; and the largest
difference between their losses over all iterations. One thread.

    python benchmarks/batched_decoder.py > benchmarks/results/throughput/batched-decoder.md
"""

import argparse
import time

import torch
from torch.func import vmap

from common.command import markdown_header
from common.recipes import WARMUP
from iai.config import load_config
from iai.experiment import build
from iai.models.decoder import LatentDecoder
from iai.training.loop import iterations

RECIPES = (
    "configs/linreg-d8-explicit.toml",
    "configs/linreg-d8-cnp.toml",
    "configs/generative/gmm-2d-explicit.toml",
)


class VmappedDecoder(LatentDecoder):
    """The call as it was: tasks through `vmap`, the decoder itself written for one."""

    batched = False

    def forward(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if z.dim() == 1:  # one task (also inside vmap, and the per-example gradients')
            return super().forward(z, x)
        return vmap(lambda zi, xi: LatentDecoder.forward(self, zi, xi))(z, x)


def measure(path: str, rounds: int) -> list[str]:
    lines = []
    for precision in ("float32", "bfloat16"):
        runs = {}
        for name in ("vmap", "batched"):
            cfg = load_config(
                path, [f"train.iterations={WARMUP + rounds}", f"train.precision={precision}"]
            )
            learner, prior = build(cfg)
            if name == "vmap":
                for module in learner.modules():
                    if isinstance(module, LatentDecoder):
                        module.__class__ = VmappedDecoder
            runs[name] = iterations(cfg, learner, prior)
        seconds, apart = dict.fromkeys(runs, 0.0), 0.0
        for r in range(WARMUP + rounds):
            losses = {}
            for name, run in runs.items():
                clock = time.perf_counter()
                losses[name] = next(run)
                if r >= WARMUP:
                    seconds[name] += time.perf_counter() - clock
            apart = max(apart, (losses["vmap"] - losses["batched"]).abs().max().item())
        rate = {name: rounds / s for name, s in seconds.items()}
        lines.append(
            f"| {path} | {precision} | {rate['vmap']:.2f} | {rate['batched']:.2f} | "
            f"{rate['batched'] / rate['vmap']:.2f} | {apart:.1e} |"
        )
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("configs", nargs="*", default=RECIPES)
    p.add_argument("--rounds", type=int, default=12)
    args = p.parse_args()
    torch.set_num_threads(1)
    print(markdown_header())
    print(f"\n# The decoder called on the batch of tasks, torch {torch.__version__}, one thread\n")
    print(
        "| recipe | precision | vmap it/s | batched it/s | batched / vmap "
        "| largest loss difference |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for path in args.configs:
        print("\n".join(measure(path, args.rounds)), flush=True)


if __name__ == "__main__":
    main()
