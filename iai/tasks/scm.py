"""Structural causal models as a task family: samples of d variables, truth their causal graph.

A task is one SCM x_j = f_j(x_pa(j)) + σ_j ε_j over a random DAG (issue 25; the simulated
priors of FiP, Scetbon et al. 2024): Erdős–Rényi or scale-free (Barabási–Albert) graphs with
1–3 expected parents per node, linear mechanisms (weights ±U[0.5, 2]) or random one-layer
tanh networks, Gaussian, Laplace, uniform or Gumbel (skewed) noise of unit variance scaled by σ_j ~
U[noise_low, noise_high]. Each task draws its graph family, mechanism and noise from the
config's tuples, uniformly.

The variables are drawn in a topological order and then permuted per task, so that the index
of a variable says nothing of its place. With `standardize` each variable is centred and
scaled by its mean and std over all of the task's samples (train and query): the scale
trick of sorting by variance (Reisach et al. 2021) then fails, as it does on data a user
standardized. The truth: `adjacency` (T, d, d), 1 where i → j, and `order` (T, d), a
topological order (roots first). The objective (`iai.tasks.order`) reads the adjacency as
the query targets y_query; the samples have no targets (y_train None).
"""

import math
from dataclasses import dataclass, replace
from typing import Literal

import torch

from iai.errors import InvalidConfig
from iai.tasks.base import Family, Tasks
from iai.tasks.config import TaskConfig, at_least, positive

GRAPHS = ("er", "sf")
MECHANISMS = ("linear", "nonlinear")
EULER_GAMMA = 0.5772156649015329  # the standard Gumbel's mean
NOISES = ("gaussian", "laplace", "uniform", "gumbel")


