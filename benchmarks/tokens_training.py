"""How the token-state learners trained (issue 21): each run's training loss after its last
step and its gradient norm, early and late, from the runs' own logs (runs/<grid>/<cell>/ and
runs/full-gp-*/, written by `bash benchmarks/grid.sh configs/grid/tokens*.toml` and
`bash benchmarks/gp_tokens.sh`). Why: where a learner ends near its prior's error, this says
whether it stalled (gradients near zero: a plateau) or was still learning when the budget ran
out.

    python benchmarks/tokens_training.py > benchmarks/results/tokens-training/training.md
"""

import json
from pathlib import Path

from common.command import markdown_header

RUNS = Path(__file__).resolve().parents[1] / "runs"
GLOBS = ("tokens/*/metrics.jsonl", "tokens-750/*/metrics.jsonl", "full-gp-*/metrics.jsonl")


def summary(path: Path) -> str:
    rows = [json.loads(line) for line in path.open() if '"per_step"' in line]
    first, mid, last = rows[0], rows[len(rows) // 2], rows[-1]
    cells = [f"{r['per_step'][-1]:.3f} / {r['grad_norm']:.2f}" for r in (first, mid, last)]
    name = f"{path.parent.parent.name}/{path.parent.name}"
    steps = f"{first['step']}, {mid['step']}, {last['step']}"
    return f"| {name} | {steps} | " + " | ".join(cells) + " |"


def main() -> None:
    print(markdown_header())
    print("# How the token-state learners trained\n")
    print(__doc__.split("\n\n", 2)[1].replace("\n", " ").strip() + "\n")
    print("Each entry: the training loss after the last trained step / the gradient norm before")
    print("clipping, at the first logged iteration, the middle one and the last (regression: the")
    print(
        "Gaussian NLL per target; classification: cross-entropy; one logged batch of tasks each).\n"
    )
    print("| run | iterations | first | middle | last |")
    print("|---|---|---|---|---|")
    for pattern in GLOBS:
        for path in sorted(RUNS.glob(pattern)):
            print(summary(path))


if __name__ == "__main__":
    main()
