"""The EM baseline for Gaussian-mixture tasks: scikit-learn's GaussianMixture fitted per task.

Each task's context is fitted by EM with full covariances (Dempster, Laird & Rubin, 1977),
either with the true number of components or with the number from 1 … max_components that has
the lowest BIC. The fitted mixture is then scored at held-out points and sampled, so it can be
compared with a learner's density and samples on the same tasks.
"""

import time
from dataclasses import dataclass
from typing import Literal

import torch
from sklearn.mixture import GaussianMixture
from torch import Tensor

from iai.errors import InvalidInput
from iai.tasks.mixtures import sample_mixture


@dataclass(frozen=True)
class EMFit:
    log_prob: Tensor  # (T, M) log density of the fitted mixture at x_eval
    samples: Tensor  # (T, n_samples, D) samples of the fitted mixture
    components: Tensor  # (T,) int64 number of components used
    seconds: float  # wall time of the fits alone (all tasks, BIC selection included)


def _check(x: Tensor, x_eval: Tensor, n_samples: int, components, max_components: int) -> Tensor:
    """Validate the inputs; return the (T,) int64 component counts, or an empty tensor for BIC."""
    if x.dim() != 3 or x_eval.dim() != 3 or x_eval.shape[0] != x.shape[0]:
        raise InvalidInput(
            f"need x (T, N, D) and x_eval (T, M, D); got {tuple(x.shape)}, {tuple(x_eval.shape)}"
        )
    if x_eval.shape[2] != x.shape[2] or x.shape[0] == 0:
        raise InvalidInput(f"x {tuple(x.shape)} and x_eval {tuple(x_eval.shape)} do not match")
    if not (torch.isfinite(x).all() and torch.isfinite(x_eval).all()):
        raise InvalidInput("x and x_eval must be finite (no NaN or inf)")
    if n_samples < 1:
        raise InvalidInput(f"n_samples = {n_samples}; must be ≥ 1")
    n = x.shape[1]
    if isinstance(components, str):
        if components != "bic":
            raise InvalidInput(f"components = {components!r}; give a (T,) int tensor or 'bic'")
        if not 1 <= max_components <= n:
            raise InvalidInput(f"max_components = {max_components}; must be in 1 … N = {n}")
        return torch.empty(0, dtype=torch.int64)
    if (
        not isinstance(components, Tensor)
        or components.shape != (x.shape[0],)
        or components.dtype.is_floating_point
        or components.dtype.is_complex
        or components.dtype == torch.bool
    ):
        raise InvalidInput(f"components must be a (T,) = ({x.shape[0]},) int tensor or 'bic'")
    if components.min() < 1 or components.max() > n:
        raise InvalidInput(f"components must lie in 1 … N = {n} points; got {components.tolist()}")
    return components.to(torch.int64).cpu()


def _fit(x, k: int, seed: int) -> GaussianMixture:
    """x (N, D) float64 numpy -> the fitted k-component mixture, sklearn defaults otherwise."""
    gm = GaussianMixture(n_components=k, covariance_type="full", random_state=seed, n_init=1)
    return gm.fit(x)


def fit_em(
    x: Tensor,
    x_eval: Tensor,
    n_samples: int,
    components: Tensor | Literal["bic"],
    seed: int = 0,
    max_components: int = 8,
) -> EMFit:
    """Fit a full-covariance Gaussian mixture to each task's context, score and sample it.

    x (T, N, D) context, x_eval (T, M, D) held-out points. `components`: a (T,) int tensor of
    the number of components per task, or "bic" to keep, per task, the best by BIC of 1 …
    max_components. scikit-learn fits one data set at a time, so this loops over tasks.
    """
    ks = _check(x, x_eval, n_samples, components, max_components)
    data = x.detach().double().cpu().numpy()
    start = time.perf_counter()
    fits = []
    for t, x_t in enumerate(data):
        if len(ks):
            fits.append(_fit(x_t, int(ks[t]), seed))
        else:
            candidates = [_fit(x_t, k, seed) for k in range(1, max_components + 1)]
            fits.append(min(candidates, key=lambda g: g.bic(x_t)))
    seconds = time.perf_counter() - start

    dtype = torch.get_default_dtype()
    evals = x_eval.detach().double().cpu().numpy()
    log_prob = torch.stack(
        [torch.from_numpy(g.score_samples(e)) for g, e in zip(fits, evals, strict=True)]
    )
    used = torch.tensor([g.n_components for g in fits], dtype=torch.int64)
    samples = _sample(fits, n_samples, torch.Generator().manual_seed(seed))
    return EMFit(log_prob.to(dtype), samples.to(dtype), used, seconds)


def _sample(fits: list[GaussianMixture], n_samples: int, generator: torch.Generator) -> Tensor:
    """-> (T, n_samples, D) draws from each fitted mixture, in float64.

    GaussianMixture.sample draws from its own random_state; sampling here from the fitted
    weights, means and covariances keeps the draws on our seeded generator. Tasks with fewer
    components are padded with zero-weight ones, so all tasks draw in one batch."""
    k_max = max(g.n_components for g in fits)
    d = fits[0].means_.shape[1]
    weights = torch.zeros(len(fits), k_max, dtype=torch.float64)  # (T, K)
    means = torch.zeros(len(fits), k_max, d, dtype=torch.float64)  # (T, K, D)
    chol = torch.eye(d, dtype=torch.float64).repeat(len(fits), k_max, 1, 1)  # (T, K, D, D)
    for t, g in enumerate(fits):
        k = g.n_components
        weights[t, :k] = torch.from_numpy(g.weights_)
        means[t, :k] = torch.from_numpy(g.means_)
        chol[t, :k] = torch.linalg.cholesky(torch.from_numpy(g.covariances_))
    return sample_mixture(weights, means, chol, n_samples, generator=generator)
