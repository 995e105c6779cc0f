"""What an iteration of the tabular foundation model's recipe costs: float32 against bfloat16
autocast, and the floor's size (basis × banks), in one process, interleaved.

    OMP_NUM_THREADS=1 python benchmarks/tabular_tokens_cost.py

Times 8 greedy steps (forward and backward) on 32 tables of the classification recipe;
writes benchmarks/results/tabular-tokens/cost.md.
"""

import time
from contextlib import nullcontext
from pathlib import Path

import torch

from iai.config import load_config
from iai.experiment import build

RECIPE = "configs/tabular/tokens-classification.toml"
OUT = Path(__file__).parent / "results" / "tabular-tokens" / "cost.md"


def seconds(floor: tuple[int, int], bf16: bool, rounds: int = 3) -> float:
    sets = [f"learner.basis={floor[0]}", f"learner.banks={floor[1]}"]
    learner, prior = build(load_config(RECIPE, sets))
    tasks = prior.sample(32, 256, 128, generator=torch.Generator().manual_seed(0))
    x, y, xq, yq = tasks.x_train, tasks.y_train, tasks.x_query, tasks.y_query
    best = float("inf")
    for _ in range(rounds):
        ctx = torch.autocast("cpu", torch.bfloat16) if bf16 else nullcontext()
        clock = time.perf_counter()
        with ctx:
            state = learner.init(xq)
            for k in range(8):
                b = slice(32 * k, 32 * k + 32)
                state = learner.step(state, x[:, b], y[:, b])
                learner.loss(state, xq, yq).backward()
                state = state.detach()
        best = min(best, time.perf_counter() - clock)
    return best


def main() -> None:
    torch.set_num_threads(1)
    rows = []
    for floor in ((32, 2), (48, 8)):
        f32, bf16 = seconds(floor, False), seconds(floor, True)
        rows.append(f"| {floor[0]} × {floor[1]} | {f32:.2f} | {bf16:.2f} | {bf16 / f32:.2f} |")
    text = (
        "<!-- OMP_NUM_THREADS=1 python benchmarks/tabular_tokens_cost.py -->\n"
        "# The tabular foundation model: cost of one iteration\n\n"
        f"{RECIPE}, 32 tables, 8 greedy steps forward and backward, best of 3, one thread.\n\n"
        "| floor (basis × banks) | float32 s | bfloat16 s | bf16 / f32 |\n|---|---:|---:|---:|\n"
        + "\n".join(rows)
        + "\n"
    )
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
