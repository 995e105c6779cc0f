"""The linear-regression row of the taxonomy, every committed learner on the same tasks.

Each checkpoints/linreg-d8* learner is evaluated on the same 1,000 tasks and mini-batches of
16 points, in distribution and under two shifts, beside the exact Bayes-optimal predictor.
IAI learners take step k on mini-batch k; the one-step learners (hypernetwork, ICL, CNP) read
the first 16·k points at once for each k (their configs' eval.mode = "context"). Also timed:
the seconds each takes to adapt to all 16 mini-batches on one thread.

    python benchmarks/taxonomy_row.py > benchmarks/results/taxonomy-row/row.md   (+ row.json)
"""

import json
from dataclasses import dataclass, replace
from pathlib import Path

import torch

import iai
from iai.evaluation.evaluate import evaluate
from iai.evaluation.results import EvalResult, describe

ROW = {  # checkpoint suffix -> what it is
    "": "parametric IAI, data + grad (width 128)",
    "-data": "parametric IAI, data",
    "-grad": "learned optimizer (parametric, grad)",
    "-explicit": "explicit IAI, data + grad",
    "-implicit": "implicit IAI",
    "-maml": "MAML (second order)",
    "-metasgd": "Meta-SGD (second order, α per parameter)",
    "-onestep": "hypernetwork (one step)",
    "-icl": "ICL / PFN (one step)",
    "-cnp": "CNP (one step)",
}
VARIANTS, STEPS, TASKS, B, SHOW = ("id", "shift_x", "noisy"), 16, 1000, 16, (1, 2, 4, 8, 16)
OUT = Path("benchmarks/results/taxonomy-row")


@dataclass(frozen=True)
class Entry:
    """One learner of the row: its label, its parameter count and its results per variant."""

    label: str
    params: int
    results: list[EvalResult]

    def to_json(self) -> dict:
        return {
            "label": self.label,
            "params": self.params,
            "results": [r.to_json() for r in self.results],
        }

    @staticmethod
    def from_json(data: dict) -> "Entry":
        return Entry(
            data["label"], data["params"], [EvalResult.from_json(r) for r in data["results"]]
        )


def measure(tasks: int = TASKS, steps: int = STEPS, row: dict[str, str] = ROW) -> dict[str, Entry]:
    """Evaluate every committed learner of `row` (those whose checkpoint exists) on `tasks`
    tasks, `steps` mini-batches of B points, each variant; no tuned optimizers."""
    entries = {}
    for suffix, label in row.items():
        path = Path(f"checkpoints/linreg-d8{suffix}")
        if not path.exists():
            continue
        learner = iai.load(path)
        ecfg = replace(learner.config.eval, tasks=tasks, steps=steps, baselines=False, batch_size=B)
        results = [evaluate(learner, ecfg, v) for v in VARIANTS]
        entries[suffix] = Entry(label, sum(p.numel() for p in learner.parameters()), results)
    return entries


def load(path: Path = OUT / "row.json") -> dict[str, Entry]:
    """The committed row (row.json)."""
    return {k: Entry.from_json(v) for k, v in json.loads(path.read_text()).items()}


def tables(entries: dict[str, Entry], title=lambda variant: f"## {variant}") -> list[str]:
    """A markdown table per variant, under `title(variant)`: the Bayes-optimal MSE, then each
    learner's MSE ± s.e. at the SHOW steps (or the share of tasks on which it diverged), its
    adaptation seconds and its parameter count."""
    lines = []
    first = next(iter(entries.values()))
    for i, variant in enumerate(VARIANTS):
        r0 = first.results[i]
        head = [
            "method",
            *[f"k={k}" for k in SHOW],
            f"adapt s ({r0.steps} steps, {r0.tasks} tasks)",
            "params",
        ]
        lines += [title(variant), "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        bayes = r0.curve("bayes", "mse")
        lines.append(
            "| Bayes-optimal | " + " | ".join(f"{bayes.mean[k]:.3f}" for k in SHOW) + " | | |"
        )
        for e in entries.values():
            res = e.results[i]
            m = res.curve("iai", "mse")
            cells = [describe(m, k, ".3f", ".3f") for k in SHOW]  # or diverged (f % of tasks)
            cells += [f"{res.seconds['iai']:.2f}", f"{e.params:,}"]
            lines.append(f"| {e.label} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def markdown(entries: dict[str, Entry]) -> str:
    n = next(iter(entries.values())).results[0].tasks
    return "\n".join(
        [
            "# The linear-regression row: every method on the same tasks (d = 8, B = 16)",
            "",
            f"MSE on {n:,} tasks (mean ± s.e.), step k = after k mini-batches of 16 points, or "
            "one step over the first 16·k points for the one-step learners; trained for 8 "
            "steps (128 points). `python benchmarks/taxonomy_row.py`",
            "",
            *tables(entries),
        ]
    )


def main() -> None:
    torch.set_num_threads(1)
    entries = measure()
    (OUT / "row.json").write_text(json.dumps({k: e.to_json() for k, e in entries.items()}))
    print(markdown(entries))


if __name__ == "__main__":
    main()
