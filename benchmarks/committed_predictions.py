"""Predictions of every committed checkpoint on fixed tasks, saved so a redesign can show it
changed nothing: `tests/test_committed.py` compares the package's predictions today with the
file this wrote.

    python benchmarks/committed_predictions.py tests/data/committed-predictions.safetensors

The committed file was written by this script at commit e42a4f4 (before the open-core
redesign). One-step learners read 64 points at once, the others 16 at a time.
"""

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

import iai
from iai.tasks import TaskConfig, make_prior

ROOT = Path(__file__).resolve().parents[1]
ONE_STEP = ("linreg-d8-onestep", "linreg-d8-icl", "linreg-d8-cnp")


def main(path: str) -> None:
    prior = make_prior(TaskConfig(name="linear_regression", dim=8))
    tasks = prior.sample(8, 64, 16, generator=torch.Generator().manual_seed(1234))
    out = {"x_train": tasks.x_train, "y_train": tasks.y_train, "x_query": tasks.x_query}
    for d in sorted((ROOT / "checkpoints").iterdir()):
        B = 64 if d.name in ONE_STEP else 16
        learner = iai.load(d)
        preds = iai.predict_steps(
            learner, tasks.x_train, tasks.y_train, tasks.x_query, batch_size=B
        )
        out[d.name] = preds
        out[f"{d.name}.batch_size"] = torch.tensor(B)
        print(d.name, B, tuple(out[d.name].shape))
    save_file({k: v.contiguous() for k, v in out.items()}, path)


if __name__ == "__main__":
    main(sys.argv[1])
