"""Explicit IAI with a state of latent tokens: z⁽ᵏ⁾ is M tokens of width W per task, refined by a
transformer over the latents and the mini-batch's points, and read by the queries' attention.

Why tokens. θ of a small fixed model, or one latent vector read by an MLP, cannot hold what a few
hundred points say about a nonlinear function; an in-context learner's state is the data itself,
which grows without bound. A fixed set of latent tokens that attend to each new batch and carry
what matters forward sits between the two (the constant-memory attentive neural processes:
CMANP's learned queries, Perceiver latents): memory flat in the number of points, and a state
rich enough to attend over. The update, the reader and the optional exact pooled attention
(`pooled`) are `iai.models.latent_tokens`'; the generative head is `iai.learners.tokens_flow`.

The signals. Each point token reads its x, its target, the current prediction there and the
residual (`signal = "data"`). With `grad` the latent tokens also read ∇z of the batch's mean
loss (a token's share of it, (M, W)), and the point tokens x and y alone; `both` reads all.

The prediction f_γ(x, z): each query attends to the latents, then a head from the objective: a
Gaussian mean and variance for regression, trained by the negative log-likelihood (so
`predict_std` exists), logits for classification.

The floor (`basis` > 0). Beside the tokens the state carries an exact posterior on learned
Fourier features in `banks` bandwidths mixed by their evidence: for regression Bayesian linear
regression's sums (`iai.models.feature_bayes`), for classes online Laplace softmax regression
(`iai.models.feature_laplace`). Its predictive mean and variance (classes: log-probabilities,
times a learned temperature) are what the prediction starts from; the query reads them beside
x and the tokens add a correction that starts at 0.
Why: the update alone never learned to write the data into the latents (docs/tokens.md); the
sums hold them from the first step, and the tokens learn what the sums miss.
"""

import math
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from iai.errors import InvalidConfig, InvalidInput
from iai.learners.base import MAX_SIZE, Origin, PredictiveLearner, check_config
from iai.models.feature_bayes import FeatureBayes
from iai.models.feature_laplace import FeatureLaplace
from iai.models.latent_tokens import TokenReader, TokensState, TokenUpdate, embedding
from iai.models.precision import full_precision
from iai.tasks.objective import Objective

MIN_VARIANCE = 1e-4  # the regression head's floor: a finite NLL on any target


@dataclass(frozen=True)
class TokensConfig:
    kind: Literal["tokens"] = "tokens"
    latents: int = 16  # M tokens in the state
    width: int = 64  # W, each token's width and the networks'
    depth: int = 2  # blocks of the update network
    decoder_depth: int = 2  # cross-attention blocks from the queries to the latents
    heads: int = 4
    signal: Literal["data", "grad", "both"] = "data"
    pooled: bool = False  # the latents also read CMANP's exact running pooled attention
    basis: int = 48  # Fourier features per bank of the exact Bayesian floor; 0: no floor
    banks: int = 8  # bandwidths of the floor, mixed by their evidence

    def __post_init__(self) -> None:
        check_config(self, ("latents", "width", "depth", "decoder_depth", "heads", "banks"))
        if not 0 <= self.basis <= MAX_SIZE:
            raise InvalidConfig(
                f"learner.basis = {self.basis!r}; must be from 0 (no floor) to {MAX_SIZE}"
            )


