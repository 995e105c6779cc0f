"""Tables: the broad prior the shipped tabular learners (`iai.sklearn`) are trained on.

Each call draws one feature count d (log-uniform in 1 … dim, shared by the call's tasks, so a
batch is one tensor) and, per task: feature types (Gaussian, uniform, skewed, heavy-tailed,
binary, counts), correlations between features, a subset of relevant features (the rest are
irrelevant), and a function of the relevant ones drawn from a mixture of families — linear,
a random MLP, a Gaussian process (random Fourier features of a random lengthscale) and a sum
of random decision trees — often plus a linear part. Regression adds Gaussian noise of a
random level (signal-to-noise from 0.4 to 2,500); classification draws a function per class
and samples labels from a softmax of random sharpness (label noise) with random class
imbalance (random class log-odds), over 2 … classes classes, or cuts one function at random
quantiles (ordinal classes). The learner sees what `iai.sklearn` gives it: features and
regression targets standardized by the training rows' mean and std.

Not covered: strongly interacting high-order structure beyond depth-4 trees, periodic or
discontinuous functions of many features at once, heteroscedastic noise, distribution shift
within a stream, more than `dim` features or `classes` classes.
"""

import math
from dataclasses import dataclass
from typing import Literal

import torch

from iai.errors import InvalidConfig
from iai.tasks.base import Family, Tasks
from iai.tasks.config import TaskConfig, at_least


@dataclass(frozen=True)
class TabularRegressionConfig(TaskConfig):
    """Tables of 1 … dim features."""

    name: Literal["tabular_regression"] = "tabular_regression"


@dataclass(frozen=True)
class TabularClassificationConfig(TaskConfig):
    """Tables of 1 … dim features and 2 … classes classes."""

    name: Literal["tabular_classification"] = "tabular_classification"
    classes: int = at_least(2, 2)


def _uniform(shape, low: float, high: float, g: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=g)


CLIP = 10.0  # standardized features are clipped to ± CLIP


def scale_of(std: torch.Tensor) -> torch.Tensor:
    """The std a column is divided by: its own, or 1 for a constant column, std 0 (one value
    in the rows that set the scale must not turn a later different value into 10⁶)."""
    return torch.where(std > 0, std, torch.ones_like(std))


