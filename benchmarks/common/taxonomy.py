"""The linear-regression row of the taxonomy as benchmarks/taxonomy_row.py writes it
(row.json): its entries, how they are read back and tabled (by docs/results.md's generator too)."""

import json
from dataclasses import dataclass
from pathlib import Path

from common.command import without_command
from iai.evaluation.results import EvalResult, describe

VARIANTS, SHOW = ("id", "shift_x", "noisy"), (1, 2, 4, 8, 16)


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


def load(path: Path) -> dict[str, Entry]:
    """The committed row (row.json)."""
    return {k: Entry.from_json(v) for k, v in without_command(json.loads(path.read_text())).items()}


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
