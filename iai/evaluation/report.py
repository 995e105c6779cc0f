"""Evaluation results as a markdown table, a JSON file, a PNG plot of error against step, and
a short text summary (`str(result)`), each with the flags a reader should not miss.

A step where some tasks' error diverged (`iai.evaluation.results`) shows as `diverged (f % of
tasks)` in the tables and is left out of the plot."""

import json
from pathlib import Path

from iai.evaluation.results import (
    DIVERGENCE_FACTOR,
    LABELS,
    METHODS,
    REST_SHOWN_UP_TO,
    UNITS,
    Curve,
    EvalResult,
    describe,
    flags,
    ordered_methods,
    where,
)

# (color, line style, width) per method: the learner bold, the exact reference dashed
STYLES = {
    "iai": ("black", "-", 2.4),
    "bayes": ("tab:green", "--", 1.8),
    "sgd": ("tab:blue", ":", 1.6),
    "adam": ("tab:orange", ":", 1.6),
    "sgd_online": ("tab:blue", "-.", 1.1),
    "adam_online": ("tab:orange", "-.", 1.1),
    "prior": ("gray", "-", 0.8),
}


def _cell(c: Curve, k: int) -> str:
    return describe(c, k)


def _ratio(a: Curve, b: Curve, k: int) -> float | None:
    """a's mean over b's at step k, where neither diverged."""
    return a.mean[k] / b.mean[k] if a.ok(k) and b.ok(k) and b.mean[k] else None


def _points(c: Curve) -> list[float]:
    """The curve's means to plot, NaN (a gap) where tasks diverged."""
    return [c.mean[k] if c.ok(k) else float("nan") for k in range(len(c.mean))]