@dataclass(frozen=True)
class SCMConfig(TaskConfig):
    """SCMs of `dim` variables; see the module docstring for what each field draws."""

    name: Literal["scm"] = "scm"
    dim: int = at_least(2, 10)
    graphs: tuple[str, ...] = GRAPHS
    mechanisms: tuple[str, ...] = MECHANISMS
    noises: tuple[str, ...] = NOISES
    min_parents: float = positive(1.0)  # expected parents per node, U[min, max] per task
    max_parents: float = positive(3.0)
    noise_low: float = positive(0.5)
    noise_high: float = positive(1.5)
    mlp_width: int = at_least(1, 16)  # hidden units of a nonlinear mechanism
    standardize: bool = True
    shifts = {
        "scale_free": lambda c: replace(c, graphs=("sf",)),
        "skewed_noise": lambda c: replace(c, noises=("gumbel",)),
        "raw": lambda c: replace(c, standardize=not c.standardize),
        "double_dim": lambda c: replace(c, dim=2 * c.dim),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        for key, allowed in (("graphs", GRAPHS), ("mechanisms", MECHANISMS), ("noises", NOISES)):
            value = getattr(self, key)
            if not value or not set(value) <= set(allowed):
                raise InvalidConfig(
                    f"task.{key} = {list(value)!r}; must be a non-empty list of {list(allowed)}"
                )
        if self.min_parents > self.max_parents or self.noise_low > self.noise_high:
            raise InvalidConfig(
                "task.min_parents ≤ task.max_parents and task.noise_low ≤ task.noise_high, got "
                f"{self.min_parents}, {self.max_parents} and {self.noise_low}, {self.noise_high}"
            )


def _choice(
    options: tuple[str, ...], known: tuple[str, ...], n: int, generator: torch.Generator
) -> torch.Tensor:
    """Which of `options` each of n tasks draws, uniformly, as indices into `known`: (T,)."""
    index = torch.tensor([known.index(o) for o in options])
    return index[torch.randint(len(options), (n,), generator=generator)]


def erdos_renyi(parents: torch.Tensor, d: int, generator: torch.Generator) -> torch.Tensor:
    """Lower-triangular DAGs (i → j only for i < j) with `parents` (T,) expected parents per
    node: each pair an edge with probability 2 · parents / (d − 1). -> (T, d, d)."""
    p = (2 * parents / max(d - 1, 1)).clamp(max=1.0)
    upper = torch.ones(d, d).triu(1).bool()  # A[i, j], i < j: i → j
    u = torch.rand(parents.shape[0], d, d, generator=generator)
    return ((u < p[:, None, None]) & upper).float()


def scale_free(parents: torch.Tensor, d: int, generator: torch.Generator) -> torch.Tensor:
    """Barabási–Albert DAGs: node j takes round(parents) parents (at most j) among the earlier
    nodes, with probability proportional to their degree + 1 (hubs are causes). -> (T, d, d)."""
    T = parents.shape[0]
    m = parents.round().long().clamp(min=1)  # (T,)
    A = torch.zeros(T, d, d)
    for j in range(1, d):
        degree = A[:, :j].sum(-1) + A[:, :, :j].sum(1) + 1.0  # (T, j)
        k = min(j, int(m.max()))
        picks = torch.multinomial(degree, k, replacement=False, generator=generator)  # (T, k)
        keep = (torch.arange(k)[None] < m[:, None]).float()  # (T, k)
        A[:, :, j].scatter_(1, picks, keep)
    return A


def unit_noise(kinds: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator):
    """Noise of mean 0 and variance 1, Gaussian, Laplace, uniform or Gumbel by each task's
    kind (T,) (indices into NOISES): -> `shape` (T, N, d). The Gumbel draw reuses the
    Laplace one's uniform, so adding it left every other kind's stream as it was."""
    g = torch.randn(shape, generator=generator)
    u = torch.rand(shape, generator=generator)
    e = torch.rand(shape, generator=generator).clamp_min(1e-12)
    laplace = torch.where(u < 0.5, -1.0, 1.0) * -e.log() / 2**0.5
    uniform = (2 * u - 1) * 3**0.5
    gumbel = (-(-e.log()).clamp_min(1e-12).log() - EULER_GAMMA) * 6**0.5 / math.pi
    every = torch.stack([g, laplace, uniform, gumbel])  # (len(NOISES), T, N, d)
    return every[kinds, torch.arange(len(kinds))]


class SCM(Family):
    """Samples of random SCMs (see the module docstring); kind 'order': the objective scores
    leaf logits against the graph (`iai.tasks.order`)."""

    kind = "order"
    cfg: SCMConfig

    def __init__(self, cfg: SCMConfig) -> None:
        super().__init__(cfg)
        self.out_dim = cfg.dim  # one leaf logit per variable

    def graphs(self, n_tasks: int, generator: torch.Generator) -> torch.Tensor:
        """Adjacency (T, d, d) in the drawing order (a DAG whose i → j has i < j)."""
        c, d = self.cfg, self.cfg.dim
        lo, hi = c.min_parents, c.max_parents
        parents = lo + (hi - lo) * torch.rand(n_tasks, generator=generator)
        family = _choice(c.graphs, GRAPHS, n_tasks, generator)
        er, sf = erdos_renyi(parents, d, generator), scale_free(parents, d, generator)
        return torch.where((family == 0)[:, None, None], er, sf)

    def sample(
        self, n_tasks: int, n_train: int, n_query: int, *, generator: torch.Generator
    ) -> Tasks:
        c, d, T, N = self.cfg, self.cfg.dim, n_tasks, n_train + n_query
        A = self.graphs(T, generator)
        sign = torch.where(torch.rand(T, d, d, generator=generator) < 0.5, -1.0, 1.0)
        W = A * sign * (0.5 + 1.5 * torch.rand(T, d, d, generator=generator))  # (T, d, d)
        H = c.mlp_width
        W1 = torch.randn(T, d, d, H, generator=generator)  # input i of node j's network
        b1 = torch.randn(T, d, H, generator=generator)
        W2 = torch.randn(T, d, H, generator=generator) * (2.0 / H) ** 0.5
        mech = _choice(c.mechanisms, MECHANISMS, T, generator)
        kinds = _choice(c.noises, NOISES, T, generator)
        scale = c.noise_low + (c.noise_high - c.noise_low) * torch.rand(
            T, 1, d, generator=generator
        )
        noise = scale * unit_noise(kinds, (T, N, d), generator)  # (T, N, d)
        nonlinear = (mech == 1)[:, None]  # (T, 1)
        x = torch.zeros(T, N, d)
        for j in range(d):  # the drawing order is topological
            pa = x * A[:, None, :, j]  # (T, N, d): the parents' values, others zero
            linear = torch.einsum("tnd,td->tn", pa, W[:, :, j])
            hidden = torch.tanh(torch.einsum("tnd,tdh->tnh", pa, W1[:, :, j]) + b1[:, None, j])
            net = torch.einsum("tnh,th->tn", hidden, W2[:, j])
            has_parents = A[:, :, j].sum(-1, keepdim=True) > 0  # a root is its noise alone
            f = torch.where(nonlinear & has_parents, net, linear)
            x[:, :, j] = f + noise[:, :, j]
        if c.standardize:
            x = (x - x.mean(1, keepdim=True)) / x.std(1, keepdim=True).clamp_min(1e-8)
        # shuffle the variables: new index a holds drawn variable perm[a]
        perm = torch.rand(T, d, generator=generator).argsort(-1)  # (T, d)
        x = x.gather(2, perm[:, None].expand(T, N, d))
        rows = A.gather(1, perm[:, :, None].expand(T, d, d))
        A = rows.gather(2, perm[:, None].expand(T, d, d))
        order = perm.argsort(-1)  # the new indices in drawing order: roots first
        truth = {"adjacency": A, "order": order}
        return Tasks(x[:, :n_train], None, x[:, n_train:], A, truth)
