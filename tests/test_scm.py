"""The SCM family and the order objective: graphs, noise, permutation, standardization, and the
loss and metrics against plain Python loops over one task's graph."""

import math

import pytest
import torch

from iai import InvalidConfig, InvalidInput
from iai.tasks import TaskConfig, make_prior, shifted
from iai.tasks.objective import objective_of
from iai.tasks.order import Order
from iai.tasks.scm import NOISES, unit_noise


def draw(seed=0, n_tasks=64, n=50, q=3, **fields):
    cfg = TaskConfig(name="scm", **{"dim": 8, **fields})
    g = torch.Generator().manual_seed(seed)
    return make_prior(cfg).sample(n_tasks, n, q, generator=g)


def test_shapes_truth_and_the_order_is_topological():
    t = draw()
    A, order = t.truth["adjacency"], t.truth["order"]
    assert t.x_train.shape == (64, 50, 8) and t.x_query.shape == (64, 3, 8)
    assert t.y_train is None and torch.equal(t.y_query, A) and A.shape == (64, 8, 8)
    assert order.dtype == torch.int64 and torch.equal(
        order.sort(-1).values, torch.arange(8).expand(64, 8)
    )
    assert not A.diagonal(0, -2, -1).any()
    pos = order.argsort(-1)
    for a, i, j in A.nonzero().tolist():  # every edge i → j goes forward in the order
        assert pos[a, i] < pos[a, j]


def test_same_seed_same_tasks_other_seed_other_tasks():
    a, b, c = draw(1), draw(1), draw(2)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_query, b.y_query)
    assert not torch.equal(a.x_train, c.x_train)


def test_the_index_of_a_variable_says_nothing_of_its_place():
    pos = draw(n_tasks=4000, n=2, q=0).truth["order"].argsort(-1).float()  # (T, d)
    assert pos.mean(0).sub(3.5).abs().max() < 0.25  # every index sits in the middle on average


@pytest.mark.parametrize("graph, expected", [("er", 2.0), ("sf", 1.7)])
def test_expected_parents(graph, expected):
    """ER: 2 parents a node on average; BA with m = 2 over 10 nodes: (0 + 1 + 8 · 2) / 10."""
    A = draw(n_tasks=2000, n=2, q=0, dim=10, graphs=(graph,), min_parents=2.0, max_parents=2.0)
    parents = A.truth["adjacency"].sum(1).mean().item()
    assert parents == pytest.approx(expected, abs=0.06)


def test_standardized_samples_have_zero_mean_unit_std_and_raw_ones_grow_along_the_order():
    t = draw(n=200, q=20)
    x = torch.cat([t.x_train, t.x_query], 1)
    assert x.mean(1).abs().max() < 1e-4 and (x.std(1) - 1).abs().max() < 1e-4
    raw = draw(n=400, q=0, standardize=False, mechanisms=("linear",), n_tasks=500)
    var = raw.x_train.var(1).gather(1, raw.truth["order"])  # (T, d) in causal order
    # varsortability (Reisach et al. 2021): a sink's variance exceeds a root's
    assert (var[:, -1] > var[:, 0]).float().mean() > 0.8


@pytest.mark.parametrize("kind", range(len(NOISES)))
def test_unit_noise_has_unit_variance_and_its_kurtosis(kind):
    e = unit_noise(torch.tensor([kind]), (1, 200_000, 1), torch.Generator().manual_seed(0))
    kurtosis = {"gaussian": 3.0, "laplace": 6.0, "uniform": 1.8, "gumbel": 5.4}[NOISES[kind]]
    assert e.var().item() == pytest.approx(1.0, abs=0.02)
    assert e.pow(4).mean().item() == pytest.approx(kurtosis, rel=0.06)


def test_config_checks_and_variants():
    with pytest.raises(InvalidConfig, match=r"task.graphs = \['tree'\]"):
        TaskConfig(name="scm", graphs=("tree",))
    with pytest.raises(InvalidConfig, match="task.min_parents ≤ task.max_parents"):
        TaskConfig(name="scm", min_parents=3.0, max_parents=1.0)
    cfg = TaskConfig(name="scm")
    assert shifted(cfg, "scale_free").graphs == ("sf",) and shifted(cfg, "double_dim").dim == 20
    assert shifted(cfg, "skewed_noise").noises == ("gumbel",)
    assert make_prior(cfg).kind == "order" and make_prior(cfg).out_dim == 10


def loss_reference(logits: list[float], edges: set[tuple[int, int]]) -> float:
    """The loss of one task, step by step in Python."""
    left, total = set(range(len(logits))), []
    for _ in range(len(logits) - 1):
        sinks = [j for j in left if not any((j, c) in edges for c in left)]
        z = sum(math.exp(logits[j]) for j in left)
        total.append(-math.log(sum(math.exp(logits[j]) for j in sinks) / z))
        left.remove(max(sinks, key=lambda j: logits[j]))
    return sum(total) / len(total)


def metrics_reference(order: list[int], edges: set[tuple[int, int]]) -> tuple[float, float]:
    pos = {v: k for k, v in enumerate(order)}
    rev = [(i, j) for i, j in edges if pos[j] < pos[i]]
    wrong = 0
    for k in range(len(order) - 1, 0, -1):  # remove the last of the order, then the next
        v, rest = order[k], set(order[:k])
        wrong += any((v, c) in edges for c in rest)
    return len(rev) / max(len(edges), 1), wrong / (len(order) - 1)


def test_loss_and_metrics_equal_a_python_reference():
    t = draw(n_tasks=12, n=2, q=0, dim=6)
    A = t.truth["adjacency"]
    logits = torch.randn(12, 6, generator=torch.Generator().manual_seed(3))
    obj = objective_of(make_prior(TaskConfig(name="scm", dim=6)))
    loss, m = obj.loss(logits, A), obj.task_metrics(logits, A)
    for a in range(12):
        edges = {(i, j) for i, j in A[a].nonzero().tolist()}
        assert loss[a].item() == pytest.approx(loss_reference(logits[a].tolist(), edges), rel=1e-5)
        d_top, leaf = metrics_reference(obj.prediction(logits[a]).tolist(), edges)
        assert m["d_top"][a].item() == pytest.approx(d_top)
        assert m["leaf_error"][a].item() == pytest.approx(leaf)


def test_the_true_order_scores_zero_its_reverse_one_and_outputs_invert_prediction():
    t = draw(n_tasks=20, n=2, q=0)
    A, order, obj = t.truth["adjacency"], t.truth["order"], Order(8)
    assert torch.equal(obj.prediction(obj.outputs(order)), order)
    m = obj.task_metrics(obj.outputs(order), A)
    assert m["d_top"].max() == 0 and m["leaf_error"].max() == 0
    assert obj.loss(20 * obj.outputs(order), A).max() < 1e-6
    has_edges = A.sum((1, 2)) > 0
    assert (obj.task_metrics(obj.outputs(order.flip(-1)), A)["d_top"][has_edges] == 1).all()
    with pytest.raises(InvalidInput, match="0s and 1s with a zero diagonal"):
        obj.targets("adjacency", torch.eye(8)[None], (1,))
