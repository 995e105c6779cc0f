"""Which baselines IAI beats, at which steps, in every committed evaluation.

python benchmarks/summary.py > benchmarks/results/summary/summary.md
"""

import json
from pathlib import Path

from common.command import markdown_header
from iai.evaluation.results import EvalResult

RESULTS = Path("benchmarks/results")
RUNS = {  # run -> the folder its benchmark wrote eval.json to
    "linreg-d8": "linreg-d8",
    "linreg-d8-memory": "linreg-d8-memory",
    "nonlinear-regression": "tasks/nonlinear-regression",
    "gp-regression": "tasks/gp-regression",
    "linear-classification": "tasks/linear-classification",
}
BASELINES = ("sgd_online", "adam_online", "sgd", "adam")


def row(name: str, r: EvalResult) -> str:
    """One table row: does the error fall at every step 1–16, and at which steps IAI's mean
    error (the primary metric) is below each baseline's."""
    iai = r.curve("iai").mean
    K = min(len(iai) - 1, 16)
    falls = all(iai[k] < iai[k - 1] for k in range(1, K + 1))
    cells = []
    for b in BASELINES:
        wins = [k for k in range(1, K + 1) if iai[k] < r.curve(b).mean[k]]
        cells.append("all" if len(wins) == K else "none" if not wins else ",".join(map(str, wins)))
    return f"| {name} | {r.variant} | {'yes' if falls else 'no'} | " + " | ".join(cells) + " |"


def main() -> None:
    print(markdown_header())
    print(
        "Steps 1–16 at which IAI's mean error is below each baseline's (same tasks, same "
        "batches).\n"
    )
    print("| run | variant | error falls at every step | " + " | ".join(BASELINES) + " |")
    print("|---|---|---|" + "---|" * len(BASELINES))
    for name, folder in RUNS.items():
        for r in json.loads((RESULTS / folder / "eval.json").read_text()):
            print(row(name, EvalResult.from_json(r)))


if __name__ == "__main__":
    main()
