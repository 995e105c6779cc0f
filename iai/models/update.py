"""h_φ of the parametric and explicit regimes: θ⁽ᵏ⁺¹⁾ = θ⁽ᵏ⁾ + ρₖ Δ_φ(θ⁽ᵏ⁾, Bₖ) for a flat
per-task vector θ read by a model f(x; θ), fixed (parametric) or learned (the explicit
regime's decoder f_γ(x, z), which makes θ the latent z).

The network is a set transformer over state tokens (θ in chunks, plus up to H - 1 past
states) and one token per mini-batch point, built from the `data` signal (x, y, ŷ, the
residual), the `grad` signal (per-example ∇θ of the loss, by torch.func) or `both` (paper
Eqs. 7, 9). It is permutation invariant over the points: no positional encoding over them.
The step is scaled by the step clock ρₖ (`iai.models.clock`).

Adaptation memory. θ alone cannot say how sure it is: exact Bayesian updating (recursive
least squares, the Kalman filter) carries the precision of the evidence seen so far beside
the estimate. With `memory = M`, M learned tokens of width W ride in the state beside θ;
h_φ reads them with θ and the points, and writes them back as a running mean,
m⁽ᵏ⁺¹⁾ = (1 - ρₖ) m⁽ᵏ⁾ + ρₖ u_φ(m⁽ᵏ⁾, θ⁽ᵏ⁾, Bₖ): an average over every point seen of
statistics h_φ chooses, as the sufficient statistics of a conjugate model are. The average
keeps the memory bounded for any number of steps, so streaming stays flat and a learner runs
past its trained horizon as before. Predictions still use f(x; θ) alone. M = 0 is the
learner without memory, parameter for parameter.

Curvature memory. With `curvature = true` the state also carries S, the running mean over
the points seen of the generalized Gauss–Newton matrix (JᵀHJ, `batch_ggn`: computed, not
learned), and the step is a damped Gauss–Newton step that h_φ corrects:
θ⁽ᵏ⁺¹⁾ = θ⁽ᵏ⁾ + ρₖ (S⁽ᵏ⁺¹⁾ + λ(ρₖ) I)⁻¹ (Δ_φ - ḡₖ), ḡₖ the batch's mean loss gradient and
λ(ρ) = exp(a log ρ + b) a learned damping. This is the form of recursive least squares:
for least squares on a linear model, Δ_φ = 0 with λ = ρ σ² / (s² B) is exact Bayesian
updating, so there h_φ has only a damping to learn, not a matrix inverse (which a transformer
of a few blocks approximates poorly); on other models and losses Δ_φ learns what the
Gauss–Newton step misses. S is P × P per task and each step solves with it: 2 ms for 64 tasks
on one CPU thread for a linear model of 8 inputs (P = 9), about 0.1 s at P ≈ 320 (an MLP of
32 hidden units; benchmarks/curvature_cost.py); it does not grow with the number of steps.
"""

import math
from dataclasses import dataclass, replace
from typing import Literal, Protocol

import torch
from torch import nn

from iai.models.clock import ClockEmbedding, step_clock
from iai.models.heads import ZeroLinear
from iai.models.precision import full_precision
from iai.models.predictors import apply, batch_ggn, batch_grad, outputs_and_grads
from iai.models.set_transformer import SetTransformer
from iai.tasks.objective import Objective


class UpdateSettings(Protocol):
    """The fields of a learner config the update network reads (`ParametricConfig`,
    `ExplicitConfig`)."""

    signal: Literal["data", "grad", "both"]
    history: int
    width: int
    depth: int
    heads: int
    chunk: int
    state_grad: bool
    memory: int
    curvature: bool


@dataclass(frozen=True)
class ParametricState:
    theta: torch.Tensor  # (T, P): θ, or the explicit regime's z
    past: torch.Tensor  # (T, H - 1, P) earlier states, most recent first; zeros before step 1
    memory: torch.Tensor  # (T, M, W) adaptation memory; M = 0 without one
    curvature: torch.Tensor  # (T, P, P) running mean of the batches' GGN; (T, 0, 0) without
    seen: int = 0  # points seen so far
    steps: int = 0

    def detach(self) -> "ParametricState":
        """The greedy boundary cuts θ (each step's loss trains its own transition), not the
        memory: it has no loss of its own and learns only through the later steps it informs.
        Greedy training holds every step's graph until its backward pass anyway, so this
        links graphs already in memory rather than adding any."""
        return replace(self, theta=self.theta.detach(), past=self.past.detach())


