"""The order learner and iai.order_steps: equivariance over variables, batched equals per-task,
the public call against a hand-written rollout, input checks, and a tiny training run of the
real config, resumed."""

from pathlib import Path

import pytest
import torch

import iai
from iai import InvalidConfig, InvalidInput
from iai.config import load_config
from iai.evaluation.order_baselines import order_metrics, r2_sort, random_order, var_sort
from iai.experiment import build
from iai.rollout import minibatches
from iai.tasks import TaskConfig, make_prior

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "scm-order.toml"
# configs/scm-order.toml shrunk to run in a few seconds
TINY = [
    "task.dim=5",
    "learner.width=16",
    "learner.depth=1",
    "learner.heads=2",
    "train.iterations=4",
    "train.tasks=4",
    "train.batch_size=16",
    "train.steps=3",
    "train.warmup=1",
    "train.log_every=1",
    "train.checkpoint_every=2",
]


def learner(seed: int = 0, d: int = 5):
    """A small untrained order learner whose head is not zero, so that steps move."""
    cfg = load_config(CONFIG, [*TINY, f"task.dim={d}", f"seed={seed}"])
    model, _ = build(cfg)
    with torch.no_grad():
        model.head.weight.normal_(generator=torch.Generator().manual_seed(seed))
    return model.eval()


def samples(T=3, N=40, d=5, seed=0):
    prior = make_prior(TaskConfig(name="scm", dim=d))
    return prior.sample(T, N, 0, generator=torch.Generator().manual_seed(seed))


def test_a_step_is_equivariant_to_permuting_the_variables():
    m, x = learner(), samples().x_train
    state = m.step(m.init(x), x[:, :16])
    perm = torch.tensor([3, 0, 4, 1, 2])
    moved = m.step(m.init(x), x[:, :16, perm])
    torch.testing.assert_close(moved.value, state.value[:, perm], rtol=1e-4, atol=1e-5)
    again = m.step(moved, x[:, 16:32, perm])
    torch.testing.assert_close(again.value, m.step(state, x[:, 16:32]).value[:, perm])


def test_batched_over_tasks_equals_one_task_at_a_time():
    m, x = learner(), samples(T=4).x_train
    batched = m.step(m.step(m.init(x), x[:, :16]), x[:, 16:32]).value
    for t in range(4):
        xt = x[t : t + 1]
        alone = m.step(m.step(m.init(xt), xt[:, :16]), xt[:, 16:32]).value
        torch.testing.assert_close(alone[0], batched[t], rtol=1e-4, atol=1e-5)


def test_order_steps_equals_a_hand_rollout_and_gives_permutations():
    m, x = learner(), samples(N=50).x_train
    out = iai.order_steps(m, x, batch_size=16, steps=[0, 1, 4, 2])
    assert out.shape == (4, 3, 5) and out.dtype == torch.int64
    assert torch.equal(out.sort(-1).values, torch.arange(5).expand(4, 3, 5))
    state, logits = m.init(x), {}
    for k, (xb, _) in enumerate(minibatches(x, None, 16), 1):  # the last batch holds 2
        state = m.step(state, xb)
        logits[k] = state.value
    for s, k in enumerate([1, 4, 2]):
        assert torch.equal(out[s + 1], logits[k].argsort(dim=-1, stable=True))
    assert torch.equal(out[0], torch.arange(5).expand(3, 5))  # before any sample: all alike
    assert torch.equal(iai.order_steps(m, x, batch_size=16, steps=[0, 1, 4, 2]), out)


@pytest.mark.parametrize("d", [2, 12, 20])
def test_one_learner_orders_any_number_of_variables(d):
    out = iai.order_steps(learner(), samples(d=d).x_train, batch_size=16, steps=[1, 2])
    assert out.shape == (2, 3, d)
    assert torch.equal(out.sort(-1).values, torch.arange(d).expand(2, 3, d))


def test_bad_input_is_named():
    m, x = learner(), samples().x_train
    cases = [
        (x[0], "3 dimensions .* samples\\[None\\]"),
        (x[..., :1], "1 variables; an order needs 2"),
        (x.masked_fill(torch.rand(x.shape) < 0.1, float("nan")), "NaN or inf"),
        (x[:, :0], "no samples"),
        (x.bool(), "real numbers"),
        ("samples", "cannot be read as a tensor"),
    ]
    for bad, message in cases:
        with pytest.raises(InvalidInput, match=message):
            iai.order_steps(m, bad, batch_size=16)
    with pytest.raises(InvalidInput, match=r"steps \[4\] lie outside 0 … 3"):
        iai.order_steps(m, x, batch_size=16, steps=[1, 4])
    with pytest.raises(InvalidInput, match="batch_size must be an integer ≥ 1"):
        iai.order_steps(m, x, batch_size=0)
    with pytest.raises(InvalidInput, match="load it first"):
        iai.order_steps("checkpoints/scm-order", x)
    other, _ = build(load_config(ROOT / "configs" / "demo.toml"))
    with pytest.raises(InvalidInput, match="for order learners"):
        iai.order_steps(other, x)
    with pytest.raises(InvalidConfig, match="reads samples of a causal model"):
        build(load_config(None, ["learner.kind=order"]))


