"""Attention under CPU autocast by the number of keys: written out (two bfloat16 products, a
float32 softmax) against `scaled_dot_product_attention` on float32 copies, which is what
`iai.models.set_transformer.attention` chooses between at WRITTEN_KEYS.

keys: one attention's forward and backward, (T = 128, 4 heads, S queries = S keys, 16 per
head), both ways, median of 20 after 3 of warm-up. recipes: bfloat16 training iterations with
attention always written out (as until 2026-12-03) and as the library now chooses, beside
float32, interleaved round by round in one process (`iai.training.loop.iterations`); the one-step
CNP reads 128 points at once. One thread.

    OMP_NUM_THREADS=1 python benchmarks/attention_keys.py \
        > benchmarks/results/precision/attention-keys.md
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

import iai.models.set_transformer as st
from common.command import markdown_header
from common.recipes import WARMUP
from iai.config import load_config
from iai.experiment import build
from iai.training.loop import iterations

KEYS = (16, 24, 32, 48, 64, 96, 128)
RECIPES = (
    "configs/linreg-d8.toml",
    "configs/linreg-d8-implicit.toml",
    "configs/linreg-d8-cnp.toml",
    "configs/generative/gmm-2d.toml",
    "configs/generative/gmm-2d-explicit.toml",
)
LIBRARY = st.attention


def written(q, k, v):
    scores = (q @ k.transpose(-1, -2)).float() * q.shape[-1] ** -0.5
    return scores.softmax(-1).to(v.dtype) @ v


def float32_sdpa(q, k, v):
    with torch.autocast("cpu", enabled=False):
        return F.scaled_dot_product_attention(q.float(), k.float(), v.float())


def attention_ms(fn, keys: int) -> float:
    g = torch.Generator().manual_seed(0)
    q, k, v = (
        torch.randn(128, 4, keys, 16, generator=g).bfloat16().requires_grad_() for _ in range(3)
    )
    times = []
    with torch.autocast("cpu", dtype=torch.bfloat16):
        for i in range(23):
            clock = time.perf_counter()
            fn(q, k, v).float().sum().backward()
            if i >= 3:
                times.append(time.perf_counter() - clock)
    return 1e3 * statistics.median(times)


# variant -> (precision, attention)
VARIANTS = {
    "float32": ("float32", LIBRARY),
    "bfloat16, written out": ("bfloat16", written),
    "bfloat16, by keys": ("bfloat16", LIBRARY),
}


def recipe_rates(path: str, rounds: int) -> dict[str, float]:
    runs = {}
    for name, (precision, _) in VARIANTS.items():
        cfg = load_config(
            path, [f"train.iterations={WARMUP + rounds}", f"train.precision={precision}"]
        )
        learner, prior = build(cfg)
        runs[name] = iterations(cfg, learner, prior)
    seconds = dict.fromkeys(runs, 0.0)
    for r in range(WARMUP + rounds):
        for name, run in runs.items():
            st.attention = VARIANTS[name][1]
            clock = time.perf_counter()
            next(run)
            if r >= WARMUP:
                seconds[name] += time.perf_counter() - clock
    st.attention = LIBRARY
    return {name: rounds / s for name, s in seconds.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=12)
    args = p.parse_args()
    torch.set_num_threads(1)
    print(markdown_header())
    print(f"\n# Attention under bfloat16 autocast by keys, torch {torch.__version__}, one thread\n")
    print(f"The library writes attention out over at most {st.WRITTEN_KEYS} keys.\n")
    print("| keys | written out ms | float32 SDPA ms | written / SDPA |\n|---:|---:|---:|---:|")
    for keys in KEYS:
        a, b = attention_ms(written, keys), attention_ms(float32_sdpa, keys)
        print(f"| {keys} | {a:.2f} | {b:.2f} | {a / b:.2f} |", flush=True)
    print(
        "\n| recipe | float32 it/s | bfloat16, written out | bfloat16, by keys "
        "| by keys / float32 |"
    )
    print("|---|---:|---:|---:|---:|")
    for path in RECIPES:
        r = recipe_rates(path, args.rounds)
        a, b, c = r["float32"], r["bfloat16, written out"], r["bfloat16, by keys"]
        print(f"| {path} | {a:.2f} | {b:.2f} | {c:.2f} | {c / a:.2f} |", flush=True)


if __name__ == "__main__":
    main()
