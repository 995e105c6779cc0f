"""Exact Bayesian linear regression on learned Fourier features, in E banks mixed by their
evidence: the part of the token learner's state that is sums, not tokens.

Why. A learned update has to discover, from the loss alone, how to write what a few hundred
points say into its latents; on Gaussian processes and on the grid's tasks it did not (docs/
tokens.md). Bayesian linear regression on features φ(x) needs no such discovery: its posterior
is a function of Σ φφᵀ, Σ φyᵀ, Σ yyᵀ-diagonal and n, sums carried exactly, in any order and in
memory flat in the number of points (as CMANP carries its pooled attention). Each bank's
features, cos(Ωₑx + βₑ) beside x and 1, approximate a stationary kernel at its own bandwidth
(random Fourier features, Rahimi & Recht 2007; Ωₑ, βₑ, the prior precisions and the noise are
learned across tasks, as ALPaCA learns its feature map, Harrison et al. 2018); each bank's
marginal likelihood is closed form too, so mixing the banks by it is exact Bayesian model
averaging over the bandwidths, the discrete form of a GP reference integrating over its
lengthscale, and over a joint scale of prior and noise (`SCALES`). The tokens learn what these
sums miss (`iai.learners.tokens`).

Precision. The sums, the Cholesky factor and the evidence are float64: the sums grow with the
stream and the solve must stay exact (`iai.models.precision`).
"""

import math
from dataclasses import dataclass

import torch
from torch import nn

from iai.models.precision import full_precision

# The scales a of prior and noise together that each bank's evidence weighs, uniform in log a
# before training: a task's targets may be far larger or smaller than the prior's; the
# posterior mean is the same at every a, its variance a times the a = 1 one, the evidence
# closed form in a (`FeatureBayes._posterior`), so the mixture costs no further solve.
SCALES = 4.0 ** torch.arange(-3, 4, dtype=torch.float64)

# Adam moves a parameter about lr per step whatever its gradient's size: at a recipe's 250–1,000
# steps and lr ≤ 1e-3 these log-scale hyperparameters moved less than one unit, where a task
# prior may need several (GP tasks have no linear trend, so their linear features' prior
# precision must rise well above its initial 1: checkpoints/gp-tokens was 1.26 × exact Bayes's
# MSE at step 1 with it near 1, 1.05 × with the gain; benchmarks/results/gp-tokens/floor.md). So
# each is stored as its offset from its initial value over GAIN: a step moves it GAIN times as
# far, and weight decay pulls it toward its initial value rather than toward 1.
GAIN = 10.0


@dataclass(frozen=True)
class BayesStats:
    """Per task and bank, the sufficient statistics of the points read so far and the
    posterior they give (float64), computed once per step for every read of it."""

    gram: torch.Tensor  # (T, E, P, P): Σ φφᵀ
    moment: torch.Tensor  # (T, E, P, C): Σ φ yᵀ
    energy: torch.Tensor  # (T, C): Σ y²
    count: torch.Tensor  # (T,): n
    weights: torch.Tensor  # (T, E, P, C): the posterior mean weights
    factor: torch.Tensor  # (T, E, P, P): the posterior precision's lower Cholesky factor
    bank: torch.Tensor  # (T, E): p(bank | points), sums to 1
    scale: torch.Tensor  # (T, E): E[a | bank, points], the scale of the bank's variance

    def detach(self) -> "BayesStats":
        return BayesStats(**{k: v.detach() for k, v in vars(self).items()})


