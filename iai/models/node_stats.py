"""What an order learner reads of a mini-batch of samples: statistics per variable and per
ordered pair of variables, each the same function of every variable (node equivariance).

Why these: each is evidence a classical method uses. A variable's scale is what variance
sorting reads (raw data); its R² given the others is R²-sorting's; the regression of a
variable on all others leaves, for a sink of a linear SCM, its own noise, which is then
independent of every other variable: the higher cross-moments of that residual with the
others vanish (DirectLiNGAM's test, here as moments), and they do not for a variable with
children. Pairwise cross-moments E[z_j^a z_i^b] carry the skew-based direction of a pair
(Hyvärinen and Smith 2013). DirectLiNGAM's own pairwise measure (Shimizu et al. 2011, with
Hyvärinen's 1998 maximum-entropy approximation of differential entropy) reads which of a pair
is the cause, H(z_j) + H(r_i|j) − H(z_i) − H(r_j|i), with the same sign whatever the noise's
kurtosis or skew: the moments above flip sign between Laplace and uniform noise, so a learner
trained on some noises misreads others; this one does not. The learner combines them; none is
trusted alone.

Legend: T tasks, B samples in the mini-batch, d variables. A signed log keeps heavy-tailed
moments (Laplace noise, outliers) in a range the network reads.
"""

import torch

NODE_FEATURES = 8
PAIR_FEATURES = 16
# Hyvärinen's (1998) entropy approximation, as DirectLiNGAM uses it:
#   H(u) ≈ H(ν) − k1 (E log cosh u − γ)² − k2 (E u e^{−u²/2})²
K1, K2, GAMMA = 79.047, 7.4129, 0.37457
# (a, b) of the centred cross-moments E[u_j^a z_i^b] − E[u_j^a] E[z_i^b] kept, for u = z
# (the variable) and u = its regression residual
POWERS = ((1, 2), (2, 1), (1, 3), (3, 1), (2, 2))


def signed_log(v: torch.Tensor) -> torch.Tensor:
    return v.sign() * v.abs().log1p()


def _cross(u: torch.Tensor, z: torch.Tensor) -> list[torch.Tensor]:
    """Centred cross-moments [j, i] of u_j and z_i (T, B, d) for POWERS: each (T, d, d)."""
    B, out = u.shape[1], []
    for a, b in POWERS:
        ua, zb = u**a, z**b
        raw = ua.transpose(1, 2) @ zb / B  # (T, d, d)
        out.append(raw - ua.mean(1)[:, :, None] * zb.mean(1)[:, None, :])
    return out


def negentropy(u: torch.Tensor) -> torch.Tensor:
    """How far from Gaussian each row of standardized u (…, B) is: H(ν) − H(u) ≥ 0 under
    Hyvärinen's approximation (…,)."""
    return (
        K1 * (u.cosh().log().mean(-1) - GAMMA) ** 2 + K2 * (u * (-(u**2) / 2).exp()).mean(-1) ** 2
    )


def pair_entropy(z: torch.Tensor, C: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """DirectLiNGAM's pairwise measure of standardized z (T, B, d) with correlations C
    (T, d, d): (T, d, d) [j, i], positive where i causes j rather than j causing i, and each
    variable's negentropy (T, d). The residual r_i|j = (z_i − C_ij z_j) / √(1 − C_ij²) of
    every ordered pair is (T, d, d, B): d² B numbers per task."""
    zt = z.transpose(1, 2)  # (T, d, B)
    scale = (1 - C**2).clamp_min(1e-6).sqrt()[..., None]  # (T, d, d, 1)
    resid = (zt[:, None, :, :] - C[..., None] * zt[:, :, None, :]) / scale  # [j, i]: r_i|j
    J, Jr = negentropy(zt), negentropy(resid)  # (T, d), (T, d, d)
    # H(z_j) + H(r_i|j) − H(z_i) − H(r_j|i), with H = H(ν) − J
    return J[:, None, :] - J[:, :, None] + Jr.transpose(1, 2) - Jr, J


def batch_statistics(x: torch.Tensor, ridge: float = 1e-2) -> tuple[torch.Tensor, torch.Tensor]:
    """Samples x (T, B, d) -> node statistics (T, d, NODE_FEATURES) and pair statistics
    (T, d, d, PAIR_FEATURES), [j, i] about variable j and variable i. `ridge` regularizes
    the correlation matrix, which B < d or collinear variables make singular."""
    T, B, d = x.shape
    std = x.std(1, unbiased=False, keepdim=True).clamp_min(1e-6)  # (T, 1, d)
    z = (x - x.mean(1, keepdim=True)) / std  # (T, B, d)
    C = z.transpose(1, 2) @ z / B  # (T, d, d) correlations
    precision = torch.linalg.inv(C + ridge * torch.eye(d, dtype=x.dtype))
    pdiag = precision.diagonal(0, -2, -1)  # (T, d): 1 / (1 − R²)
    # residual of z_j regressed on all the others: (z Θ)_j / Θ_jj
    resid = (z @ precision) / pdiag[:, None]  # (T, B, d)
    resid = resid / resid.std(1, unbiased=False, keepdim=True).clamp_min(1e-6)
    log_std = std.squeeze(1).log()
    lingam, J = pair_entropy(z, C)
    node = torch.stack(
        [
            log_std - log_std.mean(-1, keepdim=True),  # scale, relative to the task's
            (z**3).mean(1),
            (z**4).mean(1) - 3,
            pdiag.log(),
            (resid**3).mean(1),
            (resid**4).mean(1) - 3,
            J,
            negentropy(resid.transpose(1, 2)),
        ],
        -1,
    )
    sqrt_p = pdiag.sqrt()
    partial = -precision / (sqrt_p[:, :, None] * sqrt_p[:, None, :])
    beta = -precision / pdiag[:, :, None]  # [j, i]: coefficient of z_i in z_j's regression
    tanh_z, tanh_r = torch.tanh(z), torch.tanh(resid)
    pair = [C, partial, beta, *_cross(z, z), *_cross(resid, z)]
    pair.append(resid.transpose(1, 2) @ tanh_z / B)
    pair.append(tanh_r.transpose(1, 2) @ z / B)
    pair.append(10 * lingam)  # of order 0.01 … 0.1: scaled to the others' range
    return signed_log(node), signed_log(torch.stack(pair, -1))
