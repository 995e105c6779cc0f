"""`n_estimators`: an ensemble over column orders, its members read as tasks of one batch.

The linear learner draws its random Fourier features from the first d columns of a fixed ω,
so each order of the columns is another draw of features over the same linear part. Averaged
over E orders, its score on the small-data tables rose by +0.23 % (E = 4) and +0.37 % (E = 8)
on average (benchmarks/results/tabular-tokens/ensemble.md). The members share the rows, the
scale and the learner, so they are E tasks of the batch the learner already reads (with a
classifier's R codings, E · R tasks, member-major), not E estimators fitted in turn. Member 0
reads the table's own order, member e > 0 the permutation seeded by e. Class orders are not
ensembled: the linear learner treats its outputs alike, so they would change nothing.
"""

import numpy as np
import torch


def column_orders(columns: int, members: int) -> torch.Tensor:
    """(members, columns) the order each member reads the columns in."""
    orders = [np.arange(columns)]
    orders += [np.random.default_rng(e).permutation(columns) for e in range(1, members)]
    return torch.from_numpy(np.stack(orders))


def spread(x: torch.Tensor, members: int, codings: int = 1) -> torch.Tensor:
    """Rows (1, n, d) -> (members · codings, n, d): member e's order of the columns at tasks
    e · codings … (e + 1) · codings - 1."""
    if members == 1:
        return x.expand(codings, -1, -1)
    ordered = x[0][:, column_orders(x.shape[-1], members)].transpose(0, 1)  # (E, n, d)
    return ordered.repeat_interleave(codings, 0)


def moments(mean: torch.Tensor, std: torch.Tensor | None) -> tuple:
    """The members' Gaussians (E, n), as one: the mixture's mean (n,) and std (n,) or None."""
    centre = mean.mean(0)
    if std is None:
        return centre, None
    second = (std.square() + mean.square()).mean(0)
    return centre, (second - centre.square()).clamp_min(0).sqrt()