def standardize(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Features as the tabular learner reads them: (x - mean) / std, clipped to ± CLIP so
    one extreme value cannot dominate a linear model; NaN (missing) becomes 0, the mean."""
    z = ((x - mean) / scale_of(std)).clamp(-CLIP, CLIP)
    return torch.nan_to_num(z, nan=0.0)


def _standardize(v: torch.Tensor, rows: slice, clip: bool = False) -> torch.Tensor:
    """v (T, n, …) standardized per task by the mean and std of its `rows`."""
    ref = v[:, rows]
    mean, std = ref.mean(1, keepdim=True), ref.std(1, keepdim=True)
    constant = ref.amax(1, keepdim=True) == ref.amin(1, keepdim=True)
    std = std.masked_fill(constant, 0.0)
    return standardize(v, mean, std) if clip else (v - mean) / scale_of(std)


def sample_features(T: int, n: int, d: int, g: torch.Generator) -> torch.Tensor:
    """(T, n, d) raw features of mixed types, correlated within each task."""
    z = torch.randn(T, n, d, generator=g)
    mix = torch.randn(T, d, d, generator=g) * _uniform((T, 1, 1), 0.0, 1.0, g) / math.sqrt(d)
    z = z + z @ mix  # correlated features; the strength varies by task
    z = z / z.std(1, keepdim=True).clamp_min(1e-6)
    kinds = torch.randint(0, 6, (T, 1, d), generator=g)
    uniform = torch.special.ndtr(z)
    skewed = torch.exp(0.8 * z)
    chi2 = torch.randn(T, n, d, 3, generator=g).square().mean(-1)
    heavy = z / torch.sqrt(chi2 + 1e-3)  # Student's t with 3 degrees of freedom
    binary = (z > torch.randn(T, 1, d, generator=g)).float()
    counts = torch.floor(torch.exp(z))
    options = torch.stack([z, uniform, skewed, heavy, binary, counts], -1)
    return options.gather(-1, kinds.expand(T, n, d)[..., None]).squeeze(-1)


def random_function(x: torch.Tensor, relevant: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """f (T, n) of standardized x (T, n, d) through the `relevant` features (T, d) only: one
    family per task, often plus a linear part, normalized to mean 0 and variance 1."""
    T, n, d = x.shape
    xr = x * relevant[:, None]
    k = relevant.sum(1).clamp_min(1)  # (T,) relevant features
    linear = (xr @ torch.randn(T, d, 1, generator=g)).squeeze(-1) / k[:, None].sqrt()
    act = torch.tanh if torch.rand((), generator=g) < 0.5 else torch.relu
    w1 = torch.randn(T, d, 32, generator=g) / k[:, None, None].sqrt()
    b1 = torch.randn(T, 1, 32, generator=g)
    mlp = (act(xr @ w1 + b1) @ torch.randn(T, 32, 1, generator=g)).squeeze(-1)
    length = k.sqrt() * torch.exp(_uniform((T,), math.log(0.2), math.log(2.0), g))
    omega = torch.randn(T, d, 128, generator=g) / length[:, None, None]
    phase = _uniform((T, 1, 128), 0.0, 2 * math.pi, g)
    gp = (torch.cos(xr @ omega + phase) @ torch.randn(T, 128, 1, generator=g)).squeeze(-1)
    depths = torch.randint(1, 5, (2,), generator=g).tolist()
    trees = _tree(x, relevant, depths[0], g) + _tree(x, relevant, depths[1], g)
    fams = torch.stack([linear, mlp, gp, trees], -1)  # (T, n, 4)
    fams = (fams - fams.mean(1, keepdim=True)) / fams.std(1, keepdim=True).clamp_min(1e-6)
    pick = torch.randint(0, 4, (T,), generator=g)
    f = fams.gather(-1, pick[:, None, None].expand(T, n, 1)).squeeze(-1)
    f = f + _uniform((T, 1), 0.0, 1.0, g) * (torch.rand(T, 1, generator=g) < 0.5) * fams[..., 0]
    return (f - f.mean(1, keepdim=True)) / f.std(1, keepdim=True).clamp_min(1e-6)


def _tree(x: torch.Tensor, relevant: torch.Tensor, depth: int, g: torch.Generator):
    """A random decision tree of `depth` per task on the relevant features: splits at the
    value of a random point, leaves N(0, 1); (T, n)."""
    T, n, d = x.shape
    nodes = 2**depth - 1
    feature = torch.multinomial(relevant + 1e-9, nodes, replacement=True, generator=g)  # (T, nodes)
    at = torch.randint(0, n, (T, nodes), generator=g)
    threshold = x[torch.arange(T)[:, None], at, feature]  # (T, nodes)
    leaves = torch.randn(T, nodes + 1, generator=g)
    node = torch.zeros(T, n, dtype=torch.long)
    for _ in range(depth):
        f = feature.gather(1, node)
        right = x.gather(2, f[..., None]).squeeze(-1) > threshold.gather(1, node)
        node = 2 * node + 1 + right.long()
    return leaves.gather(1, node - nodes)


class Tabular(Family):
    """Regression or classification tables (as the config says) with up to cfg.dim features
    and cfg.classes classes; `features` fixes the feature count instead (for measurements
    at a given width)."""

    model = "linear"
    cfg: TabularRegressionConfig | TabularClassificationConfig

    def __init__(
        self,
        cfg: TabularRegressionConfig | TabularClassificationConfig,
        features: int | None = None,
    ) -> None:
        if features is not None and not 1 <= features <= cfg.dim:
            raise InvalidConfig(f"features = {features!r}; must lie in 1 … task.dim = {cfg.dim}")
        super().__init__(cfg)
        self.features = features
        if isinstance(cfg, TabularClassificationConfig):
            self.kind, self.out_dim = "classification", cfg.classes
        else:
            self.kind, self.out_dim = "regression", 1

    def sample(
        self, n_tasks: int, n_train: int, n_query: int, *, generator: torch.Generator
    ) -> Tasks:
        g, T, n, train = generator, n_tasks, n_train + n_query, slice(0, n_train)
        d = min(self.dim, int(math.exp(_uniform((), 0.0, math.log(self.dim + 1), g))))
        d = d if self.features is None else self.features
        x = sample_features(T, n, d, g)
        xs = _standardize(x, slice(None))
        share = _uniform((T, 1), 0.0, 1.0, g)
        relevant = (torch.rand(T, d, generator=g) < share).float()
        relevant[torch.arange(T), torch.randint(0, d, (T,), generator=g)] = 1.0  # at least one
        if not isinstance(self.cfg, TabularClassificationConfig):  # regression
            noise = torch.exp(_uniform((T, 1), math.log(0.02), math.log(1.5), g))
            y = random_function(xs, relevant, g) + noise * torch.randn(T, n, generator=g)
            y = _standardize(y, train)
        else:
            y = self._labels(xs, relevant, g)
        x = _standardize(x, train, clip=True)
        return Tasks(x[:, train], y[:, train], x[:, n_train:], y[:, n_train:])

    def _labels(self, xs: torch.Tensor, relevant: torch.Tensor, g: torch.Generator):
        """Labels (T, n) in 0 … c - 1, c uniform in 2 … classes per task."""
        T, n, C = xs.shape[0], xs.shape[1], self.out_dim
        c = torch.randint(2, C + 1, (T, 1), generator=g)
        f = torch.stack([random_function(xs, relevant, g) for _ in range(C)], -1)  # (T, n, C)
        sharp = torch.exp(_uniform((T, 1, 1), math.log(1.0), math.log(20.0), g))
        imbalance = _uniform((T, 1), 0.0, 1.5, g) * torch.randn(T, C, generator=g)
        gumbel = -torch.log(-torch.log(torch.rand(T, n, C, generator=g).clamp(1e-9, 1 - 1e-9)))
        logits = sharp * f + imbalance[:, None] + gumbel
        logits = logits.masked_fill(torch.arange(C) >= c[..., None], -math.inf)
        labels = logits.argmax(-1)
        # ordinal tasks: one function cut at random quantiles into c classes
        cuts = torch.rand(T, C - 1, generator=g).masked_fill(torch.arange(C - 1) >= c - 1, 2.0)
        ranks = f[..., 0].argsort(1).argsort(1).float() / n  # (T, n) in [0, 1)
        ordinal = (ranks[..., None] > cuts[:, None]).sum(-1)  # c - 1 cuts: classes 0 … c - 1
        return torch.where(torch.rand(T, 1, generator=g) < 0.3, ordinal, labels)
