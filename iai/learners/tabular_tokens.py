"""The tabular foundation model: the tokens learner (`iai.learners.tokens`) over rows embedded
column-equivariantly (`iai.models.row_embedding`), for tables of any width.

The state is bounded and refined mini-batch by mini-batch: M latent tokens (the "thinking
rows" of the nanoTabPFN speedrun, here the only memory of the rows read) that attend to each
batch's row tokens, and the exact posterior of a Bayesian linear model on Fourier features of
the row tokens (for classes an online Laplace posterior) as the floor the prediction starts
from. Memory is flat in the rows read; a query row is predicted by its attention to the
latents. Regression heads are Gaussian (mean and variance, trained by NLL, so `return_std`
and intervals exist); classification has `out_dim` logits, the most classes of the prior.

Why a floor of learned features rather than today's linear learner (`iai.learners.tabular`):
it is exact Bayes from the first row on, as the tabular learner is, but on features the
network learns for tables, and trained with the rest end to end.
"""

from dataclasses import dataclass, replace
from typing import ClassVar, Literal

import torch

from iai.learners.base import Origin, PredictiveLearner, check_config
from iai.learners.tokens import TokensConfig, TokensLearner
from iai.models.latent_tokens import TokensState
from iai.models.row_embedding import RowEmbedding
from iai.tasks.objective import Objective


@dataclass(frozen=True)
class TabularTokensConfig:
    kind: Literal["tabular_tokens"] = "tabular_tokens"
    latents: int = 16  # M tokens in the state
    width: int = 64  # W, a row token's width and the networks'
    depth: int = 2  # blocks of the update network
    decoder_depth: int = 2  # cross-attention blocks from the query rows to the latents
    heads: int = 4
    hidden: int = 128  # units per cell of the row embedding
    codes: int = 16  # width of a column's random code
    basis: int = 48  # Fourier features per bank of the exact floor
    banks: int = 8
    seed: int = 0  # draws the column codes

    def __post_init__(self) -> None:
        fields = ("latents", "width", "depth", "decoder_depth", "heads", "hidden", "codes")
        check_config(self, (*fields, "banks"))
        self.tokens()  # its own checks (basis from 0, no floor)

    def tokens(self) -> TokensConfig:
        keys = ("latents", "width", "depth", "decoder_depth", "heads", "basis", "banks")
        return TokensConfig(**{k: getattr(self, k) for k in keys})


@dataclass(frozen=True)
class TabularTokensState:
    tokens: TokensState  # the latents and the floor's posterior, over row tokens
    columns: torch.Tensor  # (d,) the rows of the code bank the table's columns take

    @property
    def seen(self) -> int:
        return self.tokens.seen

    def detach(self) -> "TabularTokensState":
        return replace(self, tokens=self.tokens.detach())


class TabularTokensLearner(PredictiveLearner):
    variable_dim: ClassVar[bool] = True  # any number of columns (up to the code bank's)
    predicts_std: ClassVar[bool] = True

    def __init__(
        self, cfg: TabularTokensConfig, dim: int, objective: Objective, origin: Origin | None = None
    ) -> None:
        super().__init__(cfg, dim, objective, origin)
        self.rows = RowEmbedding(cfg.hidden, cfg.codes, cfg.width, cfg.seed)
        self.tokens = TokensLearner(cfg.tokens(), cfg.width, objective)

    def init(
        self, x_query: torch.Tensor, columns: torch.Tensor | None = None
    ) -> TabularTokensState:
        """The prior state for tables shaped as x_query (T, Q, d); `columns` (d,): which codes
        the columns take (by default as `RowEmbedding.columns` chooses)."""
        if columns is None:
            columns = self.rows.columns(x_query.shape[-1], x_query)
        tokens = self.tokens.init(self.rows(x_query[:, :1], columns))
        return TabularTokensState(tokens, columns)

    def step(self, state: TabularTokensState, x: torch.Tensor, y: torch.Tensor):
        rows = self.rows(x, state.columns)
        return replace(state, tokens=self.tokens.step(state.tokens, rows, y))

    def predict(self, state: TabularTokensState, x_query: torch.Tensor) -> torch.Tensor:
        return self.tokens.predict(state.tokens, self.rows(x_query, state.columns))

    def predict_std(self, state: TabularTokensState, x_query: torch.Tensor) -> torch.Tensor:
        return self.tokens.predict_std(state.tokens, self.rows(x_query, state.columns))

    def loss(self, state: TabularTokensState, x_query: torch.Tensor, y_query: torch.Tensor):
        return self.tokens.loss(state.tokens, self.rows(x_query, state.columns), y_query)
