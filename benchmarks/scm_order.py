"""Causal order from samples: D_top of the order learner per step beside classical orders.

On fresh SCMs of each setting (the learner's prior, then its sub-kinds and its shifts) the
learner reads 64 samples a step (`iai.order_steps`); the baselines read the same samples
all at once: those IAI has read by step 10 (640) and by step 40 (2,560, past the trained
horizon of 10 steps); the one-step counterpart (`--onestep`) reads the first 64·k samples in
one step, the data IAI has read by step k. Every figure is a mean over the tasks ± its
standard error; "vs IAI@10" is the paired difference method − IAI at step 10 on the same
tasks (positive: IAI better).
A last table times ordering 10⁴ samples of 20-variable SCMs, IAI beside DirectLiNGAM.
`--large` instead reads 10⁴ samples of each in-distribution SCM (157 steps, far past the
trained horizon of 10), the baselines all 10⁴ at once, into scm-order-large.{md,json}.

    OMP_NUM_THREADS=1 python benchmarks/scm_order.py checkpoints/scm-order \
        --onestep checkpoints/scm-order-onestep --out benchmarks/results/scm-order
    OMP_NUM_THREADS=1 python benchmarks/scm_order.py runs/scm-order --tasks 20 --no-lingam \
        --out runs/scm-order-quick        (a quick look)
    OMP_NUM_THREADS=1 python benchmarks/scm_order.py checkpoints/scm-order \
        --onestep checkpoints/scm-order-onestep --large --out benchmarks/results/scm-order
"""

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch

import iai
from common.command import markdown_header, with_command
from iai.evaluation.order_baselines import (
    direct_lingam,
    ges_order,
    order_metrics,
    r2_sort,
    random_order,
    var_sort,
)
from iai.tasks import make_prior

B, STEPS = 64, (1, 2, 5, 10, 40)
# setting -> the learner's task config changed to it
SETTINGS = {
    "in distribution": {},
    "id: linear, Gaussian": {"mechanisms": ("linear",), "noises": ("gaussian",)},
    "id: linear, Laplace": {"mechanisms": ("linear",), "noises": ("laplace",)},
    "id: linear, uniform": {"mechanisms": ("linear",), "noises": ("uniform",)},
    "id: nonlinear": {"mechanisms": ("nonlinear",)},
    "ood: scale-free graphs": {"graphs": ("sf",)},
    "ood: linear, Gumbel (skewed) noise": {"mechanisms": ("linear",), "noises": ("gumbel",)},
    "ood: raw (not standardized)": {"standardize": False},
    "ood: d = 20": {"dim": 20},
}


def mean_se(v: torch.Tensor) -> tuple[float, float]:
    v = v.double()
    return v.mean().item(), (v.std() / len(v) ** 0.5).item()


def rows_of(
    learner, onestep, cfg, n_tasks: int, seed: int, lingam: bool, steps=STEPS, seen=None
) -> list[dict]:
    """Every method's D_top and leaf error on n_tasks fresh SCMs of cfg (`onestep`: the
    one-step learner, or None); the baselines read the first `seen` samples (default: those
    of steps 10 and 40), GES (with DirectLiNGAM, the `causal` extra) the first of them only,
    as its search costs most."""
    prior = make_prior(cfg)
    N = seen[-1] if seen else B * max(steps)
    tasks = prior.sample(n_tasks, N, 0, generator=torch.Generator().manual_seed(seed))
    x, A = tasks.x_train, tasks.y_query
    results = {}
    orders = iai.order_steps(learner, x, batch_size=B, steps=steps)  # (S, T, d)
    for k, o in zip(steps, orders, strict=True):
        results[(f"IAI step {k}", min(B * k, N))] = order_metrics(o, A)
    if onestep is not None:  # one step over the first 64·k samples at once
        for k in steps:
            o = iai.order_steps(onestep, x[:, : B * k], batch_size=B * k, steps=[1])[0]
            results[(f"one-step, {min(B * k, N)} at once", min(B * k, N))] = order_metrics(o, A)
    g = torch.Generator().manual_seed(seed + 1)
    results[("random order", 0)] = order_metrics(random_order(x, generator=g), A)
    methods = {"var-sort": var_sort, "R²-sort": r2_sort}
    if lingam:
        methods["DirectLiNGAM"] = direct_lingam
    seen = seen or (10 * B, 40 * B)
    for n in seen:
        for name, fn in methods.items():
            results[(name, n)] = order_metrics(fn(x[:, :n]), A)
    if lingam:
        results[("GES (BIC)", seen[0])] = order_metrics(ges_order(x[:, : seen[0]]), A)
    ref = results[("IAI step 10", 10 * B)]["d_top"]
    rows = []
    for (name, n), m in results.items():
        row = {"method": name, "samples": n}
        for key in ("d_top", "leaf_error"):
            row[key], row[f"{key}_se"] = mean_se(m[key])
        row["vs_iai10"], row["vs_iai10_se"] = mean_se(m["d_top"] - ref)
        rows.append(row)
    return rows


