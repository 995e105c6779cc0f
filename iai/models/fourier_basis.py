"""E banks of learned Fourier features with a prior precision per feature, a noise (or
curvature) scale and a prior over the banks: what the token learner's exact floors share, the
regression one (`iai.models.feature_bayes`) and the classification one
(`iai.models.feature_laplace`).

Each bank's features, cos(Ωₑx + βₑ) beside x and 1, approximate a stationary kernel at its own
bandwidth (random Fourier features, Rahimi & Recht 2007); Ωₑ, βₑ and the hyperparameters are
learned across tasks, as ALPaCA learns its feature map (Harrison et al. 2018).
"""

import math

import torch
from torch import nn

# Adam moves a parameter about lr per step whatever its gradient's size: at a recipe's 250–1,000
# steps and lr ≤ 1e-3 these log-scale hyperparameters moved less than one unit, where a task
# prior may need several (GP tasks have no linear trend, so their linear features' prior
# precision must rise well above its initial 1: checkpoints/gp-tokens was 1.26 × exact Bayes's
# MSE at step 1 with it near 1, 1.05 × with the gain; benchmarks/results/gp-tokens/floor.md). So
# each is stored as its offset from its initial value over GAIN: a step moves it GAIN times as
# far, and weight decay pulls it toward its initial value rather than toward 1.
GAIN = 10.0


class FourierBasis(nn.Module):
    """E banks of `basis` learned features cos(ωᵀx + β) of x (D) with a linear and a constant
    feature, P = basis + D + 1 per bank; `noise` the initial noise variance (regression) or
    inverse curvature (classification) that scales the data's Σ φφᵀ against the prior."""

    def __init__(self, dim: int, basis: int, banks: int, noise: float) -> None:
        super().__init__()
        # bandwidths log-spaced over what a standardized input's lengthscales span, √D × 0.15…1.5
        scale = math.sqrt(dim) * torch.logspace(math.log10(0.15), math.log10(1.5), banks)
        self.freq = nn.Parameter(torch.randn(banks, dim, basis) / scale[:, None, None])
        self.phase = nn.Parameter(2 * math.pi * torch.rand(banks, basis))
        # prior precision per feature: cos features carry variance ½ each, 2 / basis a unit kernel
        cos = torch.full((banks, basis), math.log(basis / 2))
        init = torch.cat([cos, torch.zeros(banks, dim + 1)], 1)
        self.register_buffer("precision_init", init, persistent=False)
        self.noise_init = math.log(noise)
        # the hyperparameters as offsets over GAIN (see GAIN); a uniform prior over the banks
        self.precision_offset = nn.Parameter(torch.zeros(banks, basis + dim + 1))
        self.noise_offset = nn.Parameter(torch.zeros(()))
        self.bank_logits = nn.Parameter(torch.zeros(banks))

    @property
    def log_precision(self) -> torch.Tensor:
        """(E, P): each feature's log prior precision."""
        return self.precision_init + GAIN * self.precision_offset

    @property
    def log_noise(self) -> torch.Tensor:
        """(): the log noise variance (classification: the inverse curvature's log)."""
        return self.noise_init + GAIN * self.noise_offset

    @property
    def log_bank_prior(self) -> torch.Tensor:
        """(E,): the banks' prior, unnormalized log probabilities."""
        return GAIN * self.bank_logits

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x (T, N, D) -> φ (T, N, E, P), float64."""
        x = x.double()
        cos = torch.cos(torch.einsum("tnd,edf->tnef", x, self.freq.double()) + self.phase.double())
        lin = x[:, :, None].expand(-1, -1, cos.shape[2], -1)
        return torch.cat([cos, lin, torch.ones_like(lin[..., :1])], -1)

    def prior_covariance(self, tasks: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Λ₀⁻¹ (T, E, P, P) and log det Λ₀ (T, E), float64: before any point is read."""
        log_prec = self.log_precision.double()
        covariance = torch.diag_embed((-log_prec).exp())
        E, P = log_prec.shape
        return covariance.expand(tasks, E, P, P), log_prec.sum(-1).expand(tasks, E)

    def update_covariance(self, covariance, phi, sp=None, logdet=None):
        """Λ⁻¹ (T, E, P, P) after a batch φ (T, E, B, P) adds φᵀφ / σ² to Λ, from its value
        before, and log det Λ (T, E) from its value before, where given (else None); `sp`,
        φΛ⁻¹ (T, E, B, P), where already computed. Woodbury and the determinant lemma, in
        chunks of at most P points: Λ⁻¹ − spᵀ M⁻¹ sp and log det Λ + log det M − B log σ²,
        M = σ² I + φΛ⁻¹φᵀ (B × B), float64."""
        T, E, B, P = phi.shape
        noise = self.log_noise.double().exp()
        for rows in range(0, B, P):
            part = phi[:, :, rows : rows + P].reshape(T * E, -1, P)  # bmm's fast path
            if sp is None or rows:
                s = torch.bmm(part, covariance.reshape(T * E, P, P))
            else:
                s = sp[:, :, :P].reshape(part.shape)
            inner = torch.bmm(s, part.mT)
            inner = inner + noise * torch.eye(part.shape[1], dtype=s.dtype, device=s.device)
            L = torch.linalg.cholesky(inner)
            g = torch.linalg.solve_triangular(L, s, upper=False).contiguous()  # L⁻¹ sp
            if logdet is not None:
                diag = L.diagonal(dim1=-2, dim2=-1).log().sum(-1).view(T, E)
                logdet = logdet + 2 * diag - part.shape[1] * noise.log()
            covariance = torch.baddbmm(covariance.reshape(T * E, P, P), g.mT, g, alpha=-1)
            covariance = covariance.view(T, E, P, P)
        return covariance, logdet
