"""The exact flow-matching field of a Gaussian mixture: the velocity that carries N(0, I) to
the mixture along the linear path, in closed form.

Why. A flow whose field is learned from nothing must learn where every component lies; a
field that starts from the exact transport to a mixture estimate samples that mixture from
the first step, and a learned field need only correct it (`iai.learners.tokens_flow`).

On the path x_t = (1 − t) x₀ + t x₁, x₀ ~ N(0, I) and x₁ from component k ~ N(μ_k, Σ_k):
x_t | k ~ N(t μ_k, S_k), S_k = (1 − t)² I + t² Σ_k, and x₁ − x₀ is jointly Gaussian with it,
Cov(x₁ − x₀, x_t | k) = C_k = t Σ_k − (1 − t) I. The field is the posterior mean
v(x, t) = Σ_k r_k(x) (μ_k + C_k S_k⁻¹ (x − t μ_k)), r_k ∝ π_k N(x; t μ_k, S_k): the velocity
flow matching converges to for that mixture, so integrating it samples the mixture exactly
(up to the solver's error).
"""

import torch


def mixture_velocity(
    logits: torch.Tensor,
    means: torch.Tensor,
    scale_tril: torch.Tensor,
    x: torch.Tensor,
    t: torch.Tensor,
) -> torch.Tensor:
    """Mixtures (weights' logits (T, K), means (T, K, D), Cholesky factors (T, K, D, D)) and
    points x (T, n, D) at times t (T, n, 1), or one time per task (T, 1, 1) as an ODE solver
    asks, -> the exact field (T, n, D). With one time per task S_k⁻¹ is formed once for all the
    task's points: a sample's field then costs no factorization of its own."""
    D = x.shape[-1]
    eye = torch.eye(D, dtype=x.dtype, device=x.device)
    cov = (scale_tril @ scale_tril.mT)[:, None]  # (T, 1, K, D, D)
    s = t[..., None, None]  # (T, n or 1, 1, 1, 1)
    S = (1 - s).square() * eye + s.square() * cov  # (T, n or 1, K, D, D)
    C = s * cov - (1 - s) * eye
    r = x[:, :, None] - t[..., None] * means[:, None]  # (T, n, K, D): x − t μ_k
    L, info = torch.linalg.cholesky_ex(S)  # a mixture that overflowed: NaN, for the API to name
    bad = ((info > 0) | ~S.isfinite().all(-1).all(-1)).any(-1)  # (T, n or 1)
    if S.shape[1] == 1 < r.shape[1]:  # one time per task: one inverse serves every point
        w = (torch.cholesky_inverse(L) * r[..., None, :]).sum(-1)  # (T, n, K, D): S_k⁻¹ (x − t μ_k)
    else:  # a time per point (training): a solve per point, cheaper than an inverse
        w = torch.cholesky_solve(r[..., None], L)[..., 0]
    mean_u = means[:, None] + (C * w[..., None, :]).sum(-1)  # (T, n, K, D)
    log_det = 2 * L.diagonal(dim1=-2, dim2=-1).log().sum(-1)  # (T, n or 1, K)
    log_r = logits.log_softmax(-1)[:, None] - 0.5 * ((r * w).sum(-1) + log_det)
    v = (log_r.softmax(-1)[..., None] * mean_u).sum(-2)
    return v.masked_fill(bad[..., None], float("nan"))
