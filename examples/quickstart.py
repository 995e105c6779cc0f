"""Load the committed learner, adapt it to fresh tasks, and stream a long data set through it."""

import torch

import iai
from iai.tasks import TaskConfig, make_prior

learner = iai.load("checkpoints/linreg-d8")
prior = make_prior(TaskConfig(name="linear_regression", dim=8))
tasks = prior.sample(100, 256, 32, generator=torch.Generator().manual_seed(0))

# (K + 1, T, Q) = (17, 100, 32): index 0 is the prior, k the prediction after k batches of 16
preds = iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query, batch_size=16)
mse = (preds - tasks.y_query).square().mean(dim=(1, 2))
print("MSE after 0, 1, 2, 4, 8, 16 steps:", [round(mse[k].item(), 3) for k in (0, 1, 2, 4, 8, 16)])

# Streaming: any iterable of (x (T, B, D), y (T, B)); a batch is dropped once its step is taken.
big = prior.sample(10, 16 * 1024, 32, generator=torch.Generator().manual_seed(1))
batches = (
    (big.x_train[:, i : i + 16], big.y_train[:, i : i + 16]) for i in range(0, 16 * 1024, 16)
)
for k, pred in enumerate(iai.stream(learner, batches, big.x_query)):
    if k in (0, 16, 256, 1024):
        print(f"step {k:4d}: MSE {(pred - big.y_query).square().mean().item():.4f}")
