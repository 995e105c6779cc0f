"""The custom-prior contract exactly as the open-core issue writes it (a `sample` whose
generator is positional, 300 iterations), run from the repository root of a fresh clone:

    python benchmarks/custom_prior_contract.py
"""

import torch

import iai
from iai.tasks import Tasks  # Tasks(x_train (T,N,D), y_train (T,N), x_query (T,Q,D), y_query (T,Q))


class Sinusoid:  # any object with these members is a task prior
    kind, dim, out_dim = "regression", 1, 1

    def sample(self, n_tasks, n_points, n_query, generator) -> Tasks:
        amp = 0.1 + 4.9 * torch.rand(n_tasks, 1, generator=generator)
        phase = torch.pi * torch.rand(n_tasks, 1, generator=generator)
        x = 10 * torch.rand(n_tasks, n_points + n_query, 1, generator=generator) - 5
        y = amp * torch.sin(x[..., 0] - phase)
        return Tasks(x[:, :n_points], y[:, :n_points], x[:, n_points:], y[:, n_points:])


learner = iai.train(
    "configs/sinusoid.toml", out="runs/sine", prior=Sinusoid(), overrides=["train.iterations=300"]
)  # same keys as `iai train --set`
learner = iai.load(
    "runs/sine"
)  # a learner trained on a custom prior saves and loads like any other
tasks = Sinusoid().sample(200, 50, 50, torch.Generator().manual_seed(1))
steps = iai.predict_steps(learner, tasks.x_train, tasks.y_train, tasks.x_query)
mse = (steps - tasks.y_query).square().mean((1, 2))
print("loaded:", type(learner).__name__, learner.config.task.name, "prior:", learner.prior)
print("MSE on 200 fresh tasks after 0..5 batches of 10:", [round(v, 3) for v in mse.tolist()])
