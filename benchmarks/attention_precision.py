"""Why attention runs in float32 under CPU autocast (`iai.models.set_transformer.attention`):
the time of scaled_dot_product_attention's kernels (forward and backward) in one bfloat16
training iteration of configs/linreg-d8.toml, with attention left to autocast (bfloat16)
and as the library runs it (float32), by torch.profiler, one thread.

    OMP_NUM_THREADS=1 python benchmarks/attention_precision.py \
        > benchmarks/results/precision/attention.md
"""

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

import iai.models.set_transformer as st
from common.command import markdown_header
from iai.config import load_config
from iai.experiment import build
from iai.training.loop import iterations

ITERATIONS, WARMUP = 3, 2


def attention_ms(in_float32: bool) -> tuple[float, float]:
    """(ms of attention kernels, ms of the whole iteration), each per iteration."""
    cfg = load_config("configs/linreg-d8.toml", ["train.precision=bfloat16"])
    learner, prior = build(cfg)
    run = iterations(cfg, learner, prior)
    library = st.attention
    st.attention = library if in_float32 else F.scaled_dot_product_attention
    try:
        for _ in range(WARMUP):
            next(run)
        with profile(activities=[ProfilerActivity.CPU]) as p:
            for _ in range(ITERATIONS):
                next(run)
    finally:
        st.attention = library
    events = p.key_averages()
    sdpa = sum(e.self_cpu_time_total for e in events if "scaled_dot_product" in e.key)
    total = sum(e.self_cpu_time_total for e in events)
    return sdpa / 1e3 / ITERATIONS, total / 1e3 / ITERATIONS


def main() -> None:
    torch.set_num_threads(1)
    print(markdown_header())
    print("\n# Attention in a bfloat16 training iteration of configs/linreg-d8.toml\n")
    print(f"torch {torch.__version__}, one thread, {ITERATIONS} profiled iterations each\n")
    print("| attention | its kernels, ms / iteration | whole iteration, ms |")
    print("|---|---:|---:|")
    rows = {"bfloat16 (autocast's)": attention_ms(False), "float32 (iai's)": attention_ms(True)}
    for name, (a, total) in rows.items():
        print(f"| {name} | {a:.0f} | {total:.0f} |")
    (a16, _), (a32, _) = rows.values()
    print(f"\nbfloat16 attention takes {a16 / a32:.1f} × as long as float32 attention.")


if __name__ == "__main__":
    main()
