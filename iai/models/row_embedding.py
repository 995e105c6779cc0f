"""A table row as one token, for any number of columns: the input side of the tabular
foundation model (`iai.learners.tabular_tokens`).

Each column j carries a random code c_j (fixed, drawn from the learner's seed), and each cell
(x_ij, missing_ij) becomes H hidden units GELU(x_ij s_j + m_ij u + o_j), slope s_j and offset
o_j linear maps of c_j: a unit reads every column through the same network, told apart only by
their codes, so the embedding treats the columns alike whatever their number or order (in
distribution: a column's code, not its place, is what the network can tell). The row's token is
an MLP of the cells' sum over columns (divided by √d). Because the second layer of a cell's
network is linear, it is applied after the sum, and a cell costs O(H), not O(H W): a table of
1,000 columns embeds at the cost of an MLP over its rows.

Codes for training. A network that always saw columns 0 … d − 1 with codes 0 … d − 1 would
never train the codes of wide tables' last columns; in training the columns take a random
subset of the code bank instead, drawn from a generator seeded by the data (so a run, and its
resumption, draw alike). In evaluation and prediction column j has code j; `iai.sklearn`'s
ensembles pass other subsets.
"""

import math

import torch
from torch import nn

MAX_COLUMNS = 4096  # codes in the bank: the widest table the embedding reads


class RowEmbedding(nn.Module):
    def __init__(self, hidden: int, codes: int, width: int, seed: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("bank", torch.randn(MAX_COLUMNS, codes, generator=g))
        self.slope = nn.Linear(codes, hidden)
        self.offset = nn.Linear(codes, hidden)
        self.missing = nn.Parameter(torch.zeros(hidden))
        self.out = nn.Sequential(
            nn.Linear(hidden, width), nn.LayerNorm(width), nn.GELU(), nn.Linear(width, width)
        )

    def columns(self, d: int, x: torch.Tensor | None = None) -> torch.Tensor:
        """The codes' rows (d,) for d columns: a data-seeded random subset in training (x the
        rows that seed it), else 0 … d − 1."""
        if d > MAX_COLUMNS:
            raise ValueError(
                f"a table of {d} columns; the row embedding reads at most {MAX_COLUMNS}"
            )
        if not self.training or x is None:
            return torch.arange(d, device=self.bank.device)
        seed = int(torch.nan_to_num(x.detach().float()).abs().sum().item() * 1e3) % 2**31
        g = torch.Generator().manual_seed(seed)
        return torch.randperm(MAX_COLUMNS, generator=g)[:d].to(self.bank.device)

    def forward(self, x: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """Rows x (T, n, d), NaN where missing, with the codes' rows `columns` (d,) -> (T, n, W)."""
        code = self.bank[columns]  # (d, codes)
        slope, offset = self.slope(code), self.offset(code)  # (d, H)
        gone = torch.isnan(x)
        value = torch.nan_to_num(x)[..., None]  # (T, n, d, 1)
        cells = value * slope + offset + gone[..., None] * self.missing  # (T, n, d, H)
        pooled = nn.functional.gelu(cells).sum(2) / math.sqrt(x.shape[-1])
        return self.out(pooled)
