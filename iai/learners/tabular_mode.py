"""The tabular classifier's posterior mode: where `IAIClassifier.fit`, which holds every row,
takes the state its pass over them left.

The learned update reads a table once, a damped Newton step per mini-batch on the softmax
loss: at 64 rows two steps, short of the mode of the very model it keeps, f_c(x) = φ(x)ᵀ θ_c.
`fit` has every row at hand, so it finishes the job: the maximum a posteriori θ of that model
under the base prior the update starts from, N(0, diag(1 / (s α₀))) per class (α₀ the
learner's learned `log_alpha0`; during the pass h_φ moves each coordinate's precision from
it), over the classes the rows show, from the state's θ: for two classes by Newton's method, s
the one of SCALES of highest Laplace evidence (`_binary`); for more by L-BFGS (scipy's) at s =
1, where the evidence picked large s on tables of few rows per class and read them worse in
our trials. Measured against the pass alone: benchmarks/results/tabular-mode/mode.md.
`partial_fit` predicts from it too while it holds every row (its first ones, setting the
scale), but a stream goes on from the pass's state: the update was trained on its own
trajectory, and continued from the mode it read a stream worse in our trials. Not past
MAX_ROWS rows, where a solve costs seconds and the pass is nearer the mode, or below MIN_ROWS,
where the mode read tables of two classes apart from noise features worse than the pass
(benchmarks/results/untrusted/small-rows.txt at commit afc9551: 5 features, 3 to 9 rows, 0.002
to 0.057 less accuracy).
"""

import warnings
from dataclasses import replace

import numpy as np
import torch
from scipy.linalg import solve_triangular
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning
from torch.nn.functional import binary_cross_entropy_with_logits

from iai.learners.tabular import TabularLearner, TabularState

MIN_ROWS, MAX_ROWS = 10, 4096  # the fewest and most rows `fit` solves for the mode on
SCALES = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)  # prior scales the evidence picks from
OPTIONS = {"maxiter": 500, "gtol": 1e-7, "ftol": 1e-12}  # scipy's L-BFGS-B, more classes
NEWTON_STEPS = 100  # the most per solve, two classes


def posterior_mode(
    learner: TabularLearner, state: TabularState, x: torch.Tensor, y: torch.Tensor, outputs
) -> TabularState:
    """`state` with the θ (T, C, P) of `outputs` (K,), the classes the rows show, at the
    posterior mode given the rows x (T, n, d) and labels y (T, n) in 0 … K - 1 (indices into
    `outputs`), task by task; the other outputs' θ as they were."""
    theta, K = state.theta.clone(), len(outputs)
    with torch.no_grad():
        alpha0 = learner.log_alpha0.exp()[learner.groups(x.shape[-1])].to(theta.dtype)  # (P,)
        phi = learner.features(x).to(theta.dtype)  # (T, n, P)
        for t in range(len(theta)):
            if K == 2:
                theta[t, outputs] = _binary(phi[t], y[t].to(theta.dtype), alpha0, theta[t, outputs])
                continue
            # the pass's Gauss–Newton sum, a preconditioner: the random features repeat one
            # another, and plain L-BFGS took hundreds of iterations
            gnm = x.shape[1] * state.curvature[t, outputs] + torch.diag(alpha0)
            factor = torch.linalg.cholesky(gnm.double()).numpy()  # (K, P, P)
            onehot = np.eye(K)[y[t].numpy()]  # (n, K)
            start = theta[t, outputs].double().numpy()
            mode = _mode(phi[t].double().numpy(), onehot, alpha0.double().numpy(), start, factor)
            theta[t, outputs] = torch.from_numpy(mode).to(theta.dtype)
    return replace(state, theta=theta)


