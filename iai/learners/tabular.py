"""The tabular learner: parametric IAI for tables of any width, the model behind `iai.sklearn`.

f(x; θ) is linear in fixed features φ(x) = [1, x, √2 cos(ω x + b)]: the standardized inputs
and R random Fourier features of RBF kernels at three lengthscales (0.5, 1 and 2 × √d). With
a Gaussian prior on θ this is Bayesian linear regression on a linear-plus-RBF kernel, a
strong small-data model; the update makes it learned and streaming.

The update is the curvature-preconditioned step of `iai.learners.parametric`, per output c:
θ_c ← θ_c + ρ ((S_c + diag(α_c) / n)⁻¹ (-ḡ_c) + w_n Δ_c), S_c the running mean of the
Gauss–Newton matrix, ḡ_c the batch's mean gradient, n the points seen. For least squares
with fixed α and Δ = 0 this is recursive least squares: the exact posterior mean under the
conjugate prior N(0, σ² diag(1/α)) (σ² the noise variance), batch after batch, in memory
flat in n. What h_φ learns is α, the prior precision of each coordinate (amortized
empirical Bayes: how much to trust the linear part, each lengthscale, the bias, given what
the data show so far), and Δ, a correction of the step, trusted in full (w_n = 1) only from
n = B on, the batch size it was trained with: below, w_n = n / B (`TabularLearner.trust`).

Any table width. h_φ is equivariant over features and over classes: one token per
coordinate of θ (its group, value, gradient, curvature, the task's noise and class
frequencies), an MLP per token, means over each group's and each class's tokens, and an MLP
reading a token with its group's and class's means. Nothing is padded: a table of d features
has P = 1 + d + R coordinates per output, and the same φ serves any d ≤ `dim` (the first d
columns of a fixed ω; so predictions depend on the columns' order through ω, though not in
distribution). Classification uses `out_dim` outputs (the most classes); outputs
beyond a task's classes see no labels and are pushed down, and the estimator masks them.
Since classes meet only through means, the same weights read C > out_dim classes under
Classification(C) (`any_classes`; `iai.sklearn_learners.for_classes`).

The state also carries a running estimate of the noise variance (regression): the mean of
the squared recursive residuals, each residual before the update that reads it, divided by
its predictive variance factor, which is N(0, σ²) exactly for Bayesian linear regression,
with one pseudo-observation of 1 (the standardized targets' variance) in front.
With the posterior precision's Cholesky factor it gives `predict_std`. Curvature is per
output block (classes' cross terms dropped), so a step costs C Cholesky factorizations of
P × P, independent of n; classes that no row has labeled yet are equal and share one
(`TabularLearner._shared`), so a binary table costs 3 of the 10 outputs' blocks. Gradients
and Gauss–Newton terms are written out rather than taken by torch.func
(`iai.models.predictors`): for a model linear in φ they are two matrix products, where
per-example Jacobians would cost P times more.
"""

import math
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

import torch
from torch import nn

from iai.errors import InvalidConfig
from iai.learners.base import Origin, PredictiveLearner, check_config
from iai.models.clock import step_clock
from iai.models.heads import ZeroLinear
from iai.tasks.objective import Objective

SCALES = (0.5, 1.0, 2.0)  # RBF lengthscales of the random features, in units of √d
GROUPS = 2 + len(SCALES)  # bias, linear, one per lengthscale


@dataclass(frozen=True)
class TabularConfig:
    kind: Literal["tabular"] = "tabular"
    features: int = 192  # R random Fourier features, split evenly over SCALES
    width: int = 48
    seed: int = 0  # draws ω and b

    def __post_init__(self) -> None:
        check_config(self, ("features", "width"), heads=False)
        if self.features % len(SCALES):
            raise InvalidConfig(
                f"learner.features = {self.features} is not a multiple of {len(SCALES)} "
                "(one share per lengthscale)"
            )


@dataclass(frozen=True)
class TabularState:
    theta: torch.Tensor  # (T, C, P)
    curvature: torch.Tensor  # (T, C, P, P) running mean of the Gauss–Newton matrix
    factor: torch.Tensor  # (T, 1, P, P) Cholesky factor of the precision n S + diag α (regression)
    noise: torch.Tensor  # (T,) noise variance estimate (regression; ones for classification)
    frequency: torch.Tensor  # (T, C) running class frequencies (classification; zeros else)
    seen: int = 0
    steps: int = 0

    def detach(self) -> "TabularState":
        return replace(self, theta=self.theta.detach())