class TokensLearner(PredictiveLearner):
    predicts_std: ClassVar[bool] = True  # regression: the Gaussian head's spread

    def __init__(
        self, cfg: TokensConfig, dim: int, objective: Objective, origin: Origin | None = None
    ) -> None:
        super().__init__(cfg, dim, objective, origin)
        W, C = cfg.width, objective.out_dim
        self.gaussian = not objective.categorical  # regression: mean and variance
        self.update = TokenUpdate(cfg.latents, W, cfg.depth, cfg.heads, cfg.pooled)
        point_in = dim + C + (2 * C if cfg.signal != "grad" else 0)
        self.embed_point = embedding(point_in, W)
        self.embed_grad = nn.Linear(W, W) if cfg.signal != "data" else None
        floor = cfg.basis > 0
        kind = FeatureBayes if self.gaussian else FeatureLaplace
        self.floor = kind(dim, C, cfg.basis, cfg.banks) if floor else None
        read = dim + (0 if self.floor is None else 2 if self.gaussian else C)
        out = 2 if self.gaussian else C
        self.reader = TokenReader(read, W, cfg.decoder_depth, cfg.heads, out, floor)
        # classification: the floor's log-probabilities times this are its logits
        self.log_temperature = nn.Parameter(torch.zeros(())) if floor else None

    def init(self, x_query: torch.Tensor) -> TokensState:
        state = self.update.init(x_query.shape[0])
        if self.floor is None:
            return state
        return replace(state, stats=self.floor.start(x_query.shape[0], x_query))

    def step(self, state: TokensState, x: torch.Tensor, y: torch.Tensor) -> TokensState:
        """One mini-batch x (T, B, D), y (T, B) -> the next latents."""
        feats = [x, self.objective.target_features(y)]
        floor, stats = None, None
        if self.floor is not None:  # its prediction at x comes with its update
            floor, stats = self.floor.read(state.stats, x, feats[1])
        if self.cfg.signal != "grad":
            out = self._head(state, x, floor)[0]  # (T, B, C)
            feats += [out, self.objective.residual(out, y)]
        grad = None
        if self.embed_grad is not None:
            grad = self.embed_grad(self._latent_grad(state, x, y))
        new = self.update(state, self.embed_point(torch.cat(feats, -1)), grad)
        return new if stats is None else replace(new, stats=stats)

    def _latent_grad(self, state: TokensState, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """∇z of the batch's mean loss per task, (T, M, W), at a copy of z outside the graph (a
        signal, as the parametric learner's gradients are); by torch.func, which also works
        under the API's inference mode."""

        def total(z: torch.Tensor) -> torch.Tensor:  # per task: the mean over its B points
            return self.loss(replace(state, z=z), x, y) * x.shape[0]

        with full_precision(state.z):  # a signal (iai.models.precision)
            return torch.func.grad(total)(state.z.detach()).detach()

    def _head(self, state: TokensState, x_query: torch.Tensor, floor=None):
        """Regression: the mean (T, Q, 1) and variance (T, Q); classification: logits (T, Q, C)
        and None. `floor`: the floor's prediction at x_query, where already known."""
        if self.floor is None:
            raw = self.reader(state.z, x_query)
            if not self.gaussian:
                return raw, None
            return raw[..., :1], F.softplus(raw[..., 1]) + MIN_VARIANCE
        if not self.gaussian:
            logp = self.floor.predict(state.stats, x_query) if floor is None else floor
            raw = self.reader(state.z, torch.cat([x_query, logp], -1))
            return self.log_temperature.exp() * logp + raw, None
        mean, var = self.floor.predict(state.stats, x_query) if floor is None else floor
        raw = self.reader(state.z, torch.cat([x_query, mean, var.log()[..., None]], -1))
        return mean + raw[..., :1], var * raw[..., 1].exp() + MIN_VARIANCE

    def predict(self, state: TokensState, x_query: torch.Tensor) -> torch.Tensor:
        return self._head(state, x_query)[0]

    def predict_std(self, state: TokensState, x_query: torch.Tensor) -> torch.Tensor:
        """The predictive standard deviation (T, Q) of the regression head."""
        if not self.gaussian:
            raise InvalidInput("a tokens learner for classification has logits, not a spread")
        return self._head(state, x_query)[1].sqrt()

    def loss(self, state: TokensState, x_query: torch.Tensor, y_query: torch.Tensor):
        """Regression: the Gaussian negative log-likelihood per target (nats); classification:
        the objective's cross-entropy."""
        if not self.gaussian:
            return super().loss(state, x_query, y_query)
        mean, var = self._head(state, x_query)
        nll = 0.5 * (
            var.log() + (y_query - mean.squeeze(-1)).square() / var + math.log(2 * math.pi)
        )
        return nll.mean()
