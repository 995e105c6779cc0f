"""Classical causal orders from samples, the references an order learner is compared with.

Each takes samples (T, N, d) and returns orders (T, d) int64, roots first, as
`iai.order_steps` does, so one scorer (`iai.tasks.order.Order`) judges all of them.

- `random_order`: a uniformly random permutation (D_top 0.5 in expectation).
- `var_sort`: increasing variance. Nearly exact on raw linear SCMs whose noise scales are
  alike, because variance accumulates down the graph (varsortability, Reisach et al. 2021);
  uninformative once each variable is standardized.
- `r2_sort`: increasing R² of each variable regressed on all the others (R²-sortability,
  Reisach et al. 2023): a scale-free trick that survives standardization.
- `direct_lingam`: DirectLiNGAM (Shimizu et al. 2011) from the `lingam` package (the `causal`
  extra), one task at a time; identifiable for linear SCMs with non-Gaussian noise.
- `ges_order`: GES (Chickering 2002) from `causal-learn` (the same extra) with the linear
  Gaussian BIC score: a score-based search for the Markov equivalence class, whose
  undirected edges are then oriented by causal-learn's `pdag2dag` (any member is as good
  under the score), read as a topological order.
"""

import torch

from iai.errors import InvalidInput
from iai.tasks.order import Order


def random_order(samples: torch.Tensor, *, generator: torch.Generator) -> torch.Tensor:
    T, _, d = samples.shape
    return torch.rand(T, d, generator=generator).argsort(-1)


def var_sort(samples: torch.Tensor) -> torch.Tensor:
    """Increasing variance over the N samples: (T, N, d) -> (T, d)."""
    return samples.double().var(1).argsort(dim=-1, stable=True)


def r2_sort(samples: torch.Tensor) -> torch.Tensor:
    """Increasing R² of x_j regressed on all other variables (with intercept): through the
    precision matrix of the correlation, R²_j = 1 − 1 / (C⁻¹)_jj. (T, N, d) -> (T, d)."""
    x = samples.double()
    x = x - x.mean(1, keepdim=True)
    x = x / x.std(1, keepdim=True).clamp_min(1e-12)
    C = x.transpose(1, 2) @ x / (x.shape[1] - 1)  # (T, d, d) correlations
    eye = torch.eye(C.shape[-1], dtype=C.dtype)
    precision = torch.linalg.inv(C + 1e-9 * eye)
    r2 = 1 - 1 / precision.diagonal(0, -2, -1)
    return r2.argsort(dim=-1, stable=True)


def direct_lingam(samples: torch.Tensor) -> torch.Tensor:
    """DirectLiNGAM's causal order of each task (a Python loop over tasks: the package fits
    one data set at a time). InvalidInput naming the extra when `lingam` is not installed."""
    try:
        import lingam
    except ImportError as e:
        raise InvalidInput(
            "direct_lingam needs the `lingam` package: pip install 'iai[causal]' (see "
            f"pyproject.toml for its dependencies): {e}"
        ) from e
    orders = []
    for x in samples.double().numpy():
        model = lingam.DirectLiNGAM()
        model.fit(x)
        orders.append(model.causal_order_)
    return torch.tensor(orders, dtype=torch.int64)


def ges_order(samples: torch.Tensor) -> torch.Tensor:
    """GES's causal order of each task (one data set at a time, as causal-learn fits):
    (T, N, d) -> (T, d). InvalidInput naming the extra when `causal-learn` is missing."""
    try:
        from causallearn.search.ScoreBased.GES import ges
        from causallearn.utils.PDAG2DAG import pdag2dag
    except ImportError as e:
        raise InvalidInput(f"ges_order needs `causal-learn`: pip install 'iai[causal]': {e}") from e
    orders = []
    for x in samples.double().numpy():
        G = torch.from_numpy(pdag2dag(ges(x, score_func="local_score_BIC")["G"]).graph)
        orders.append(_topological((G == -1) & (G.T == 1)))  # causal-learn: i → j
    return torch.stack(orders)


def _topological(adjacency: torch.Tensor) -> torch.Tensor:
    """A topological order (d,) of a DAG's adjacency (d, d), [i, j] for i → j: repeatedly
    the lowest-index variable with no remaining parent."""
    parents = adjacency.sum(0)  # (d,)
    left = torch.ones_like(parents, dtype=torch.bool)
    order = []
    for _ in range(len(parents)):
        i = int(torch.where(left & (parents == 0))[0][0])
        order.append(i)
        left[i] = False
        parents = parents - adjacency[i].long()
    return torch.tensor(order, dtype=torch.int64)


def order_metrics(orders: torch.Tensor, adjacency: torch.Tensor) -> dict[str, torch.Tensor]:
    """D_top and the leaf error (…, T) of orders (…, T, d), roots first, against the true
    adjacency (T, d, d): the order objective's metrics of an order from anywhere."""
    objective = Order(adjacency.shape[-1])
    return objective.task_metrics(objective.outputs(orders), adjacency)


# name -> order function of samples alone (random_order needs a generator: see its use)
ORDER_BASELINES = {
    "var_sort": var_sort,
    "r2_sort": r2_sort,
    "direct_lingam": direct_lingam,
    "ges": ges_order,
}
