"""Exact Bayesian linear regression on learned Fourier features, in E banks mixed by their
evidence: the part of the token learner's state that is sums, not tokens.

Why. A learned update has to discover, from the loss alone, how to write what a few hundred
points say into its latents; on Gaussian processes and on the grid's tasks it did not (docs/
tokens.md). Bayesian linear regression on features φ(x) needs no such discovery: its posterior
is a function of Σ φφᵀ (carried as the posterior covariance, below), Σ φyᵀ, Σ yyᵀ-diagonal
and n, sums carried in any order and in memory flat in the number of points (as CMANP carries
its pooled attention). Each bank's features approximate a stationary kernel at its own
bandwidth (`iai.models.fourier_basis`); each bank's marginal likelihood is closed form too, so
mixing the banks by it is exact Bayesian model averaging over the bandwidths, the discrete
form of a GP reference integrating over its lengthscale, and over a joint scale of prior and
noise (`SCALES`). The tokens learn what these sums miss (`iai.learners.tokens`).

The covariance. Each read needs the posterior covariance Λ⁻¹, Λ = Λ₀ + Σ φφᵀ / σ². A batch of
B points changes Λ by rank B, so Λ⁻¹ is carried in the state and updated by Woodbury's
identity (recursive least squares: a B × B solve, a batch of B ≥ P read in chunks of P), log
det Λ by the matrix determinant lemma, and the predictive at a batch's own points, which the
token learner reads before its targets, comes from the same products. Why not the sums Σ φφᵀ
refactored by Cholesky at every step, as before: LAPACK factors and solves the (T · E) small
P × P matrices one at a time, with copies around them; carried, the cost benchmark's learner
(P = 57, 8 banks, B = 16) adapts 1.15 × as fast and checkpoints/gp-tokens' recipe trains
1.33 × as fast, the same predictions to 5e-7 (benchmarks/results/tokens-cost/floor.md). What
it costs: rounding accumulates over the updates where a refactored sum would not; over 50,000
points in batches of 16 the covariance stays within 1e-6 of the direct inverse, relatively
(tests/test_feature_bayes.py).

Precision. The sums, the covariance and the evidence are float64: they grow and shrink with
the stream and the update must stay exact (`iai.models.precision`).
"""

import math
from dataclasses import dataclass

import torch
from torch import nn

from iai.models.fourier_basis import GAIN, FourierBasis
from iai.models.precision import full_precision

# The scales a of prior and noise together that each bank's evidence weighs, uniform in log a
# before training: a task's targets may be far larger or smaller than the prior's; the
# posterior mean is the same at every a, its variance a times the a = 1 one, the evidence
# closed form in a (`FeatureBayes._posterior`), so the mixture costs no further solve.
SCALES = 4.0 ** torch.arange(-3, 4, dtype=torch.float64)


@dataclass(frozen=True)
class BayesStats:
    """Per task and bank, the sufficient statistics of the points read so far and the
    posterior they give (float64), computed once per step for every read of it."""

    moment: torch.Tensor  # (T, E, P, C): Σ φ yᵀ
    energy: torch.Tensor  # (T, C): Σ y²
    count: torch.Tensor  # (T,): n
    covariance: torch.Tensor  # (T, E, P, P): Λ⁻¹, the posterior covariance at scale a = 1
    logdet: torch.Tensor  # (T, E): log det Λ
    weights: torch.Tensor  # (T, E, P, C): the posterior mean weights
    bank: torch.Tensor  # (T, E): p(bank | points), sums to 1
    scale: torch.Tensor  # (T, E): E[a | bank, points], the scale of the bank's variance

    def detach(self) -> "BayesStats":
        return BayesStats(**{k: v.detach() for k, v in vars(self).items()})


