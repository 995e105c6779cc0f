"""Fixed prediction models f(x; θ) on a flat per-task parameter vector θ (the parametric regime).

Written for one task, θ (P,) and x (N, D) -> (N, out); `torch.func.vmap` batches them over
tasks and points, so per-example gradients come from `vmap(grad(...))` with no hand-written
Jacobians.
"""

from typing import ClassVar

import torch
from torch.func import grad, jacrev, vmap

from iai.errors import InvalidConfig
from iai.models.precision import full_precision
from iai.tasks.objective import Objective


class LinearModel:
    """f(x; θ) = [x, 1] W, θ = vec(W), W (D + 1, out)."""

    batched: ClassVar[bool] = False  # written for one task (`apply`)

    def __init__(self, dim: int, out_dim: int) -> None:
        self.dim, self.out_dim = dim, out_dim
        self.n_params = (dim + 1) * out_dim

    def __call__(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        w = theta.reshape(self.dim + 1, self.out_dim)
        return x @ w[:-1] + w[-1]


class MLPModel:
    """f(x; θ) = act([x, 1] W₁) W₂: the same family as the nonlinear task priors."""

    batched: ClassVar[bool] = False

    def __init__(self, dim: int, out_dim: int, hidden: int = 32, activation: str = "tanh") -> None:
        self.dim, self.out_dim, self.hidden = dim, out_dim, hidden
        self.act = {"tanh": torch.tanh, "relu": torch.relu}[activation]
        self.n_params = (dim + 1) * hidden + hidden * out_dim

    def __call__(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        split = (self.dim + 1) * self.hidden
        w1 = theta[:split].reshape(self.dim + 1, self.hidden)
        w2 = theta[split:].reshape(self.hidden, self.out_dim)
        return self.act(x @ w1[:-1] + w1[-1]) @ w2


def make_model(name: str, dim: int, out_dim: int, hidden: int, activation: str):
    if name == "linear":
        return LinearModel(dim, out_dim)
    if name == "mlp":
        return MLPModel(dim, out_dim, hidden, activation)
    if name == "custom":
        raise InvalidConfig(
            "learner.model = 'custom' is a model f(x; θ) defined in Python: pass it as "
            "iai.train(..., model=...) and iai.load(..., model=...)"
        )
    raise InvalidConfig(f"unknown model {name!r}; known: ['linear', 'mlp', 'custom']")


def check_model(model, dim: int, out_dim: int) -> None:
    """A user-defined fixed model: `n_params` and a call θ (P,), x (N, D) -> (N, out_dim)."""
    name = type(model).__name__
    if not callable(model) or not isinstance(getattr(model, "n_params", None), int):
        raise InvalidConfig(
            f"a fixed model needs an int n_params and __call__(theta (P,), x (N, D)) -> "
            f"(N, out_dim); {name} has not both"
        )
    out = model(torch.zeros(model.n_params), torch.zeros(2, dim))
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, out_dim):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise InvalidConfig(
            f"{name}(theta (P,), x (2, {dim})) returned {shape}; expected (2, {out_dim})"
        )


def init_theta(model, n_tasks: int, generator: torch.Generator | None) -> torch.Tensor:
    """Where training a fixed model from scratch starts, (T, P): zeros for a linear model,
    fan-in scaled normal for an MLP, and for a user-defined model its own
    `init_theta(n_tasks, generator)` if it has one, else N(0, 1): θ = 0 can be a point where
    a model's gradient vanishes (a sine's frequency and phase), and then SGD and Adam would
    never move. The one rule: SGD / Adam as learners and as references, and MAML's start."""
    if isinstance(model, LinearModel):
        return torch.zeros(n_tasks, model.n_params)
    if isinstance(model, MLPModel):
        return torch.randn(n_tasks, model.n_params, generator=generator) / (model.dim + 1) ** 0.5
    if hasattr(model, "init_theta"):  # a user-defined model: an optional member of its own
        return model.init_theta(n_tasks, generator)
    return torch.randn(n_tasks, model.n_params, generator=generator)


def apply(model, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Batched over tasks: θ (T, P), x (T, N, D) -> (T, N, out). A model written for one task
    goes through `vmap`; one that declares `batched` (a learned decoder) is called on the
    batch itself, where each Linear is one fused addmm rather than vmap's split and copies."""
    return model(theta, x) if getattr(model, "batched", False) else vmap(model)(theta, x)


def per_example_grads(
    model, objective: Objective, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """∇θ of each example's loss: θ (T, P), x (T, B, D), y (T, B) -> (T, B, P)."""
    return outputs_and_grads(model, objective, theta, x, y)[1]


def outputs_and_grads(
    model, objective: Objective, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """f(x; θ) (T, B, out) and each example's ∇θ loss (T, B, P) from one forward pass of the
    model: the `both` signal reads the two, and a learned decoder's pass is not free."""

    def loss(th: torch.Tensor, xi: torch.Tensor, yi: torch.Tensor):
        out = model(th, xi[None])
        return objective.loss(out, yi[None]).squeeze(0), out.squeeze(0)

    per_point = vmap(grad(loss, has_aux=True), in_dims=(None, 0, 0))
    with full_precision(theta):  # a signal of the data (iai.models.precision)
        grads, out = vmap(per_point)(theta, x, y)
    return out, grads


def batch_grad(
    model, objective: Objective, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """∇θ of each task's mean mini-batch loss: θ (T, P), x (T, B, D), y (T, B) -> (T, P).

    Differentiable in θ (second order through torch.func), so MAML can backpropagate through it.
    """

    def loss(th: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        return objective.loss(model(th, xb), yb).mean()

    with full_precision(theta):
        return vmap(grad(loss))(theta, x, y)


def batch_ggn(
    model, objective: Objective, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """Each task's mini-batch generalized Gauss–Newton matrix, mean over points of Jᵀ H J:
    θ (T, P), x (T, B, D), y (T, B) -> (T, P, P), J = ∂f(x; θ)/∂θ (out, P) and H the loss's
    Hessian in the model's output (out, out).

    Why this curvature: it is positive semi-definite for any loss convex in the output (squared
    error, cross-entropy), unlike the Hessian of an MLP, and for least squares on a linear model
    it is XᵀX / B exactly, the matrix exact Bayesian updating accumulates.
    """

    def jacobian(th: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
        return jacrev(lambda t: model(t, xi[None])[0])(th)  # (out, P)

    def loss_hessian(out: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        # reverse over reverse: torch.func.hessian's forward mode registers its decompositions
        # through torch.jit on first use (seconds, and a deprecation warning)
        return jacrev(jacrev(lambda o: objective.loss(o[None], yi[None]).squeeze(0)))(out)

    with full_precision(theta):
        J = vmap(vmap(jacobian, in_dims=(None, 0)))(theta, x)  # (T, B, out, P)
        H = vmap(vmap(loss_hessian))(apply(model, theta, x), y)  # (T, B, out, out)
        HJ = torch.einsum("tboq,tbqp->tbop", H, J)
        return torch.einsum("tbop,tboq->tpq", J, HJ) / x.shape[1]