class FeatureBayes(nn.Module):
    """E banks of `basis` learned Fourier features cos(ωᵀx + β) of x (D) with a linear and a
    constant feature, P = basis + D + 1 per bank; C outputs (1 for regression, the one-hot code
    of C classes for classification) sharing each bank's posterior precision."""

    def __init__(self, dim: int, outputs: int, basis: int, banks: int) -> None:
        super().__init__()
        self.outputs = outputs
        # bandwidths log-spaced over what a standardized input's lengthscales span, √D × 0.15…1.5
        scale = math.sqrt(dim) * torch.logspace(math.log10(0.15), math.log10(1.5), banks)
        self.freq = nn.Parameter(torch.randn(banks, dim, basis) / scale[:, None, None])
        self.phase = nn.Parameter(2 * math.pi * torch.rand(banks, basis))
        # prior precision per feature: cos features carry variance ½ each, 2 / basis a unit kernel
        cos = torch.full((banks, basis), math.log(basis / 2))
        init = torch.cat([cos, torch.zeros(banks, dim + 1)], 1)
        self.register_buffer("precision_init", init, persistent=False)
        # the hyperparameters as offsets over GAIN (see GAIN): noise variance 0.1 at first,
        # uniform priors over the banks and the scales
        self.precision_offset = nn.Parameter(torch.zeros(banks, basis + dim + 1))
        self.noise_offset = nn.Parameter(torch.zeros(()))
        self.bank_logits = nn.Parameter(torch.zeros(banks))
        self.scale_logits = nn.Parameter(torch.zeros(len(SCALES)))

    @property
    def log_precision(self) -> torch.Tensor:
        """(E, P): each feature's log prior precision."""
        return self.precision_init + GAIN * self.precision_offset

    @property
    def log_noise(self) -> torch.Tensor:
        """(): the log noise variance at scale a = 1."""
        return math.log(0.1) + GAIN * self.noise_offset

    @property
    def log_bank_prior(self) -> torch.Tensor:
        """(E,): the banks' prior, unnormalized log probabilities."""
        return GAIN * self.bank_logits

    @property
    def log_scale_prior(self) -> torch.Tensor:
        """(A,): the prior over SCALES, unnormalized log probabilities."""
        return GAIN * self.scale_logits

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x (T, N, D) -> φ (T, N, E, P), float64."""
        x = x.double()
        cos = torch.cos(torch.einsum("tnd,edf->tnef", x, self.freq.double()) + self.phase.double())
        lin = x[:, :, None].expand(-1, -1, cos.shape[2], -1)
        return torch.cat([cos, lin, torch.ones_like(lin[..., :1])], -1)

    def start(self, tasks: int, like: torch.Tensor) -> BayesStats:
        """The prior: no point read."""
        E, P = self.precision_offset.shape
        zeros = like.new_zeros((), dtype=torch.float64)
        C = self.outputs
        sums = zeros.expand(tasks, E, P, P), zeros.expand(tasks, E, P, C)
        return self._posterior(*sums, zeros.expand(tasks, C), zeros.expand(tasks))

    def add(self, stats: BayesStats, x: torch.Tensor, y: torch.Tensor) -> BayesStats:
        """The statistics after a batch x (T, B, D) with targets y (T, B, C)."""
        with full_precision(x):
            phi, y = self.features(x).permute(0, 2, 1, 3), y.double()  # (T, E, B, P)
            T, E, B, P = phi.shape
            flat = phi.reshape(T * E, B, P)  # fused into the sums: one pass over each
            gram = torch.baddbmm(stats.gram.reshape(T * E, P, P), flat.mT, flat)
            return self._posterior(
                gram.view(T, E, P, P),
                stats.moment + phi.mT @ y[:, None],
                stats.energy + y.square().sum(1),
                stats.count + x.shape[1],
            )

    def _posterior(self, gram, moment, energy, count) -> BayesStats:
        with full_precision(gram):
            noise = self.log_noise.double().exp()
            log_prec = self.log_precision.double()
            precision = gram / noise
            precision.diagonal(dim1=-2, dim2=-1).add_(log_prec.exp())  # in place: one pass less
            L = torch.linalg.cholesky(precision)
            rhs = moment / noise
            w = torch.cholesky_solve(rhs, L)  # (T, E, P, C)
            C = self.outputs
            logdet = 2 * L.diagonal(dim1=-2, dim2=-1).log().sum(-1)  # (T, E)
            n = count[:, None, None]
            fit = -0.5 * energy.sum(-1)[:, None] / noise + 0.5 * (rhs * w).sum((-2, -1))  # ≤ 0
            a = SCALES.to(gram.device)  # scaling prior and noise by a: same mean, see above
            evidence = (
                -0.5 * C * n * (2 * math.pi * noise * a).log()
                + fit[..., None] / a
                + 0.5 * C * (log_prec.sum(-1) - logdet)[..., None]
            )  # (T, E, A): log p(points | bank, scale)
            prior = self.log_bank_prior.double().log_softmax(0)[:, None]
            prior = prior + self.log_scale_prior.double().log_softmax(0)
            joint = (evidence + prior).flatten(1).softmax(-1).unflatten(1, evidence.shape[1:])
            bank = joint.sum(-1)
            scale = (joint * a).sum(-1) / bank.clamp_min(torch.finfo(bank.dtype).tiny)
            return BayesStats(gram, moment, energy, count, w, L, bank, scale)

    def predict(
        self, stats: BayesStats, x: torch.Tensor, spread: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The banks' mixture at queries x (T, Q, D): mean (T, Q, C) and the variance (T, Q)
        of its first output (moment-matched; the only output in regression), float32; without
        `spread` the variance is None and its solve skipped (classification reads the mean)."""
        with full_precision(x):
            phi = self.features(x)  # (T, Q, E, P)
            means = torch.einsum("tqep,tepc->tqec", phi, stats.weights)
            p = stats.bank[:, None]  # (T, 1, E)
            mean = (p[..., None] * means).sum(2)
            dtype = torch.get_default_dtype()
            if not spread:
                return mean.to(dtype), None
            noise = self.log_noise.double().exp()
            v = torch.linalg.solve_triangular(stats.factor, phi.permute(0, 2, 3, 1), upper=False)
            var = (noise + v.square().sum(-2).transpose(1, 2)) * stats.scale[:, None]  # (T, Q, E)
            second = (p * (var + means[..., 0].square())).sum(-1)
            var = (second - mean[..., 0].square()).clamp_min(noise * 1e-3)
            return mean.to(dtype), var.to(dtype)
