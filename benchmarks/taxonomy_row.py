"""The linear-regression row of the taxonomy, every committed learner on the same tasks.

Each checkpoints/linreg-d8* learner is evaluated on the same 1,000 tasks and mini-batches of
16 points, in distribution and under two shifts, beside the exact Bayes-optimal predictor.
IAI learners take step k on mini-batch k; the one-step learners (hypernetwork, ICL, CNP) read
the first 16·k points at once for each k (their configs' eval.mode = "context"). Also timed:
the seconds each takes to adapt to all 16 mini-batches on one thread.

    python benchmarks/taxonomy_row.py > benchmarks/results/taxonomy-row/row.md   (+ row.json)

(bash benchmarks/taxonomy_row.sh trains the checkpoints it reads)
"""

import json
from dataclasses import replace
from pathlib import Path

import torch

import iai
from common.command import markdown_header, with_command
from common.taxonomy import VARIANTS, Entry, tables
from iai.evaluation.evaluate import evaluate

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
STEPS, TASKS, B = 16, 1000, 16
OUT = Path("benchmarks/results/taxonomy-row")


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


def markdown(entries: dict[str, Entry]) -> str:
    n = next(iter(entries.values())).results[0].tasks
    return "\n".join(
        [
            markdown_header(),
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
    (OUT / "row.json").write_text(
        json.dumps(with_command({k: e.to_json() for k, e in entries.items()}))
    )
    print(markdown(entries))


if __name__ == "__main__":
    main()
