"""A permutation-invariant transformer over a set of tokens (no positional encoding over points)."""

import torch
import torch.nn.functional as F
from torch import nn

# Under CPU autocast, attention over at most this many keys is written out (below); over more,
# SDPA's float32 kernel on float32 copies is faster (benchmarks/results/precision/attention-keys.md)
WRITTEN_KEYS = 32


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """`scaled_dot_product_attention` of (T, heads, S, W / heads) tensors. Where autocast runs
    bfloat16 on the CPU, SDPA's fused bfloat16 kernels took 8.4 × as long as float32's, most
    of a bfloat16 iteration of configs/linreg-d8.toml (benchmarks/results/precision/
    attention.md). There, over few keys, attention is written out, its two products in
    bfloat16 and its softmax in float32 (1.08 × the iterations per second of SDPA on float32
    copies for linreg-d8, to the same loss and evaluation: bf16-attention.md); over more than
    WRITTEN_KEYS, SDPA runs on float32 copies, since the written-out scores grow as S²."""
    if q.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
        if k.shape[-2] <= WRITTEN_KEYS:
            scores = (q @ k.transpose(-1, -2)).float() * q.shape[-1] ** -0.5
            return scores.softmax(-1).to(v.dtype) @ v
        with torch.autocast("cpu", enabled=False):
            return F.scaled_dot_product_attention(q.float(), k.float(), v.float())
    return F.scaled_dot_product_attention(q, k, v)


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

    def forward(
        self, h: torch.Tensor, keys: int | None = None, read: slice | None = None
    ) -> torch.Tensor:
        """(T, S, W) -> (T, S, W), or only the `read` tokens' outputs (T, S_read, W)."""
        W, heads = h.shape[-1], self.heads
        x = self.norm1(h)
        (wq, wkv), (bq, bkv) = self.qkv.weight.split([W, 2 * W]), self.qkv.bias.split([W, 2 * W])
        rows = slice(None) if read is None else read
        q = F.linear(x[:, rows], wq, bq).unflatten(-1, (heads, W // heads))
        k, v = F.linear(x[:, :keys], wkv, bkv).unflatten(-1, (2, heads, W // heads)).unbind(2)
        a = attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        h = h[:, rows] + self.proj(a.transpose(1, 2).flatten(2))
        return h + self.mlp(self.norm2(h))


class SetTransformer(nn.Module):
    """(T, S, width) -> (T, S, width); equivariant to any permutation of the S tokens.

    With `keys`, every token attends to the first `keys` tokens only: the rest read them
    without being read (cross-attention in the same blocks, whose keys and values are then
    computed for those tokens alone). With `read`, the last block computes only the outputs
    of the tokens the caller reads: the others' queries and MLP there would be thrown away.
    """

    # False: every token goes through every block and the outputs are sliced afterwards. The
    # result is the same; it is kept so benchmarks/skip_unread.py can measure what the skip saves.
    skip_unread: bool = True

    def __init__(self, width: int, depth: int, heads: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(width)

    def forward(
        self, h: torch.Tensor, keys: int | None = None, read: slice | None = None
    ) -> torch.Tensor:
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            h = block(h, keys, read if self.skip_unread and i == last else None)
        h = self.norm(h)
        return h if self.skip_unread or read is None else h[:, read]
