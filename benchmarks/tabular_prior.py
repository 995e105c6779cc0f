"""The shipped tabular learners on fresh tasks of their own prior, by table width: what the
learned update adds over recursive least squares with a fixed prior, and what a step costs.

    python benchmarks/tabular_prior.py   # -> benchmarks/results/tabular-prior/prior.md, prior.json

Three learners read the same tasks (B = 32, the shipped learners' batch size):
- shipped: iai/pretrained/tabular-* (h_φ sets each coordinate's prior precision per task);
- fixed prior: the same weights with h_φ's output layer zeroed, so every task gets the
  learned starting precisions α₀ of each group and no correction: RLS / online Newton with
  one prior learned for the whole prior of tasks;
- untrained: a fresh learner (α₀ at its initial values, no h_φ): RLS with a hand-set prior.
The objective's metrics on held-out queries (MSE of standardized targets; error % and NLL
for classification) after 1, 2, 4, 8 steps (the trained horizon) and 16 steps (2× beyond
it), 128 tasks per width, mean ± s.e. over tasks. Then the time to read 1,024 rows of one
task (one thread, float64, as iai.sklearn runs) at widths 1, 20 and 100.
"""

import copy
import json
import time
from pathlib import Path

import torch

import iai
from common.command import markdown_header, with_command
from iai.learners.tabular import TabularConfig, TabularLearner
from iai.rollout import minibatches, rollout
from iai.tasks.config import TaskConfig
from iai.tasks.tabular import Tabular

OUT = Path("benchmarks/results/tabular-prior")
WIDTHS = (1, 5, 20, 50, 100)
STEPS = (1, 2, 4, 8, 16)
TASKS, CHUNK, B = 128, 32, 32
MAIN = {"regression": "mse", "classification": "nll"}  # what the verdict compares
NAMES = {"mse": "MSE", "error": "error %", "nll": "NLL (cross-entropy)"}


def shipped_learner(kind: str) -> torch.nn.Module:
    return iai.load(Path(iai.__file__).parent / "pretrained" / f"tabular-{kind}")


def learners(kind: str) -> dict[str, torch.nn.Module]:
    shipped = shipped_learner(kind)
    fixed = copy.deepcopy(shipped)
    torch.nn.init.zeros_(fixed.decode[-1].weight)
    torch.nn.init.zeros_(fixed.decode[-1].bias)
    torch.manual_seed(0)
    untrained = TabularLearner(TabularConfig(), shipped.dim, shipped.objective)
    return {"shipped": shipped, "fixed prior": fixed, "untrained": untrained}


def metrics(learner, tasks) -> dict[str, torch.Tensor]:
    """The objective's per-task metrics after each of STEPS: name -> (len(STEPS), T)."""
    outs = list(rollout(learner, minibatches(tasks.x_train, tasks.y_train, B), tasks.x_query))
    out = torch.stack([outs[k] for k in STEPS])
    return learner.objective.task_metrics(out, tasks.y_query)


def quality(kind: str) -> dict:
    models, result = learners(kind), {}
    for d in WIDTHS:
        sizes = {"classes": 10} if kind == "classification" else {}
        prior = Tabular(TaskConfig(name=f"tabular_{kind}", dim=100, **sizes), features=d)
        g = torch.Generator().manual_seed(d)
        parts: dict[str, dict[str, list]] = {}
        for _ in range(TASKS // CHUNK):
            tasks = prior.sample(CHUNK, B * max(STEPS), 256, generator=g)
            for name, model in models.items():
                for metric, v in metrics(model, tasks).items():
                    parts.setdefault(name, {}).setdefault(metric, []).append(v)
        result[d] = {
            name: {
                metric: {
                    "mean": torch.cat(v, 1).mean(1).tolist(),
                    "se": (torch.cat(v, 1).std(1) / TASKS**0.5).tolist(),
                }
                for metric, v in per.items()
            }
            for name, per in parts.items()
        }
        print(
            kind, d, {n: [round(x, 3) for x in r[MAIN[kind]]["mean"]] for n, r in result[d].items()}
        )
    return result


def cost(kind: str) -> dict:
    learner = shipped_learner(kind).double()
    seconds = {}
    for d in (1, 20, 100):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(1, 1024, d, generator=g, dtype=torch.float64)
        y = (
            torch.randn(1, 1024, dtype=torch.float64)
            if kind == "regression"
            else (torch.randint(0, 10, (1, 1024), generator=g))
        )
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            with torch.inference_mode():
                state = learner.init(x[:, :1])
                for i in range(0, 1024, B):
                    state = learner.step(state, x[:, i : i + B], y[:, i : i + B])
            runs.append(time.perf_counter() - start)
        seconds[d] = sorted(runs)[1]  # the median of 3
    return seconds


def table(kind: str, result: dict) -> list[str]:
    lines = []
    for metric in next(iter(next(iter(result.values())).values())):
        what = NAMES[metric]
        lines += [
            f"\n### {kind}: {what} after k steps of 32 rows (mean ± s.e., {TASKS} tasks)\n",
            "| features | learner | " + " | ".join(f"k = {k}" for k in STEPS) + " |",
            "|---|---|" + "---|" * len(STEPS),
        ]
        for d, per in result.items():
            for name, r in per.items():
                cells = [
                    f"{m:.3f} ± {s:.3f}"
                    for m, s in zip(r[metric]["mean"], r[metric]["se"], strict=True)
                ]
                lines.append(f"| {d} | {name} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    report = {
        kind: {"quality": quality(kind), "seconds": cost(kind)}
        for kind in ("regression", "classification")
    }
    lines = [
        markdown_header(),
        "# The tabular learners on their own prior\n",
        __doc__.split("\n\n")[2].strip(),
    ]
    for kind, r in report.items():
        lines += table(kind, r["quality"])
        better = sum(
            r["quality"][d]["shipped"][MAIN[kind]]["mean"][-2]
            < r["quality"][d]["fixed prior"][MAIN[kind]]["mean"][-2]
            for d in WIDTHS
        )
        lines.append(
            f"\nshipped below fixed prior in {NAMES[MAIN[kind]]} at k = 8 on {better} of "
            f"{len(WIDTHS)} widths"
        )
        lines.append(
            "\nseconds to read 1,024 rows of one task: "
            + ", ".join(f"{d} features {s:.3f}" for d, s in r["seconds"].items())
        )
    (OUT / "prior.md").write_text("\n".join(lines) + "\n")
    (OUT / "prior.json").write_text(json.dumps(with_command(report), indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
