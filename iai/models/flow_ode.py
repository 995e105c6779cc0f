"""Sampling and densities of a flow dx/dt = v(x, t) from N(0, I) at t = 0 to the data at t = 1.

Integration is torchdiffeq's (`odeint`): fixed-step solvers ('euler', 'midpoint', 'rk4',
with `steps` steps) or adaptive ones ('dopri5', with rtol / atol). The density follows the
instantaneous change of variables, log p₁(x(1)) = log N(x(0)) − ∫₀¹ ∇·v(x(t), t) dt, with the
divergence computed exactly, one autograd pass per dimension: the samples are 2-D, so an
estimator (Hutchinson's) would only add noise.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

# v(x (T, n, D), t (scalar tensor)) -> (T, n, D); each point's velocity depends on that point alone
Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

FIXED = ("euler", "midpoint", "rk4")
ADAPTIVE = ("dopri5", "bosh3")


@dataclass(frozen=True)
class Solver:
    method: Literal["euler", "midpoint", "rk4", "dopri5", "bosh3"] = "midpoint"
    steps: int = 16  # fixed-step solvers: steps over [0, 1]
    rtol: float = 1e-4  # adaptive solvers
    atol: float = 1e-4

    def options(self) -> dict:
        if self.method in FIXED:
            return {"method": self.method, "options": {"step_size": 1.0 / self.steps}}
        return {"method": self.method, "rtol": self.rtol, "atol": self.atol}


def _odeint():
    """torchdiffeq's odeint, imported when a flow first integrates: it brings scipy, which
    `import iai` would otherwise load for every learner."""
    from torchdiffeq import odeint

    return odeint


def transport(velocity: Velocity, x0: torch.Tensor, solver: Solver) -> torch.Tensor:
    """Noise x0 (T, n, D) carried along the flow to t = 1: samples (T, n, D)."""
    odeint = _odeint()
    times = torch.tensor([0.0, 1.0], dtype=x0.dtype, device=x0.device)
    return odeint(lambda t, x: velocity(x, t), x0, times, **solver.options())[-1]


def log_prob(velocity: Velocity, x1: torch.Tensor, solver: Solver) -> torch.Tensor:
    """log p₁ of points x1 (T, M, D) under the flow, (T, M): integrated from t = 1 back to 0."""
    D = x1.shape[-1]

    def augmented(t: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple:
        x = state[0]
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            v = velocity(x, t)
            div = sum(  # a field constant in x (an untrained prior) has divergence 0
                torch.autograd.grad(
                    v[..., d].sum(), x, retain_graph=d < D - 1, materialize_grads=True
                )[0][..., d]
                for d in range(D)
            )
        return v.detach(), div.detach()

    odeint = _odeint()
    times = torch.tensor([1.0, 0.0], dtype=x1.dtype, device=x1.device)
    start = (x1, x1.new_zeros(x1.shape[:-1]))
    x0, acc = (s[-1] for s in odeint(augmented, start, times, **solver.options()))
    # acc(0) = −∫₀¹ ∇·v dt
    normal = -0.5 * x0.square().sum(-1) - 0.5 * D * math.log(2 * math.pi)
    return normal + acc
