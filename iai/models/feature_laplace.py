"""Online Laplace logistic regression on learned Fourier features, in E banks mixed by how well
each predicted the points before reading them: the token learner's floor for classes.

Why not least squares. Regressing the one-hot code (what the regression floor would do) is the
ceiling of its own direction: on the grid's linear classification task at 160 points it errs
5.64 % where one pass of online Laplace updates errs 4.98 % and logistic regression fit on all
points 2.85 % (benchmarks/results/grid/classification-floor.md). A Laplace update keeps a
Gaussian over each class's weights, and each mini-batch is one Newton step from the current
mean with the precision read so far: flat memory, any number of points.

The curvature. A Newton step's exact curvature Σ p(1 − p) φφᵀ differs per class and per point,
so each class would need its own precision and Cholesky factor (C × the cost). Böhning's bound
(1992) replaces it by a fixed ½ (I − 11ᵀ / C) ⊗ Σ φφᵀ, the same for every class, so one
precision per bank serves all C: Λ = Λ₀ + Σ φφᵀ / σ², the regression floor's own, with σ²
learned (`FourierBasis`; the bound is σ² = 2, and a larger one lets the weights grow faster
on nearly separable tasks). Each batch then moves the mean by Λ⁻¹ Σ φ (y − softmax(Wᵀφ)).

The banks. A bank's evidence here is prequential: the log-likelihood of each batch under the
bank's mean before the batch is read (Dawid 1984), the sum of its one-step-ahead predictions;
so a bank whose features overfit is not favoured.

The covariance Λ⁻¹ is carried and updated by Woodbury's identity, as the regression floor's
(`FourierBasis.update_covariance`; why there). Precision: it and the evidence are float64.
"""

from dataclasses import dataclass

import torch

from iai.models.fourier_basis import FourierBasis
from iai.models.precision import full_precision

# The initial inverse curvature σ², learned from there: as the floors start on the grid's three
# classification tasks at 160 points, σ² = 10 errs least on the linear one (4.49 % against least
# squares's 7.78 %), σ² = 4 on the other two, and every σ² from 2 to 10 is below least squares
# on all three (benchmarks/results/grid/classification-floor.md).
NOISE = 10.0


@dataclass(frozen=True)
class LaplaceStats:
    """Per task and bank, what the points read so far leave of the Laplace posterior (float64)."""

    weights: torch.Tensor  # (T, E, P, C): the posterior mean of each class's weights
    covariance: torch.Tensor  # (T, E, P, P): Λ⁻¹, the inverse of the posterior precision
    evidence: torch.Tensor  # (T, E): Σ over batches of log p(batch | bank, points before it)
    bank: torch.Tensor  # (T, E): p(bank | points), sums to 1

    def detach(self) -> "LaplaceStats":
        return LaplaceStats(**{k: v.detach() for k, v in vars(self).items()})


class FeatureLaplace(FourierBasis):
    """Online Laplace softmax regression over C classes on E banks of Fourier features."""

    def __init__(self, dim: int, classes: int, basis: int, banks: int) -> None:
        super().__init__(dim, basis, banks, noise=NOISE)
        self.classes = classes

    def start(self, tasks: int, like: torch.Tensor) -> LaplaceStats:
        """The prior: no point read, every class's weights 0."""
        E, P = self.precision_offset.shape
        zeros = like.new_zeros((), dtype=torch.float64)
        weights = zeros.expand(tasks, E, P, self.classes)
        with full_precision(like):
            covariance = self.prior_covariance(tasks)[0]
            return self._stats(weights, covariance, zeros.expand(tasks, E))

    def add(self, stats: LaplaceStats, x: torch.Tensor, y: torch.Tensor) -> LaplaceStats:
        """The posterior after a batch x (T, B, D) with one-hot labels y (T, B, C)."""
        return self.read(stats, x, y)[1]

    def read(self, stats: LaplaceStats, x: torch.Tensor, y: torch.Tensor):
        """log p(class) at a batch x (T, B, D) before its labels y (T, B, C) are read, as
        `predict` gives, and the posterior after: one bounded Newton step from the mean."""
        with full_precision(x):
            phi, y = self.features(x).transpose(1, 2), y.double()[:, None]  # (T, E, B, P)
            logp = (phi @ stats.weights).log_softmax(-1)  # (T, E, B, C), before the batch
            before = self._mixture(stats, logp.transpose(1, 2))
            evidence = stats.evidence + (logp * y).sum((-2, -1))
            covariance = self.update_covariance(stats.covariance, phi)[0]
            step = covariance @ (phi.mT @ (y - logp.exp()))
            return before, self._stats(stats.weights + step, covariance, evidence)

    def _stats(self, weights, covariance, evidence) -> LaplaceStats:
        bank = (evidence + self.log_bank_prior.double().log_softmax(0)).softmax(-1)
        return LaplaceStats(weights, covariance, evidence, bank)

    def predict(self, stats: LaplaceStats, x: torch.Tensor) -> torch.Tensor:
        """The banks' mixture at queries x (T, Q, D): log p(class) (T, Q, C), float32."""
        with full_precision(x):
            phi = self.features(x)  # (T, Q, E, P)
            logp = torch.einsum("tqep,tepc->tqec", phi, stats.weights).log_softmax(-1)
            return self._mixture(stats, logp)

    def _mixture(self, stats: LaplaceStats, logp: torch.Tensor) -> torch.Tensor:
        """The banks' log p(class) (T, Q, E, C), float64, mixed by their weights, float32."""
        log_bank = (stats.evidence + self.log_bank_prior.double().log_softmax(0)).log_softmax(-1)
        mixed = (logp + log_bank[:, None, :, None]).logsumexp(2)
        return mixed.to(torch.get_default_dtype())
