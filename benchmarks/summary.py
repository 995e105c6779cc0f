"""Which baselines IAI beats, at which steps, in every committed evaluation.

python benchmarks/summary.py > benchmarks/results/summary.md
"""

import json
from pathlib import Path

RUNS = {
    "linreg-d8": "mse",
    "nonlinear-regression": "mse",
    "gp-regression": "mse",
    "linear-classification": "error",
}
BASELINES = ("sgd_online", "adam_online", "sgd", "adam")

print("Steps 1–16 at which IAI's mean error is below each baseline's (same tasks, same batches).\n")
print("| run | variant | error falls at every step | " + " | ".join(BASELINES) + " |")
print("|---|---|---|" + "---|" * len(BASELINES))
for name, metric in RUNS.items():
    for r in json.loads(Path(f"benchmarks/results/{name}/eval.json").read_text()):
        m = r["methods"]
        iai = m["iai"][metric]["mean"]
        K = min(len(iai) - 1, 16)
        falls = all(iai[k] < iai[k - 1] for k in range(1, K + 1))
        cells = []
        for b in BASELINES:
            wins = [k for k in range(1, K + 1) if iai[k] < m[b][metric]["mean"][k]]
            cells.append(
                "all" if len(wins) == K else "none" if not wins else ",".join(map(str, wins))
            )
        print(
            f"| {name} | {r['variant']} | {'yes' if falls else 'no'} | " + " | ".join(cells) + " |"
        )