def _binary(phi, target, alpha0, start) -> torch.Tensor:
    """The mode (2, P) of two classes, target (n,) 0 or 1. Only u = θ₁ - θ₀ reaches the
    softmax, and θ₀ + θ₁, which no row informs, is 0 at the mode: θ = (-u/2, u/2), u a
    logistic regression's MAP under the prior precision s α₀ / 2, by Newton's method. s: the
    one of SCALES of highest Laplace evidence, with each class's block of the Gauss–Newton
    matrix apart, as the update's step has it (the exact evidence in u, θ₀ + θ₁ integrated
    out, picks smaller s and read the binary tables worse in our trials)."""
    best, u = None, start[1] - start[0]
    for s in SCALES:  # ascending: each solve starts from the last one's mode
        alpha = s * alpha0
        u = _newton(phi, target, alpha / 2, u)
        p = torch.sigmoid(phi @ u)
        block = torch.linalg.cholesky((phi.T * (p * (1 - p))) @ phi + torch.diag(alpha))
        loss = _logistic_loss(phi, target, alpha / 2, u)
        evidence = float(-loss + alpha.log().sum() - 2 * block.diagonal().log().sum())
        if best is None or evidence > best[0]:
            best = (evidence, u)
    return torch.stack([-best[1] / 2, best[1] / 2])


def _logistic_loss(phi, target, alpha, u) -> torch.Tensor:
    data = binary_cross_entropy_with_logits(phi @ u, target, reduction="sum")
    return data + 0.5 * (alpha * u * u).sum()


def _newton(phi, target, alpha, u) -> torch.Tensor:
    """The MAP u from u, each step halved until the loss falls (it starts near the mode)."""
    loss = _logistic_loss(phi, target, alpha, u)
    for _ in range(NEWTON_STEPS):
        p = torch.sigmoid(phi @ u)
        factor = torch.linalg.cholesky((phi.T * (p * (1 - p))) @ phi + torch.diag(alpha))
        grad = phi.T @ (p - target) + alpha * u
        step, t = torch.cholesky_solve(grad[:, None], factor)[:, 0], 1.0
        trial = _logistic_loss(phi, target, alpha, u - step)
        while not trial <= loss and t > 1e-4:  # `not <=`: a NaN is no descent
            t /= 2
            trial = _logistic_loss(phi, target, alpha, u - t * step)
        if not trial <= loss:
            break
        done = loss - trial <= 1e-10 * (1 + abs(float(loss)))
        u, loss = u - t * step, trial
        if done:
            break
    return u


def _loss(phi, onehot, alpha, theta) -> tuple[float, np.ndarray]:
    """The negative log posterior up to a constant, the softmax loss summed over the rows and
    ½ Σ_c θ_cᵀ diag(α) θ_c, and its gradient (K, P)."""
    z = phi @ theta.T  # (n, K)
    top = z.max(1, keepdims=True)
    logsum = top[:, 0] + np.log(np.exp(z - top).sum(1))
    p = np.exp(z - logsum[:, None])
    loss = (logsum - (z * onehot).sum(1)).sum() + 0.5 * (alpha * theta * theta).sum()
    return loss, (p - onehot).T @ phi + alpha * theta


def _mode(phi, onehot, alpha, start, factor) -> np.ndarray:
    """argmin over θ (K, P) of `_loss`, by L-BFGS from `start`, in v_c = L_cᵀ θ_c (L_c
    `factor`'s lower triangular blocks (K, P, P)), where the Hessian is near the identity."""
    shape, n = start.shape, len(phi)

    def theta_of(v):  # θ_c = L_c⁻ᵀ v_c
        return np.stack(
            [
                solve_triangular(L, vc, trans="T", lower=True)
                for L, vc in zip(factor, v, strict=True)
            ]
        )

    def fun(w):  # per row, so that the tolerances mean the same at any n
        v = w.reshape(shape)
        loss, grad = _loss(phi, onehot, alpha, theta_of(v))
        dv = np.stack(
            [solve_triangular(L, g, lower=True) for L, g in zip(factor, grad, strict=True)]
        )
        return loss / n, dv.ravel() / n

    v0 = np.einsum("kqp,kq->kp", factor, start)  # L_cᵀ θ_c
    found = minimize(fun, v0.ravel(), jac=True, method="L-BFGS-B", options=OPTIONS)
    if not found.success:  # the iterate is still better than the start: kept, and said
        warnings.warn(
            f"the posterior mode's L-BFGS stopped short ({found.message}); the classifier "
            "predicts from its last iterate (refine=False predicts from the pass)",
            ConvergenceWarning,
            stacklevel=2,
        )
    return theta_of(found.x.reshape(shape))
