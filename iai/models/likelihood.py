"""Likelihoods: the per-example loss a learner is trained on, and what it feeds back as data."""

import torch
import torch.nn.functional as F


class Likelihood:
    """Gaussian (regression, fixed variance) or categorical (classification).

    `loss(out (…, out_dim), y (…)) -> (…)` is the per-example negative log-likelihood up to
    constants; `target_features` and `residual` build the per-point `data` tokens.
    """

    def __init__(self, kind: str, out_dim: int) -> None:
        self.kind, self.out_dim = kind, out_dim

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.kind == "regression":
            return 0.5 * (out.squeeze(-1) - y).square()
        flat = F.cross_entropy(out.reshape(-1, self.out_dim), y.reshape(-1), reduction="none")
        return flat.reshape(y.shape)

    def target_features(self, y: torch.Tensor) -> torch.Tensor:
        """(…) -> (…, out_dim): y itself, or its one-hot code."""
        if self.kind == "regression":
            return y.unsqueeze(-1)
        return F.one_hot(y, self.out_dim).to(torch.get_default_dtype())

    def residual(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """What the model gets wrong, (…, out_dim): y - ŷ, or one-hot(y) - softmax(ŷ)."""
        if self.kind == "regression":
            return y.unsqueeze(-1) - out
        return self.target_features(y) - out.softmax(-1)

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        """The prediction the public API returns: predictive means (…) or logits (…, C)."""
        return out.squeeze(-1) if self.kind == "regression" else out
