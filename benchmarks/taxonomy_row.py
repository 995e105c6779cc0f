"""The linear-regression row of the taxonomy, every committed learner on the same tasks.

Each checkpoints/linreg-d8* learner is evaluated on the same 1,000 tasks and mini-batches of
16 points, in distribution and under two shifts, beside the exact Bayes-optimal predictor.
IAI learners take step k on mini-batch k; the one-step learners (hypernetwork, ICL, CNP) read
the first 16·k points at once for each k. Also timed: the seconds each takes to adapt to all
16 mini-batches on one thread.

    python benchmarks/taxonomy_row.py > benchmarks/results/taxonomy-row/row.md   (+ row.json)
"""

import json
from dataclasses import replace
from pathlib import Path

import torch
from iai.evaluate import evaluate

import iai
from iai.checkpoint import read_config
from iai.config import from_dict

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
VARIANTS, STEPS, SHOW = ("id", "shift_x", "noisy"), 16, (1, 2, 4, 8, 16)
OUT = Path("benchmarks/results/taxonomy-row")


def main() -> None:
    torch.set_num_threads(1)
    rows = {}
    for suffix, label in ROW.items():
        path = Path(f"checkpoints/linreg-d8{suffix}")
        if not path.exists():
            continue
        learner = iai.load(path)
        cfg = from_dict(read_config(path)[0])
        ecfg = replace(cfg.eval, tasks=1000, steps=STEPS, baselines=False, batch_size=16)
        results = [evaluate(learner, cfg.task, ecfg, 16, v) for v in VARIANTS]
        params = sum(p.numel() for p in learner.parameters())
        rows[suffix] = {"label": label, "params": params, "results": results}
    (OUT / "row.json").write_text(json.dumps(rows))

    print("# The linear-regression row: every method on the same tasks (d = 8, B = 16)\n")
    print(
        "MSE on 1,000 tasks (mean ± s.e.), step k = after k mini-batches of 16 points, or one "
        "step over the first 16·k points for the one-step learners; trained for 8 steps "
        "(128 points). `python benchmarks/taxonomy_row.py`\n"
    )
    for i, variant in enumerate(VARIANTS):
        print(f"## {variant}\n")
        head = ["method", *[f"k={k}" for k in SHOW], "adapt s (16 steps, 1000 tasks)", "params"]
        print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
        first = next(iter(rows.values()))["results"][i]
        bayes = first["methods"]["bayes"]["mse"]
        print("| Bayes-optimal | " + " | ".join(f"{bayes['mean'][k]:.3f}" for k in SHOW) + " | | |")
        for r in rows.values():
            res = r["results"][i]
            m = res["methods"]["iai"]["mse"]
            cells = [f"{m['mean'][k]:.3f} ± {m['se'][k]:.3f}" for k in SHOW]
            cells += [f"{res['seconds']['iai']:.2f}", f"{r['params']:,}"]
            print(f"| {r['label']} | " + " | ".join(cells) + " |")
        print()


if __name__ == "__main__":
    main()
