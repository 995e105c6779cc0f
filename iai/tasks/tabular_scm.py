"""What the table prior adds for the tabular foundation model (`learner.kind = "table"`): tables
drawn from random structural causal models, categorical columns, missing values,
heteroscedastic noise and drift. Each is drawn for a share of the tasks that the config sets
(`iai.tasks.tabular`); at the defaults, 0, none is drawn and the prior is the one the shipped
linear learners were trained on, draw for draw.

The SCM (as in TabPFN's and TabICL's priors). d + 1 nodes in a random causal order; node j reads
a random subset of the nodes before it (each with probability U[0.2, 0.8] per task) through a
mechanism drawn per node: linear, a random tanh or ReLU network, a random tree or random
Fourier features (GP-like), plus Gaussian noise of a random scale. One node at a random place
in the order is the target; the other d are the features, so a feature can be a cause, an
effect or a sibling of the target, or independent of it. Root nodes draw the mixed marginals
of `sample_features`.

Categorical columns: a column cut at random quantiles into 2 … 10 levels whose codes are then
shuffled (a nominal feature, ordinally encoded as `iai.sklearn` encodes a category). Missing
values: NaN, completely at random or more often above a random threshold (missing not at
random), at a rate up to 30 %. Drift: the target's mechanism moves from one function to
another along the rows' order (a stream whose concept drifts; the queries follow the last).

Not covered: feature interactions deeper than the mechanisms' (a network of 16 units, a tree of
depth 4), time series, text, more than one target.
"""

import math

import torch

from iai.tasks.tabular_draws import sample_features, tree, uniform


def _standard(v: torch.Tensor) -> torch.Tensor:
    """v (T, n) centred and scaled per task over all rows."""
    return (v - v.mean(1, keepdim=True)) / v.std(1, keepdim=True).clamp_min(1e-6)


def _mechanism(parents: torch.Tensor, mask: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """One node's value (T, n) from its parents' values (T, n, j) where `mask` (T, j) is 1."""
    T, n, j = parents.shape
    xp = parents * mask[:, None]
    k = mask.sum(1).clamp_min(1)[:, None]  # (T, 1) parents per task
    kind = int(torch.randint(0, 4, (), generator=g))
    if kind == 0:
        out = (xp @ torch.randn(T, j, 1, generator=g)).squeeze(-1) / k.sqrt()
    elif kind == 1:
        act = torch.tanh if torch.rand((), generator=g) < 0.5 else torch.relu
        w1 = torch.randn(T, j, 16, generator=g) / k[..., None].sqrt()
        hidden = act(xp @ w1 + torch.randn(T, 1, 16, generator=g))
        out = (hidden @ torch.randn(T, 16, 1, generator=g)).squeeze(-1)
    elif kind == 2:
        depth = int(torch.randint(1, 5, (), generator=g))
        out = tree(parents, mask + 1e-9 * (mask.sum(1, keepdim=True) == 0), depth, g)
    else:
        length = (k.sqrt() * torch.exp(uniform((T, 1), math.log(0.3), math.log(2.0), g)))[..., None]
        omega = torch.randn(T, j, 32, generator=g) / length
        phase = uniform((T, 1, 32), 0.0, 2 * math.pi, g)
        out = (torch.cos(xp @ omega + phase) @ torch.randn(T, 32, 1, generator=g)).squeeze(-1)
    no_parent = mask.sum(1, keepdim=True) == 0  # (T, 1): a root in this task
    return torch.where(no_parent, torch.zeros_like(out), out)


def scm_table(T: int, n: int, d: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw features (T, n, d) and the target's noiseless signal (T, n), mean 0 and variance 1,
    of one random SCM per task (see the module docstring)."""
    roots = sample_features(T, n, d + 1, g)  # each node's own marginal when it has no parents
    density = uniform((T, 1), 0.2, 0.8, g)
    nodes, signal = [], None
    target = int(torch.randint(1, d + 1, (), generator=g))  # never the first node: no parents
    for j in range(d + 1):
        own = _standard(roots[..., j])
        if j == 0:
            nodes.append(own)
            continue
        mask = (torch.rand(T, j, generator=g) < density).float()
        f = _standard(_mechanism(torch.stack(nodes, -1), mask, g))
        has = (mask.sum(1, keepdim=True) > 0).float()
        noise = torch.exp(uniform((T, 1), math.log(0.05), math.log(1.0), g))
        value = has * f + (1 - has) * own
        if j == target:
            signal = value
            nodes.append(_standard(value + has * noise * torch.randn(T, n, generator=g)))
        else:
            nodes.append(_standard(value + has * noise * own))
    x = torch.stack(nodes[:target] + nodes[target + 1 :], -1)
    perm = torch.randperm(d, generator=g)  # the causal order says nothing of a column's place
    return x[..., perm], signal


def with_categories(x: torch.Tensor, share: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """x (T, n, d) with each column, with probability `share` (T, 1) per task, cut at random
    quantiles into 2 … 10 levels and its codes shuffled (ordinal codes of a nominal feature)."""
    T, n, d = x.shape
    levels = torch.randint(2, 11, (T, 1, d), generator=g)
    cuts = torch.rand(T, 9, d, generator=g).sort(1).values  # quantile levels in (0, 1)
    ranks = x.argsort(1).argsort(1).float() / n  # (T, n, d)
    use = torch.arange(9)[None, :, None] < levels - 1  # (T, 9, d): levels - 1 cuts
    code = ((ranks[:, :, None] > cuts[:, None]) & use[:, None]).sum(2)  # (T, n, d) in 0 … L - 1
    shuffle = torch.rand(T, 10, d, generator=g).argsort(1)  # a random relabelling per column
    coded = shuffle.gather(1, code).float()
    pick = torch.rand(T, 1, d, generator=g) < share[..., None]
    return torch.where(pick, coded, x)


def with_missing(x: torch.Tensor, share: float, g: torch.Generator) -> torch.Tensor:
    """x (T, n, d) with NaN in a share of the tasks: each task's rate U[0, 0.3], completely at
    random or (half the tasks) twice as often above a random quantile of the column."""
    T, n, d = x.shape
    rate = uniform((T, 1, 1), 0.0, 0.3, g) * (torch.rand(T, 1, 1, generator=g) < share)
    above = x > torch.quantile(x, torch.rand((), generator=g).item(), dim=1, keepdim=True)
    tilt = torch.where(torch.rand(T, 1, 1, generator=g) < 0.5, 1.0 + above.float(), 1.0)
    gone = torch.rand(T, n, d, generator=g) < rate * tilt
    gone[:, :, 0] &= ~gone.all(1)[:, None, 0]  # keep a value in every first column
    return x.masked_fill(gone, math.nan)


def drifting(first: torch.Tensor, second: torch.Tensor, n_train: int) -> torch.Tensor:
    """A target signal (T, n, k) that moves from `first` to `second` (both (T, n, k)) along the
    training rows and stays at `second` for the queries after them."""
    n = first.shape[1]
    t = (torch.arange(n, dtype=first.dtype) / max(n_train - 1, 1)).clamp(max=1.0)[:, None]
    return _standard((1 - t) * first + t * second)
