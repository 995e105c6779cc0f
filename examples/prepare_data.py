"""Bring a table to a learner: standardize it like the learner's prior, adapt, predict, undo.

The committed learner `linreg-d8` was trained on tasks whose 8 inputs are N(0, 1) and whose
targets have a standard deviation of about 3. scikit-learn's diabetes table (first 8 features,
a target in the hundreds) is nothing like that: read raw it is extrapolation, and iai warns.
Standardized with statistics of the training rows only, it is a task like the ones the
learner has seen.

    python examples/prepare_data.py
"""

import warnings
from pathlib import Path

import torch
from sklearn.datasets import load_diabetes
from sklearn.linear_model import RidgeCV

import iai

ROOT = Path(__file__).resolve().parents[1]

learner = iai.load(ROOT / "checkpoints/linreg-d8")
X, y = load_diabetes(return_X_y=True)
X, y = torch.tensor(X[:, :8], dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
train, test = order[:300], order[300:]


def mse(pred: torch.Tensor) -> float:
    return (pred - y[test]).square().mean().item()


# Raw: accepted, with an iai.InputWarning that says what is off.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", iai.InputWarning)
    state = iai.adapt(learner, X[None, train], y[None, train])  # one task: add the task axis
    raw = iai.predict(learner, state, X[None, test])[0]
print("raw data:", caught[0].message if caught else "no warning")

# Standardized with the training rows' statistics; the targets scaled to the prior's spread
# (about 3 here), and the predictions mapped back to the table's units.
x_mean, x_std = X[train].mean(0), X[train].std(0)
y_mean, y_std, prior_std = y[train].mean(), y[train].std(), 3.0
xs = (X - x_mean) / x_std
ys = (y - y_mean) / y_std * prior_std
state = iai.adapt(learner, xs[None, train], ys[None, train])
prepared = iai.predict(learner, state, xs[None, test])[0] / prior_std * y_std + y_mean

ridge = RidgeCV().fit(X[train].numpy(), y[train].numpy()).predict(X[test].numpy())
print(f"test MSE on {len(test)} rows, after reading {len(train)} rows 16 at a time:")
print(f"  predict the training mean       {mse(y[train].mean().expand(len(test))):9.0f}")
print(f"  linreg-d8, raw data             {mse(raw):9.0f}")
print(f"  linreg-d8, standardized         {mse(prepared):9.0f}")
print(f"  scikit-learn RidgeCV (same rows) {mse(torch.tensor(ridge)):8.0f}")