def timing(learner, n_tasks: int, lingam: bool) -> dict:
    """Seconds to order n_tasks SCMs of 20 variables from 10⁴ samples each."""
    cfg = replace(learner.prior.cfg, dim=20)
    x = make_prior(cfg).sample(n_tasks, 10_000, 0, generator=torch.Generator().manual_seed(99))
    x = x.x_train
    out = {"tasks": n_tasks, "samples": 10_000, "dim": 20}
    start = time.perf_counter()
    iai.order_steps(learner, x, batch_size=B, steps=[-(-10_000 // B)])
    out["iai_seconds"] = time.perf_counter() - start
    if lingam:
        start = time.perf_counter()
        direct_lingam(x)
        out["lingam_seconds"] = time.perf_counter() - start
        out["ratio"] = out["lingam_seconds"] / out["iai_seconds"]
    return out


def table(name: str, rows: list[dict]) -> list[str]:
    lines = [
        f"### {name}",
        "",
        "| method | samples | D_top | leaf error | vs IAI@10 (D_top) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['samples']} | {r['d_top']:.3f} ± {r['d_top_se']:.3f} | "
            f"{r['leaf_error']:.3f} ± {r['leaf_error_se']:.3f} | "
            f"{r['vs_iai10']:+.3f} ± {r['vs_iai10_se']:.3f} |"
        )
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", nargs="?", default="checkpoints/scm-order")
    parser.add_argument("--onestep", help="the one-step counterpart's checkpoint")
    parser.add_argument("--tasks", type=int, default=200, help="fresh SCMs per setting")
    parser.add_argument("--timing-tasks", type=int, default=10)
    parser.add_argument("--no-lingam", action="store_true", help="skip DirectLiNGAM and GES")
    parser.add_argument("--out", default="benchmarks/results/scm-order")
    parser.add_argument("--large", action="store_true", help="10⁴ samples, in distribution")
    args = parser.parse_args()
    learner, lingam = iai.load(args.checkpoint), not args.no_lingam
    onestep = iai.load(args.onestep) if args.onestep else None
    base = learner.prior.cfg
    report = {
        "checkpoint": args.checkpoint,
        "onestep": args.onestep,
        "tasks": args.tasks,
        "settings": {},
    }
    lines = [markdown_header(), "", f"# Causal order: {args.checkpoint}, {args.tasks} SCMs", ""]
    if args.large:
        return large(learner, onestep, base, args, report, lines, lingam)
    for i, (name, change) in enumerate(SETTINGS.items()):
        rows = rows_of(learner, onestep, replace(base, **change), args.tasks, 1000 + i, lingam)
        report["settings"][name] = rows
        lines += table(name, rows)
        print(f"{name}: done", flush=True)
    report["timing"] = t = timing(learner, args.timing_tasks, lingam)
    lines += [
        "### Time to order 10⁴ samples of a 20-variable SCM",
        "",
        f"{t['tasks']} SCMs: IAI (all {-(-10_000 // B)} steps of 64) {t['iai_seconds']:.2f} s"
        + (f", DirectLiNGAM {t['lingam_seconds']:.2f} s (ratio {t['ratio']:.1f})" if lingam else "")
        + ", one CPU thread.",
        "",
    ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scm-order.md").write_text("\n".join(lines))
    (out / "scm-order.json").write_text(json.dumps(with_command(report), indent=1) + "\n")


def large(learner, onestep, base, args, report, lines, lingam) -> None:
    """The in-distribution SCMs read to 10⁴ samples (157 steps); baselines on all of them."""
    K = -(-10_000 // B)
    rows = rows_of(learner, onestep, base, args.tasks, 2000, lingam, (1, 10, 40, K), (640, 10_000))
    report["settings"]["10⁴ samples"] = rows
    lines += table(f"in distribution, 10⁴ samples ({K} steps)", rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scm-order-large.md").write_text("\n".join(lines))
    (out / "scm-order-large.json").write_text(json.dumps(with_command(report), indent=1) + "\n")


if __name__ == "__main__":
    main()
