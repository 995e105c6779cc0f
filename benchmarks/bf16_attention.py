"""Attention under CPU autocast, two ways: `scaled_dot_product_attention` on float32 copies of
q, k, v (what `iai.models.set_transformer.attention` did until 2026-12-02) against attention
written out, its two products in bfloat16 (AMX) and its softmax in float32.

speed: bfloat16 training iterations of each recipe, both variants interleaved round by round
in one process (`iai.training.loop.iterations`). quality: configs/linreg-d8.toml trained the
same iterations from the same seed with each, then evaluated beside the exact posterior on
fresh tasks. One thread.

    OMP_NUM_THREADS=1 python benchmarks/bf16_attention.py \
        > benchmarks/results/precision/bf16-attention.md
"""

import argparse
import time

import torch
import torch.nn.functional as F

import iai.models.set_transformer as st
from common.command import markdown_header
from common.recipes import WARMUP
from iai.config import load_config
from iai.evaluation.config import EvalConfig
from iai.evaluation.evaluate import evaluate
from iai.experiment import build
from iai.training.loop import iterations

RECIPES = ("configs/linreg-d8.toml", "configs/linreg-d8-implicit.toml")


def float32_sdpa(q, k, v):
    with torch.autocast("cpu", enabled=False):
        return F.scaled_dot_product_attention(q.float(), k.float(), v.float())


def bfloat16_products(q, k, v):
    scores = (q @ k.transpose(-1, -2)).float() * q.shape[-1] ** -0.5
    return scores.softmax(-1).to(v.dtype) @ v


LIBRARY = st.attention
VARIANTS = {"float32 SDPA": float32_sdpa, "bfloat16 products": bfloat16_products}


def runs(path: str, total: int) -> dict:
    out = {}
    for name in VARIANTS:
        cfg = load_config(path, [f"train.iterations={total}", "train.precision=bfloat16"])
        learner, prior = build(cfg)
        out[name] = (learner, iterations(cfg, learner, prior))
    return out


def interleaved(its: dict, total: int, timed_from: int) -> tuple[dict, dict]:
    """Seconds after `timed_from` rounds and each iteration's mean loss, per variant."""
    seconds, losses = dict.fromkeys(its, 0.0), {name: [] for name in its}
    for r in range(total):
        for name, (_, run) in its.items():
            st.attention = VARIANTS[name]
            clock = time.perf_counter()
            losses[name].append(next(run).mean().item())
            if r >= timed_from:
                seconds[name] += time.perf_counter() - clock
    st.attention = LIBRARY
    return seconds, losses


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--iterations", type=int, default=300, help="the quality run's length")
    p.add_argument("--tasks", type=int, default=1000)
    args = p.parse_args()
    torch.set_num_threads(1)
    print(markdown_header())
    print(f"\n# Attention under bfloat16 autocast, torch {torch.__version__}, one thread\n")
    print("| recipe | float32 SDPA it/s | bfloat16 products it/s | ratio |\n|---|---:|---:|---:|")
    for path in RECIPES:
        seconds, _ = interleaved(runs(path, WARMUP + args.rounds), WARMUP + args.rounds, WARMUP)
        rate = {name: args.rounds / s for name, s in seconds.items()}
        a, b = rate["float32 SDPA"], rate["bfloat16 products"]
        print(f"| {path} | {a:.2f} | {b:.2f} | {b / a:.2f} |", flush=True)
    path, n = "configs/linreg-d8.toml", args.iterations
    its = runs(path, n)
    _, losses = interleaved(its, n, n)
    tail = max(1, n // 5)
    print(f"\n## Quality: {path}, {n} iterations from one seed with each\n")
    print(f"Mean greedy loss over the last {tail} iterations; MSE on {args.tasks} fresh tasks.\n")
    print("| attention | loss | MSE step 1 | step 4 | step 8 | step 8 / exact |")
    print("|---|---:|---:|---:|---:|---:|")
    cfg = EvalConfig(tasks=args.tasks, steps=8, ood=(), baselines=False)
    for name, (learner, _) in its.items():
        result = evaluate(learner.eval(), cfg, progress=False)
        iai, bayes = result.methods["iai"]["mse"].mean, result.methods["bayes"]["mse"].mean
        loss = sum(losses[name][-tail:]) / tail
        print(
            f"| {name} | {loss:.4f} | {iai[1]:.4f} | {iai[4]:.4f} | {iai[8]:.4f} | "
            f"{iai[8] / bayes[8]:.3f} |"
        )


if __name__ == "__main__":
    main()