class FeatureBayes(FourierBasis):
    """Bayesian linear regression on E banks of Fourier features (`FourierBasis`), C outputs
    (each a regression target) sharing each bank's posterior precision; noise variance 0.1 at
    first, a uniform prior over the scales."""

    def __init__(self, dim: int, outputs: int, basis: int, banks: int) -> None:
        super().__init__(dim, basis, banks, noise=0.1)
        self.outputs = outputs
        self.scale_logits = nn.Parameter(torch.zeros(len(SCALES)))

    @property
    def log_scale_prior(self) -> torch.Tensor:
        """(A,): the prior over SCALES, unnormalized log probabilities."""
        return GAIN * self.scale_logits

    def start(self, tasks: int, like: torch.Tensor) -> BayesStats:
        """The prior: no point read."""
        E, P = self.precision_offset.shape
        zeros = like.new_zeros((), dtype=torch.float64)
        moment = zeros.expand(tasks, E, P, self.outputs)
        sums = moment, zeros.expand(tasks, self.outputs), zeros.expand(tasks)
        with full_precision(like):
            return self._posterior(*sums, *self.prior_covariance(tasks))

    def add(self, stats: BayesStats, x: torch.Tensor, y: torch.Tensor) -> BayesStats:
        """The statistics after a batch x (T, B, D) with targets y (T, B, C)."""
        return self.read(stats, x, y)[1]

    def read(self, stats: BayesStats, x: torch.Tensor, y: torch.Tensor):
        """The predictive at a batch x (T, B, D) before its targets y (T, B, C) are read (mean
        (T, B, C), variance (T, B), as `predict` gives), and the statistics after."""
        with full_precision(x):
            phi, y = self.features(x).transpose(1, 2), y.double()  # (T, E, B, P)
            sp = phi @ stats.covariance  # φΛ⁻¹ (T, E, B, P)
            before = self._mixture(stats, phi, (sp * phi).sum(-1))
            covariance, logdet = self.update_covariance(stats.covariance, phi, sp, stats.logdet)
            moment = stats.moment + phi.mT @ y[:, None]
            after = self._posterior(
                moment, stats.energy + y.square().sum(1), stats.count + x.shape[1], covariance,
                logdet,
            )  # fmt: skip
            return before, after

    def _posterior(self, moment, energy, count, covariance, logdet) -> BayesStats:
        with full_precision(moment):
            noise = self.log_noise.double().exp()
            log_prec = self.log_precision.double()
            rhs = moment / noise
            w = covariance @ rhs  # (T, E, P, C)
            C = self.outputs
            n = count[:, None, None]
            fit = -0.5 * energy.sum(-1)[:, None] / noise + 0.5 * (rhs * w).sum((-2, -1))  # ≤ 0
            a = SCALES.to(moment.device)  # scaling prior and noise by a: same mean, see above
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
            sums = moment, energy, count
            return BayesStats(*sums, covariance, logdet, w, bank, scale)

    def predict(self, stats: BayesStats, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The banks' mixture at queries x (T, Q, D): mean (T, Q, C) and the variance (T, Q)
        of its first output (moment-matched; the only output in regression), float32."""
        with full_precision(x):
            phi = self.features(x).transpose(1, 2)  # (T, E, Q, P)
            return self._mixture(stats, phi, ((phi @ stats.covariance) * phi).sum(-1))

    def _mixture(self, stats: BayesStats, phi: torch.Tensor, quad: torch.Tensor):
        """`predict` from the queries' features φ (T, E, Q, P) and φᵀΛ⁻¹φ (T, E, Q)."""
        means = (phi @ stats.weights).transpose(1, 2)  # (T, Q, E, C)
        p = stats.bank[:, None]  # (T, 1, E)
        mean = (p[..., None] * means).sum(2)
        noise = self.log_noise.double().exp()
        var = (noise + quad.transpose(1, 2)) * stats.scale[:, None]  # (T, Q, E)
        second = (p * (var + means[..., 0].square())).sum(-1)
        var = (second - mean[..., 0].square()).clamp_min(noise * 1e-3)
        dtype = torch.get_default_dtype()
        return mean.to(dtype), var.to(dtype)
