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

`TableConfig`'s shares add, for the tabular foundation model, tables of random structural causal
models, categorical columns, missing values (NaN), heteroscedastic noise and drift
(`iai.tasks.tabular_scm`); at 0 the draws are exactly the ones above.

Not covered: strongly interacting high-order structure beyond depth-4 trees, periodic or
discontinuous functions of many features at once, more than `dim` features or `classes`
classes.
"""

import math
from dataclasses import dataclass, field
from typing import Literal

import torch

from iai.errors import InvalidConfig
from iai.tasks.base import Family, Tasks
from iai.tasks.config import TaskConfig, at_least
from iai.tasks.tabular_draws import random_function, sample_features
from iai.tasks.tabular_draws import uniform as _uniform
from iai.tasks.tabular_scm import drifting, scm_table, with_categories, with_missing


def share(default: float = 0.0):
    """A float field in [0, 1]: the share of tasks (or of calls, for `scm`) that draw it."""
    return field(default=default, metadata={"check": (lambda v: 0 <= v <= 1, "in [0, 1]")})


@dataclass(frozen=True)
class TableConfig(TaskConfig):
    """What both table families share: the additions of `iai.tasks.tabular_scm`, each for a
    share of the tasks (0, the default: never, and the draws are the linear learners')."""

    scm: float = share()  # calls whose tables come from a random SCM
    categorical: float = share()  # tasks with categorical columns (each column: U[0, 0.5])
    missing: float = share()  # tasks with missing values
    heteroscedastic: float = share()  # regression tasks whose noise scale varies with x
    drift: float = share()  # tasks whose mechanism drifts along the rows


@dataclass(frozen=True)
class TabularRegressionConfig(TableConfig):
    """Tables of 1 … dim features."""

    name: Literal["tabular_regression"] = "tabular_regression"


@dataclass(frozen=True)
class TabularClassificationConfig(TableConfig):
    """Tables of 1 … dim features and 2 … classes classes."""

    name: Literal["tabular_classification"] = "tabular_classification"
    classes: int = at_least(2, 2)


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
        cfg, regression = self.cfg, not isinstance(self.cfg, TabularClassificationConfig)
        if cfg.scm > 0 and torch.rand((), generator=g) < cfg.scm:
            return self._scm(T, n, n_train, d, regression, g)
        x = sample_features(T, n, d, g)
        if cfg.categorical > 0:
            x = with_categories(x, self._chance(T, cfg.categorical, g) * 0.5, g)
        xs = _standardize(x, slice(None))
        share = _uniform((T, 1), 0.0, 1.0, g)
        relevant = (torch.rand(T, d, generator=g) < share).float()
        relevant[torch.arange(T), torch.randint(0, d, (T,), generator=g)] = 1.0  # at least one
        if regression:
            noise = torch.exp(_uniform((T, 1), math.log(0.02), math.log(1.5), g))
            f = self._drift(random_function(xs, relevant, g), xs, relevant, n_train, g)
            y = _standardize(f + self._noise(noise, xs, g), train)
        else:
            y = self._labels(xs, relevant, g, n_train)
        return self._tasks(_standardize(x, train, clip=True), y, n_train, g)

    def _scm(self, T: int, n: int, n_train: int, d: int, regression: bool, g: torch.Generator):
        """Tables of random SCMs (`iai.tasks.tabular_scm`)."""
        x, signal = scm_table(T, n, d, g)
        if self.cfg.categorical > 0:
            x = with_categories(x, self._chance(T, self.cfg.categorical, g) * 0.5, g)
        xs = _standardize(x, slice(None))
        everything = torch.ones(T, d)
        signal = self._drift(signal, xs, everything, n_train, g)
        if regression:
            noise = torch.exp(_uniform((T, 1), math.log(0.02), math.log(1.0), g))
            y = _standardize(signal + self._noise(noise, xs, g), slice(0, n_train))
        else:  # the target cut at random quantiles, its classes relabelled at random
            C = self.out_dim
            c = torch.randint(2, C + 1, (T, 1), generator=g)
            cuts = torch.rand(T, C - 1, generator=g).masked_fill(torch.arange(C - 1) >= c - 1, 2.0)
            ranks = signal.argsort(1).argsort(1).float() / n
            ordinal = (ranks[..., None] > cuts[:, None]).sum(-1)
            relabel = torch.rand(T, C, generator=g).masked_fill(torch.arange(C) >= c, 2.0)
            y = relabel.argsort(1).gather(1, ordinal)
        return self._tasks(_standardize(x, slice(0, n_train), clip=True), y, n_train, g)

    def _tasks(self, x: torch.Tensor, y: torch.Tensor, n_train: int, g: torch.Generator):
        if self.cfg.missing > 0:
            x = with_missing(x, self.cfg.missing, g)
        train = slice(0, n_train)
        return Tasks(x[:, train], y[:, train], x[:, n_train:], y[:, n_train:])

    @staticmethod
    def _chance(T: int, p: float, g: torch.Generator) -> torch.Tensor:
        """(T, 1): 1 for a share p of the tasks, else 0."""
        return (torch.rand(T, 1, generator=g) < p).float()

    def _noise(self, scale: torch.Tensor, xs: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """Gaussian noise (T, n) of `scale` (T, 1), for a share of the tasks (heteroscedastic)
        times exp(a s(x)), s a random direction of the standardized x, a ~ U[0, 1]."""
        T, n, d = xs.shape
        eps = torch.randn(T, n, generator=g)
        if self.cfg.heteroscedastic == 0:
            return scale * eps
        s = (xs @ torch.randn(T, d, 1, generator=g)).squeeze(-1) / math.sqrt(d)
        a = _uniform((T, 1), 0.0, 1.0, g) * self._chance(T, self.cfg.heteroscedastic, g)
        return scale * eps * torch.exp(a * s)

    def _drift(self, f: torch.Tensor, xs: torch.Tensor, relevant, n_train: int, g):
        """f (T, n, …), for a share of the tasks moved to a second random function along the
        training rows (`iai.tasks.tabular_scm.drifting`)."""
        if self.cfg.drift == 0:
            return f
        other = torch.stack([random_function(xs, relevant, g) for _ in range(f[0, 0].numel())], -1)
        moved = drifting(f.reshape(*f.shape[:2], -1), other, n_train).reshape(f.shape)
        pick = self._chance(f.shape[0], self.cfg.drift, g).reshape(-1, *[1] * (f.dim() - 1))
        return torch.where(pick > 0, moved, f)

    def _labels(self, xs: torch.Tensor, relevant: torch.Tensor, g: torch.Generator, n_train: int):
        """Labels (T, n) in 0 … c - 1, c uniform in 2 … classes per task."""
        T, n, C = xs.shape[0], xs.shape[1], self.out_dim
        c = torch.randint(2, C + 1, (T, 1), generator=g)
        f = torch.stack([random_function(xs, relevant, g) for _ in range(C)], -1)  # (T, n, C)
        f = self._drift(f, xs, relevant, n_train, g)
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