class ThetaUpdate(nn.Module):
    """The update network for a θ of P coordinates, read by a model of `dim` inputs and
    `out_dim` outputs."""

    def __init__(self, cfg: UpdateSettings, P: int, dim: int, out_dim: int) -> None:
        super().__init__()
        self.cfg, W = cfg, cfg.width
        self.n_chunks = -(-P // cfg.chunk)
        data_in = {"data": dim + 3 * out_dim, "grad": P, "both": dim + 3 * out_dim + P}
        self.embed_point = nn.Linear(data_in[cfg.signal], W)
        self.embed_theta = nn.Linear(cfg.chunk, W)
        self.embed_grad = (
            nn.Linear(cfg.chunk, W) if cfg.state_grad and cfg.signal != "data" else None
        )
        self.chunk_pos = nn.Parameter(0.02 * torch.randn(self.n_chunks, W))
        self.lag = nn.Parameter(0.02 * torch.randn(cfg.history, 2, W))  # (lag, present?) codes
        self.embed_time = ClockEmbedding(W)
        self.kind_code = nn.Parameter(0.02 * torch.randn(2, W))  # state token / point token
        self.net = SetTransformer(W, cfg.depth, cfg.heads)
        if cfg.memory:
            self.memory0 = nn.Parameter(0.02 * torch.randn(cfg.memory, W))
            self.memory_pos = nn.Parameter(0.02 * torch.randn(cfg.memory, W))
            self.memory_head = nn.Linear(W, W)
        if cfg.curvature:  # λ(ρ) = exp(a log ρ + b) = e^b ρ^a; starts at 0.018 ρ
            # Small is safe: the mean gradient lies in the span of S, so only the learned
            # correction can point where S is singular, and it starts at zero.
            self.damping = nn.Linear(1, 1)
            nn.init.ones_(self.damping.weight)
            nn.init.constant_(self.damping.bias, -4.0)
        self.head = ZeroLinear(W, cfg.chunk)

    def init(self, theta0: torch.Tensor, n_tasks: int) -> ParametricState:
        """The state before any batch: θ⁽⁰⁾ (P,) for each of `n_tasks` tasks."""
        T, P = n_tasks, theta0.shape[0]
        theta = theta0.expand(T, P)
        past = theta.new_zeros(T, self.cfg.history - 1, P)
        W, M = self.cfg.width, self.cfg.memory
        memory = self.memory0.expand(T, M, W) if M else theta.new_zeros(T, 0, W)
        curvature = theta.new_zeros((T, P, P) if self.cfg.curvature else (T, 0, 0))
        return ParametricState(theta, past, memory, curvature)

    def step(
        self,
        model,
        objective: Objective,
        state: ParametricState,
        x: torch.Tensor,
        y: torch.Tensor,
        first_order: bool = False,
    ) -> ParametricState:
        """One mini-batch x (T, B, D), y (T, B) -> the next state of θ read by `model`.
        `first_order`: the gradient signals are constants to training (a learned model's
        second derivatives are not taken), as FO-MAML's inner gradient."""
        T, B, _ = x.shape
        theta, rho = state.theta, step_clock(state.seen, B)
        M, memory = self.cfg.memory, state.memory
        points, grads = self._point_tokens(model, objective, theta, x, y, first_order)
        time = self.embed_time(rho)  # (W,): ρ, the step's code
        state_tokens = self._state_tokens(state, time, grads)
        tokens = torch.cat([self._memory_tokens(memory, time), state_tokens, points], 1)
        h = self.net(tokens, read=slice(0, M + self.n_chunks))  # (T, M + chunks, W)
        delta = self.head(h[:, M:]).reshape(T, -1)[:, : theta.shape[1]]  # (T, P)
        if M:  # the running mean over batches: m ← m + ρ (u - m)
            memory = memory + rho * (self.memory_head(h[:, :M]) - memory)
        curvature = state.curvature
        if self.cfg.curvature:
            curvature, delta = self._preconditioned(
                model, objective, state, x, y, delta, grads, first_order
            )
        past = torch.cat([theta[:, None], state.past], 1)[:, : self.cfg.history - 1]
        return ParametricState(
            theta + rho * delta, past, memory, curvature, state.seen + B, state.steps + 1
        )

    def _preconditioned(self, model, objective, state, x, y, delta, grads, first_order):
        """The running Gauss–Newton matrix S and the step (S + λ I)⁻¹ (Δ - ḡ), in float32
        whatever the run's precision (`iai.models.precision`): recursive least squares."""
        theta, rho = state.theta, step_clock(state.seen, x.shape[1])
        with torch.no_grad():  # a statistic of the data, not a path for gradients
            ggn = batch_ggn(model, objective, theta, x, y)
        with full_precision(theta):
            curvature = state.curvature + rho * (ggn - state.curvature)
            damping = self.damping(theta.new_tensor([math.log(rho)])).exp()
            eye = torch.eye(delta.shape[1], dtype=theta.dtype, device=delta.device)
            if grads is None:  # the data signal alone: the gradient is still the step's base
                mean_grad = batch_grad(model, objective, theta, x, y)
                mean_grad = mean_grad.detach() if first_order else mean_grad
            else:
                mean_grad = grads.mean(1)
            step = delta.to(theta.dtype) - mean_grad
            return curvature, torch.linalg.solve(curvature + damping * eye, step)

    def _chunks(self, v: torch.Tensor) -> torch.Tensor:
        """(…, P) -> (…, chunks, chunk), zero-padded at the end."""
        pad = self.n_chunks * self.cfg.chunk - v.shape[-1]
        return nn.functional.pad(v, (0, pad)).unflatten(-1, (self.n_chunks, self.cfg.chunk))

    def _memory_tokens(self, memory: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        """(T, M, W) memory -> its tokens, told apart by a learned code each and told the time."""
        if not self.cfg.memory:
            return memory
        return memory + self.memory_pos + time

    def _state_tokens(
        self, state: ParametricState, time: torch.Tensor, grads: torch.Tensor | None
    ) -> torch.Tensor:
        T = state.theta.shape[0]
        chunks = self._chunks(torch.cat([state.theta[:, None], state.past], 1))  # (T, H, n, c)
        # lag i holds θ⁽ᵏ⁻ⁱ⁾, which exists once i ≤ k; before that it is zeros, flagged absent
        present = [1] + [int(i <= state.steps) for i in range(1, self.cfg.history)]
        lag = torch.stack([self.lag[i, p] for i, p in enumerate(present)])  # (H, W)
        tokens = self.embed_theta(chunks) + self.chunk_pos + lag[:, None] + time + self.kind_code[0]
        if self.embed_grad is not None:  # the batch-mean gradient joins the current θ's tokens
            grad_code = self.embed_grad(self._chunks(grads.mean(1)))  # (T, chunks, W)
            tokens = tokens + nn.functional.pad(
                grad_code[:, None], (0, 0, 0, 0, 0, self.cfg.history - 1)
            )
        return tokens.reshape(T, -1, tokens.shape[-1])  # (T, H · chunks, W)

    def _point_tokens(
        self, model, objective: Objective, theta, x, y, first_order: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Point tokens (T, B, W) and, with the `grad` signal, per-example gradients (T, B, P)."""
        if self.cfg.signal == "data":
            out, grads = apply(model, theta, x), None  # (T, B, out)
        else:  # one forward pass gives both (T, B, out), (T, B, P)
            out, grads = outputs_and_grads(model, objective, theta, x, y)
            grads = grads.detach() if first_order else grads
        feats = []
        if self.cfg.signal in ("data", "both"):
            feats += [x, objective.target_features(y), out, objective.residual(out, y)]
        if grads is not None:
            feats.append(grads)
        return self.embed_point(torch.cat(feats, -1)) + self.kind_code[1], grads
