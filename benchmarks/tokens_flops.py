"""What a step of the token learner computes beside one of checkpoints/linreg-d8: FLOPs of one
adaptation step of 16 tasks (B = 16, d = 8), counted by `torch.utils.flop_counter`
(matrix products, forward only: elementwise work, norms and solves count nothing), for the
cost benchmark's learner (configs/linreg-d8-latents.toml at width 128, untrained) with and
without its floor. Counted, not timed: the same numbers on any machine.

    python benchmarks/tokens_flops.py > benchmarks/results/tokens-cost/flops.md
"""

import torch
from torch.utils.flop_counter import FlopCounterMode

import iai
from common.command import markdown_header
from iai.config import load_config
from iai.experiment import build

COST = "configs/linreg-d8-latents.toml"


def step_flops(learner, tasks) -> int:
    """FLOPs of the second step (the first from the learned z⁽⁰⁾ may broadcast)."""
    with torch.inference_mode():
        state = learner.step(learner.init(tasks.x_query), tasks.x_train, tasks.y_train)
        with FlopCounterMode(display=False) as counter:
            learner.step(state, tasks.x_train, tasks.y_train)
    return counter.get_total_flops()


def main() -> None:
    learners = {
        "linreg-d8 (parametric IAI)": iai.load("checkpoints/linreg-d8"),
        "tokens": build(load_config(COST, ["learner.width=128"]))[0],
        "tokens without its floor": build(
            load_config(COST, ["learner.width=128", "learner.basis=0"])
        )[0],
    }
    tasks = learners["tokens"].prior.sample(16, 16, 128, generator=torch.Generator().manual_seed(0))
    flops = {name: step_flops(learner, tasks) for name, learner in learners.items()}
    ref = flops["linreg-d8 (parametric IAI)"]
    print(markdown_header())
    print("# FLOPs of one adaptation step, 16 tasks of B = 16 points (width 128)\n")
    print("| learner | MFLOP per step | over linreg-d8 |")
    print("|---|---:|---:|")
    for name, f in flops.items():
        print(f"| {name} | {f / 1e6:.1f} | {f / ref:.2f} |")


if __name__ == "__main__":
    main()
