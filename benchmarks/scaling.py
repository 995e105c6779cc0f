"""Adaptation cost against dataset size: IAI reads N points as N / B mini-batches, a one-step
full-context model reads all N at once.

Linear regression, d = 8, B = 16, N = 2⁸ … 2¹⁸, 16 tasks of 128 queries, one CPU thread.
Each (method, N) runs in a fresh process. IAI reads the points as a stream of mini-batches
generated one at a time (as from a file or a DataLoader; `prior.points` draws each from the
tasks' weights) and adapted to by `iai.rollout.adapt_stream`, so it never holds the data set; a
one-step model must hold all N points at once, so they are generated (the same points, from
the same seeded stream) and concatenated first. Timed: the adaptation from data to query
predictions under torch.inference_mode, data generation included for both. Memory: the
process's peak resident memory during adaptation above what it held after loading the learner
(the kernel's high-water mark is reset through /proc/self/clear_refs). Beside each error is
the exact Bayes-optimal error on the very same points, computed after the clock has stopped
from the stream generated again from its seed. A one-step model stops when its previous N
took more than BUDGET seconds (its next would take about 4 times as long).

    python benchmarks/scaling.py > benchmarks/results/scaling/scaling.md   (+ scaling.png, .json)
    python benchmarks/scaling.py --report    (re-prints the committed scaling.json)
    python benchmarks/scaling.py --method NAME    (re-measures one method into scaling.json)
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from common.command import command, markdown_header, with_command, without_command

METHODS = {  # name -> (checkpoint, how it reads N points, width)
    "parametric IAI": ("checkpoints/linreg-d8", "steps", 128),
    "parametric IAI, width 64": ("checkpoints/linreg-d8-data", "steps", 64),
    "parametric IAI, curvature memory": ("checkpoints/linreg-d8-memory", "steps", 64),
    "learned optimizer": ("checkpoints/linreg-d8-grad", "steps", 64),
    "implicit IAI": ("checkpoints/linreg-d8-implicit", "steps", 64),
    "ICL / PFN (one step)": ("checkpoints/linreg-d8-icl", "context", 64),
    "CNP (one step)": ("checkpoints/linreg-d8-cnp", "context", 64),
    # the width of checkpoints/linreg-d8, built untrained from the ICL recipe: its cost is that
    # of a trained one (time and memory do not depend on the weights), its error meaningless
    "ICL / PFN, width 128 (untrained: cost only)": ("configs/linreg-d8-icl.toml", "context", 128),
    # the token-state learner (issue 21) at the same width, built untrained: cost only
    "tokens, width 128 (untrained: cost only)": ("configs/linreg-d8-latents.toml", "steps", 128),
}
SIZES = [2**i for i in range(8, 19)]
TASKS, QUERIES, B, BUDGET = 16, 128, 16, 120.0
OUT = Path("benchmarks/results/scaling")


def _status(key: str) -> int:
    """A /proc/self/status field in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def child(name: str, n: int) -> dict:
    """Adapt one method to N points; runs in its own process."""
    import iai
    from iai.config import load_config
    from iai.experiment import build
    from iai.rollout import adapt_stream

    torch.set_num_threads(1)
    path, mode, width = METHODS[name]
    trained = not path.endswith(".toml")
    if trained:
        learner = iai.load(path)
    else:
        learner = build(load_config(path, [f"learner.width={width}"]))[0].eval()
    prior, objective = learner.prior, learner.objective
    first = prior.sample(TASKS, B, QUERIES, generator=torch.Generator().manual_seed(n))
    w, xq = first.truth["w"], first.x_query  # (T, D + 1), (T, Q, D)

    def batches():
        """N / B mini-batches generated one at a time from a seeded stream: the same points on
        every call, so the Bayes reference re-reads them after the clock has stopped."""
        gen = torch.Generator().manual_seed(n + 1)
        yield first.x_train, first.y_train
        for _ in range(n // B - 1):
            yield prior.points(w, B, generator=gen)

    def context():
        """All N points at once, as a one-step model must hold them: one batch."""
        yield tuple(torch.cat(part, 1) for part in zip(*batches(), strict=True))

    iai.predict(learner, adapt_stream(learner, [(first.x_train, first.y_train)], xq), xq)
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS high-water mark
    before = _status("VmRSS")
    clock = time.perf_counter()
    state = adapt_stream(learner, batches() if mode == "steps" else context(), xq)
    pred = iai.predict(learner, state, xq)
    seconds = time.perf_counter() - clock
    peak = _status("VmHWM")
    xs, ys = next(context())
    bayes = objective.reference(xs, ys, xq)  # exact posterior mean on the very same points

    def mse(prediction: torch.Tensor) -> float:
        out = objective.outputs(prediction.double())
        return objective.task_metrics(out, first.y_query.double())["mse"].mean().item()

    return {
        "method": name,
        "n": n,
        "seconds": seconds,
        "peak_mb": (peak - before) / 2**20,  # above the loaded learner
        "process_peak_mb": peak / 2**20,  # the whole process, torch and the learner included
        "mse": mse(pred) if trained else None,
        "bayes_mse": mse(bayes),
    }


def slope(rows: list[dict], key: str, lo: int) -> float:
    """Least-squares exponent of `key` against N over the rows with N ≥ lo."""
    pts = [(r["n"], r[key]) for r in rows if r["n"] >= lo and r[key] > 0]
    if len(pts) < 2:
        return float("nan")
    n, v = np.log(np.array(pts)).T
    return float(np.polyfit(n, v, 1)[0])


def plot(results: dict[str, list[dict]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for name, rows in results.items():
        n = [r["n"] for r in rows]
        axes[0].loglog(n, [r["seconds"] for r in rows], "o-", label=name)
        axes[1].loglog(n, [max(r["peak_mb"], 0.1) for r in rows], "o-", label=name)
        if rows and rows[0]["mse"] is not None:
            axes[2].semilogx(n, [r["mse"] / r["bayes_mse"] for r in rows], "o-", label=name)
    for ax, title in zip(
        axes, ["adaptation seconds", "peak memory above start (MB)", "MSE / Bayes"], strict=True
    ):
        ax.set_xlabel("N points")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(OUT / "scaling.png", dpi=120)


def main() -> None:
    if "--report" in sys.argv:  # re-print the committed measurements, measure nothing
        data = json.loads((OUT / "scaling.json").read_text())
        report(without_command(data), data["command"])
        return
    results: dict[str, list[dict]] = {}
    names = list(METHODS)
    if "--method" in sys.argv:  # re-measure one method, keep the others' committed rows
        names = [sys.argv[sys.argv.index("--method") + 1]]
        results = without_command(json.loads((OUT / "scaling.json").read_text()))
        results[names[0]] = []
    for name in names:
        mode = METHODS[name][1]
        rows = results.setdefault(name, [])
        for n in SIZES:
            if mode == "context" and rows and rows[-1]["seconds"] > BUDGET:
                break
            cmd = [sys.executable, __file__, "--child", name, str(n)]
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            done = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if done.returncode:
                rows.append({"method": name, "n": n, "failed": done.stderr.strip()[-300:]})
                break
            rows.append(json.loads(done.stdout.splitlines()[-1]))
            print(f"{name} N={n}: {rows[-1]['seconds']:.2f} s", file=sys.stderr)
        results[name] = [r for r in rows if "failed" not in r]
        failed = [r for r in rows if "failed" in r]
        if failed:
            print(f"{name} stopped at N={failed[0]['n']}: {failed[0]['failed']}", file=sys.stderr)
    (OUT / "scaling.json").write_text(json.dumps(with_command(results), indent=1))
    plot(results)
    report(results, command())


def report(results: dict[str, list[dict]], cmd: str) -> None:
    """The markdown tables of `results`, under the command that measured them."""
    print(markdown_header(cmd))

    print("# Adaptation cost against N: linear regression, d = 8, B = 16\n")
    print(
        f"{TASKS} tasks, {QUERIES} queries each, one CPU thread, torch {torch.__version__}; "
        f"each cell a fresh process. `python benchmarks/scaling.py`. Seconds and peak memory "
        f"(resident, above the loaded learner) cover generating the points and adapting to "
        f"them: streamed for IAI, held all at once for the one-step models.\n"
    )
    print(
        "| method | N | seconds | peak MB above start | process peak MB | MSE | Bayes MSE "
        "| MSE / Bayes |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, rows in results.items():
        for r in rows:
            print(
                f"| {name} | {r['n']} | {r['seconds']:.3f} | {r['peak_mb']:.1f} | "
                f"{r['process_peak_mb']:.0f} | "
                + (
                    f"{r['mse']:.4f} | {r['bayes_mse']:.4f} | {r['mse'] / r['bayes_mse']:.3f} |"
                    if r["mse"] is not None
                    else f"untrained | {r['bayes_mse']:.4f} | - |"
                )
            )
    print("\n| method | time exponent (N ≥ 2¹²) | memory exponent (N ≥ 2¹²) | largest N |")
    print("|---|---|---|---|")
    for name, rows in results.items():
        t, m = slope(rows, "seconds", 2**12), slope(rows, "peak_mb", 2**12)
        print(f"| {name} | {t:.2f} | {m:.2f} | {rows[-1]['n'] if rows else '-'} |")
    iai_rows = {r["n"]: r for r in results["parametric IAI"]}
    lo, hi = iai_rows.get(2**12), iai_rows.get(2**18)
    if lo and hi:
        growth = hi["process_peak_mb"] / lo["process_peak_mb"] - 1
        print(
            f"\nParametric IAI process peak memory: {lo['process_peak_mb']:.1f} MB at N = 2^12, "
            f"{hi['process_peak_mb']:.1f} MB at 2^18 ({100 * growth:+.1f} %); above the loaded "
            f"learner {lo['peak_mb']:.2f} MB and {hi['peak_mb']:.2f} MB."
        )
    for n in (2**13, 2**15):
        for fast, fast_rows in results.items():
            for slow, slow_rows in results.items():
                a = {r["n"]: r for r in fast_rows}.get(n)
                b = {r["n"]: r for r in slow_rows}.get(n)
                (_, fast_mode, fast_w), (_, slow_mode, slow_w) = METHODS[fast], METHODS[slow]
                if fast_mode == "steps" and slow_mode == "context" and a and b:
                    ratio = b["seconds"] / a["seconds"]
                    same = " (same width)" if fast_w == slow_w else ""
                    print(f"At N = {n}, {fast} adapts {ratio:.1f}x faster than {slow}{same}.")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], int(sys.argv[3]))))
    else:
        main()