def table(r: EvalResult, metric: str) -> str:
    """One markdown table: a row per step, a column per method (mean ± standard error)."""
    methods = ordered_methods(r)
    ratio = "bayes" in methods
    head = ["step", "points"] + [LABELS.get(m, m) for m in methods]
    head += ["IAI / Bayes"] if ratio else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k in range(r.steps + 1):
        row = [str(k), str(k * r.batch_size)]
        row += [_cell(r.methods[m][metric], k) for m in methods]
        if ratio:
            ratio_k = _ratio(r.curve("iai", metric), r.curve("bayes", metric), k)
            row.append("-" if ratio_k is None else f"{ratio_k:.3f}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _diverged_note(r: EvalResult, metric: str) -> str:
    """A sentence for the table's title where some method diverged on some task."""
    if all(c.ok(k) for c in (r.methods[m][metric] for m in r.methods) for k in range(r.steps + 1)):
        return ""
    return (
        f". A task's error counts as diverged when it is not finite or above "
        f"{DIVERGENCE_FACTOR:,.0f} × the prior predictor's mean error; where some did, the "
        f"entry gives their share and the mean over the rest while at most "
        f"{REST_SHOWN_UP_TO:.0%} diverged"
    )


def sample_table(r: EvalResult) -> str:
    """A generative learner's result: a row per metric, a column per step sampled (mean ± s.e.
    over tasks), and the truth's own floor at this sample size."""
    steps = sorted({k for c in r.methods["iai"].values() for k in c.at()})
    head = ["metric", *(f"step {k}" for k in steps), "truth (floor)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for metric, c in r.methods["iai"].items():
        at = {k: describe(c, i) for i, k in enumerate(c.at())}
        floor = r.methods["truth"].get(metric)
        row = [UNITS.get(metric, metric), *(at.get(k, "") for k in steps)]
        lines.append("| " + " | ".join([*row, describe(floor, 0) if floor else "-"]) + " |")
    return "\n".join(lines)


def _sample_markdown(r: EvalResult) -> str:
    title = (
        f"### {r.task['name']}, {where(r)}: the learner's samples against as many fresh true "
        f"samples (lower is better), mean ± s.e. over {r.tasks} tasks; step k has read k "
        f"mini-batches of B = {r.batch_size} points"
    )
    return f"{title}\n\n{sample_table(r)}"


def markdown(results: list[EvalResult]) -> str:
    parts = []
    for r in results:
        if r.scores == "samples":
            parts.append(_sample_markdown(r))
        for metric in r.metrics if r.scores == "predictions" else ():
            title = (
                f"### {r.task['name']}, {where(r)}: {UNITS.get(metric, metric)} (lower is "
                f"better), mean ± s.e. over {r.tasks} tasks; step k has read k mini-batches of "
                f"B = {r.batch_size} points{_diverged_note(r, metric)}"
            )
            parts.append(f"{title}\n\n{table(r, metric)}")
        if r.tuned_lr:
            rates = ", ".join(f"{k}: {v}" for k, v in r.tuned_lr.items())
            parts.append(f"Learning rates chosen per step on separate tasks: {rates}")
        found = "\n".join(f"- {f}" for f in flags(r))
        parts.append(f"**Flags**:\n\n{found}" if found else "**Flags**: none")
    return "\n\n".join(parts) + "\n"


def plot(results: list[EvalResult], path: Path) -> None:
    """One column per distribution: the primary metric against the step (top) and, where the
    family has an exact reference, each method's ratio to it (bottom, 1 = Bayes-optimal)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, NullFormatter, ScalarFormatter

    if any(r.scores == "samples" for r in results):
        return _sample_plot(results, path)
    rows = 2 if all("bayes" in r.methods for r in results) else 1
    fig, axes = plt.subplots(
        rows, len(results), figsize=(max(4.2 * len(results), 8.4), 3.3 * rows + 0.9), squeeze=False
    )
    for col, r in enumerate(results):
        metric, steps = r.metric, range(r.steps + 1)
        ax = axes[0][col]
        for m in METHODS:
            if m in r.methods:
                color, style, width = STYLES[m]
                points = _points(r.curve(m))
                ax.plot(steps, points, style, color=color, lw=width, label=LABELS[m])
        ax.set_yscale("log")
        ax.set_title(where(r), fontsize=10)
        ax.set_ylabel(f"{UNITS.get(metric, metric)} (log scale)")
        ax.grid(alpha=0.3, which="both")
        if rows == 2:
            ax = axes[1][col]
            bayes = r.curve("bayes")
            for m in METHODS:
                if m in r.methods and m not in ("bayes", "prior"):
                    color, style, width = STYLES[m]
                    ratio = [_ratio(r.curve(m), bayes, k) for k in steps[1:]]
                    ratio = [float("nan") if q is None else q for q in ratio]
                    ax.plot(steps[1:], ratio, style, color=color, lw=width)
            ax.axhline(1.0, color=STYLES["bayes"][0], ls="--", lw=1.2)
            ax.set_yscale("log")
            top = ax.get_ylim()[1]
            ax.set_yticks([t for t in (1, 1.25, 1.5, 2, 3, 5, 10, 20, 50, 100) if t <= top])
            ax.yaxis.set_major_formatter(ScalarFormatter())
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_ylim(0.95, top)
            ax.set_ylabel(f"{UNITS.get(metric, metric)} / exact Bayes (1 = optimal)")
            ax.grid(alpha=0.3, which="both")
        axes[-1][col].set_xlabel(f"step k (mini-batches of {r.batch_size} points read)")
        for ax in axes[:, col]:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=9)
    fig.suptitle(
        f"{results[0].task['name']}: error after each mini-batch, {results[0].tasks} tasks"
    )
    fig.tight_layout(rect=(0, 0.1 if len(labels) > 4 else 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _sample_plot(results: list[EvalResult], path: Path) -> None:
    """One panel per distribution: the learner's energy distance against the step sampled,
    and the truth's floor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.6), squeeze=False)
    for ax, r in zip(axes[0], results, strict=True):
        c, floor = r.curve("iai", "energy"), r.curve("truth", "energy")
        ax.plot(c.at(), _points(c), "o-", color="black", lw=2, label="IAI")
        ax.axhline(floor.mean[0], color="tab:green", ls="--", label="truth (floor)")
        ax.set_title(where(r), fontsize=10)
        ax.set_xlabel(f"step k (mini-batches of {r.batch_size} samples read)")
        ax.set_ylabel("energy distance")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=9)
    fig.suptitle(f"{results[0].task['name']}: sample quality after each step")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: list[EvalResult], out: Path) -> str:
    """Write eval.json, eval.md and eval.png under `out`; returns the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(results)
    (out / "eval.json").write_text(json.dumps([r.to_json() for r in results], indent=1))
    (out / "eval.md").write_text(text)
    plot(results, out / "eval.png")
    return text
