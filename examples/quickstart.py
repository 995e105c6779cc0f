"""Load the committed learner, adapt it to fresh tasks, and stream a long data set through it.

python examples/quickstart.py      # from any directory; under a minute on 2 CPU cores
"""

from pathlib import Path

import torch

import iai
from iai.tasks import TaskConfig, make_prior

ROOT = Path(__file__).resolve().parents[1]
learner = iai.load(ROOT / "checkpoints/linreg-d8")  # trained with mini-batches of 16 points
prior = make_prior(TaskConfig(name="linear_regression", dim=8))
tasks = prior.sample(100, 256, 32, generator=torch.Generator().manual_seed(0))

# Adapt once to each task's 256 points (16 mini-batches of 16), then predict any queries.
state = iai.adapt(learner, tasks.x_train, tasks.y_train)
preds = iai.predict(learner, state, tasks.x_query)  # (T, Q) = (100, 32)
print(f"MSE after reading 256 points: {(preds - tasks.y_query).square().mean():.3f}")

# Every step at once: (K + 1, T, Q) = (17, 100, 32); index 0 is the prior, k after k batches.
steps = iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query)
mse = (steps - tasks.y_query).square().mean(dim=(1, 2))
bayes = (prior.bayes(tasks.x_train, tasks.y_train, tasks.x_query) - tasks.y_query).square()
print("MSE after 0, 1, 2, 4, 8, 16 steps:", [round(mse[k].item(), 3) for k in (0, 1, 2, 4, 8, 16)])
print(f"exact Bayes posterior after 16 steps: {bayes.mean():.3f}")

# Streaming: any iterable of (x (T, B, D), y (T, B)); a batch is dropped once its step is taken,
# so 256 mini-batches (4,096 points) take no more memory than one.
big = prior.sample(10, 16 * 256, 32, generator=torch.Generator().manual_seed(1))
batches = ((big.x_train[:, i : i + 16], big.y_train[:, i : i + 16]) for i in range(0, 16 * 256, 16))
for k, pred in enumerate(iai.stream(learner, batches, big.x_query)):
    if k in (0, 16, 64, 256):
        print(f"streaming, step {k:4d}: MSE {(pred - big.y_query).square().mean():.4f}", flush=True)