class DampedSolve(torch.autograd.Function):
    """(x, L): x = (S + diag λ)⁻¹ b and L the Cholesky factor, in float64 (S is near
    singular when n < P or features repeat); differentiable in λ and b, not S (data).

    By hand rather than through autograd's Cholesky backward: with u = A⁻¹ x̄ (A symmetric),
    b̄ = u and λ̄ = -u ⊙ x, two triangular solves instead of the O(P³) backward of the
    factorization, which dominated a training step.

    S (T, C, P, P) is a step's largest tensor, so it is copied once: cast to float64 with λ
    added on the diagonal in place (not diag_embed, a sum and a cast: three copies), and the
    solves are `solve_triangular` pairs, bit for bit `cholesky_solve`'s result but without its
    copy of the factor (3.5 × as fast at T = 64, C = 10, P = 213: benchmarks/tabular_step.py)."""

    @staticmethod
    def forward(ctx, S: torch.Tensor, lam: torch.Tensor, b: torch.Tensor):
        diagonal = S.diagonal(dim1=-2, dim2=-1) + lam  # in S's dtype, as S + diag λ adds it
        A = S.to(torch.float64, copy=True)
        A.diagonal(dim1=-2, dim2=-1).copy_(diagonal)
        chol = torch.linalg.cholesky(A)
        x = _cholesky_solve(b.double(), chol)
        ctx.save_for_backward(chol, x)
        ctx.mark_non_differentiable(chol)
        return x.to(b.dtype), chol

    @staticmethod
    def backward(ctx, gx: torch.Tensor, _):
        chol, x = ctx.saved_tensors
        u = _cholesky_solve(gx.double(), chol)
        return None, (-u * x).to(gx.dtype), u.to(gx.dtype)


def _cholesky_solve(b: torch.Tensor, chol: torch.Tensor) -> torch.Tensor:
    """(L Lᵀ)⁻¹ b for b (…, P), L (…, P, P) lower triangular."""
    y = torch.linalg.solve_triangular(chol, b.unsqueeze(-1), upper=False)
    return torch.linalg.solve_triangular(chol.mT, y, upper=True).squeeze(-1)


def _variance_factor(factor: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
    """1 + φᵀ A⁻¹ φ per row of φ (T, n, P), A = L Lᵀ the posterior precision whose factor
    L (T, 1, P, P) the state holds: a prediction's variance in units of the noise's."""
    z = torch.linalg.solve_triangular(
        factor[:, 0], phi.transpose(1, 2).to(factor.dtype), upper=False
    )
    return 1 + z.square().sum(1)  # (T, n)


def _mlp(inp: int, width: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inp, width), nn.GELU(), nn.Linear(width, out))


