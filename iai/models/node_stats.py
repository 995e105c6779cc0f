"""What an order learner reads of a mini-batch of samples: statistics per variable and per
ordered pair of variables, each the same function of every variable (node equivariance).

Why these: each is evidence a classical method uses. A variable's scale is what variance
sorting reads (raw data); its R² given the others is R²-sorting's; the regression of a
variable on all others leaves, for a sink of a linear SCM, its own noise, which is then
independent of every other variable: the higher cross-moments of that residual with the
others vanish (DirectLiNGAM's test, here as moments), and they do not for a variable with
children. Pairwise cross-moments E[z_j^a z_i^b] carry the skew-based direction of a pair
(Hyvärinen and Smith 2013). The learner combines them; none is trusted alone.

Legend: T tasks, B samples in the mini-batch, d variables. A signed log keeps heavy-tailed
moments (Laplace noise, outliers) in a range the network reads.
"""

import torch

NODE_FEATURES = 6
PAIR_FEATURES = 15
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
    node = torch.stack(
        [
            log_std - log_std.mean(-1, keepdim=True),  # scale, relative to the task's
            (z**3).mean(1),
            (z**4).mean(1) - 3,
            pdiag.log(),
            (resid**3).mean(1),
            (resid**4).mean(1) - 3,
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
    return signed_log(node), signed_log(torch.stack(pair, -1))