def test_baselines_give_permutations_and_var_sort_reads_raw_linear_scms():
    prior = make_prior(TaskConfig(name="scm", dim=6, standardize=False, mechanisms=("linear",)))
    t = prior.sample(50, 500, 0, generator=torch.Generator().manual_seed(1))
    obj = prior_objective(prior)
    orders = {
        "random": random_order(t.x_train, generator=torch.Generator().manual_seed(0)),
        "var": var_sort(t.x_train),
        "r2": r2_sort(t.x_train),
    }
    for order in orders.values():
        assert torch.equal(order.sort(-1).values, torch.arange(6).expand(50, 6))
    d_top = {
        k: obj.task_metrics(obj.outputs(o), t.y_query)["d_top"].mean() for k, o in orders.items()
    }
    assert d_top["var"] < 0.25 < d_top["random"]


def prior_objective(prior):
    from iai.tasks.objective import objective_of

    return objective_of(prior)


def test_direct_lingam_recovers_a_non_gaussian_linear_order():
    pytest.importorskip("lingam")
    from iai.evaluation.order_baselines import direct_lingam

    cfg = TaskConfig(name="scm", dim=5, mechanisms=("linear",), noises=("laplace",))
    prior = make_prior(cfg)
    t = prior.sample(4, 2000, 0, generator=torch.Generator().manual_seed(2))
    obj = prior_objective(prior)
    d_top = obj.task_metrics(obj.outputs(direct_lingam(t.x_train)), t.y_query)["d_top"]
    assert d_top.mean() < 0.1


def test_topological_order_puts_every_parent_first():
    from iai.evaluation.order_baselines import _topological

    A = torch.zeros(5, 5, dtype=torch.bool)
    for i, j in ((3, 0), (0, 4), (3, 1), (1, 4), (2, 1)):
        A[i, j] = True
    place = _topological(A).argsort()  # place[v]: the position of variable v
    assert all(place[i] < place[j] for i, j in A.nonzero().tolist())


def test_ges_orders_linear_gaussian_scms_better_than_chance():
    pytest.importorskip("causallearn")
    from iai.evaluation.order_baselines import ges_order

    cfg = TaskConfig(name="scm", dim=6, mechanisms=("linear",), noises=("gaussian",))
    prior = make_prior(cfg)
    t = prior.sample(12, 2000, 0, generator=torch.Generator().manual_seed(3))
    orders = ges_order(t.x_train)
    assert torch.equal(orders.sort(-1).values, torch.arange(6).expand(12, 6))
    obj = prior_objective(prior)
    assert obj.task_metrics(obj.outputs(orders), t.y_query)["d_top"].mean() < 0.35


def test_the_config_trains_saves_loads_and_resumes(tmp_path):
    out = tmp_path / "run"
    trained = iai.train(CONFIG, out, overrides=TINY, progress=False, threads=1)
    loaded = iai.load(out)
    x = samples(T=2, N=48).x_train
    a = iai.order_steps(trained, x, batch_size=16, steps=[1, 3])
    assert torch.equal(a, iai.order_steps(loaded, x, batch_size=16, steps=[1, 3]))
    assert torch.equal(iai.order_steps(loaded, x, batch_size=None, steps=[3]), a[1:])
    longer = [*TINY, "train.iterations=6"]
    resumed = iai.train(CONFIG, out, overrides=longer, resume=True, progress=False, threads=1)
    assert (out / "metrics.jsonl").read_text().count("\n") == 6
    assert iai.order_steps(resumed, x, batch_size=16, steps=[1, 3]).shape == (2, 2, 5)


def test_the_committed_learner_orders_fresh_scms_better_with_more_samples():
    """checkpoints/scm-order on 100 fresh SCMs of its prior: D_top 0.26 at step 1 and 0.17 at
    step 10 when this was written (R²-sort 0.40); the bounds leave room for other seeds."""
    learner = iai.load(ROOT / "checkpoints" / "scm-order")
    tasks = learner.prior.sample(100, 640, 0, generator=torch.Generator().manual_seed(5))
    orders = iai.order_steps(learner, tasks.x_train, steps=[1, 10])
    d_top = order_metrics(orders, tasks.y_query)["d_top"].mean(-1)
    r2 = order_metrics(r2_sort(tasks.x_train), tasks.y_query)["d_top"].mean()
    assert d_top[1] < d_top[0] - 0.05 and d_top[1] < 0.25 < r2


def test_the_predictive_calls_point_an_order_learner_to_order_steps():
    learner = iai.load(ROOT / "checkpoints" / "scm-order")
    x = torch.randn(1, 16, 10)
    with pytest.raises(iai.InvalidInput, match="order_steps"):
        iai.predict_steps(learner, x, x[..., 0], x)
