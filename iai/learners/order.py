"""Implicit IAI for causal orders: leaf logits refined one mini-batch of samples at a time.

The state is the prediction itself, one leaf logit per variable l⁽ᵏ⁾ (T, d), zero (every
variable alike) to start: as in the implicit regime (paper Eq. 8, `iai.learners.implicit`),
a step reads the mini-batch and the current logits and adds ρₖ Δ (ρₖ = B / (n + B)), so the
update is a running average of per-batch evidence that the network may also correct.

A step is node-equivariant, so one learner orders any number of variables: every variable
is a token built from its own statistics of the batch and its current logit, every ordered
pair (j, i) an edge embedding of the pair's statistics (`iai.models.node_stats`); each layer
passes messages from the other variables through their edges (a mean over i ≠ j) and runs
attention over the variables whose per-head bias is read from the edges
(`scaled_dot_product_attention` with an additive mask). Nothing depends on a variable's
index. With one step over all samples (train.steps = 1) it is the one-step counterpart that
reads its whole context at once.

The objective is `iai.tasks.order.Order` (leaf likelihood along the true elimination path);
the order is the variables by increasing logit, roots first (`iai.order_steps`).
"""

from dataclasses import dataclass, replace
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from iai.errors import InvalidConfig
from iai.learners.base import Origin, PredictiveLearner, check_config
from iai.models.clock import ClockEmbedding, step_clock
from iai.models.heads import ZeroLinear
from iai.models.node_stats import NODE_FEATURES, PAIR_FEATURES, batch_statistics
from iai.tasks.objective import Objective
from iai.tasks.order import Order

STATE_FEATURES = 3  # what a token reads of the current logits


@dataclass(frozen=True)
class OrderConfig:
    kind: Literal["order"] = "order"
    width: int = 64
    depth: int = 3
    heads: int = 4

    def __post_init__(self) -> None:
        check_config(self, ("width", "depth", "heads"))


@dataclass(frozen=True)
class OrderState:
    """Leaf logits (T, d) after `seen` samples."""

    value: torch.Tensor
    seen: int = 0

    def detach(self) -> "OrderState":
        return replace(self, value=self.value.detach())


def mlp(n_in: int, width: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, width), nn.GELU(), nn.Linear(width, width))


class EdgeLayer(nn.Module):
    """Messages over the edges, then attention over the variables biased by the edges:
    tokens h (T, d, W), edges e (T, d, d, W) -> h (T, d, W)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm_msg, self.sender = nn.LayerNorm(width), nn.Linear(width, width)
        self.receive = nn.Linear(width, width)
        self.norm_att, self.qkv = nn.LayerNorm(width), nn.Linear(width, 3 * width)
        self.bias, self.proj = nn.Linear(width, heads), nn.Linear(width, width)
        self.norm_mlp, self.mlp = nn.LayerNorm(width), mlp(width, width)

    def forward(self, h: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        T, d, W = h.shape
        others = 1 - torch.eye(d, dtype=h.dtype)  # (d, d): i ≠ j
        m = F.gelu(e + self.sender(self.norm_msg(h))[:, None, :, :])  # [j, i]: from i to j
        h = h + self.receive((m * others[:, :, None]).sum(2) / max(d - 1, 1))
        q, k, v = self.qkv(self.norm_att(h)).unflatten(-1, (3, self.heads, -1)).unbind(2)
        bias = self.bias(e).permute(0, 3, 1, 2)  # (T, heads, d, d)
        a = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=bias
        )
        h = h + self.proj(a.transpose(1, 2).flatten(2))
        return h + self.mlp(self.norm_mlp(h))


def logit_features(logit: torch.Tensor) -> torch.Tensor:
    """What a token reads of the current logits (T, d): each centred, as d · softmax, and its
    rank among the d with ties shared (zero logits all rank ½), so that no variable's index
    ever enters. -> (T, d, STATE_FEATURES)."""
    d = logit.shape[-1]
    centred = logit - logit.mean(-1, keepdim=True)
    lower = logit[:, None, :] < logit[:, :, None]  # [j, i]: i's logit below j's
    ties = logit[:, None, :] == logit[:, :, None]
    rank = (lower.sum(-1) + 0.5 * ties.sum(-1) - 0.5).to(logit.dtype) / max(d - 1, 1)
    return torch.stack([centred, d * centred.softmax(-1), rank], -1)


class OrderLearner(PredictiveLearner):
    """Reads samples (T, B, d) of any d ≥ 2 (no targets); its state is the leaf logits
    (`OrderState`), which `predict` returns, (T, d): one output per variable rather than per
    query, scored against the graph (y_query, the adjacency (T, d, d)) by the objective."""

    def __init__(
        self, cfg: OrderConfig, dim: int, objective: Objective, origin: Origin | None = None
    ) -> None:
        if not isinstance(objective, Order):
            raise InvalidConfig(
                f"learner.kind = 'order' reads samples of a causal model (task.name = 'scm'), "
                f"not a {objective.kind!r} task"
            )
        super().__init__(cfg, dim, objective, origin)
        W = cfg.width
        self.embed_node = mlp(NODE_FEATURES + STATE_FEATURES, W)
        self.embed_pair = mlp(2 * PAIR_FEATURES, W)
        self.embed_time = ClockEmbedding(W)
        self.layers = nn.ModuleList(EdgeLayer(W, cfg.heads) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(W)
        self.head = ZeroLinear(W, 1)

    def init(self, x_query: torch.Tensor) -> OrderState:
        """Zero logits for the (T, ·, d) tasks of x_query (its points are not read)."""
        T, _, d = x_query.shape
        return OrderState(x_query.new_zeros(T, d))

    def step(self, state: OrderState, x: torch.Tensor, y: torch.Tensor | None = None):
        """One mini-batch of samples x (T, B, d) -> the next leaf logits."""
        B, logit = x.shape[1], state.value
        rho = step_clock(state.seen, B)
        node, pair = batch_statistics(x)  # (T, d, F), (T, d, d, F)
        h = self.embed_node(torch.cat([node, logit_features(logit)], -1)) + self.embed_time(rho)
        e = self.embed_pair(torch.cat([pair, pair.transpose(1, 2)], -1))  # (T, d, d, W)
        for layer in self.layers:
            h = layer(h, e)
        delta = self.head(self.norm(h)).squeeze(-1)  # (T, d)
        return OrderState(logit + rho * delta, state.seen + B)

    def predict(self, state: OrderState, x_query: torch.Tensor | None = None) -> torch.Tensor:
        """Leaf logits (T, d): the larger, the likelier a leaf (x_query is not read)."""
        return state.value
