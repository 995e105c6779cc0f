"""The random draws of the table prior (`iai.tasks.tabular`, `iai.tasks.tabular_scm`): columns of
mixed types and random functions of them."""

import math

import torch


def uniform(shape, low: float, high: float, g: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(shape, generator=g)


def sample_features(T: int, n: int, d: int, g: torch.Generator) -> torch.Tensor:
    """(T, n, d) raw features of mixed types, correlated within each task."""
    z = torch.randn(T, n, d, generator=g)
    mix = torch.randn(T, d, d, generator=g) * uniform((T, 1, 1), 0.0, 1.0, g) / math.sqrt(d)
    z = z + z @ mix  # correlated features; the strength varies by task
    z = z / z.std(1, keepdim=True).clamp_min(1e-6)
    kinds = torch.randint(0, 6, (T, 1, d), generator=g)
    flat = torch.special.ndtr(z)
    skewed = torch.exp(0.8 * z)
    chi2 = torch.randn(T, n, d, 3, generator=g).square().mean(-1)
    heavy = z / torch.sqrt(chi2 + 1e-3)  # Student's t with 3 degrees of freedom
    binary = (z > torch.randn(T, 1, d, generator=g)).float()
    counts = torch.floor(torch.exp(z))
    options = torch.stack([z, flat, skewed, heavy, binary, counts], -1)
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
    length = k.sqrt() * torch.exp(uniform((T,), math.log(0.2), math.log(2.0), g))
    omega = torch.randn(T, d, 128, generator=g) / length[:, None, None]
    phase = uniform((T, 1, 128), 0.0, 2 * math.pi, g)
    gp = (torch.cos(xr @ omega + phase) @ torch.randn(T, 128, 1, generator=g)).squeeze(-1)
    depths = torch.randint(1, 5, (2,), generator=g).tolist()
    trees = tree(x, relevant, depths[0], g) + tree(x, relevant, depths[1], g)
    fams = torch.stack([linear, mlp, gp, trees], -1)  # (T, n, 4)
    fams = (fams - fams.mean(1, keepdim=True)) / fams.std(1, keepdim=True).clamp_min(1e-6)
    pick = torch.randint(0, 4, (T,), generator=g)
    f = fams.gather(-1, pick[:, None, None].expand(T, n, 1)).squeeze(-1)
    f = f + uniform((T, 1), 0.0, 1.0, g) * (torch.rand(T, 1, generator=g) < 0.5) * fams[..., 0]
    return (f - f.mean(1, keepdim=True)) / f.std(1, keepdim=True).clamp_min(1e-6)


def tree(x: torch.Tensor, relevant: torch.Tensor, depth: int, g: torch.Generator):
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
