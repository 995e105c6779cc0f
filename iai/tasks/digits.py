"""Few-shot image classification from scikit-learn's bundled 8×8 digits (no download).

A task is `classes`-way: that many digits drawn at random, their labels permuted (a task's
label 0 is whichever digit came first), then points drawn with a uniform label and a random
image of that digit. Inputs are the 64 pixels, standardized over the whole data set.

Digits `held_out` (7, 8, 9 by default) never appear in training tasks. The out-of-
distribution variants: `new_classes` (every held-out digit is in the task, the rest of its
classes drawn from the seen ones), `permuted` (one fixed random pixel permutation) and
`inverted` (16 - pixel, white digits on black turned black on white).
"""

from dataclasses import dataclass, replace
from typing import Literal

import torch

from iai.errors import InvalidConfig
from iai.tasks.base import Family, Tasks
from iai.tasks.config import TaskConfig

HELD_OUT = (7, 8, 9)
SEEN = 10 - len(HELD_OUT)


@dataclass(frozen=True)
class DigitsConfig(TaskConfig):
    """`classes`-way tasks of 8×8 digits (dim = 64 pixels); `pixels` and `new_classes` are
    what the out-of-distribution variants change."""

    name: Literal["digits"] = "digits"
    dim: int = 64
    classes: int = 2
    pixels: Literal["plain", "permuted", "inverted"] = "plain"
    new_classes: bool = False  # tasks hold the held-out digits
    shifts = {
        "new_classes": lambda c: replace(c, new_classes=True),
        "permuted": lambda c: replace(c, pixels="permuted"),
        "inverted": lambda c: replace(c, pixels="inverted"),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dim != 64:
            raise InvalidConfig(f"task.dim = {self.dim}; digits tasks have 64 pixels (dim = 64)")
        if not 2 <= self.classes <= SEEN:
            raise InvalidConfig(f"task.classes = {self.classes}; digits tasks take 2 … {SEEN}")


def _images() -> tuple[torch.Tensor, torch.Tensor]:
    """Pixels (1797, 64) in [0, 16] and their digits (1797,)."""
    from sklearn.datasets import load_digits  # ships with scikit-learn: no network

    data = load_digits()
    return torch.tensor(data.data, dtype=torch.float32), torch.tensor(data.target)


class Digits(Family):
    kind = "classification"
    model = "linear"
    cfg: DigitsConfig

    def __init__(self, cfg: DigitsConfig) -> None:
        super().__init__(cfg)
        self.out_dim = cfg.classes
        pixels, digits = _images()
        mean, std = pixels.mean(), pixels.std()
        if cfg.pixels == "inverted":
            pixels = 16 - pixels
        if cfg.pixels == "permuted":  # one fixed permutation, the same for every task
            pixels = pixels[:, torch.randperm(64, generator=torch.Generator().manual_seed(0))]
        x = (pixels - mean) / std
        # images grouped by digit, padded: (10, most images of one digit, 64)
        counts = torch.bincount(digits, minlength=10)
        self.by_digit = torch.zeros(10, int(counts.max()), 64)
        for d in range(10):
            self.by_digit[d, : counts[d]] = x[digits == d]
        self.counts = counts

    def _digits(self, n_tasks: int, generator: torch.Generator) -> torch.Tensor:
        """Each task's digits in label order, (T, classes)."""
        seen = torch.tensor([d for d in range(10) if d not in HELD_OUT])
        order = torch.rand(n_tasks, len(seen), generator=generator).argsort(-1)
        picked = seen[order[:, : self.cfg.classes]]
        if self.cfg.new_classes:  # every held-out digit replaces a seen one, then shuffle
            k = min(len(HELD_OUT), self.cfg.classes)
            picked[:, :k] = torch.tensor(HELD_OUT[:k])
            shuffle = torch.rand(n_tasks, self.cfg.classes, generator=generator).argsort(-1)
            picked = picked.gather(1, shuffle)
        return picked

    def sample(
        self, n_tasks: int, n_train: int, n_query: int, *, generator: torch.Generator
    ) -> Tasks:
        n = n_train + n_query
        digits = self._digits(n_tasks, generator)  # (T, C)
        y = torch.randint(0, self.cfg.classes, (n_tasks, n), generator=generator)
        digit = digits.gather(1, y)  # (T, N + Q)
        u = torch.rand(n_tasks, n, generator=generator)
        index = (u * self.counts[digit]).long()  # a uniform image of that digit
        x = self.by_digit[digit, index]  # (T, N + Q, 64)
        truth = {"digits": digits}
        return Tasks(x[:, :n_train], y[:, :n_train], x[:, n_train:], y[:, n_train:], truth)
