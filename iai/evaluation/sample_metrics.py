"""Distances between two sets of samples, per task: how far a learner's samples lie from the truth.

Each takes `a (T, n, D)` and `b (T, m, D)` and returns `(T,)`; X, X' are drawn from a's points
and Y, Y' from b's, with ‖·‖ the Euclidean norm.

- energy: the energy distance of Székely & Rizzo, 2 E‖X−Y‖ − E‖X−X'‖ − E‖Y−Y'‖ (the squared
  form, ≥ 0 and 0 only for equal distributions). The cross term is the mean over all n·m pairs;
  the within-set terms are U-statistics, means over the n(n−1) and m(m−1) pairs i ≠ j, so the
  estimate is unbiased and can be slightly negative when the two distributions agree.
- mmd: squared maximum mean discrepancy, E k(X,X') + E k(Y,Y') − 2 E k(X,Y), with the kernel
  k(x, y) = Σ_h exp(−‖x−y‖² / (2h²)) summed over the bandwidths h in `BANDWIDTHS` = (0.1, 0.3,
  1.0); the unbiased estimate (within-set terms over i ≠ j, as for energy).
- w2: the 2-Wasserstein distance (not squared) between the empirical measures with uniform
  weights 1/n and 1/m, W2 = (min_π Σ_ij π_ij ‖x_i − y_j‖²)^½, solved exactly by POT's `ot.emd2`.
"""

from collections.abc import Callable

import torch
from torch import Tensor

from iai.errors import InvalidInput

BANDWIDTHS = (0.1, 0.3, 1.0)


def _check(a: Tensor, b: Tensor) -> None:
    if a.dim() != 3 or b.dim() != 3 or a.shape[0] != b.shape[0] or a.shape[2] != b.shape[2]:
        raise InvalidInput(
            f"need a (T, n, D) and b (T, m, D); got {tuple(a.shape)}, {tuple(b.shape)}"
        )
    if a.shape[1] < 2 or b.shape[1] < 2:
        raise InvalidInput(f"need at least 2 points per set; got n={a.shape[1]}, m={b.shape[1]}")


def _dist(a: Tensor, b: Tensor) -> Tensor:
    """(T, n, D), (T, m, D) -> (T, n, m) Euclidean distances. The matrix-product form that cdist
    uses for large sets loses ~1e-3 to cancellation near 0, which would bias a set against
    itself; the direct form is exact there."""
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


def _off_diagonal_mean(k: Tensor) -> Tensor:
    """(T, n, n) -> (T,) mean over i ≠ j."""
    n = k.shape[-1]
    return (k.sum((-2, -1)) - k.diagonal(dim1=-2, dim2=-1).sum(-1)) / (n * (n - 1))


def energy_distance(a: Tensor, b: Tensor) -> Tensor:
    """(T, n, D), (T, m, D) -> (T,) energy distance; within-set terms are U-statistics."""
    _check(a, b)
    cross = _dist(a, b).mean((-2, -1))
    return 2 * cross - _off_diagonal_mean(_dist(a, a)) - _off_diagonal_mean(_dist(b, b))


def mmd(a: Tensor, b: Tensor, bandwidths: tuple[float, ...] = BANDWIDTHS) -> Tensor:
    """(T, n, D), (T, m, D) -> (T,) unbiased squared MMD under a sum of Gaussian kernels."""
    _check(a, b)

    def kernel(x: Tensor, y: Tensor) -> Tensor:  # (T, n, m)
        sq = _dist(x, y).square()
        return sum(torch.exp(-sq / (2 * h**2)) for h in bandwidths)

    cross = kernel(a, b).mean((-2, -1))
    return _off_diagonal_mean(kernel(a, a)) + _off_diagonal_mean(kernel(b, b)) - 2 * cross


def wasserstein2(a: Tensor, b: Tensor) -> Tensor:
    """(T, n, D), (T, m, D) -> (T,) exact W2 between uniform empirical measures.

    POT has no batched exact solver, so this loops over tasks (network simplex, about
    O(n³) each); it solves in float64 whatever the input dtype."""
    try:
        import ot
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(
            "W2 needs POT, an optional dependency: pip install 'iai[metrics]' (or pot)"
        ) from e

    _check(a, b)
    out = []
    for x, y in zip(a.detach().double().cpu(), b.detach().double().cpu(), strict=True):
        # squared distances by difference, not the x² + y² − 2xy form, so a set against itself
        # has exact zeros on the diagonal and W2 = 0
        cost = (x[:, None] - y[None]).square().sum(-1).numpy()  # (n, m)
        w_x = torch.full((len(x),), 1 / len(x), dtype=torch.float64).numpy()
        w_y = torch.full((len(y),), 1 / len(y), dtype=torch.float64).numpy()
        out.append(float(ot.emd2(w_x, w_y, cost, numItermax=10_000_000)))
    return torch.tensor(out, dtype=a.dtype, device=a.device).clamp_min(0).sqrt()


METRICS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "energy": energy_distance,
    "mmd": mmd,
    "w2": wasserstein2,
}
