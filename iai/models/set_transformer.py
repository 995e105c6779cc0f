"""A permutation-invariant transformer over a set of tokens (no positional encoding over points)."""

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    """Pre-norm self-attention and MLP, attention through `scaled_dot_product_attention`."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )

    def forward(self, h: torch.Tensor, keys: int | None = None) -> torch.Tensor:
        T, S, W = h.shape  # tasks, tokens, width
        q, k, v = self.qkv(self.norm1(h)).view(T, S, 3, self.heads, W // self.heads).unbind(2)
        k, v = k[:, :keys], v[:, :keys]
        a = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        h = h + self.proj(a.transpose(1, 2).reshape(T, S, W))
        return h + self.mlp(self.norm2(h))


class SetTransformer(nn.Module):
    """(T, S, width) -> (T, S, width); equivariant to any permutation of the S tokens.

    With `keys`, every token attends to the first `keys` tokens only: the rest read them
    without being read (cross-attention in the same blocks, at cost S · keys).
    """

    def __init__(self, width: int, depth: int, heads: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(width)

    def forward(self, h: torch.Tensor, keys: int | None = None) -> torch.Tensor:
        for block in self.blocks:
            h = block(h, keys)
        return self.norm(h)