class TabularLearner(PredictiveLearner):
    variable_dim: ClassVar[bool] = True  # takes any number of features up to `dim`
    predicts_std: ClassVar[bool] = True
    any_classes: ClassVar[bool] = True  # one token per (class, coordinate): see the docstring
    forgets: ClassVar[bool] = True

    def __init__(
        self, cfg: TabularConfig, dim: int, objective: Objective, origin: Origin | None = None
    ) -> None:
        super().__init__(cfg, dim, objective, origin)
        g = torch.Generator().manual_seed(cfg.seed)
        R = cfg.features
        self.register_buffer("omega", torch.randn(R, dim, generator=g))
        self.register_buffer("phase", 2 * math.pi * torch.rand(R, generator=g))
        per = R // len(SCALES)
        self.register_buffer("scale", torch.tensor(SCALES).repeat_interleave(per))
        # prior precisions to start from: a weak bias prior, and a prior variance of f near 1
        # for standardized targets whatever the width (about 1/4 per input and 1/64 per
        # random feature); learned from there
        start = [0.0, math.log(4.0)] + [math.log(64.0)] * len(SCALES)
        self.log_alpha0 = nn.Parameter(torch.tensor(start))
        W, n_in = cfg.width, GROUPS + 10
        self.encode = _mlp(n_in, W, W)
        # zero at the end: α = α₀ and Δ = 0 at start, plain RLS
        self.decode = nn.Sequential(nn.Linear(3 * W, W), nn.GELU(), ZeroLinear(W, 2))

    def groups(self, d: int) -> torch.Tensor:
        """(P,) each coordinate's group: 0 bias, 1 linear, 2 + i the i-th lengthscale."""
        per = self.cfg.features // len(SCALES)
        rff = 2 + torch.arange(len(SCALES)).repeat_interleave(per)
        return torch.cat([torch.tensor([0]), torch.ones(d, dtype=torch.long), rff]).to(
            self.omega.device
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(T, n, d) standardized inputs -> φ (T, n, 1 + d + R)."""
        d = x.shape[-1]
        omega = self.omega[:, :d] / (self.scale[:, None] * math.sqrt(d))
        rff = math.sqrt(2) * torch.cos(x @ omega.T + self.phase)
        return torch.cat([torch.ones_like(x[..., :1]), x, rff], -1)

    def init(self, x_query: torch.Tensor) -> TabularState:
        T, d = x_query.shape[0], x_query.shape[-1]
        C, P = self.objective.out_dim, 1 + d + self.cfg.features
        alpha = self.log_alpha0.exp()[self.groups(d)].expand(T, C, P)
        factor = torch.diag_embed(alpha.sqrt())
        if self.objective.categorical:  # only regression's std and noise estimate read it
            factor = factor[:, :, :0, :0]
        return TabularState(
            x_query.new_zeros(T, C, P),
            x_query.new_zeros(T, C, P, P),
            factor,
            x_query.new_ones(T),
            x_query.new_zeros(T, C),
        )

    def step(self, state: TabularState, x: torch.Tensor, y: torch.Tensor) -> TabularState:
        """One mini-batch x (T, B, d), y (T, B) -> the next state."""
        shared = self._shared(state, y) if self.objective.categorical else None
        if shared is None:
            return self._step(state, x, y, None)
        keep, slot = shared  # (C',) a class per slot, (C,) each class's slot
        inner = replace(
            state,
            theta=state.theta[:, keep],
            curvature=state.curvature[:, keep],
            frequency=state.frequency[:, keep],
        )
        count = torch.bincount(slot, minlength=len(keep)).to(state.theta.dtype)
        new = self._step(inner, x, slot[y], count)
        return replace(
            new,
            theta=new.theta[:, slot],
            curvature=new.curvature[:, slot],
            frequency=new.frequency[:, slot],
        )

    def _shared(self, state: TabularState, y: torch.Tensor):
        """Classes this batch does not label and whose state equals the last class's, in every
        task: exchangeable (h_φ reads no class index, classes meet only through means and the
        softmax), so their updates are equal and one slot computes them for all, weighted by
        their count. Most tables have fewer classes than the outputs, the others never labeled
        and all equal: a binary table's step solves 3 blocks rather than 10. None when fewer
        than two classes would share. Returns (keep (C',), slot (C,))."""
        C = state.theta.shape[1]
        labeled = torch.zeros(C, dtype=torch.bool, device=y.device)
        labeled[y.flatten()] = True
        equal = (state.theta == state.theta[:, -1:]).all(-1)  # (T, C)
        equal &= state.frequency == state.frequency[:, -1:]
        same = equal.all(0) & ~labeled
        if same.sum() < 2:
            return None
        same &= (state.curvature == state.curvature[:, -1:]).flatten(2).all(-1).all(0)
        if same.sum() < 2:
            return None
        own = (~same).nonzero()[:, 0]
        slot = torch.full((C,), len(own), dtype=torch.long, device=y.device)
        slot[own] = torch.arange(len(own), device=y.device)
        return torch.cat([own, same.nonzero()[:1, 0]]), slot

    def _step(self, state: TabularState, x, y, count: torch.Tensor | None) -> TabularState:
        """`step` over the state's class slots, `count` (C',) the classes each slot stands for
        (None: one each)."""
        T, B, d = x.shape
        C, n = state.theta.shape[1], state.seen + B
        rho = step_clock(state.seen, B)
        phi = self.features(x)  # (T, B, P)
        out = phi @ state.theta.transpose(1, 2)  # (T, B, C)
        noise, frequency = state.noise, state.frequency
        if self.objective.categorical:
            # each class of a slot has its probability: softmax over every class, counted
            p = out.softmax(-1) if count is None else (out + count.log()).softmax(-1) / count
            onehot = nn.functional.one_hot(y, C).to(phi.dtype)
            grad = (p - onehot).transpose(1, 2) @ phi / B  # (T, C, P)
            weight = p * (1 - p)  # the softmax GGN's diagonal: one block per class
            frequency = frequency + rho * (onehot.mean(1) - frequency)
        else:
            r = y - out[..., 0]  # (T, B)
            grad = -(r[:, None] @ phi) / B  # (T, 1, P)
            weight = torch.ones_like(out)
            with torch.no_grad():  # recursive residuals, each before its update
                v = _variance_factor(state.factor, phi).to(r.dtype)  # (T, B)
                noise = noise + B / (n + 1) * ((r.square() / v).mean(1) - noise)
        with torch.no_grad():  # a statistic of the data, not a path for gradients
            weighted = weight.transpose(1, 2)[..., None] * phi[:, None]  # (T, C, B, P)
            ggn = (weighted.transpose(-1, -2) @ phi[:, None]).div_(B)  # (T, C, P, P)
            # S + ρ (ggn - S) in ggn's memory: (T, C, P, P) is too large to allocate thrice
            curvature = ggn.sub_(state.curvature).mul_(rho).add_(state.curvature)
        log_alpha, delta = self._update(state.theta, grad, curvature, noise, frequency, rho, count)
        move, chol = DampedSolve.apply(curvature, log_alpha.exp() / n, -grad)
        theta = state.theta + rho * (move + self.trust(n) * delta)
        chol = chol[:, :, :0, :0] if self.objective.categorical else chol
        factor = chol * math.sqrt(n)  # of n S + diag α, the posterior precision
        return TabularState(theta, curvature, factor, noise, frequency, n, state.steps + 1)

    def forget(self, state: TabularState, rows: int) -> TabularState:
        """`state` counting at most `rows` points. From then on every step's clock stays at
        ρ = B / (rows + B), so the running curvature, noise and class frequencies, the damping
        α / n and the step weigh a batch down by 1 - ρ for each batch read after it: a window
        of about `rows` points, for streams whose concept drifts (measured on river's drift
        streams: benchmarks/results/river-streams/). The update saw n up to its training
        horizon only, so any larger n is an extrapolation already; a window holds n there."""
        return replace(state, seen=min(state.seen, rows))

    def trust(self, n: int) -> float:
        """The share of Δ a step after n points takes: min(1, n / B), B the batch size the
        learner was trained with (1 for a learner built without one). Training's first step
        always read B points, so h_φ never saw n < B, and it cannot tell: its inputs are
        means over the batch and ρ = 1 at any first step. The solved move shrinks like n / α
        there (the prior outweighs the data) while Δ keeps its size, so the correction
        learned against the move at n = B outweighs the move itself at n ≪ B and reversed
        the shipped classifier's first steps on 2 … 8 rows (issue 24, finding 1); scaled
        by n / B it keeps the size relative to the move it was trained at."""
        B = self.trained_batch_size
        return 1.0 if B is None else min(1.0, n / B)

    def _update(self, theta, grad, curvature, noise, frequency, rho: float, count=None):
        """h_φ: per-coordinate log prior precision (T, C, P) and a step correction (T, C, P),
        added after the solve and bounded: through the solve, a correction where S is
        singular would be multiplied by n / α. `count` (C,): the classes each slot stands for
        (`_shared`), weights of the means over classes."""
        T, C, P = theta.shape
        d = P - 1 - self.cfg.features
        groups = self.groups(d)
        diag = torch.diagonal(curvature, dim1=-2, dim2=-1)  # (T, C, P)
        root = (diag + 1e-4).sqrt()
        task = theta.new_tensor([rho, rho**0.5, math.log(d) / 4]).expand(T, C, P, 3)
        member = nn.functional.one_hot(groups, GROUPS).to(theta.dtype)  # (P, G)
        inputs = [
            member.expand(T, C, P, GROUPS),
            torch.stack([theta * root, theta, grad / root, grad, root.log()], -1),
            task,
            noise.log()[:, None, None, None].expand(T, C, P, 1),
            (frequency + 1e-3).log()[:, :, None, None].expand(T, C, P, 1),
        ]
        h = self.encode(torch.cat(inputs, -1))  # (T, C, P, W)
        if count is None:
            by_group = torch.einsum("tcpw,pg->tgw", h, member) / (C * member.sum(0))[:, None]
        else:
            by_group = torch.einsum("tcpw,c,pg->tgw", h, count, member)
            by_group = by_group / (count.sum() * member.sum(0))[:, None]
        by_class = h.mean(2, keepdim=True).expand_as(h)
        out = self.decode(torch.cat([h, by_group[:, groups][:, None].expand_as(h), by_class], -1))
        log_alpha = self.log_alpha0[groups] + 6 * torch.tanh(out[..., 0] / 6)
        return log_alpha, 0.1 * torch.tanh(out[..., 1])

    def predict(self, state: TabularState, x_query: torch.Tensor) -> torch.Tensor:
        return self.features(x_query) @ state.theta.transpose(1, 2)  # (T, Q, C)

    def predict_std(self, state: TabularState, x_query: torch.Tensor) -> torch.Tensor:
        """Regression's predictive std (T, Q): σ² (1 + φᵀ (n S + diag α)⁻¹ φ), under the
        Gaussian posterior the update keeps and the state's noise estimate."""
        factor = _variance_factor(state.factor, self.features(x_query))
        return (state.noise[:, None] * factor.to(state.noise.dtype)).sqrt()
