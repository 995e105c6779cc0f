"""Evaluation results as a markdown table, a JSON file and a PNG plot of error against step."""

import json
from pathlib import Path

METHODS = ("iai", "bayes", "sgd", "adam", "sgd_online", "adam_online", "prior")
LABELS = {
    "iai": "IAI",
    "bayes": "Bayes-optimal",
    "sgd": "SGD, converged",
    "adam": "Adam, converged",
    "sgd_online": "SGD, 1 update/batch",
    "adam_online": "Adam, 1 update/batch",
    "prior": "prior θ⁽⁰⁾",
}


def _cell(summary: dict, k: int) -> str:
    return f"{summary['mean'][k]:.4g} ± {summary['se'][k]:.2g}"


def table(result: dict, metric: str) -> str:
    """One markdown table: a row per step, a column per method (mean ± standard error)."""
    methods = [m for m in METHODS if m in result["methods"]]
    ratio = "bayes" in methods
    head = ["step", "points"] + [LABELS[m] for m in methods] + (["IAI / Bayes"] if ratio else [])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k in range(result["steps"] + 1):
        row = [str(k), str(k * result["batch_size"])]
        row += [_cell(result["methods"][m][metric], k) for m in methods]
        if ratio:
            a, b = (
                result["methods"]["iai"][metric]["mean"][k],
                result["methods"]["bayes"][metric]["mean"][k],
            )
            row.append(f"{a / b:.3f}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def markdown(results: list[dict]) -> str:
    parts = []
    for r in results:
        for metric in r["methods"]["iai"]:
            where = "in distribution" if r["variant"] == "id" else f"OoD: {r['variant']}"
            title = f"### {r['task']['name']}, {where}: {metric} over {r['tasks']} tasks"
            parts.append(f"{title}, B = {r['batch_size']}\n\n{table(r, metric)}")
        if r["tuned_lr"]:
            rates = ", ".join(f"{k}: {v}" for k, v in r["tuned_lr"].items())
            parts.append(f"Learning rates chosen per step on separate tasks: {rates}")
    return "\n\n".join(parts) + "\n"


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3.4), squeeze=False)
    for ax, r in zip(axes[0], results, strict=True):
        metric = next(iter(r["methods"]["iai"]))
        for m in METHODS:
            if m in r["methods"]:
                s = r["methods"][m][metric]
                ax.errorbar(
                    range(len(s["mean"])), s["mean"], yerr=s["se"], label=LABELS[m], capsize=2
                )
        ax.set_yscale("log")
        ax.set_xlabel("step k (mini-batches seen)")
        ax.set_ylabel(metric)
        ax.set_title(r["variant"] if r["variant"] != "id" else "in distribution")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(results[0]["task"]["name"])
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write(results: list[dict], out: Path) -> str:
    """Write eval.json, eval.md and eval.png under `out`; returns the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(results)
    (out / "eval.json").write_text(json.dumps(results, indent=1))
    (out / "eval.md").write_text(text)
    plot(results, out / "eval.png")
    return text
