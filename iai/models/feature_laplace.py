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

Precision. The sums, the factor and the evidence are float64, as the regression floor's.
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

    gram: torch.Tensor  # (T, E, P, P): Σ φφᵀ
    weights: torch.Tensor  # (T, E, P, C): the posterior mean of each class's weights
    factor: torch.Tensor  # (T, E, P, P): the posterior precision's lower Cholesky factor
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
        gram = zeros.expand(tasks, E, P, P)
        weights = zeros.expand(tasks, E, P, self.classes)
        return self._stats(gram, weights, self.factor(gram), zeros.expand(tasks, E))

    def add(self, stats: LaplaceStats, x: torch.Tensor, y: torch.Tensor) -> LaplaceStats:
        """The posterior after a batch x (T, B, D) with one-hot labels y (T, B, C): one bounded
        Newton step from the current mean."""
        with full_precision(x):
            phi, y = self.features(x).permute(0, 2, 1, 3), y.double()[:, None]  # (T, E, B, P)
            logp = (phi @ stats.weights).log_softmax(-1)  # (T, E, B, C), before the batch
            evidence = stats.evidence + (logp * y).sum((-2, -1))
            gram = self.accumulate(stats.gram, phi)
            factor = self.factor(gram)
            step = torch.cholesky_solve(phi.mT @ (y - logp.exp()), factor)
            return self._stats(gram, stats.weights + step, factor, evidence)

    def _stats(self, gram, weights, factor, evidence) -> LaplaceStats:
        bank = (evidence + self.log_bank_prior.double().log_softmax(0)).softmax(-1)
        return LaplaceStats(gram, weights, factor, evidence, bank)

    def predict(self, stats: LaplaceStats, x: torch.Tensor) -> torch.Tensor:
        """The banks' mixture at queries x (T, Q, D): log p(class) (T, Q, C), float32."""
        with full_precision(x):
            logp = torch.einsum("tqep,tepc->tqec", self.features(x), stats.weights).log_softmax(-1)
            log_bank = (stats.evidence + self.log_bank_prior.double().log_softmax(0)).log_softmax(
                -1
            )
            mixed = (logp + log_bank[:, None, :, None]).logsumexp(2)
            return mixed.to(torch.get_default_dtype())
